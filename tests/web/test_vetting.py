"""The service checks its data when it loads it (issue 10, item 2): a bureau whose position the
validator finds wrong is served by its name and address only; a doubtful one is served with a
warning; the log says once what was found."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from locator import Settings
from locator.geocoding.fake import FakeGeocoder
from locator.service import Locator
from locator.validation.run import doubtful_bureaux, validate_dataset
from locator.web import create_app, load_locator

from ..conftest import PROJECT_DATA


@pytest.fixture
def example_dir(tmp_path):
    """The committed example data (Metzervisse's bureau stands at the annuaire's wrong point,
    1.6 km outside the commune: an error; Knutange's 282 m outside: a warning)."""
    out = tmp_path / "data"
    shutil.copytree(PROJECT_DATA / "communes", out / "communes")
    shutil.copy(PROJECT_DATA / "bureaux.geojson", out / "bureaux.geojson")
    return out


def test_the_validator_s_errors_and_position_warnings_name_the_doubtful_bureaux(example_dir):
    from locator.data.datadir import DataDir

    result = validate_dataset(DataDir(example_dir).load(strict=True), settings=Settings(data_dir=example_dir))
    assert doubtful_bureaux(result) == {"57465_1": "error", "57368_1": "warning"}


def test_a_bureau_with_an_error_is_served_without_its_point(example_dir, tmp_path):
    from locator.data.datadir import DataDir

    dataset = DataDir(example_dir).load(strict=True)
    loc = Locator(dataset, doubtful={"57465_1": "error", "57368_1": "warning"})
    metzervisse = loc.commune("57465")
    inside = loc.communes.index(metzervisse)
    # a point inside Metzervisse (its own polygon), not the wrong annuaire point
    import shapely

    from locator.projection import to_lonlat

    p = shapely.point_on_surface(loc.index.geoms[inside])
    lon, lat = (float(v) for v in to_lonlat(p.x, p.y))
    d = loc.lookup_point(lon, lat).to_dict()
    assert d["status"] == "ok" and d["bureau"]["id"] == "57465_1"
    assert d["bureau"]["lon"] is None and d["bureau"]["lat"] is None and d["distance_m"] is None
    assert [w["code"] for w in d["warnings"] if w["code"].startswith("bureau_")] == ["bureau_position_doubtful"]
    assert "03 82 56 81 71" in next(w["message"] for w in d["warnings"] if w["code"] == "bureau_position_doubtful")

    knutange = loc.commune("57368")
    p = shapely.point_on_surface(loc.index.geoms[loc.communes.index(knutange)])
    lon, lat = (float(v) for v in to_lonlat(p.x, p.y))
    d = loc.lookup_point(lon, lat).to_dict()
    assert d["bureau"]["id"] == "57368_1" and d["bureau"]["lon"] is not None and d["distance_m"] is not None
    assert "bureau_position_unverified" in [w["code"] for w in d["warnings"]]


def test_the_service_vets_its_data_once_and_says_so_in_one_summary_line(example_dir, tmp_path, caplog):
    settings = Settings(data_dir=example_dir, index_dir=tmp_path / "index", rate_limit="1000/minute")
    with caplog.at_level(logging.INFO, logger="locator"):
        loc = load_locator(settings)
    try:
        assert loc.doubtful == {"57465_1": "error", "57368_1": "warning"}
        summary = [r.getMessage() for r in caplog.records if "bureau(x) servi(s) sans position" in r.getMessage()]
        assert len(summary) == 1 and "1 erreur, 3 avertissements" in summary[0]
        assert "1 bureau(x) servi(s) sans position, 1 avec une position à vérifier" in summary[0]
        # the index build says its mairies left out in its report, not one alarming line each
        assert not [r for r in caplog.records if "is outside the commune" in r.getMessage() and r.levelno >= logging.INFO]
        app = create_app(settings, locator=loc, test_config={"TESTING": True})
        feature = app.test_client().get("/api/v1/bureaux/57465_1").get_json()
        assert feature["properties"]["id"] == "57465_1"
    finally:
        loc.close()


def test_without_the_vetting_a_locator_serves_the_file_as_it_is(example_dir):
    loc = Locator.from_data_dir(example_dir, settings=Settings(data_dir=example_dir), geocoder=FakeGeocoder())
    assert loc.doubtful == {} and loc.bureau("57465_1").lon is not None
    json.dumps(loc.lookup_point(6.33964, 49.3083).to_dict())
