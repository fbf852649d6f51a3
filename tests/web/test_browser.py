"""The page and the widget in a real browser: Debian's Chromium driven by Playwright (Python),
against servers on 127.0.0.1 only. Skipped, with the reason, when Chromium is absent.

The app runs in a thread with the multi-bureau test data and the fake geocoder, so every
status has a deterministic place; the end-to-end run on the committed data with the real
embedded geocoder is in test_serve.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from locator import Locator, Settings
from locator.web import create_app

from .conftest import fake_geocoder_of_the_web_data, write_web_data

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"width": 360, "height": 740}

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
expect = playwright_api.expect


class LiveServer:
    """A WSGI app on 127.0.0.1:<free port> in a thread; request lines are not logged (they
    would carry addresses)."""

    def __init__(self, app):
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):
                pass

        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=10)


def host_page_app(body: str):
    """Another origin: a plain page that embeds the service like a party's or mairie's site."""
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        html = f"<!doctype html><html lang='fr'><head><title>Site hôte</title></head><body><h1>Site hôte</h1>{body}</body></html>"
        return [html.encode()]
    return app


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    data_dir = write_web_data(tmp_path_factory.mktemp("browser-data"))
    settings = Settings(data_dir=data_dir, rate_limit="10000/minute")
    locator = Locator.from_data_dir(data_dir, settings=settings, geocoder=fake_geocoder_of_the_web_data())
    with LiveServer(create_app(settings, locator=locator)) as server:
        yield server


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=PHONE, locale="fr-FR")
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    # 4xx answers are expected in some tests; refused scripts/styles (CSP) and script errors are not.
    pg.on("console", lambda msg: errors.append(msg.text)
          if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    yield pg
    context.close()
    assert errors == []


def test_type_pick_a_suggestion_with_the_keyboard_and_see_bureau_and_map(page, live):
    page.goto(live.url + "/")
    field = page.get_by_label("Votre adresse ou votre commune")
    expect(field).to_have_attribute("role", "combobox")
    field.press_sequentially("rue de la g", delay=30)
    options = page.get_by_role("option")
    expect(options).to_have_count(2)
    expect(field).to_have_attribute("aria-expanded", "true")
    field.press("ArrowDown")
    field.press("ArrowDown")
    expect(field).to_have_attribute("aria-activedescendant", "q-option-1")
    field.press("Enter")

    heading = page.locator("#result-heading")
    expect(heading).to_have_text("Votre bureau de vote")
    expect(heading).to_be_focused()
    expect(page.locator(".bureau-name")).to_have_text("Mairie de Montigny-lès-Metz")
    expect(page.locator("#announce")).to_contain_text("Les électeurs de Montigny-lès-Metz votent")
    # The map: the voter's point, the bureau and the commune outline drawn by Leaflet.
    the_map = page.locator(".map")
    expect(the_map).to_be_visible()
    expect(the_map).to_have_attribute("data-outline", "1")
    expect(the_map.locator("path.leaflet-interactive")).to_have_count(1)   # the voter's point
    expect(the_map.locator(".bureau-marker")).to_have_count(1)
    assert the_map.locator("svg path").count() >= 2                           # + the outline
    expect(page.get_by_role("link", name="à pied")).to_have_attribute("href", re.compile("fossgis_osrm_foot"))


def test_ambiguous_answer_offers_candidates_and_picking_one_finds_the_bureau(page, live):
    page.goto(live.url + "/")
    page.get_by_label("Votre adresse ou votre commune").fill("rue de la gare")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#result-heading")).to_have_text("Précisez votre recherche")
    candidates = page.locator("button.candidate")
    expect(candidates).to_have_count(2)
    candidates.nth(1).click()
    expect(page.locator(".bureau-name")).to_have_text("Mairie de Montigny-lès-Metz")
    expect(page.get_by_label("Votre adresse ou votre commune")).to_have_value("Rue de la Gare 57950 Montigny-lès-Metz")


def test_street_in_a_multi_bureau_commune_asks_for_the_number_and_shows_the_mairie(page, live):
    page.goto(live.url + "/")
    page.get_by_label("Votre adresse ou votre commune").fill("Rue de la Gare 57140 Woippy")
    page.keyboard.press("Enter")
    expect(page.locator(".result")).to_contain_text("Ajoutez le numéro dans votre rue")
    expect(page.locator(".bureau-list li")).to_have_count(2)
    expect(page.locator(".mairie h3")).to_have_text("Contacter la mairie de Woippy")


def test_without_javascript_the_form_posts_and_the_result_page_answers(browser, live):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.goto(live.url + "/")
    page.get_by_label("Votre adresse ou votre commune").fill("Montigny-lès-Metz")
    page.get_by_role("button", name="Rechercher").click()
    page.wait_for_url(live.url + "/recherche")
    expect(page.locator(".bureau-name")).to_have_text("Mairie de Montigny-lès-Metz")
    expect(page.locator(".map-figure")).to_be_hidden()  # no map without scripts, the text says it all
    expect(page).to_have_title("Votre bureau de vote : Mairie de Montigny-lès-Metz – Trouver mon bureau de vote")
    # candidates work without JS too
    page.get_by_label("Votre adresse ou votre commune").fill("rue de la gare")
    page.get_by_role("button", name="Rechercher").click()
    page.locator("button.candidate").first.click()
    expect(page.locator(".result")).to_contain_text("Ajoutez le numéro")
    context.close()


def test_phone_layout_has_no_horizontal_scroll_and_big_targets(page, live):
    page.goto(live.url + "/")
    page.get_by_label("Votre adresse ou votre commune").fill("Montigny-lès-Metz")
    page.keyboard.press("Enter")
    expect(page.locator(".map")).to_have_attribute("data-outline", "1")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for selector in ("#q", "button[type=submit]", ".directions a >> nth=0"):
        box = page.locator(selector).bounding_box()
        assert box["height"] >= 44, selector


def test_english_page_and_language_switch(page, live):
    page.goto(live.url + "/")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Your address or commune").fill("Montigny-lès-Metz")
    page.keyboard.press("Enter")
    expect(page.locator(".sentence")).to_contain_text("Voters of Montigny-lès-Metz vote at")


def test_hostile_text_is_shown_as_text_never_run(page, live):
    page.goto(live.url + "/")
    page.evaluate("window.__pwned = false")
    page.get_by_label("Votre adresse ou votre commune").fill('"><img src=x onerror="window.__pwned=true">')
    page.keyboard.press("Enter")
    expect(page.locator("#result-heading")).to_be_visible()
    assert page.evaluate("window.__pwned") is False
    assert page.locator("#result img").count() == 0


def test_widget_inside_an_iframe_of_another_origin(browser, live):
    snippet = (f'<div data-bureau-de-vote data-lang="fr" data-departement="57" data-colour="7a1f5c"></div>'
               f'<script src="{live.url}/embed.js" async></script>')
    with LiveServer(host_page_app(snippet)) as host:
        assert host.url != live.url  # another port: another origin
        context = browser.new_context(viewport={"width": 800, "height": 900})
        page = context.new_page()
        page.goto(host.url + "/")
        iframe = page.locator("iframe")
        expect(iframe).to_have_attribute("title", "Trouver mon bureau de vote")
        frame = page.frame_locator("iframe")
        frame.get_by_label("Votre adresse ou votre commune").fill("Montigny-lès-Metz")
        frame.get_by_role("button", name="Rechercher").click()
        expect(frame.locator(".bureau-name")).to_have_text("Mairie de Montigny-lès-Metz")
        expect(frame.locator(".map")).to_have_attribute("data-outline", "1")
        # embed.js resized the iframe to the widget's content (the posted height)
        content = frame.locator("html").evaluate("el => Math.ceil(el.getBoundingClientRect().height)")
        page.wait_for_function("document.querySelector('iframe').getBoundingClientRect().height > 500")
        height = page.evaluate("document.querySelector('iframe').getBoundingClientRect().height")
        assert abs(height - content) <= 2
        # the embedder's colour, made accessible, is applied
        accent = frame.locator("button[type=submit]").evaluate("el => getComputedStyle(el).backgroundColor")
        assert accent == "rgb(122, 31, 92)"
        context.close()


def test_only_the_widget_can_be_framed(browser, live):
    body = (f'<iframe id="w" title="widget" src="{live.url}/widget"></iframe>'
            f'<iframe id="p" title="page" src="{live.url}/"></iframe>'
            f'<iframe id="a" title="api" src="{live.url}/integration"></iframe>')
    with LiveServer(host_page_app(body)) as host:
        context = browser.new_context()
        page = context.new_page()
        blocked = []
        page.on("console", lambda msg: blocked.append(msg.text) if "frame-ancestors" in msg.text else None)
        page.goto(host.url + "/")
        widget = page.frame_locator("#w")
        expect(widget.locator("#search-form")).to_be_visible()
        page.wait_for_load_state("load")
        loaded = [f for f in page.frames if f.url.startswith(live.url)]
        # the page and the integration page refused to render inside another origin's frame
        assert [f.url for f in loaded if f.locator("#search-form").count()] == [live.url + "/widget"]
        assert len(blocked) >= 2, blocked
        context.close()


# -- accessibility -----------------------------------------------------------------------------

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def axe_source():
    path = os.environ.get("LOCATOR_AXE_JS")
    if not path or not Path(path).is_file():
        pytest.skip("axe-core not available: set LOCATOR_AXE_JS to node_modules/axe-core/axe.min.js "
                    "(npm install --no-save axe-core@4, as .ci/run does)")
    return Path(path).read_text(encoding="utf-8")


def axe_violations(page, axe_source) -> list[dict]:
    page.evaluate(axe_source)  # evaluated through DevTools, not as an inline script: the CSP stays on
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
            for v in result["violations"]]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_axe_finds_no_wcag_aa_violation_on_the_page_and_its_results(browser, live, axe_source, lang):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live.url}/?lang={lang}")
    found = {"home": axe_violations(page, axe_source)}
    field = page.locator("#q")
    for name, query in (("ok", "Montigny-lès-Metz"), ("ambiguous", "rue de la gare"),
                        ("not_found", "Zzyzx"), ("outside_coverage", "Scy-Chazelles")):
        field.fill(query)
        field.press("Enter")
        expect(page.locator(f"#result section[data-status={name}]")).to_be_visible()
        if name == "ok":
            expect(page.locator(".map")).to_have_attribute("data-outline", "1")
        found[name] = axe_violations(page, axe_source)
    field.fill("")
    field.press_sequentially("rue de la g", delay=20)   # a letter of a name: suggestions open
    expect(page.get_by_role("option").first).to_be_visible()
    found["suggestions"] = axe_violations(page, axe_source)
    context.close()
    assert {k: v for k, v in found.items() if v} == {}, json.dumps(found, indent=1)


def test_axe_finds_no_violation_on_the_widget_and_the_integration_page(browser, live, axe_source):
    context = browser.new_context()
    page = context.new_page()
    found = {}
    page.goto(live.url + "/widget?colour=ffff00")
    page.locator("#q").fill("Montigny-lès-Metz")
    page.locator("#q").press("Enter")
    expect(page.locator(".map")).to_have_attribute("data-outline", "1")
    found["widget"] = axe_violations(page, axe_source)
    page.goto(live.url + "/integration")
    found["integration"] = axe_violations(page, axe_source)
    context.close()
    assert {k: v for k, v in found.items() if v} == {}, json.dumps(found, indent=1)


# -- issue 10: a new voter on a phone (375 px, real taps) ---------------------------------------

PHONE_375 = {"width": 375, "height": 667}

#: addok's misleading answers for a street of Metz: a "rue de Metz" in another commune first.
SERPENOISE = "12 rue serpenoise metz"


@pytest.fixture(scope="module")
def live_issue10(tmp_path_factory):
    """The test data plus two communes sharing 57050 with Metz, the bureau of Montigny-lès-Metz
    refused by the validator (served without its point), and addok's rue-de-Metz answers."""
    from locator.data.datadir import DataDir
    from locator.geocoding.fake import FakeGeocoder

    from .conftest import ANSWERS, SHARED_POSTCODE_CODES, _pt

    data_dir = write_web_data(tmp_path_factory.mktemp("browser-issue10"), extra_codes=SHARED_POSTCODE_CODES)
    settings = Settings(data_dir=data_dir, rate_limit="10000/minute")
    answers = {**ANSWERS, SERPENOISE: [
        _pt("12 Rue de Metz 57140 Woippy", (6.1500, 49.1520), "housenumber", "57751", 0.46, "57140"),
        _pt("12 Rue Serpenoise 57000 Metz", (6.1745, 49.1163), "housenumber", "57463", 0.40, "57000"),
    ]}
    locator = Locator(DataDir(data_dir).load(strict=True), settings=settings, doubtful={"57480_1": "error"})
    locator.geocoder = FakeGeocoder(answers, match="prefix")
    with LiveServer(create_app(settings, locator=locator)) as server:
        yield server


