"""The voter page, the widget and the integration page through the test client: the no-JS
flow, languages, escaping, and what each result shows."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest

from locator.web.widget import accessible_colour, contrast_with_white, parse_colour

from .conftest import METZ_SOUTH, MONTIGNY, THIONVILLE, WOIPPY


class Elements(HTMLParser):
    """Collect start tags and their attributes (enough to check structure without a DOM)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# -- the form ----------------------------------------------------------------------------------

def test_home_page_is_french_with_a_labelled_form_that_posts(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    doc = Elements(html)
    assert doc.find("html")[0]["lang"] == "fr"
    form = doc.find("form", id="search-form")[0]
    assert form["method"] == "post" and form["action"] == "/recherche"
    assert doc.find("label", **{"for": "q"})
    field = doc.find("input", id="q")[0]
    assert field["name"] == "q" and field["maxlength"] == "200"
    assert field["aria-describedby"] == "q-hint"
    assert doc.find("a", href="#main")  # skip link
    assert 'lang="en"' in html and "English" in html


def test_home_page_in_english(client):
    html = client.get("/?lang=en").get_data(as_text=True)
    doc = Elements(html)
    assert doc.find("html")[0]["lang"] == "en"
    assert "Find my polling station" in html
    assert doc.find("form", id="search-form")[0]["action"] == "/recherche?lang=en"


def test_unknown_language_falls_back_to_french(client):
    assert Elements(client.get("/?lang=xx").get_data(as_text=True)).find("html")[0]["lang"] == "fr"


def test_pages_have_no_inline_script_or_style(client):
    for url in ("/", "/integration", "/widget", "/recherche?lon=6.15&lat=49.1"):
        html = client.get(url).get_data(as_text=True)
        doc = Elements(html)
        assert all("src" in a for a in doc.find("script")), url
        assert "<style" not in html, url
        assert not [a for _, a in doc.tags if "style" in a], url
        assert not [a for _, a in doc.tags if any(k.startswith("on") for k in a)], url


# -- the no-JS flow ----------------------------------------------------------------------------

def test_posting_an_address_renders_the_bureau(client):
    r = client.post("/recherche", data={"q": "Montigny-lès-Metz"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    text = text_of(html)
    assert "Mairie de Montigny-lès-Metz" in text
    assert "Horaires le jour du scrutin" in text
    assert "Accessibilité" in text
    assert "openstreetmap.org/directions?engine=fossgis_osrm_foot" in html
    assert "fossgis_osrm_car" in html
    assert r.headers["Cache-Control"] == "no-store"
    # the form keeps what the voter typed, so they can correct it
    assert Elements(html).find("input", id="q")[0]["value"] == "Montigny-lès-Metz"


def test_the_page_says_plainly_when_the_bureau_is_only_the_nearest(client):
    r = client.post("/recherche", data={"lon": str(METZ_SOUTH[0]), "lat": str(METZ_SOUTH[1])})
    text = text_of(r.get_data(as_text=True))
    assert "Bureau le plus proche dans votre commune" in text
    assert "École du Sablon" in text
    assert "Ce n'est peut-être pas le vôtre" in text
    assert "Contacter la mairie de Metz" in text  # the fallback when unsure


def test_ambiguous_places_are_offered_as_buttons_that_search_again(client):
    r = client.post("/recherche", data={"q": "rue de la gare"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    buttons = Elements(html).find("button", name="q")
    assert [b["value"] for b in buttons] == ["Rue de la Gare 57140 Woippy", "Rue de la Gare 57950 Montigny-lès-Metz"]
    picked = client.post("/recherche", data={"q": buttons[1]["value"]})
    assert picked.status_code == 200
    assert "Mairie de Montigny-lès-Metz" in text_of(picked.get_data(as_text=True))


def test_street_in_multi_bureau_commune_asks_for_the_house_number(client):
    r = client.post("/recherche", data={"q": "Rue de la Gare 57140 Woippy"})
    text = text_of(r.get_data(as_text=True))
    assert "Ajoutez le numéro dans votre rue" in text
    assert "École Pierre-et-Marie-Curie" in text and "Salle Saint-Exupéry" in text
    assert "Contacter la mairie de Woippy" in text


def test_not_found_page_is_404_with_tips(client):
    r = client.post("/recherche", data={"q": "Zzyzx-sur-Nulle-Part"})
    assert r.status_code == 404
    assert "Vérifiez l'orthographe" in text_of(r.get_data(as_text=True))


def test_outside_coverage_names_the_covered_departements(client):
    r = client.post("/recherche", data={"lon": str(THIONVILLE[0]), "lat": str(THIONVILLE[1])})
    assert r.status_code == 404
    assert "Ce service couvre : département 57" in text_of(r.get_data(as_text=True))


def test_commune_without_bureau_gives_the_mairie_contact(client):
    r = client.post("/recherche", data={"q": "Scy-Chazelles"})
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    assert "Contacter la mairie de Scy-Chazelles" in text_of(html)
    assert 'href="tel:' in html


def test_result_page_in_english_rebuilds_the_sentence(client):
    r = client.post("/recherche?lang=en", data={"lon": str(MONTIGNY[0]), "lat": str(MONTIGNY[1])})
    html = r.get_data(as_text=True)
    assert "Voters of Montigny-lès-Metz vote at Mairie de Montigny-lès-Metz" in html
    assert "Opening hours on election day" in html


def test_english_page_translates_known_warnings_and_marks_french_text(client, fake_geocoder):
    html = client.post("/recherche?lang=en", data={"q": "Montigny-lès-Metz"}).get_data(as_text=True)
    assert "a single polling station serves the commune" in html
    assert "Adresse reconnue au niveau" not in html
    fake_geocoder.fail = True
    down = client.post("/recherche?lang=en", data={"q": "Metz"}).get_data(as_text=True)
    message = Elements(down).find("p", **{"class": "error-message"})[0]
    assert message["lang"] == "fr"  # the public message is French: screen readers switch voice


def test_get_search_without_query_redirects_home(client):
    r = client.get("/recherche")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/")


def test_fragment_request_returns_only_the_result_block(client):
    r = client.post("/recherche", data={"lon": str(WOIPPY[0]), "lat": str(WOIPPY[1])},
                    headers={"X-Locator-Fragment": "1"})
    html = r.get_data(as_text=True)
    assert html.lstrip().startswith("<section")
    assert "<html" not in html
    assert 'data-status="ambiguous"' in html


def test_geocoder_down_gives_a_503_page_in_french(client, fake_geocoder):
    fake_geocoder.fail = True
    r = client.post("/recherche", data={"q": "Metz"})
    assert r.status_code == 503
    assert r.mimetype == "text/html"
    assert "indisponible" in r.get_data(as_text=True)
    assert "Retry-After" in r.headers


def test_unknown_page_is_an_html_404(client):
    r = client.get("/nulle-part")
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    assert "n'existe pas" in text_of(r.get_data(as_text=True))


# -- hostile input -----------------------------------------------------------------------------

HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "x" * 5000,
    "\x00\x01\x02binaire\xff",
    "{{ 7*7 }}",
    "' OR 1=1 --",
]


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_input_on_the_page_is_a_clean_400_never_echoed_raw(client, payload):
    r = client.post("/recherche", data={"q": payload})
    html = r.get_data(as_text=True)
    assert r.status_code == 400  # markup, control characters, over 200 characters, "=": refused
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "49" not in re.findall(r"value=\"([^\"]*)\"", html)  # template not evaluated
    assert "Traceback" not in html


@pytest.mark.parametrize("payload", HOSTILE)
def test_hostile_input_on_the_widget_is_a_clean_400(client, payload):
    r = client.post("/widget", data={"q": payload})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "<script>alert" not in html and "<img src=x" not in html


def test_echoed_text_is_escaped_in_the_form_and_the_result(client):
    # Apostrophes and ampersands are legal in addresses and are echoed: escaped.
    r = client.post("/recherche", data={"q": "Rue d'Arles & Co"})
    html = r.get_data(as_text=True)
    assert "Rue d&#39;Arles &amp; Co" in html


def test_binary_body_is_not_a_500(client):
    r = client.post("/recherche", data=b"\xff\xfe\x00q=\x80\x81", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400


# -- the widget --------------------------------------------------------------------------------

def test_widget_carries_its_options_through_the_form(client):
    r = client.get("/widget?lang=en&colour=%23ff0000&departement=57&map=0")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    doc = Elements(html)
    assert doc.find("html")[0]["lang"] == "en"
    action = doc.find("form", id="search-form")[0]["action"]
    assert action.startswith("/widget?")
    assert "colour=ff0000" in action and "departement=57" in action and "map=0" in action
    assert doc.find("link", href="/widget/theme.css?colour=ff0000")
    assert doc.find("form", id="search-form")[0]["data-departement"] == "57"


def test_widget_result_respects_the_departement_filter(client):
    r = client.post("/widget?departement=54", data={"q": "Montigny-lès-Metz"})
    assert r.status_code == 404
    assert "pas dans le département 54" in r.get_data(as_text=True)


def test_widget_without_map_has_no_map(client):
    with_map = client.post("/widget", data={"q": "Montigny-lès-Metz"}).get_data(as_text=True)
    without = client.post("/widget?map=0", data={"q": "Montigny-lès-Metz"}).get_data(as_text=True)
    assert 'class="map"' in with_map
    assert 'class="map"' not in without


def test_bad_widget_options_fall_back_to_defaults(client):
    r = client.get("/widget?lang=zz&colour=javascript:alert(1)&departement=%3Cx%3E&map=maybe")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "javascript:" not in html
    assert "/widget/theme.css?colour=1d4ed8" in html


@pytest.mark.parametrize("raw,expected", [
    ("#1D4ED8", "1d4ed8"), ("1d4ed8", "1d4ed8"), ("f00", "ff0000"), ("", "1d4ed8"),
    ("red", "1d4ed8"), ("#12345", "1d4ed8"), (";}body{", "1d4ed8"),
])
def test_parse_colour(raw, expected):
    assert parse_colour(raw) == expected


@pytest.mark.parametrize("colour", ["ffff00", "ffffff", "00ff00", "87ceeb", "1d4ed8", "000000"])
def test_theme_colour_is_darkened_to_aa_contrast(colour):
    out = accessible_colour(colour)
    assert contrast_with_white(out) >= 4.5
    if contrast_with_white(colour) >= 4.5:
        assert out == colour  # already fine: untouched


def test_theme_css_is_css_with_a_safe_colour(client):
    r = client.get("/widget/theme.css?colour=ffff00")
    assert r.mimetype == "text/css"
    colour = re.search(r"--accent: #([0-9a-f]{6})", r.get_data(as_text=True)).group(1)
    assert contrast_with_white(colour) >= 4.5


def test_embed_script_is_served_as_javascript(client):
    r = client.get("/embed.js")
    assert r.status_code == 200
    assert r.mimetype == "text/javascript"
    assert b"data-bureau-de-vote" in r.data
    assert b"event.origin !== origin" in r.data  # height messages only from our origin


def test_integration_page_documents_the_snippet_with_this_host(client):
    html = client.get("/integration").get_data(as_text=True)
    assert "&lt;script src=&#34;http://localhost/embed.js&#34; async&gt;" in html or \
           "&lt;script src=\"http://localhost/embed.js\" async&gt;" in html
    assert "data-bureau-de-vote" in html
    assert "&lt;iframe src=" in html
    assert Elements(html).find("iframe", **{"class": "preview"})


# -- static assets -----------------------------------------------------------------------------

def test_leaflet_is_served_from_the_xstatic_package(client):
    js = client.get("/vendor/leaflet/leaflet.js")
    assert js.status_code == 200
    assert b"Leaflet" in js.data[:200]
    assert client.get("/vendor/leaflet/leaflet.css").status_code == 200
    assert client.get("/vendor/leaflet/../../__init__.py").status_code == 404


def test_our_assets_are_served(client):
    for path in ("/static/locator.css", "/static/locator.js", "/static/favicon.svg"):
        assert client.get(path).status_code == 200, path


def test_rate_limited_page_and_widget_answer_a_french_429_page(web_data_dir, web_locator):
    from locator import Settings
    from locator.web import create_app

    client = create_app(Settings(data_dir=web_data_dir, rate_limit="1/minute"), locator=web_locator).test_client()
    assert client.post("/recherche", data={"q": "Montigny-lès-Metz"}).status_code == 200
    page = client.post("/recherche", data={"q": "Montigny-lès-Metz"})
    assert page.status_code == 429 and page.mimetype == "text/html"
    assert "Trop de recherches" in page.get_data(as_text=True)
    assert int(page.headers["Retry-After"]) > 0
    widget = client.post("/widget", data={"q": "Montigny-lès-Metz"})  # same budget: one per IP
    assert widget.status_code == 429
    assert "frame-ancestors *" in widget.headers["Content-Security-Policy"]
    fragment = client.post("/recherche", data={"q": "Metz"}, headers={"X-Locator-Fragment": "1"})
    assert fragment.get_data(as_text=True).lstrip().startswith("<section")
    # showing the empty widget form is not a search: never limited
    assert client.get("/widget").status_code == 200


def test_search_by_link_works_too(client):
    r = client.get("/recherche?q=Montigny-l%C3%A8s-Metz")
    assert r.status_code == 200
    assert "Mairie de Montigny-lès-Metz" in text_of(r.get_data(as_text=True))


# -- issue 10: answers that never mislead ----------------------------------------------------------

@pytest.fixture(scope="module")
def shared_postcode_data(tmp_path_factory):
    from .conftest import SHARED_POSTCODE_CODES, write_web_data

    return write_web_data(tmp_path_factory.mktemp("shared-postcode"), extra_codes=SHARED_POSTCODE_CODES)


def client_over(data_dir, **locator_options):
    from locator import Locator, Settings
    from locator.web import create_app

    from .conftest import fake_geocoder_of_the_web_data

    settings = Settings(data_dir=data_dir, rate_limit="1000/minute")
    locator = Locator(__import__("locator.data.datadir", fromlist=["DataDir"]).DataDir(data_dir).load(strict=True),
                      settings=settings, **locator_options)
    locator.geocoder = fake_geocoder_of_the_web_data()
    return create_app(settings, locator=locator).test_client()


@pytest.mark.parametrize("path", ["/recherche", "/widget"])
def test_a_postcode_shared_by_several_communes_lists_them_as_buttons_without_javascript(shared_postcode_data, path):
    client = client_over(shared_postcode_data)
    r = client.post(path, data={"q": "57050"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "choisissez dans la liste" in text_of(html)
    buttons = Elements(html).find("button", name="q")
    assert [b["value"] for b in buttons] == ["Le Ban-Saint-Martin 57050", "Longeville-lès-Metz 57050", "Metz"]
    assert "Plusieurs communes correspondent" in text_of(html)
    picked = client.post(path, data={"q": buttons[1]["value"]})
    assert "Longeville-lès-Metz" in text_of(picked.get_data(as_text=True))
    assert picked.get_json(silent=True) is None and picked.status_code in (200, 404)


def test_every_candidate_kind_of_the_api_is_rendered_by_the_page(shared_postcode_data):
    client = client_over(shared_postcode_data)
    kinds = {}
    for q in ("57050", "rue de la gare", "Rue de la Gare 57140 Woippy"):
        api = client.get("/api/v1/lookup", query_string={"q": q}).get_json()
        page = text_of(client.post("/recherche", data={"q": q}).get_data(as_text=True))
        for c in api["candidates"]:
            kinds[c["kind"]] = True
            assert (c.get("label") or c.get("nom") or c.get("name")) in page, (q, c)
    assert set(kinds) == {"commune", "place", "bureau"}


def test_a_commune_only_match_is_said_and_never_drawn_as_the_voters_address(client):
    html = client.post("/recherche", data={"q": "Montigny-lès-Metz"}).get_data(as_text=True)
    text = text_of(html)
    assert "la commune de Montigny-lès-Metz, pas votre adresse précise" in text
    [map_div] = Elements(html).find("div", id="map")
    assert "data-point" not in map_div  # the commune's point is the mairie, not the voter
    assert "key-point" not in html  # no "Votre adresse" in the map's legend
    # directions start from wherever the voter is, not from the mairie to itself
    walk = next(a["href"] for a in Elements(html).find("a") if "fossgis_osrm_foot" in a.get("href", ""))
    assert "route=%3B" in walk
    assert "à vol d'oiseau" not in text


def test_an_answer_without_doubt_carries_no_warning_box(client):
    html = client.post("/recherche", data={"q": "Montigny-lès-Metz"}).get_data(as_text=True)
    assert 'class="warnings"' not in html and "À vérifier" not in text_of(html)
    # the information is still there, as plain text
    assert "un seul bureau de vote sert" in text_of(html)


def test_real_doubt_keeps_the_warning_box(client):
    html = client.post("/recherche", data={"lon": str(METZ_SOUTH[0]), "lat": str(METZ_SOUTH[1])}).get_data(as_text=True)
    assert 'class="warnings"' in html and "À vérifier" in text_of(html)


@pytest.mark.parametrize("path", ["/recherche", "/widget"])
def test_a_bureau_with_a_doubtful_position_is_shown_by_its_address_with_the_mairie(web_data_dir, path):
    client = client_over(web_data_dir, doubtful={"57480_1": "error"})
    html = client.post(path, data={"q": "10 rue du Sablon Metz"}).get_data(as_text=True)
    assert "École du Sablon" in html  # another commune's bureau is untouched
    r = client.post(path, data={"q": "rue de la gare 57950 Montigny-lès-Metz"})
    html = r.get_data(as_text=True)
    text = text_of(html)
    assert r.status_code == 200
    assert "Mairie de Montigny-lès-Metz" in text  # its name and address
    assert "fossgis_osrm" not in html and "geo:" not in html  # no directions
    assert "à vol d'oiseau" not in text  # no distance
    assert "data-bureau=" not in html  # no marker
    assert 'class="warnings"' in html and "semble faux" in text
    assert "Contacter la mairie de Montigny-lès-Metz" in text
    assert "non montrée sur la carte" in text


def test_mail_only_parts_of_an_address_are_not_shown(web_data_dir):
    # Montigny's mairie is "160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz Cedex" in the annuaire.
    client = client_over(web_data_dir, doubtful={"57480_1": "error"})
    text = text_of(client.post("/recherche", data={"q": "Montigny-lès-Metz"}).get_data(as_text=True))
    assert "160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz" in text
    assert "Cedex" not in text


@pytest.mark.parametrize("raw, shown", [
    ("160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz Cedex", "160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz"),
    ("1 place d'Armes, CS 30721, 57007 Metz Cedex 1", "1 place d'Armes, 57007 Metz"),
    ("2 rue du Maire-Massing, BP 60, 57200 Sarreguemines", "2 rue du Maire-Massing, 57200 Sarreguemines"),
    ("Rue Georges-Ditsch, 57100 Thionville", "Rue Georges-Ditsch, 57100 Thionville"),
    ("1 rue de Cédexville, 57000 Metz", "1 rue de Cédexville, 57000 Metz"),
    (None, None),
])
def test_street_address_drops_what_is_for_the_mail_only(raw, shown):
    from locator.web.render import street_address

    assert street_address(raw) == shown


def test_the_sentence_names_the_bureau_by_an_address_to_go_to():
    from types import SimpleNamespace

    from locator.lookup.messages import where

    bureau = SimpleNamespace(name="Mairie de Montigny-lès-Metz",
                             address="160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz Cedex")
    assert where(bureau) == "Mairie de Montigny-lès-Metz, 160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz"


@pytest.mark.parametrize("path", ["/recherche", "/widget"])
def test_the_rate_limit_page_explains_a_shared_connection_in_french(web_data_dir, web_locator, path):
    from locator import Settings
    from locator.web import create_app

    client = create_app(Settings(data_dir=web_data_dir, rate_limit="1/minute"), locator=web_locator).test_client()
    client.post(path, data={"q": "Metz"})
    for headers in ({}, {"X-Locator-Fragment": "1"}):
        r = client.post(path, data={"q": "Metz"}, headers=headers)
        assert r.status_code == 429
        text = text_of(r.get_data(as_text=True))
        assert "Un réseau partagé (borne de la mairie, wifi public, opérateur mobile)" in text
        assert re.search(r"Réessayez dans \d+ secondes", text)
