"""The behaviour regression set: which questions are asked, and how each answer is computed.

One module computes; ``record.py`` writes the answers to
``tests/fixtures/regression/answers.jsonl.gz``; ``test_regression.py`` recomputes every
recorded input with the code under test and compares the strings byte for byte.

Only the ADAPTER section below touches the ``locator`` package, through its public entry
points. When the package is restructured, that section is the one place to follow it; the
recorded answers must not change.

Inputs are generated once, at record time (seeded, from the data files read with json and
shapely, not through the package), and stored in the fixture; the test replays the stored
inputs, so it never depends on how they were generated.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
FIXTURE = ROOT / "tests" / "fixtures" / "regression" / "answers.jsonl.gz"

# ================================================================================================
# ADAPTER: the only code that touches the locator package.
# ================================================================================================

from locator import Locator, Settings  # noqa: E402
from locator.cli import main as _cli_main  # noqa: E402
from locator.web import create_app  # noqa: E402


def make_settings(data_dir: Path, index_dir: Path) -> Settings:
    """The settings every case runs with: the data folder, a private index folder (never the
    repository's data/index) and a rate limit no run reaches."""
    return Settings(data_dir=Path(data_dir), index_dir=Path(index_dir), rate_limit="100000/minute")


def open_locator(data_dir: Path, index_dir: Path, *, geocoder: bool = False) -> Locator:
    """A cold locator (``warm()`` not called). Its geocoder attaches on the first text lookup;
    with ``geocoder`` it is attached and opened now (what the web service does at start-up,
    needed by the app's text routes)."""
    loc = Locator.from_data_dir(Path(data_dir), settings=make_settings(data_dir, index_dir))
    return loc.open() if geocoder else loc


def close_locator(loc: Locator) -> None:
    """Stop the locator's embedded geocoder (its redis-server), if it was started."""
    loc.close()


def point_answer(loc: Locator, lon, lat) -> str:
    return json.dumps(loc.lookup_point(lon, lat).to_dict(), ensure_ascii=False)


def text_answer(loc: Locator, text) -> str:
    return json.dumps(loc.lookup(text).to_dict(), ensure_ascii=False)


def make_app(loc: Locator):
    """The Flask app over ``loc`` (``create_app`` warms the locator)."""
    return create_app(loc.settings, locator=loc, test_config={"TESTING": True})


def run_cli(argv: list[str], index_dir: Path) -> tuple[int, str]:
    """``locator <argv>`` in-process: exit code and stdout. The command line reads its
    settings from the environment: for the run, every LOCATOR_* variable of the caller is
    set aside (the answers must not depend on it) and the index folder is LOCATOR_INDEX_DIR."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("LOCATOR_")}
    for k in saved:
        del os.environ[k]
    os.environ["LOCATOR_INDEX_DIR"] = str(index_dir)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = _cli_main(argv)
    finally:
        os.environ.pop("LOCATOR_INDEX_DIR", None)
        os.environ.update(saved)
    return code, out.getvalue()


# ================================================================================================
# Normalisation of what is not behaviour.
# ================================================================================================

#: Response headers recorded besides the status and the body. Left out on purpose: the
#: rate-limit headers (their reset time is a clock), Content-Length (implied by the body),
#: Vary and the security headers of pages (CSP nonces).
RECORDED_HEADERS = ("Content-Type", "Cache-Control", "Retry-After", "X-Sandbox", "Access-Control-Allow-Origin")


def normalise_response(status: int, headers, body: bytes) -> str:
    """The ONE place where a response is made comparable: status, the headers of
    ``RECORDED_HEADERS`` and the body decoded as UTF-8. Nothing in the recorded API bodies
    is nondeterministic today (no timestamp, request id or nonce), so nothing is rewritten;
    HTML pages are not recorded."""
    kept = {name: headers.get(name) for name in RECORDED_HEADERS if headers.get(name) is not None}
    return json.dumps({"status": status, "headers": kept, "body": body.decode("utf-8")}, ensure_ascii=False)


# ================================================================================================
# Computing an answer (shared by record and test).
# ================================================================================================

#: Groups, in the order they are computed (the test follows the same order).
GROUPS = ("moselle_points", "invalid_points", "paris_points", "commune_names", "mairie_addresses",
          "texts", "invalid_texts", "api", "cli")
#: Groups that need the shared real data (LOCATOR_TEST_DATA).
SHARED_GROUPS = ("paris_points",)


def shared_dir() -> Path | None:
    """The shared real-data folder, as tests/conftest.py finds it; None when absent."""
    raw = os.environ.get("LOCATOR_TEST_DATA")
    path = Path(raw) if raw else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


class Runner:
    """Opens what the cases need, once, lazily; ``close()`` stops every geocoder."""

    def __init__(self, workdir: Path | None = None):
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="locator-regression-")
            workdir = Path(self._tmp.name)
        self.workdir = Path(workdir)
        self.index_dir = self.workdir / "index"
        self._moselle = self._paris = self._web_loc = self._app = None

    # the Moselle locator for points and texts: never warmed
    @property
    def moselle(self) -> Locator:
        if self._moselle is None:
            self._moselle = open_locator(DATA_DIR, self.index_dir)
        return self._moselle

    @property
    def paris(self) -> Locator:
        if self._paris is None:
            shared = shared_dir()
            if shared is None:
                raise RuntimeError("the Paris cases need the shared data (LOCATOR_TEST_DATA)")
            if str(ROOT) not in sys.path:  # tests.conftest is imported from the repository root
                sys.path.insert(0, str(ROOT))
            from tests.conftest import build_paris_dir

            folder = build_paris_dir(shared, self.workdir / "paris")
            self._paris = open_locator(folder, self.workdir / "paris-index")
        return self._paris

    # a separate locator for the app: create_app warms it, the one above stays cold
    @property
    def client(self):
        if self._app is None:
            self._web_loc = open_locator(DATA_DIR, self.index_dir, geocoder=True)
            self._app = make_app(self._web_loc)
        return self._app.test_client()

    def close(self) -> None:
        for loc in (self._moselle, self._paris, self._web_loc):
            if loc is not None:
                close_locator(loc)
        self._moselle = self._paris = self._web_loc = self._app = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- one case --------------------------------------------------------------------------
    def answer(self, group: str, inp) -> str:
        if group in ("moselle_points", "invalid_points"):
            return point_answer(self.moselle, inp["lon"], inp["lat"])
        if group == "paris_points":
            return point_answer(self.paris, inp["lon"], inp["lat"])
        if group in ("commune_names", "mairie_addresses", "texts", "invalid_texts"):
            return text_answer(self.moselle, inp["q"])
        if group == "api":
            r = self.client.get(inp["path"])
            return normalise_response(r.status_code, r.headers, r.get_data())
        if group == "cli":
            batch = self.workdir / "batch.txt"
            batch.write_text("".join(line + "\n" for line in inp["lines"]), encoding="utf-8")
            code, out = run_cli(["lookup", "--data", str(DATA_DIR), "--batch", str(batch), "--json"], self.index_dir)
            return json.dumps({"exit": code, "stdout": out}, ensure_ascii=False)
        raise ValueError(f"unknown group {group!r}")


# ================================================================================================
# Generating the inputs (record time only; the test replays the stored inputs).
# ================================================================================================

SEED = 20240607


def _features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _moselle_communes() -> list[dict]:
    feats = []
    for path in sorted((DATA_DIR / "communes").glob("*.geojson")):
        feats += _features(path)
    return feats


def _transformers():
    from pyproj import Transformer

    fwd = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    back = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
    return fwd, back


def _random_in_bbox(rng, geoms, n: int) -> list[tuple[float, float]]:
    import shapely

    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [(round(float(rng.uniform(minx, maxx)), 6), round(float(rng.uniform(miny, maxy)), 6)) for _ in range(n)]


def _near_boundaries(rng, geoms, n: int, max_m: float) -> list[tuple[float, float]]:
    """Points 0..max_m metres (uniform, any direction) from a random point of a random
    polygon's boundary, computed in Lambert-93."""
    from shapely.ops import transform

    fwd, back = _transformers()
    out = []
    for _ in range(n):
        geom = geoms[int(rng.integers(len(geoms)))]
        edge = transform(fwd.transform, geom).boundary
        p = edge.interpolate(float(rng.uniform(0, edge.length)))
        d, a = float(rng.uniform(0, max_m)), float(rng.uniform(0, 2 * math.pi))
        lon, lat = back.transform(p.x + d * math.cos(a), p.y + d * math.sin(a))
        out.append((round(lon, 7), round(lat, 7)))
    return out


def _point_inputs(points) -> list[dict]:
    return [{"lon": lon, "lat": lat} for lon, lat in points]


def moselle_point_inputs() -> list[dict]:
    import numpy as np
    from shapely.geometry import shape

    rng = np.random.default_rng(SEED)
    communes = _moselle_communes()
    geoms = [shape(f["geometry"]) for f in communes]
    pts = _random_in_bbox(rng, geoms, 450)
    pts += _near_boundaries(rng, geoms, 450, 400.0)
    for f in _features(DATA_DIR / "bureaux.geojson"):
        if f.get("geometry"):
            lon, lat = f["geometry"]["coordinates"][:2]
            pts.append((lon, lat))
    for f in communes:
        p = f["properties"]
        if p.get("mairie_lon") is not None and p.get("mairie_lat") is not None:
            pts.append((p["mairie_lon"], p["mairie_lat"]))
    return _point_inputs(pts)


def paris_point_inputs() -> list[dict]:
    import numpy as np
    from shapely.geometry import shape

    shared = shared_dir()
    rng = np.random.default_rng(SEED + 75)
    sectors = _features(shared / "paris_opendata_secteurs-des-bureaux-de-vote_2017.geojson")
    geoms = [shape(f["geometry"]) for f in sectors]
    pts = _random_in_bbox(rng, geoms, 250)
    pts += _near_boundaries(rng, geoms, 150, 60.0)
    with open(shared / "paris_opendata_bureaux-de-votes_2017.csv", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh, delimiter=";"), key=lambda r: r["Identifiant du bureau de vote"])
    for r in rows[::9]:
        lon, lat = json.loads(r["geo_shape"])["coordinates"][:2]
        pts.append((lon, lat))
    return _point_inputs(pts)


