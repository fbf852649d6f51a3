"""`locator data fetch`: the builder's file from geo.api.gouv.fr + the API Annuaire.

Offline: a fake transport answers with the recorded responses of tests/fixtures/fetch/ (see
its README). One live test is marked `network` and deselected by default.
"""

from __future__ import annotations

import copy
import gzip
import http.server
import json
import socket
import threading
import urllib.parse
from pathlib import Path

import pytest

from locator.cli import data as cli_data
from locator.cli import main
from locator.data import fetch
from locator.data.fetch import (
    ApiClient,
    FetchConfig,
    HttpResponse,
    TransportError,
    UrllibTransport,
    build_features,
    fetch_departement,
    horaires_line,
    parse_mairie,
)
from locator.data.geojson import dumps_collection
from locator.data.loader import load_communes, read_feature_collection
from locator.errors import DataError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fetch"
PROJECT_DATA = Path(__file__).resolve().parents[2] / "data"
GEO_PATH = "/departements/57/communes"
ANNUAIRE_PATH = "/exports/json"


def recorded(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ok(obj) -> HttpResponse:
    return HttpResponse(200, json.dumps(obj, ensure_ascii=False).encode("utf-8"), {"content-type": "application/json"})


class FakeTransport:
    """Answers by URL path; a list of answers is served in turn, the last one repeats."""

    def __init__(self, routes: dict):
        self.routes = {path: list(a) if isinstance(a, list) else [a] for path, a in routes.items()}
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, url, *, timeout, headers):
        self.calls.append((url, dict(headers)))
        path = urllib.parse.urlsplit(url).path
        for suffix, answers in self.routes.items():
            if path.endswith(suffix):
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
                if isinstance(answer, Exception):
                    raise answer
                return answer
        raise AssertionError(f"unexpected request {url}")


def recorded_transport(geo=None, annuaire=None) -> FakeTransport:
    return FakeTransport({
        GEO_PATH: ok(recorded("geo_57_communes.json")) if geo is None else geo,
        ANNUAIRE_PATH: ok(recorded("annuaire_57_mairies.json")) if annuaire is None else annuaire,
    })


def client(transport, **config) -> tuple[ApiClient, list[float]]:
    sleeps: list[float] = []
    cfg = FetchConfig(**{"min_interval_s": 0.0, **config})
    return ApiClient(config=cfg, transport=transport, sleep=sleeps.append), sleeps


def use_fake_client(monkeypatch, transport) -> list[float]:
    """Make the CLI's ApiClient (locator.cli.data) use ``transport`` and record its sleeps instead of sleeping."""
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def fake_client(*, config):
        return ApiClient(config=config, transport=transport, sleep=sleep, clock=lambda: sum(sleeps))

    monkeypatch.setattr(cli_data, "ApiClient", fake_client)
    return sleeps


def fetch_features(geo_doc=None, annuaire_doc=None) -> list[dict]:
    geo_doc = recorded("geo_57_communes.json") if geo_doc is None else geo_doc
    annuaire_doc = recorded("annuaire_57_mairies.json") if annuaire_doc is None else annuaire_doc
    return build_features("57", geo_doc, annuaire_doc).features


def by_code(features) -> dict[str, dict]:
    return {f["properties"]["code"]: f for f in features}


@pytest.fixture(scope="module")
def committed() -> dict[str, dict]:
    return by_code(read_feature_collection(PROJECT_DATA / "communes" / "57.geojson"))


# -- same file as the builder ---------------------------------------------------------------

def test_fetched_communes_equal_the_wheel_build_except_the_canton(committed):
    fetched = fetch_features()
    assert [f["properties"]["code"] for f in fetched] == ["57209", "57463", "57576", "57719"]
    for feat in fetched:
        expected = copy.deepcopy(committed[feat["properties"]["code"]])
        expected["properties"]["canton"] = None
        assert feat == expected


def test_properties_are_exactly_the_builders_in_the_same_order(committed):
    builder_keys = list(committed["57463"]["properties"])
    for feat in fetch_features():
        assert list(feat["properties"]) == builder_keys
        assert feat["geometry"]["type"] == "MultiPolygon"


def test_output_is_byte_identical_whatever_order_the_apis_answer_in():
    geo, ann = recorded("geo_57_communes.json"), recorded("annuaire_57_mairies.json")
    first = dumps_collection(fetch_features(geo, ann))
    again = dumps_collection(fetch_features(geo[::-1], ann[::-1]))
    assert first == again


