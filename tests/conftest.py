"""Shared fixtures. Real data comes from one setting, LOCATOR_TEST_DATA (CI points it at
../shared/data); tests that need it skip with the reason when it is absent. Hand-made inputs
are in tests/fixtures/. Data folders with an embedded geocoder index are built once per
session, and no redis-server may outlive the tests."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import psutil
import pytest
import shapely
from shapely.geometry import mapping, shape

from locator import Locator, Settings
from locator.geocoding.embedded import EmbeddedGeocoder

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PROJECT_DATA = ROOT / "data"
GEOCODING = FIXTURES / "geocoding"
BAN_SAMPLE = GEOCODING / "adresses-57-sample.csv"


def _shared_dir() -> Path | None:
    raw = os.environ.get("LOCATOR_TEST_DATA")
    path = Path(raw) if raw else ROOT.parent / "shared" / "data"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real-data folder (../shared/data); skips when it is not there."""
    path = _shared_dir()
    if path is None:
        pytest.skip("real test data not found: set LOCATOR_TEST_DATA to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def moselle() -> Locator:
    """The committed default data (Moselle, example bureaux)."""
    return Locator.from_data_dir(PROJECT_DATA, settings=Settings(data_dir=PROJECT_DATA))


@pytest.fixture(scope="session")
def paris_dir(tmp_path_factory, shared_data) -> Path:
    """Paris 2017 (see ``build_paris_dir``)."""
    return build_paris_dir(shared_data, tmp_path_factory.mktemp("paris"))


def build_paris_dir(shared_data: Path, out: Path) -> Path:
    """Write into ``out`` the Paris 2017 data folder: arrondissements as communes (union of
    their bureaux sectors), 896 bureaux from the Ville de Paris CSV, and the official sectors
    as areas. Also used by the regression set (tests/regression)."""
    sectors_path = shared_data / "paris_opendata_secteurs-des-bureaux-de-vote_2017.geojson"
    sectors = json.loads(sectors_path.read_text(encoding="utf-8"))["features"]
    by_arr: dict[int, list] = {}
    for f in sectors:
        by_arr.setdefault(int(f["properties"]["arrondissement"]), []).append(shape(f["geometry"]))
    communes = []
    for arr, geoms in sorted(by_arr.items()):
        union = shapely.union_all(geoms)
        if union.geom_type == "Polygon":
            union = shapely.MultiPolygon([union])
        communes.append({"type": "Feature", "geometry": mapping(union), "properties": {
            "code": f"751{arr:02d}", "nom": f"Paris {arr}e arrondissement", "departement": "75",
            "codes_postaux": [f"750{arr:02d}"], "population": None, "canton": None, "mairie_lon": None,
            "mairie_lat": None, "mairie_adresse": None, "mairie_telephone": None, "mairie_email": None,
            "mairie_horaires": None, "mairie_accessibilite": None}})
    write_json(out / "communes" / "75.geojson", {"type": "FeatureCollection", "features": communes})
    bureaux = []
    with open(shared_data / "paris_opendata_bureaux-de-votes_2017.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter=";"):
            arr = int(r["Identifiant du bureau de vote"].split("-")[0])
            bureaux.append({"type": "Feature", "geometry": json.loads(r["geo_shape"]), "properties": {
                "id": r["Identifiant du bureau de vote"], "name": r["Libellé du bureau de vote"],
                "address": f"{r['Adresse']}, {r['Code Postal']} Paris", "code_insee": f"751{arr:02d}",
                "communes_served": [f"751{arr:02d}"], "location_source": "manual"}})
    write_json(out / "bureaux.geojson", {"type": "FeatureCollection", "features": bureaux})
    areas = [{"type": "Feature", "geometry": f["geometry"], "properties": {"bureau_id": f["properties"]["id_bv"]}}
             for f in sectors]
    write_json(out / "bureaux_areas.geojson", {"type": "FeatureCollection", "features": areas})
    return out


@pytest.fixture(scope="session")
def tiny_dir() -> Path:
    return FIXTURES / "tiny"


@pytest.fixture
def tiny(tiny_dir) -> Locator:
    return Locator.from_data_dir(tiny_dir, settings=Settings(data_dir=tiny_dir))


def write_json(path: Path, obj) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


def make_data_dir(path: Path, bureaux: Path | None = None) -> Path:
    """The committed Moselle communes (their former communes, the names of every commune of
    France) with a bureaux file."""
    (path / "communes").mkdir(parents=True, exist_ok=True)
    for name in ("57.geojson", "57.anciennes.json", "france.names.json"):
        shutil.copyfile(PROJECT_DATA / "communes" / name, path / "communes" / name)
    shutil.copyfile(bureaux or PROJECT_DATA / "bureaux.geojson", path / "bureaux.geojson")
    return path


def redis_servers_under(path: Path) -> list[psutil.Process]:
    """redis-server processes working in ``path`` (the embedded server's cwd is its index folder)."""
    path = str(Path(path).resolve())
    found = []
    for proc in psutil.process_iter(["name"]):
        try:
            if proc.info["name"] == "redis-server" and proc.cwd().startswith(path):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.fixture(scope="session", autouse=True)
def no_redis_server_left(tmp_path_factory):
    yield
    left = redis_servers_under(tmp_path_factory.getbasetemp())
    for proc in left:
        proc.kill()
    assert not left, f"redis-server left running: {[p.pid for p in left]}"


@pytest.fixture(scope="session")
def moselle_dir(tmp_path_factory) -> Path:
    return make_data_dir(tmp_path_factory.mktemp("moselle"))


@pytest.fixture(scope="session")
def moselle_locator(moselle_dir):
    """The default Moselle data (one bureau per commune) with its embedded geocoder."""
    with Locator.from_data_dir(moselle_dir, settings=Settings(data_dir=moselle_dir)) as loc:
        yield loc.open()


@pytest.fixture(scope="session")
def embedded(moselle_locator):
    return moselle_locator.geocoder.backend("embedded")


@pytest.fixture(scope="session")
def multi_dir(tmp_path_factory) -> Path:
    return make_data_dir(tmp_path_factory.mktemp("multi"), GEOCODING / "bureaux_multi.geojson")


@pytest.fixture(scope="session")
def multi_locator(multi_dir):
    """Metz served by three bureaux; the index also holds the hand-made BAN sample."""
    settings = Settings(data_dir=multi_dir)
    with EmbeddedGeocoder(settings, ban_files=[BAN_SAMPLE]):
        pass  # build once with the BAN file; the index remembers it
    with Locator.from_data_dir(multi_dir, settings=settings) as loc:
        yield loc.open()