INVALID_POINTS = [
    {"lon": "nan", "lat": "49.1"}, {"lon": 6.17, "lat": "nan"}, {"lon": float("nan"), "lat": 49.1},
    {"lon": "inf", "lat": "49.1"}, {"lon": "-inf", "lat": "49.1"}, {"lon": float("inf"), "lat": 49.1},
    {"lon": "abc", "lat": "49.1"}, {"lon": "6.17", "lat": "xyz"}, {"lon": "", "lat": ""}, {"lon": None, "lat": None},
    {"lon": None, "lat": 49.1}, {"lon": "6,17", "lat": "49,12"}, {"lon": "1e400", "lat": "49"},
    {"lon": 181, "lat": 49.1}, {"lon": -180.0001, "lat": 49.1}, {"lon": 6.17, "lat": 90.5}, {"lon": 6.17, "lat": -91},
    {"lon": 180, "lat": 90}, {"lon": -180, "lat": -90}, {"lon": 0, "lat": 0}, {"lon": "0", "lat": "0"},
    {"lon": 49.1196, "lat": 6.1757}, {"lon": 49.0, "lat": 7.0}, {"lon": 2.3522, "lat": 48.8566},
    {"lon": 6.1844, "lat": 48.6921}, {"lon": " 6.1757 ", "lat": " 49.1196 "}, {"lon": "6.1757", "lat": "49.1196"},
    {"lon": 6.1757, "lat": 49.1196}, {"lon": True, "lat": False}, {"lon": [6.17], "lat": [49.1]},
]

