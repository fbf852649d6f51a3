"""API v1 through the Flask test client: every route, every status code."""

from __future__ import annotations

import re

import pytest

from locator import Settings
from locator.web import create_app

from .conftest import METZ_SOUTH, MONTIGNY, SCY, THIONVILLE, WOIPPY


def lookup_point(client, lonlat, **extra):
    return client.get("/api/v1/lookup", query_string={"lon": str(lonlat[0]), "lat": str(lonlat[1]), **extra})


# -- point lookups ---------------------------------------------------------------------------

def test_point_in_single_bureau_commune_is_ok_by_commune(client):
    r = lookup_point(client, MONTIGNY)
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["method"] == "commune"
    assert body["bureau"]["id"] == "57480_1"
    assert body["commune"] == {"code": "57480", "nom": "Montigny-lès-Metz"}
    assert r.headers["Cache-Control"] == "no-store"


def test_point_in_multi_bureau_commune_gets_the_nearest_and_says_so(client):
    body = lookup_point(client, METZ_SOUTH).get_json()
    assert body["status"] == "ok"
    assert body["method"] == "nearest_in_commune"
    assert body["bureau"]["id"] == "57463_2"
    assert "nearest_in_commune" in [w["code"] for w in body["warnings"]]
    assert body["distance_m"] > 0


def test_point_where_bureaux_are_unplaced_is_ambiguous_with_the_bureaux_listed(client):
    r = lookup_point(client, WOIPPY)
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ambiguous"
    assert {c["id"] for c in body["candidates"]} == {"57751_1", "57751_2"}


def test_point_in_commune_without_bureau_is_404_with_the_mairie(client):
    r = lookup_point(client, SCY)
    assert r.status_code == 404
    body = r.get_json()
    assert body["status"] == "outside_coverage"
    assert body["commune"]["code"] == "57642"
    assert body["mairie"]["telephone"]


def test_point_outside_every_commune_is_404_outside_coverage(client):
    r = lookup_point(client, THIONVILLE)
    assert r.status_code == 404
    assert r.get_json()["status"] == "outside_coverage"


def test_longitude_zero_is_a_real_longitude_not_a_missing_one(client):
    r = client.get("/api/v1/lookup?lon=0&lat=45")
    assert r.status_code == 404
    assert r.get_json()["status"] == "outside_coverage"


@pytest.mark.parametrize("query", [
    "lon=abc&lat=49",
    "lon=6.1&lat=",
    "lon=6.1",
    "lat=49.1",
    "lon=nan&lat=49",
    "lon=inf&lat=49",
    "lon=500&lat=49",
    "lon=6.1&lat=95",
    "lon=" + "1" * 40 + "&lat=49",
    "lon=6.1&lat=49.1&q=metz",
    "",
    "q=",
    "q=%20%20",
    "q=" + "a" * 201,
    "q=%3Cscript%3Ealert(1)%3C/script%3E",
    "q=12%00rue",
    "q=%FF%FE%00%01",
    "q=metz%1b[31m",
    "q=metz%07",
    "q=!!!...",
    "departement=ZZ&q=metz",
])
def test_bad_input_is_a_clean_400_that_does_not_echo_the_text(client, query):
    r = client.get("/api/v1/lookup?" + query)
    assert r.status_code == 400
    assert r.mimetype == "application/json"
    body = r.get_json()
    assert body["status"] == "invalid"
    assert body["message"]
    assert b"<script" not in r.data


def test_json_never_contains_raw_markup_even_in_echoed_fields(client):
    # A lon/lat query is echoed as given; '<' must come out escaped.
    r = client.get("/api/v1/lookup?lon=%3Cb%3E&lat=1")
    assert r.status_code == 400
    assert b"<b>" not in r.data
    assert r.get_json()["query"]["lon"] == "<b>"


# -- address lookups ---------------------------------------------------------------------------

