"""The register strategy and the near_area_boundary warning, on a hand-built register."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from locator.data.datadir import DataDir, Dataset
from locator.data.register import RegisterData, read_register, write_register
from locator.errors import DataError
from locator.models import Bureau, Commune
from locator.projection import to_l93, to_wgs84
from locator.service import Locator

X0, Y0 = 1_000_000.0, 6_800_000.0  # Lambert-93, a square commune of 2 km
SIDE = 2000.0


def _lonlat(x, y):
    lon, lat = to_wgs84(x, y)
    return float(lon), float(lat)


def _commune_geom():
    ring = [_lonlat(X0 + dx, Y0 + dy) for dx, dy in ((0, 0), (SIDE, 0), (SIDE, SIDE), (0, SIDE), (0, 0))]
    return shapely.Polygon(ring)


def _register(rows):
    lon, lat = zip(*(_lonlat(x, y) for x, y, _, _ in rows), strict=True)
    return RegisterData.from_columns(code_insee=["29999"] * len(rows), bureau_id=[b for _, _, b, _ in rows],
                                     lon=lon, lat=lat, geo_type=[t for _, _, _, t in rows],
                                     geo_score=[0.9] * len(rows), nb_adresses=[1] * len(rows),
                                     geo_adresse=[f"{i} rue X" for i in range(len(rows))])


def _locator(rows, **kw):
    commune = Commune(code="29999", nom="Testville", departement="29")
    bureaux = [Bureau(id=b, name=f"Bureau {b}", address="", code_insee="29999", communes_served=("29999",),
                      lon=None, lat=None) for b in ("B1", "B2")]
    # a hand-built Dataset: no folder behind it (nothing here reads one)
    dataset = Dataset(data_dir=DataDir("hand-built"), communes=(commune,), commune_geoms=(_commune_geom(),),
                      bureaux=tuple(bureaux), register=_register(rows))
    return Locator(dataset, **kw)


# west half B1, east half B2, a house every 100 m, and a street-level row of B2 deep in B1's half
ROWS = [(X0 + 50 + 100 * i, Y0 + 50 + 100 * j, "B1" if i < 10 else "B2", "housenumber")
        for i in range(20) for j in range(20)] + [(X0 + 500, Y0 + 975, "B2", "street")]


@pytest.fixture(scope="module")
def loc():
    return _locator(ROWS)


def _at(loc, x, y):
    return loc.lookup_point(*_lonlat(x, y))


def test_a_register_address_gets_its_bureau_by_the_register(loc):
    res = _at(loc, X0 + 350, Y0 + 450)
    assert (res.status, res.method, res.bureau.id) == ("ok", "register", "B1")
    assert res.to_dict()["method"] == "register"


def test_a_point_a_few_metres_away_gets_the_same_bureau(loc):
    res = _at(loc, X0 + 356, Y0 + 446)
    assert (res.method, res.bureau.id) == ("register", "B1")


def test_a_point_between_addresses_falls_back_to_the_nearest_voters(loc):
    res = _at(loc, X0 + 300, Y0 + 400)  # 70 m from the nearest houses
    assert res.method != "register" and res.bureau.id == "B1"


def test_near_the_edge_between_two_bureaux_the_answer_warns_and_names_the_other(loc):
    res = _at(loc, X0 + 990, Y0 + 1050)  # 40 m from a B1 house, 60 m from B2's
    assert res.bureau.id == "B1"
    warning = next(w for w in res.warnings if w.code == "near_area_boundary")
    assert "Bureau B2" in warning.message and "service-public.fr" in warning.message


@pytest.mark.parametrize("x", [X0 + 350, X0 + 940])  # deep inside; 10 m from a B1 house, 110 m from B2's
def test_clearly_inside_a_bureau_no_area_warning(loc, x):
    res = _at(loc, x, Y0 + 1050)
    assert res.bureau.id == "B1"
    assert not [w for w in res.warnings if w.code == "near_area_boundary"]


def test_a_street_level_row_answers_only_its_own_position(loc):
    assert _at(loc, X0 + 500, Y0 + 975).bureau.id == "B2"  # the same text geocoded again
    assert _at(loc, X0 + 505, Y0 + 975).bureau.id == "B1"  # a door 5 m away is not "that street"


def test_a_register_address_outside_the_outline_still_belongs_to_its_commune():
    rows = [*ROWS, (X0 - 40, Y0 + 300, "B1", "housenumber")]  # 40 m off the simplified coastline
    loc = _locator(rows)
    res = _at(loc, X0 - 40, Y0 + 300)
    assert res.status == "ok" and res.commune.code == "29999" and res.bureau.id == "B1"
    assert res.method == "register"


def test_a_point_just_outside_the_outline_takes_the_commune_of_the_nearest_voters(loc):
    res = _at(loc, X0 - 80, Y0 + 550)
    assert res.status == "ok" and res.bureau.id == "B1"
    assert "near_coverage_edge" in [w.code for w in res.warnings]


def test_a_point_far_from_every_commune_is_still_outside_coverage(loc):
    assert _at(loc, X0 - 5000, Y0).status == "outside_coverage"


def test_the_register_must_name_known_bureaux():
    rows = [(X0 + 10, Y0 + 10, "B9", "housenumber")]
    with pytest.raises(DataError, match="B9"):
        _locator(rows)


def test_register_file_round_trips(tmp_path):
    data = _register(ROWS)
    write_register(tmp_path / "register.parquet", data)
    back = read_register(tmp_path / "register.parquet")
    assert len(back) == len(data)
    assert sorted(back.bureau_id.tolist()) == sorted(data.bureau_id.tolist())
    assert np.allclose(np.sort(back.lon), np.sort(np.round(data.lon, 6)))


def test_an_unreadable_register_file_is_a_data_error_naming_it(tmp_path):
    bad = tmp_path / "register.parquet"
    bad.write_text("not parquet", encoding="utf-8")
    with pytest.raises(DataError, match="register.parquet"):
        read_register(bad)


def test_lambert_helper_is_consistent():
    x, y = to_l93(*_lonlat(X0, Y0))
    assert abs(x - X0) < 1e-3 and abs(y - Y0) < 1e-3