TRICKY_TEXTS = [
    "metz", "METZ", "thionville", "sarreguemines", "forbach", "saint-avold", "saint avold", "st avold",
    "st-avold", "sarrebourg", "yutz", "montigny les metz", "montigny-lès-metz", "hagondange", "l'hopital",
    "hopital", "le ban saint martin", "ban-saint-martin", "Vionville", "Ritzing", "Rezonville", "Manderen",
    "Dornot", "Halling-lès-Boulay", "57640", "57000", "57100", "57070", "57050", "57", "12 rue Serpenoise Metz",
    "12 rue Serpenoise 57000 Metz", "rue Serpenoise", "place d'armes metz", "rue principale", "rue de l'église",
    "1 rue de l'eglise", "Mertz", "Thionvile", "Sarreguemine", "Nancy", "54000 Nancy", "Paris",
    "10 rue de Rivoli Paris", "Strasbourg", "Luxembourg", "Saarbrücken", "mairie", "hôtel de ville metz",
    "Metz 57000", "57000 Metz", "rue Serpenoise, 57000", "40 rue Principale Aboncourt", "Aboncourt",
    "aboncourt sur seille", "Boulay", "Boulay-Moselle", "Bitche", "Château-Salins", "chateau salins",
    "Ars", "Ars-sur-Moselle", "Moselle", "Lorraine", "France", "12", "a", "ab", "xyz qwerty",
    "   Metz   ", "Metz\tThionville", "Metz\n57000",
]