def test_cli_writes_a_file_the_engine_loads_strictly(tmp_path, monkeypatch, capsys):
    use_fake_client(monkeypatch, recorded_transport())
    code = main(["data", "fetch", "--departement", "57", "--out", str(tmp_path)])
    assert code == 0
    path = tmp_path / "communes" / "57.geojson"
    loaded = load_communes([path], strict=True)
    assert [c.code for c in loaded.communes] == ["57209", "57463", "57576", "57719"]
    out = capsys.readouterr().out
    assert "4 communes, 3 with a mairie point (3 from the API Annuaire, 0 from geo.api.gouv.fr)" in out
    assert "1 without an annuaire entry" in out


def test_requests_ask_geo_api_for_contour_and_mairie_and_the_annuaire_for_the_departement():
    transport = recorded_transport()
    api, _ = client(transport)
    fetch_departement("57", client=api)
    (geo_url, geo_headers), (ann_url, _) = transport.calls
    geo = urllib.parse.urlsplit(geo_url)
    assert geo.netloc == "geo.api.gouv.fr" and geo.path == "/departements/57/communes"
    query = urllib.parse.parse_qs(geo.query)
    assert {"contour", "mairie", "codesPostaux", "population"} <= set(query["fields"][0].split(","))
    assert query["format"] == ["json"]
    ann = urllib.parse.urlsplit(ann_url)
    assert ann.netloc == "api-lannuaire.service-public.fr"
    assert ann.path.endswith("/datasets/api-lannuaire-administration/exports/json")
    where = urllib.parse.parse_qs(ann.query)["where"][0]
    assert 'startswith(code_insee_commune, "57")' in where and '"mairie"' in where
    assert geo_headers["User-Agent"].startswith("bureau-locator/")


# -- mairie fields --------------------------------------------------------------------------

def _plage(d1, d2, *hours):
    out = {"nom_jour_debut": d1, "nom_jour_fin": d2, "commentaire": ""}
    for n, (a, b) in enumerate(zip(hours[::2], hours[1::2], strict=True), start=1):
        out[f"valeur_heure_debut_{n}"], out[f"valeur_heure_fin_{n}"] = a, b
    return out


@pytest.mark.parametrize("plages, expected", [
    ([_plage("Lundi", "Vendredi", "08:00:00", "12:00:00", "13:00:00", "17:00:00")],
     "du lundi au vendredi : 08h00–12h00, 13h00–17h00"),
    ([_plage("Mardi", "Mardi", "16:00:00", "18:00:00"), _plage("Samedi", "", "10:00:00", "11:30:00")],
     "mardi : 16h00–18h00 ; samedi : 10h00–11h30"),
    ([_plage("Monday", "Friday", "09:00", "12:00")], "du lundi au vendredi : 09h00–12h00"),
    ([_plage("Jeudi", "Jeudi", "10:00:00", "", "14:00:00", "16:00:00")], "jeudi : 14h00–16h00"),
    ([_plage("Jeudi", "Jeudi", "10h", "12h")], "jeudi"),
    ([_plage("", "", "10:00:00", "12:00:00")], None),
    ([], None),
])
def test_opening_hours_become_the_builders_french_line(plages, expected):
    assert horaires_line(plages) == expected


def test_json_encoded_and_decoded_annuaire_fields_read_the_same():
    encoded = recorded("annuaire_57_mairies.json")[1]
    decoded = {k: (json.loads(v) if k in ("pivot", "adresse", "telephone", "plage_ouverture") else v)
               for k, v in encoded.items()}
    assert parse_mairie(encoded) == parse_mairie(decoded)
    assert parse_mairie(encoded).adresse == "1 place d'Armes-Jacques-François-Blondel, 57000 Metz"


def test_main_mairie_wins_over_a_mairie_deleguee_whatever_the_order():
    metz = recorded("annuaire_57_mairies.json")[1]
    deleguee = {**metz, "nom": "Mairie déléguée - Metz-Borny", "ancien_code_pivot": "mairie-57463-02",
                "telephone": json.dumps([{"valeur": "03 87 00 00 00"}])}
    for records in ([metz, deleguee], [deleguee, metz]):
        props = by_code(fetch_features(annuaire_doc=records))["57463"]["properties"]
        assert props["mairie_telephone"] == "08 00 89 18 91"


def test_geo_api_mairie_is_the_fallback_when_the_annuaire_has_no_point():
    annuaire = recorded("annuaire_57_mairies.json")
    metz = annuaire[1]
    address = json.loads(metz["adresse"])
    address[0]["longitude"] = address[0]["latitude"] = ""
    metz["adresse"] = json.dumps(address)
    report = build_features("57", recorded("geo_57_communes.json"), annuaire)
    props = by_code(report.features)["57463"]["properties"]
    assert (props["mairie_lon"], props["mairie_lat"]) == (6.1763, 49.1197)
    assert props["mairie_adresse"] == "1 place d'Armes-Jacques-François-Blondel, 57000 Metz"
    assert (report.points_from_annuaire, report.points_from_geo_api) == (2, 1)