def test_address_lookup_goes_through_the_geocoder(client, fake_geocoder):
    r = client.get("/api/v1/lookup", query_string={"q": "Montigny-lès-Metz"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "ok"
    assert body["bureau"]["id"] == "57480_1"
    assert body["geocode"]["citycode"] == "57480"
    assert fake_geocoder.calls >= 1


def test_unknown_address_is_404_not_found(client):
    r = client.get("/api/v1/lookup", query_string={"q": "Zzyzx-sur-Nulle-Part"})
    assert r.status_code == 404
    assert r.get_json()["status"] == "not_found"


def test_dead_geocoder_is_503_with_retry_after_and_a_french_message(client, fake_geocoder):
    fake_geocoder.fail = True
    r = client.get("/api/v1/lookup", query_string={"q": "Metz"})
    assert r.status_code == 503
    assert int(r.headers["Retry-After"]) > 0
    body = r.get_json()
    assert body["status"] == "geocoder_unavailable"
    assert "indisponible" in body["message"]


def test_dead_geocoder_does_not_stop_point_lookups(client, fake_geocoder):
    fake_geocoder.fail = True
    assert lookup_point(client, MONTIGNY).status_code == 200


def test_departement_filter_turns_other_departements_into_outside_coverage(client):
    r = lookup_point(client, MONTIGNY, departement="54")
    assert r.status_code == 404
    body = r.get_json()
    assert body["status"] == "outside_coverage"
    assert body["bureau"] is None
    assert body["commune"]["code"] == "57480"
    assert lookup_point(client, MONTIGNY, departement="57").status_code == 200


# -- autocomplete ------------------------------------------------------------------------------

def test_autocomplete_lists_places_of_the_data_only(client):
    r = client.get("/api/v1/autocomplete", query_string={"q": "rue de la gare"})
    assert r.status_code == 200
    results = r.get_json()["results"]
    assert [p["citycode"] for p in results] == ["57751", "57480"]
    assert {"label", "lon", "lat", "type", "citycode", "postcode", "score"} <= set(results[0])
    # Thionville is a real place but not in this data: never suggested.
    assert client.get("/api/v1/autocomplete?q=thionville").get_json()["results"] == []


def test_autocomplete_filters_by_departement_and_limit(client):
    assert client.get("/api/v1/autocomplete?q=rue+de+la+gare&departement=54").get_json()["results"] == []
    assert len(client.get("/api/v1/autocomplete?q=rue+de+la+gare&limit=1").get_json()["results"]) == 1


def test_the_same_prefix_typed_again_is_answered_without_asking_the_geocoder(client, fake_geocoder):
    first = client.get("/api/v1/autocomplete?q=rue+de+la+gare").get_json()
    calls = fake_geocoder.calls
    assert calls > 0
    assert client.get("/api/v1/autocomplete?q=rue+de+la+gare").get_json() == first
    assert fake_geocoder.calls == calls
    client.get("/api/v1/autocomplete?q=rue+de+la+gare&limit=1")  # another limit: another answer
    assert fake_geocoder.calls > calls


def test_a_failed_suggestion_is_not_remembered(client, fake_geocoder):
    fake_geocoder.fail = True
    assert client.get("/api/v1/autocomplete?q=rue+de+la+gare").status_code == 503
    fake_geocoder.fail = False
    assert client.get("/api/v1/autocomplete?q=rue+de+la+gare").get_json()["results"]


def test_autocomplete_under_three_characters_asks_nothing(client, fake_geocoder):
    r = client.get("/api/v1/autocomplete?q=me")
    assert r.status_code == 200
    assert r.get_json()["results"] == []
    assert fake_geocoder.calls == 0


@pytest.mark.parametrize("query", ["q=%3Cscript%3E", "q=" + "x" * 201, "q=metz&limit=0", "q=metz&limit=99",
                                   "q=metz&limit=abc", "q=metz&departement=5"])
def test_autocomplete_bad_input_is_400(client, query):
    r = client.get("/api/v1/autocomplete?" + query)
    assert r.status_code == 400
    assert r.get_json()["status"] == "invalid"


def test_autocomplete_with_dead_geocoder_is_503(client, fake_geocoder):
    fake_geocoder.fail = True
    r = client.get("/api/v1/autocomplete?q=metz")
    assert r.status_code == 503
    assert "Retry-After" in r.headers


# -- bureaux and communes ------------------------------------------------------------------------

def test_bureaux_is_geojson_of_every_bureau(client):
    r = client.get("/api/v1/bureaux")
    assert r.status_code == 200
    assert r.mimetype == "application/geo+json"
    doc = r.get_json()
    assert doc["type"] == "FeatureCollection"
    assert len(doc["features"]) == 6
    unplaced = [f for f in doc["features"] if f["geometry"] is None]
    assert {f["id"] for f in unplaced} == {"57751_1", "57751_2"}


def test_bureaux_filtered_by_commune(client):
    doc = client.get("/api/v1/bureaux?commune=57463").get_json()
    assert sorted(f["id"] for f in doc["features"]) == ["57463_1", "57463_2", "57463_3"]
    assert client.get("/api/v1/bureaux?commune=57642").get_json()["features"] == []


@pytest.mark.parametrize("url,status", [
    ("/api/v1/bureaux?commune=12", 400),
    ("/api/v1/bureaux?commune=%3Cx%3E", 400),
    ("/api/v1/bureaux?commune=57672", 404),
    ("/api/v1/bureaux/nope", 404),
    ("/api/v1/bureaux/" + "x" * 80, 400),
    ("/api/v1/bureaux/a%20b", 400),
    ("/api/v1/communes/5746", 400),
    ("/api/v1/communes/99999", 404),
])
def test_bad_or_unknown_identifiers(client, url, status):
    r = client.get(url)
    assert r.status_code == status
    assert r.mimetype == "application/json"
    assert r.get_json()["message"]


def test_one_bureau(client):
    r = client.get("/api/v1/bureaux/57463_2")
    assert r.status_code == 200
    feature = r.get_json()
    assert feature["geometry"]["coordinates"] == [6.189, 49.101]
    assert feature["properties"]["communes_served"] == ["57463"]
    # provenance and precision travel with the point
    assert feature["properties"]["location_source"] == "manual"
    assert "geocode_score" in feature["properties"] and feature["properties"]["geocode_type"] is None


def test_commune_has_outline_mairie_and_bureaux(client):
    r = client.get("/api/v1/communes/57463")
    assert r.status_code == 200
    feature = r.get_json()
    assert feature["geometry"]["type"] == "MultiPolygon"
    lon, lat = feature["geometry"]["coordinates"][0][0][0]
    assert 6.0 < lon < 6.4 and 49.0 < lat < 49.3  # back in WGS84
    props = feature["properties"]
    assert props["mairie"]["telephone"]
    assert props["mairie"]["horaires"]
    assert len(props["bureaux"]) == 3
    assert "max-age" in r.headers["Cache-Control"]


def test_commune_outline_contains_its_mairie(client):
    from shapely.geometry import Point, shape

    feature = client.get("/api/v1/communes/57480").get_json()
    mairie = feature["properties"]["mairie"]
    assert shape(feature["geometry"]).contains(Point(mairie["lon"], mairie["lat"]))


# -- sandbox -----------------------------------------------------------------------------------

@pytest.mark.parametrize("q,http,status", [
    ("ok", 200, "ok"),
    ("n'importe quoi", 200, "ok"),
    ("nearest", 200, "ok"),
    ("ambiguous", 200, "ambiguous"),
    ("not_found", 404, "not_found"),
    ("outside_coverage", 404, "outside_coverage"),
    ("invalid", 400, "invalid"),
    ("", 400, "invalid"),
    ("<script>", 400, "invalid"),
    ("unavailable", 503, "geocoder_unavailable"),
])
def test_sandbox_gives_fixed_fake_answers_for_every_status(client, fake_geocoder, q, http, status):
    r = client.get("/api/v1/sandbox/lookup", query_string={"q": q})
    assert r.status_code == http
    assert r.get_json()["status"] == status
    assert fake_geocoder.calls == 0  # never the real geocoder
    if http == 503:
        assert "Retry-After" in r.headers
    else:
        assert r.headers["X-Sandbox"]


def test_sandbox_answers_name_a_fictional_commune(client):
    body = client.get("/api/v1/sandbox/lookup?q=ok").get_json()
    assert body["commune"] == {"code": "99999", "nom": "Exempleville"}


# -- health ------------------------------------------------------------------------------------

def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "ok" and set(body) == {"status", "data_version"}
    # the digest of the data files served: a reload that changed them shows here
    assert body["data_version"] is None or re.fullmatch(r"[0-9a-f]{12}", body["data_version"])


def test_readyz_when_the_geocoder_answers(client):
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ready", "communes": 4, "bureaux": 6}


def test_readyz_is_503_when_the_geocoder_is_down(client, fake_geocoder):
    fake_geocoder.fail = True
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.get_json()["status"] == "not_ready"
    assert "Retry-After" in r.headers


def test_readyz_is_503_without_a_geocoder(web_data_dir, web_settings):
    from locator import DataDir, Locator

    locator = Locator(DataDir(web_data_dir).load(), settings=web_settings)  # points only
    assert locator.geocoder is None
    client = create_app(web_settings, locator=locator).test_client()
    assert client.get("/readyz").status_code == 503
    r = client.get("/api/v1/lookup?q=metz")
    assert r.status_code == 503
    assert lookup_point(client, MONTIGNY).status_code == 200


# -- protocol errors -----------------------------------------------------------------------------

def test_unknown_api_route_is_json_404(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.mimetype == "application/json"
    assert r.get_json()["status"] == "not_found"


def test_wrong_method_is_json_405(client):
    r = client.post("/api/v1/lookup?q=metz")
    assert r.status_code == 405
    assert r.get_json()["status"] == "method_not_allowed"


def test_huge_body_is_413_without_reading_it(client):
    r = client.post("/recherche", data={"q": "x" * 40_000})
    assert r.status_code == 413
    assert b"Traceback" not in r.data


def test_internal_error_is_a_json_500_without_details(web_settings, web_locator, monkeypatch, caplog):
    app = create_app(web_settings, locator=web_locator)

    secret = "secret detail " + "12 rue des Secrets"

    def boom(*args, **kwargs):
        raise RuntimeError(secret)

    monkeypatch.setattr(web_locator, "lookup_point", boom)
    r = app.test_client().get("/api/v1/lookup?lon=6.1&lat=49.1")
    assert r.status_code == 500
    assert r.get_json()["status"] == "error"
    assert b"secret" not in r.data
    assert "12 rue des Secrets" not in caplog.text
    assert "RuntimeError" in caplog.text


def test_cors_is_open_on_the_api_only(client):
    r = client.get("/api/v1/bureaux", headers={"Origin": "https://example.org"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers
    pre = client.options("/api/v1/lookup", headers={"Origin": "https://example.org",
                                                    "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200
    assert "GET" in pre.headers["Access-Control-Allow-Methods"]
    page = client.get("/", headers={"Origin": "https://example.org"})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_rate_limit_gives_json_429_with_retry_after(web_data_dir, web_locator):
    settings = Settings(data_dir=web_data_dir, rate_limit="3/minute")
    client = create_app(settings, locator=web_locator).test_client()
    codes = [lookup_point(client, MONTIGNY).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = lookup_point(client, MONTIGNY)
    assert r.status_code == 429
    assert r.get_json()["status"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 0
    # The budget is per endpoint group: data routes and health stay available.
    assert client.get("/api/v1/bureaux/57480_1").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_rate_limit_is_per_client_ip(web_data_dir, web_locator):
    settings = Settings(data_dir=web_data_dir, rate_limit="1/minute")
    client = create_app(settings, locator=web_locator).test_client()
    first = {"REMOTE_ADDR": "192.0.2.1"}
    assert lookup_point(client, MONTIGNY, ).status_code == 200
    assert client.get("/api/v1/lookup?lon=6.15&lat=49.1", environ_base=first).status_code == 200
    assert client.get("/api/v1/lookup?lon=6.15&lat=49.1", environ_base=first).status_code == 429


# -- JSON encoding ---------------------------------------------------------------------------

def test_json_bodies_mean_what_the_stdlib_encoder_would_write_with_markup_escaped(app):
    import json
    import math

    import numpy as np

    doc = {"query": "<script>&amp;</script>", "nom": "Montigny-lès-Metz", "n": 3, "d": 1234.5,
           "np": np.float64(0.1) + np.float64(0.2), "none": None, "list": [1, "é", True], 7: "int key"}
    with app.app_context():
        compact = app.json.dumps(doc, separators=(",", ":"))
        body = app.json.response(doc).get_data(as_text=True)
        pretty = app.json.dumps(doc, indent=2)
    expected = json.loads(json.dumps(doc))
    for text in (compact, body, pretty):
        assert "<" not in text and ">" not in text and "&" not in text
        assert "\\u003cscript\\u003e\\u0026amp;" in text
        assert json.loads(text) == expected
        assert "lès" in text  # UTF-8, not \u escapes
    assert body.endswith("\n") and "\n" not in body[:-1]
    assert math.isclose(json.loads(body)["np"], 0.30000000000000004)