INVALID_TEXTS = [
    "", " ", "   ", "\t\n", "x" * 201, "Metz " + "a" * 200, "a" * 200, "!!!", "...", "-- ,; --", "'", "«»",
    "\x00", "Metz\x00", "Metz\x07", "\x1b[31mMetz", "Metz\ufffd", "<script>alert(1)</script>", "Metz {}",
    "Metz | Thionville", "rue $x", "a=b", "☃", "😀 Metz", "123456789012345678901234567890",
]


def commune_name_inputs() -> list[dict]:
    return [{"q": f["properties"]["nom"]} for f in _moselle_communes()]


def mairie_address_inputs() -> list[dict]:
    """Each mairie address as a voter types it: its lines joined by spaces, plus the commune's
    name when the address does not already end with it."""
    out = []
    for f in _moselle_communes():
        p = f["properties"]
        addr = p.get("mairie_adresse")
        if not addr:
            continue
        text = " ".join(part.strip() for part in addr.split(" | "))
        if not text.endswith(p["nom"]):
            text = f"{text} {p['nom']}"
        out.append({"q": text})
    return out


def api_inputs() -> list[dict]:
    lookup_q = ["Metz", "metz", "12 rue Serpenoise Metz", "57000", "Vionville", "Thionville", "Nancy", "Paris",
                "rue principale", "Sarreguemines", "saint avold", "40 rue Principale, 57920 Aboncourt", "", " ",
                "!!!", "x" * 201, "<b>Metz</b>", "Metz\x00", "Mertz", "57640"]
    paths = [f"/api/v1/lookup?{urlencode({'q': q})}" for q in lookup_q]
    paths += ["/api/v1/lookup?q=Metz&departement=57", "/api/v1/lookup?q=Metz&departement=54",
              "/api/v1/lookup?q=Metz&departement=xx", "/api/v1/lookup", "/api/v1/lookup?q="]
    points = [("6.1757", "49.1196"), ("6.1844", "49.3579"), ("7.0688", "49.1097"), ("6.7269", "49.1030"),
              ("7.0372", "48.7343"), ("6.1844", "48.6921"), ("2.3522", "48.8566"), ("0", "0"), ("49.1196", "6.1757"),
              ("nan", "49"), ("inf", "49"), ("abc", "49"), ("181", "49"), ("6.17", "91"), ("", ""), ("6.17", ""),
              ("1" * 40, "49"), ("6.1757", "49.1196&q=Metz"), ("6,1757", "49,1196"), ("6.3466241", "49.2607358")]
    paths += [f"/api/v1/lookup?{urlencode({'lon': lon, 'lat': lat})}" for lon, lat in points]
    paths += ["/api/v1/lookup?lon=6.1757", "/api/v1/lookup?lat=49.1196", "/api/v1/lookup?lon=6.1757&lat=49.1196&q=Metz",
              "/api/v1/lookup?lon=6.1757&lat=49.1196&departement=57",
              "/api/v1/lookup?lon=6.1757&lat=49.1196&departement=54"]
    bureaux = _features(DATA_DIR / "bureaux.geojson")
    paths += ["/api/v1/bureaux"]
    codes = sorted({f["properties"]["code_insee"] for f in bureaux})
    paths += [f"/api/v1/bureaux?commune={c}" for c in codes[:5]]
    paths += ["/api/v1/bureaux?commune=57001", "/api/v1/bureaux?commune=99999", "/api/v1/bureaux?commune=abc",
              "/api/v1/bureaux?commune="]
    paths += [f"/api/v1/bureaux/{quote(f['properties']['id'])}" for f in bureaux[:5]]
    paths += ["/api/v1/bureaux/nope", "/api/v1/bureaux/" + quote("a b<c>"), "/api/v1/bureaux/" + "x" * 70]
    paths += [f"/api/v1/communes/{c}" for c in ("57463", "57001", "57672", "57439", "57578", " 57463", "57463 ")]
    paths += ["/api/v1/communes/57722", "/api/v1/communes/75056", "/api/v1/communes/99999", "/api/v1/communes/abc",
              "/api/v1/communes/5746", "/api/v1/communes/574630", "/api/v1/communes/2A004", "/api/v1/communes/2a004"]
    prefixes = ["Met", "metz", "Thi", "Sarreg", "12 rue Serp", "rue princ", "570", "57000", "Vion", "Nan", "Pa", "",
                "  ", "<x>"]
    paths += [f"/api/v1/autocomplete?{urlencode({'q': q})}" for q in prefixes]
    paths += ["/api/v1/autocomplete?q=Metz&limit=1", "/api/v1/autocomplete?q=Metz&limit=10",
              "/api/v1/autocomplete?q=Metz&limit=0", "/api/v1/autocomplete?q=Metz&limit=11",
              "/api/v1/autocomplete?q=Metz&limit=abc", "/api/v1/autocomplete?q=Metz&departement=57",
              "/api/v1/autocomplete?q=Metz&departement=54", "/api/v1/autocomplete?q=Metz&departement=zz"]
    sandbox = ["ok", "nearest", "ambiguous", "not_found", "not-found", "outside coverage", "invalid", "unavailable",
               "OK", "anything at all", "", "x" * 201, "<x>"]
    paths += [f"/api/v1/sandbox/lookup?{urlencode({'q': q})}" for q in sandbox]
    paths += ["/api/v1/sandbox/lookup", "/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/nope", "/api/v2/lookup",
              "/api/v1/lookup/", "/api/v1/communes/", "/api/v1"]
    return [{"path": p} for p in paths]