def test_a_0_0_mairie_is_null_never_0_0():
    geo = recorded("geo_57_communes.json")
    annuaire = recorded("annuaire_57_mairies.json")
    metz_geo = next(c for c in geo if c["code"] == "57463")
    metz_geo["mairie"] = {"type": "Point", "coordinates": [0, 0]}
    address = json.loads(annuaire[1]["adresse"])
    address[0]["longitude"] = address[0]["latitude"] = "0"
    annuaire[1]["adresse"] = json.dumps(address)
    props = by_code(fetch_features(geo, annuaire))["57463"]["properties"]
    assert props["mairie_lon"] is None and props["mairie_lat"] is None


def test_missing_fields_give_nulls_not_errors():
    geo = [{"code": "57576", "nom": "Rettel", "contour": recorded("geo_57_communes.json")[2]["contour"]}]
    annuaire = [{"pivot": json.dumps([{"type_service_local": "mairie", "code_insee_commune": ["57576"]}]),
                 "adresse": "not json", "telephone": None}]
    props = fetch_features(geo, annuaire)[0]["properties"]
    assert props["codes_postaux"] == [] and props["population"] is None
    assert all(props[k] is None for k in props if k.startswith("mairie_"))


def test_coordinates_are_rounded_like_the_builder():
    ring = [[6.1234567891, 49.1], [6.2, 49.1000000004], [6.2, 49.2], [6.1, 49.2], [6.1234567891, 49.1]]
    geo = [{"code": "57999", "nom": "Essai", "contour": {"type": "Polygon", "coordinates": [ring]},
            "mairie": {"type": "Point", "coordinates": [6.15, 49.15]}}]
    annuaire = [{"pivot": json.dumps([{"type_service_local": "mairie", "code_insee_commune": ["57999"]}]),
                 "adresse": json.dumps([{"type_adresse": "Adresse", "longitude": "6.151234567", "latitude": "49.15"}])}]
    feat = fetch_features(geo, annuaire)[0]
    assert feat["geometry"]["coordinates"][0][0][0] == [6.123457, 49.1]
    assert feat["properties"]["mairie_lon"] == 6.1512346


# -- failures: DataError naming the URL, exit 2 ---------------------------------------------

_COMMUNE = {"code": "57576", "nom": "Rettel", "contour": {"type": "Polygon", "coordinates": [
    [[6.3, 49.4], [6.4, 49.4], [6.4, 49.5], [6.3, 49.4]]]}}


@pytest.mark.parametrize("answer, message", [
    (HttpResponse(404, b"Not Found"), "HTTP 404"),
    (HttpResponse(200, b"<html>maintenance</html>"), "not JSON"),
    (ok({"message": "oops"}), "expected a JSON list of communes"),
    (ok([]), "no commune returned"),
    (ok([{**_COMMUNE, "contour": None}]), "contour"),
    (ok([{**_COMMUNE, "code": "54395"}]), "not in département 57"),
    (ok([_COMMUNE, _COMMUNE]), "returned twice"),
])
def test_a_bad_geo_api_answer_is_a_data_error_naming_the_url(answer, message):
    api, _ = client(recorded_transport(geo=answer))
    with pytest.raises(DataError) as err:
        fetch_departement("57", client=api)
    assert message in str(err.value)
    assert "https://geo.api.gouv.fr/departements/57/communes?" in str(err.value)


def test_a_bad_annuaire_answer_is_a_data_error_naming_the_url():
    api, _ = client(recorded_transport(annuaire=ok({"error_code": "ODSQLError"})))
    with pytest.raises(DataError, match=r"api-lannuaire-administration/exports/json\?.*JSON list of records"):
        fetch_departement("57", client=api)


def test_server_errors_are_retried_with_backoff_then_reported():
    transport = recorded_transport(annuaire=HttpResponse(503, b"Service Unavailable"))
    api, sleeps = client(transport)
    with pytest.raises(DataError, match="HTTP 503.*after 4 attempts"):
        fetch_departement("57", client=api)
    assert len(transport.calls) == 1 + 4
    assert sleeps == [2.0, 4.0, 8.0]


def test_retry_after_is_honoured_and_the_later_answer_used():
    transport = recorded_transport(geo=[HttpResponse(429, b"", {"retry-after": "7"}),
                                        ok(recorded("geo_57_communes.json"))])
    api, sleeps = client(transport)
    assert len(fetch_departement("57", client=api).features) == 4
    assert sleeps == [7.0]


