"""Corsica and the overseas départements, built from the real wheel: each territory is
measured in its own projection, points get their commune and bureau, and distances stay
within 0.5 % of the geodesic. Plus the communes the source publishes without a polygon."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Geod

from locator import Locator, Settings
from locator.projection import TERRITORIES, territory_of, to_l93, to_lonlat, to_metric

from .national_wheel import build_from_wheel, points_inside

TERRITORY_DEPS = ["2A", "2B", "971", "972", "973", "974", "976"]
GEOD = Geod(ellps="GRS80")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return build_from_wheel(tmp_path_factory.mktemp("territories"), [*TERRITORY_DEPS, "15", "49"])


@pytest.fixture(scope="module", params=["cold", "warm"])
def loc(request, data):
    locator = Locator.from_data_dir(data, settings=Settings(data_dir=data))
    return locator.warm() if request.param == "warm" else locator


@pytest.mark.parametrize("departement", TERRITORY_DEPS)
def test_points_inside_communes_get_their_commune_and_bureau(loc, departement):
    codes = {c.code for c in loc.communes if c.departement == departement}
    x, y, truth = points_inside(loc.index, np.random.default_rng(12), 3, codes=codes)
    assert len(truth) > 30
    lons, lats = to_lonlat(x, y)
    got_codes, got_ids = loc.assign_points(lons, lats)
    expected = loc.index.codes[truth]
    assert list(got_codes) == list(expected)
    assert list(got_ids) == [f"{c}_1" for c in expected]
    for lon, lat, code in zip(lons[:40], lats[:40], expected[:40], strict=True):
        d = loc.lookup_point(float(lon), float(lat)).to_dict()
        assert d["status"] == "ok" and d["commune"]["code"] == code and d["bureau"]["id"] == f"{code}_1"


@pytest.mark.parametrize("departement", TERRITORY_DEPS)
def test_distances_stay_within_half_a_percent_of_the_geodesic(loc, departement):
    codes = {c.code for c in loc.communes if c.departement == departement}
    x, y, _truth = points_inside(loc.index, np.random.default_rng(5), 2, codes=codes)
    lons, lats = to_lonlat(x, y)
    checked = 0
    for lon, lat in zip(lons, lats, strict=True):
        d = loc.lookup_point(float(lon), float(lat)).to_dict()
        b = loc.bureau(d["bureau"]["id"])
        geodesic = GEOD.inv(float(lon), float(lat), b.lon, b.lat)[2]
        if geodesic > 200:  # a few metres of rounding aside
            assert d["distance_m"] == pytest.approx(geodesic, rel=0.005), (departement, lon, lat)
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("lon, lat, code", [
    (55.45, -21.0, "974"), (-61.55, 16.25, "ANT"), (-61.0, 14.6, "ANT"), (-52.3, 4.9, "973"),
    (45.15, -12.8, "976"), (9.0, 42.0, "FX"), (6.17, 49.12, "FX"),
])
def test_each_point_is_measured_in_its_territory_projection(lon, lat, code):
    assert territory_of(lon, lat).code == code
    # ten kilometres east, measured in the territory's projection vs. on the ellipsoid
    lon2, lat2, _ = GEOD.fwd(lon, lat, 90, 10_000)
    (x1, x2), (y1, y2) = to_metric(np.array([lon, lon2]), np.array([lat, lat2]))
    assert np.hypot(x2 - x1, y2 - y1) == pytest.approx(10_000, rel=0.005)
    back = to_lonlat(float(x1), float(y1))
    assert back == pytest.approx((lon, lat), abs=1e-9)


def test_lambert93_would_be_wrong_overseas():
    """Why the territories exist: in La Réunion, Lambert-93 metres are off by far more than 0.5 %."""
    lon2, lat2, _ = GEOD.fwd(55.45, -21.0, 90, 10_000)
    x, y = to_l93(np.array([55.45, lon2]), np.array([-21.0, lat2]))
    assert np.hypot(np.diff(x), np.diff(y))[0] / 10_000 > 1.5


def test_points_outside_every_territory_are_outside_coverage(loc):
    assert np.isnan(to_metric(30.0, 0.0)[0])
    assert loc.lookup_point(30.0, 0.0).status == "outside_coverage"
    codes, _ = loc.assign_points([30.0, 55.45], [0.0, -21.0])
    assert codes[0] is None and codes[1] is not None
    assert {t.code for t in TERRITORIES} == {"FX", "ANT", "973", "974", "976"}


def test_a_commune_without_polygon_is_kept_and_says_its_outline_is_unknown(loc):
    oree = loc.commune("49126")
    assert oree is not None and oree.population > 10_000 and not loc.index.has_outline[loc.index.by_code["49126"]]
    d = loc.lookup_point(oree.mairie_lon, oree.mairie_lat).to_dict()  # in the hole it leaves
    assert d["status"] == "ok" and d["commune"]["code"] == "49126" and d["bureau"]["id"] == "49126_1"
    assert "commune_outline_unknown" in [w["code"] for w in d["warnings"]]
    assert "contour" in d["message"] or any("contour" in w["message"] for w in d["warnings"])
    # one warning, however it was reached
    assert [w["code"] for w in d["warnings"]].count("commune_outline_unknown") == 1


@pytest.mark.parametrize("code", ["15031", "15035", "15047", "15171"])
def test_a_commune_known_by_name_only_is_answered_with_its_outline_unknown(loc, code):
    """The four Cantal communes restored out of Neussargues en Pinatelle (15141) have neither
    polygon nor mairie point in the source: a point never lands in them (it lands in 15141,
    whose outline still covers them), but an answer attributed to them by name says so."""
    c = loc.commune(code)
    assert c is not None and c.codes_postaux and not c.has_mairie_point
    host = loc.commune("15141")
    x, y = to_metric(host.mairie_lon, host.mairie_lat)
    d = loc.answer(loc.locate_metric(float(x), float(y)), loc.index.by_code[code], query={"q": c.nom}).to_dict()
    assert d["commune"]["code"] == code and d["bureau"]["id"] == f"{code}_1"
    assert [w["code"] for w in d["warnings"]] == ["commune_outline_unknown"]


def test_a_point_inside_a_commune_with_an_outline_never_gets_the_outline_warning(loc):
    c = loc.commune("49007")  # Angers
    d = loc.lookup_point(c.mairie_lon, c.mairie_lat).to_dict()
    assert d["commune"]["code"] == "49007"
    assert "commune_outline_unknown" not in [w["code"] for w in d["warnings"]]