def cli_inputs() -> list[dict]:
    """One batch file of points and texts, valid and not (``locator lookup --batch --json``)."""
    import numpy as np

    rng = np.random.default_rng(SEED + 1)
    communes = _moselle_communes()
    lines = []
    for f in [communes[int(i)] for i in rng.choice(len(communes), 30, replace=False)]:
        p = f["properties"]
        lines.append(p["nom"])
        if p.get("mairie_lon") is not None:
            lines.append(f"{p['mairie_lon']},{p['mairie_lat']}")
    lines += [f"{round(float(rng.uniform(5.89, 7.64)), 5)},{round(float(rng.uniform(48.52, 49.52)), 5)}"
              for _ in range(20)]
    lines += ["6.1757;49.1196", "6.1757 49.1196", " 6.1757 , 49.1196 ", "49.1196,6.1757", "0,0", "181,49", "6.17,91",
              "nan,49", "abc,def", "6.1757,", "12 rue Serpenoise Metz", "57000", "Vionville", "Nancy", "!!!",
              "x" * 201, "Metz\x07", "   ", "", "Mertz", "rue principale", "\ufeffMetz"]
    return [{"lines": lines}]


def generate_inputs(include_shared: bool) -> dict[str, list[dict]]:
    """Every group's inputs, in a stable order."""
    groups = {
        "moselle_points": moselle_point_inputs(),
        "invalid_points": INVALID_POINTS,
        "paris_points": paris_point_inputs() if include_shared else [],
        "commune_names": commune_name_inputs(),
        "mairie_addresses": mairie_address_inputs(),
        "texts": [{"q": t} for t in TRICKY_TEXTS],
        "invalid_texts": [{"q": t} for t in INVALID_TEXTS],
        "api": api_inputs(),
        "cli": cli_inputs(),
    }
    assert tuple(groups) == GROUPS
    return groups


# ================================================================================================
# The fixture file.
# ================================================================================================

def read_fixture(path: Path = FIXTURE) -> list[dict]:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


_CASE = re.compile(r"^([a-z_]+)/(\d+)$")


def group_of(record: dict) -> str:
    return _CASE.match(record["case"]).group(1)