@pytest.fixture
def phone(browser):
    """A touch phone 375 px wide; taps are real touch events. Script errors fail the test."""
    context = browser.new_context(viewport=PHONE_375, has_touch=True, is_mobile=True, locale="fr-FR")
    pg = context.new_page()
    errors = []
    pg.on("pageerror", lambda err: errors.append(str(err)))
    pg.on("console", lambda msg: errors.append(msg.text)
          if msg.type == "error" and "Failed to load resource" not in msg.text else None)
    yield pg
    context.close()
    assert errors == []


def overlaps(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_a_tap_where_rechercher_was_searches_the_typed_text_not_a_suggestion(phone, live):
    phone.goto(live.url + "/")
    field = phone.get_by_label("Votre adresse ou votre commune")
    search = phone.get_by_role("button", name="Rechercher")
    locate = phone.get_by_role("button", name="Utiliser ma position")
    where = search.bounding_box()
    field.tap()
    field.press_sequentially("rue de la g", delay=30)
    options = phone.get_by_role("option")
    expect(options).to_have_count(2)
    # the open list covers neither button, and neither button moved
    for option in options.all():
        box = option.bounding_box()
        assert not overlaps(box, search.bounding_box()) and not overlaps(box, locate.bounding_box())
    assert search.bounding_box() == where
    phone.touchscreen.tap(where["x"] + where["width"] / 2, where["y"] + where["height"] / 2)
    # the typed text was searched ("rue de la g" is no street: not found, said plainly), not
    # suggestion 1 (Woippy's street, whose bureaux would have been listed)
    expect(phone.locator("#result section[data-status=not_found]")).to_be_visible()
    expect(phone.locator(".bureau-list")).to_have_count(0)
    expect(field).to_have_value("rue de la g")


def test_a_tapped_suggestion_is_searched_before_the_list_closes(phone, live):
    phone.goto(live.url + "/")
    field = phone.get_by_label("Votre adresse ou votre commune")
    field.tap()
    field.press_sequentially("rue de la g", delay=30)
    phone.get_by_role("option", name="Rue de la Gare 57950 Montigny-lès-Metz").tap()
    expect(phone.locator(".bureau-name")).to_have_text("Mairie de Montigny-lès-Metz")
    expect(field).to_have_value("Rue de la Gare 57950 Montigny-lès-Metz")


def test_a_commune_named_in_the_text_ranks_its_own_places_and_never_another_communes(phone, live_issue10):
    phone.goto(live_issue10.url + "/")
    field = phone.get_by_label("Votre adresse ou votre commune")
    field.tap()
    field.press_sequentially("12 rue Serpenoise Metz", delay=20)
    expect(phone.get_by_role("option")).to_have_text(["12 Rue Serpenoise 57000 Metz"])
    field.fill("")
    field.press_sequentially("Scy-Ch", delay=30)  # a commune name being typed
    expect(phone.get_by_role("option").first).to_have_text("Scy-Chazelles")


def test_a_shared_postcode_lists_its_communes_and_a_tap_answers_for_the_one_chosen(phone, live_issue10):
    phone.goto(live_issue10.url + "/")
    field = phone.get_by_label("Votre adresse ou votre commune")
    field.tap()
    field.fill("57050")
    phone.get_by_role("button", name="Rechercher").tap()
    expect(phone.locator(".result")).to_contain_text("choisissez dans la liste")
    candidates = phone.locator("button.candidate")
    expect(candidates).to_have_count(3)
    phone.get_by_role("button", name=re.compile("^Longeville-lès-Metz")).tap()
    expect(phone.locator(".mairie h3")).to_have_text("Contacter la mairie de Longeville-lès-Metz")
    expect(field).to_have_value("Longeville-lès-Metz 57050")


def test_a_shared_postcode_lists_its_communes_in_the_widget_and_without_javascript(browser, live_issue10):
    for scripts in (True, False):
        context = browser.new_context(viewport=PHONE_375, has_touch=True, is_mobile=True,
                                      java_script_enabled=scripts)
        pg = context.new_page()
        pg.goto(live_issue10.url + "/widget")
        pg.get_by_label("Votre adresse ou votre commune").fill("57050")
        pg.get_by_role("button", name="Rechercher").tap()
        expect(pg.locator("button.candidate")).to_have_count(3)
        pg.get_by_role("button", name=re.compile("^Le Ban-Saint-Martin")).tap()
        expect(pg.locator(".mairie h3")).to_contain_text("Ban-Saint-Martin")
        context.close()


def test_a_commune_only_answer_says_so_draws_no_address_and_is_scrolled_into_view(phone, live):
    phone.goto(live.url + "/")
    field = phone.get_by_label("Votre adresse ou votre commune")
    field.tap()
    field.fill("Montigny-lès-Metz")
    phone.get_by_role("button", name="Rechercher").tap()
    the_map = phone.locator(".map")
    expect(the_map).to_have_attribute("data-outline", "1")
    expect(phone.locator(".recognised")).to_contain_text("la commune de Montigny-lès-Metz, pas votre adresse précise")
    expect(the_map.locator(".bureau-marker")).to_have_count(1)
    expect(the_map.locator("path.leaflet-interactive")).to_have_count(0)  # no "Votre adresse" dot
    expect(phone.locator(".warnings")).to_have_count(0)  # nothing to doubt: no yellow box
    expect(phone.locator(".result-note")).to_contain_text("un seul bureau de vote sert")
    expect(phone.locator(".map-figure")).to_contain_text("Cette carte ne montre pas les rues")
    # the answer is on screen, not the form the voter just used
    top = phone.locator(".result").bounding_box()["y"]
    assert 0 <= top < 50 and phone.evaluate("window.scrollY") > 0


def test_a_bureau_with_a_doubtful_position_has_no_marker_no_directions_and_the_mairie(phone, live_issue10):
    phone.goto(live_issue10.url + "/")
    field = phone.get_by_label("Votre adresse ou votre commune")
    field.tap()
    field.fill("rue de la gare 57950 Montigny-lès-Metz")
    phone.get_by_role("button", name="Rechercher").tap()
    expect(phone.locator(".bureau-name")).to_have_text("Mairie de Montigny-lès-Metz")
    expect(phone.locator(".warnings")).to_contain_text("semble faux")
    expect(phone.locator(".map")).to_have_attribute("data-outline", "1")
    expect(phone.locator(".bureau-marker")).to_have_count(0)
    expect(phone.locator(".directions")).to_have_count(0)
    expect(phone.locator(".result")).not_to_contain_text("à vol d'oiseau")
    mairie = phone.locator(".mairie")
    expect(mairie).to_contain_text("160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz")
    expect(mairie).not_to_contain_text("Cedex")


def test_a_refused_position_is_said_on_screen(phone, live):
    phone.context.clear_permissions()  # the voter said no
    phone.goto(live.url + "/")
    phone.get_by_role("button", name="Utiliser ma position").tap()
    message = phone.locator("#position-message")
    expect(message).to_be_visible()
    expect(message).to_have_text(re.compile("Vous n'avez pas autorisé l'accès à votre position"))
    expect(message).to_have_attribute("role", "alert")


def test_axe_finds_no_violation_on_the_new_answers(browser, live_issue10, axe_source):
    context = browser.new_context(viewport=PHONE_375, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(live_issue10.url + "/")
    found = {}
    field = page.locator("#q")
    for name, query in (("communes", "57050"), ("doubtful", "rue de la gare 57950 Montigny-lès-Metz")):
        field.fill(query)
        field.press("Enter")
        expect(page.locator("#result .result")).to_be_visible()
        found[name] = axe_violations(page, axe_source)
    page.get_by_role("button", name="Utiliser ma position").tap()
    expect(page.locator("#position-message")).to_be_visible()
    found["position"] = axe_violations(page, axe_source)
    context.close()
    assert {k: v for k, v in found.items() if v} == {}, json.dumps(found, indent=1)