def test_network_errors_are_retried():
    transport = recorded_transport(geo=[TransportError("timed out"), ok(recorded("geo_57_communes.json"))])
    api, sleeps = client(transport)
    assert len(fetch_departement("57", client=api).features) == 4
    assert sleeps == [2.0]


def test_client_errors_are_not_retried():
    transport = recorded_transport(geo=HttpResponse(400, b"Bad Request"))
    api, sleeps = client(transport)
    with pytest.raises(DataError, match="HTTP 400"):
        fetch_departement("57", client=api)
    assert len(transport.calls) == 1 and sleeps == []


def test_requests_are_spaced_by_the_minimum_interval():
    sleeps: list[float] = []
    api = ApiClient(config=FetchConfig(min_interval_s=1.5), transport=recorded_transport(),
                    sleep=sleeps.append, clock=lambda: 100.0)
    fetch_departement("57", client=api)
    assert sleeps == [1.5]


@pytest.mark.parametrize("departement", ["5'7", '57") or ("1', "975", "abc", ""])
def test_bad_departement_codes_are_refused_before_any_request(departement):
    transport = recorded_transport()
    api, _ = client(transport)
    with pytest.raises(DataError):
        fetch_departement(departement, client=api)
    assert transport.calls == []


def test_cli_exits_2_naming_the_url_and_keeps_the_previous_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "communes" / "57.geojson"
    target.parent.mkdir(parents=True)
    target.write_text("previous\n", encoding="utf-8")
    transport = recorded_transport(annuaire=HttpResponse(502, b"Bad Gateway"))
    sleeps = use_fake_client(monkeypatch, transport)
    code = main(["data", "fetch", "-d", "57", "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "error: https://api-lannuaire.service-public.fr/" in err and "HTTP 502" in err
    assert target.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["57.geojson"]
    # 1 s between the two APIs, then the annuaire's backoff; no extra wait after a backoff.
    assert len(transport.calls) == 1 + 4 and sleeps == [1.0, 2.0, 4.0, 8.0]


# -- the real transport, against a local server ---------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path.startswith("/gz"):
            body = gzip.compress(json.dumps([{"ok": "é"}]).encode())
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
        else:
            body = b"nope"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_urllib_transport_decodes_gzip_and_returns_error_statuses(local_server):
    transport = UrllibTransport()
    resp = transport(f"{local_server}/gz", timeout=5, headers={})
    assert resp.status == 200 and json.loads(resp.body) == [{"ok": "é"}]
    missing = transport(f"{local_server}/missing", timeout=5, headers={})
    assert (missing.status, missing.body) == (404, b"nope")


def test_urllib_transport_turns_a_refused_connection_into_a_transport_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransportError):
        UrllibTransport()(f"http://127.0.0.1:{port}/", timeout=5, headers={})


# -- live (deselected by default: pytest -m network) -----------------------------------------

@pytest.mark.network
def test_live_fetch_of_moselle_loads_strictly(tmp_path):
    report = fetch_departement("57")
    assert len(report.features) > 700
    path = tmp_path / "57.geojson"
    path.write_text(dumps_collection(report.features), encoding="utf-8")
    assert len(load_communes([path], strict=True).communes) == len(report.features)


@pytest.mark.parametrize("env,argv,expected", [
    ({}, [], (fetch.GEO_API_URL, fetch.ANNUAIRE_DATASET_URL, 120.0)),
    ({"LOCATOR_FETCH_GEO_URL": "https://geo.mirror.example", "LOCATOR_FETCH_TIMEOUT_S": "30"}, [],
     ("https://geo.mirror.example", fetch.ANNUAIRE_DATASET_URL, 30.0)),
    ({"LOCATOR_FETCH_GEO_URL": "https://geo.mirror.example", "LOCATOR_FETCH_TIMEOUT_S": "30"},
     ["--geo-url", "https://geo.cli.example", "--annuaire-url", "https://ann.cli.example/ds", "--timeout", "5"],
     ("https://geo.cli.example", "https://ann.cli.example/ds", 5.0)),
])
def test_fetch_hosts_and_timeout_come_from_settings_then_the_command_line(tmp_path, monkeypatch, env, argv,
                                                                         expected):
    for name in ("LOCATOR_FETCH_GEO_URL", "LOCATOR_FETCH_ANNUAIRE_URL", "LOCATOR_FETCH_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen = []

    class Stop(Exception):
        pass

    def capture(*, config):
        seen.append((config.geo_url, config.annuaire_url, config.timeout_s))
        raise Stop

    monkeypatch.setattr(cli_data, "ApiClient", capture)
    with pytest.raises(Stop):
        main(["data", "fetch", "-d", "57", "--out", str(tmp_path), *argv])
    assert seen == [expected]
