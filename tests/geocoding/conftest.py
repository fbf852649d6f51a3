"""Fixtures for the geocoding tests: data folders in tmp, embedded indexes built once per
session, and a check that no redis-server outlives the tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import psutil
import pytest

from locator import Locator, Settings
from locator.geocoding import attach_default_geocoder
from locator.geocoding.embedded import EmbeddedGeocoder

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "data" / "geocoding"
BAN_SAMPLE = FIXTURES / "adresses-57-sample.csv"


def make_data_dir(path: Path, bureaux: Path | None = None) -> Path:
    """The committed Moselle communes (and their former communes) with a bureaux file."""
    (path / "communes").mkdir(parents=True, exist_ok=True)
    for name in ("57.geojson", "57.anciennes.json"):
        shutil.copyfile(ROOT / "data" / "communes" / name, path / "communes" / name)
    shutil.copyfile(bureaux or ROOT / "data" / "bureaux.geojson", path / "bureaux.geojson")
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
    loc = Locator.from_data_dir(moselle_dir, settings=Settings(data_dir=moselle_dir))
    attach_default_geocoder(loc)
    yield loc
    loc.geocoder.close()


@pytest.fixture(scope="session")
def embedded(moselle_locator):
    return moselle_locator.geocoder.backend("embedded")


@pytest.fixture(scope="session")
def multi_dir(tmp_path_factory) -> Path:
    return make_data_dir(tmp_path_factory.mktemp("multi"), FIXTURES / "bureaux_multi.geojson")


@pytest.fixture(scope="session")
def multi_locator(multi_dir):
    """Metz served by three bureaux; the index also holds the hand-made BAN sample."""
    settings = Settings(data_dir=multi_dir)
    with EmbeddedGeocoder(settings, ban_files=[BAN_SAMPLE]):
        pass  # build once with the BAN file; the index remembers it
    loc = Locator.from_data_dir(multi_dir, settings=settings)
    attach_default_geocoder(loc)
    yield loc
    loc.geocoder.close()
