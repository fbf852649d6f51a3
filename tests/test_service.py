"""Point → commune → bureau on tiny hand-made data (tests/fixtures/tiny).

Four square communes side by side: Alphaville (one bureau), La Bétaville (three bureaux, two
official areas, plus an area of Alphaville's bureau that wrongly overlaps it), Gammaville and
Deltaville (no bureau).
"""

from __future__ import annotations

import numpy as np
import pytest

from locator import Locator, Settings


@pytest.mark.parametrize(
    "lon, lat, status, commune, bureau, method",
    [
        (6.02, 49.015, "ok", "57901", "A1", "commune"),
        (6.05, 49.025, "ok", "57902", "B1", "area"),
        (6.05, 49.005, "ok", "57902", "B2", "area"),
        # south-east quarter: no area → nearest of Bétaville's own bureaux, never A1
        (6.075, 49.010, "ok", "57902", "B3", "nearest_in_commune"),
        (6.07, 49.004, "ok", "57902", "B2", "nearest_in_commune"),
        (6.10, 49.015, "outside_coverage", "57903", None, None),
        (6.14, 49.015, "outside_coverage", "57904", None, None),
        (5.50, 49.015, "outside_coverage", None, None, None),
    ],
)
def test_point_gets_commune_bureau_and_method(tiny, lon, lat, status, commune, bureau, method):
    d = tiny.lookup_point(lon, lat).to_dict()
    assert d["status"] == status
    assert (d["commune"] or {}).get("code") == commune
    assert (d["bureau"] or {}).get("id") == bureau
    assert d["method"] == method


def test_area_of_a_bureau_from_another_commune_is_never_used(tiny):
    # (6.07, 49.004) lies in A1's (misdrawn) area but in La Bétaville
    d = tiny.lookup_point(6.07, 49.004).to_dict()
    assert d["bureau"]["code_insee"] == "57902"
    assert d["bureau"]["id"] != "A1"


def test_nearest_in_commune_is_said_plainly(tiny):
    d = tiny.lookup_point(6.075, 49.010).to_dict()
    assert "nearest_in_commune" in [w["code"] for w in d["warnings"]]
    assert "le plus proche" in d["message"]
    assert "carte électorale" in d["message"]


def test_commune_without_bureau_gives_the_mairie_contact(tiny):
    d = tiny.lookup_point(6.14, 49.015).to_dict()
    assert d["mairie"] == {"adresse": None, "telephone": "03 87 00 00 00",
                           "horaires": "du lundi au vendredi : 09h00–12h00"}
    assert "Deltaville" in d["message"] and "03 87 00 00 00" in d["message"]


def test_distance_is_metres_in_lambert93(tiny):
    d = tiny.lookup_point(6.02, 49.016).to_dict()
    # 0.001° of latitude is ~111 m
    assert d["distance_m"] == pytest.approx(111.2, abs=1.0)


def test_point_near_a_commune_boundary_is_warned_with_the_neighbour_named(tiny):
    d = tiny.lookup_point(6.0385, 49.015).to_dict()  # ~110 m from La Bétaville
    assert d["status"] == "ok" and d["commune"]["code"] == "57901"
    warning = next(w for w in d["warnings"] if w["code"] == "near_commune_boundary")
    assert "La Bétaville" in warning["message"]


def test_point_far_from_any_boundary_has_no_warning(tiny):
    assert tiny.lookup_point(6.02, 49.015).to_dict()["warnings"] == []


def test_boundary_margin_is_a_setting(tiny_dir):
    loc = Locator.from_data_dir(tiny_dir, settings=Settings(data_dir=tiny_dir, boundary_margin_m=50))
    assert loc.lookup_point(6.0385, 49.015).to_dict()["warnings"] == []


def test_point_just_outside_coverage_names_the_nearby_commune(tiny):
    d = tiny.lookup_point(5.998, 49.015).to_dict()
    assert d["status"] == "outside_coverage"
    assert any("Alphaville" in w["message"] for w in d["warnings"])


@pytest.mark.parametrize("lon, lat", [("abc", 49), (6, None), (200, 49), (6, -91), (float("nan"), 49), ("inf", 49)])
def test_invalid_point_is_status_invalid_not_an_exception(tiny, lon, lat):
    d = tiny.lookup_point(lon, lat).to_dict()
    assert d["status"] == "invalid"
    assert d["message"]


def test_longitude_zero_is_a_real_longitude(tiny):
    d = tiny.lookup_point(0.0, 45.0).to_dict()
    assert d["status"] == "outside_coverage"  # not "invalid": 0 is a longitude


def test_result_json_has_exactly_the_contract_keys(tiny):
    d = tiny.lookup_point(6.02, 49.015).to_dict()
    assert set(d) == {"status", "query", "commune", "bureau", "distance_m", "method", "geocode",
                      "candidates", "warnings", "mairie", "message"}
    assert set(d["bureau"]) == {"id", "name", "address", "code_insee", "lon", "lat"}
    assert set(d["commune"]) == {"code", "nom"}


def test_assign_points_matches_lookup_point_everywhere(tiny):
    rng = np.random.default_rng(3)
    lons = rng.uniform(5.99, 6.17, 400)
    lats = rng.uniform(48.99, 49.04, 400)
    codes, ids = tiny.assign_points(lons, lats)
    for lon, lat, code, bid in zip(lons, lats, codes, ids, strict=True):
        d = tiny.lookup_point(lon, lat).to_dict()
        assert (d["commune"] or {}).get("code") == code
        assert (d["bureau"] or {}).get("id") == bid


def test_assign_points_large_batch_uses_the_grid_and_agrees_with_the_exact_test(tiny):
    from locator import communes as communes_mod
    from locator.projection import to_l93

    rng = np.random.default_rng(4)
    n = communes_mod.GRID_MIN_POINTS * 2
    lons, lats = rng.uniform(5.99, 6.17, n), rng.uniform(48.99, 49.04, n)
    codes, _ = tiny.assign_points(lons, lats)
    x, y = to_l93(lons, lats)
    exact = tiny.index._locate_exact(np.asarray(x), np.asarray(y))
    expected = np.where(exact < 0, None, tiny.index.codes[np.maximum(exact, 0)])
    assert tiny.index._grid is not None
    assert np.array_equal(codes, expected)


def test_assign_points_returns_none_for_outside_points(tiny):
    codes, ids = tiny.assign_points([5.0, 6.02], [49.0, 49.015])
    assert list(codes) == [None, "57901"]
    assert list(ids) == [None, "A1"]


def test_assign_points_rejects_arrays_of_different_lengths(tiny):
    from locator import InvalidQuery

    with pytest.raises(InvalidQuery):
        tiny.assign_points([6.0, 6.1], [49.0])


def test_several_unplaced_bureaux_give_candidates_not_a_guess(tmp_path, tiny_dir):
    import json
    import shutil

    shutil.copytree(tiny_dir / "communes", tmp_path / "communes")
    doc = json.loads((tiny_dir / "bureaux.geojson").read_text(encoding="utf-8"))
    for f in doc["features"]:
        if f["properties"]["code_insee"] == "57902":
            f["geometry"] = None
    (tmp_path / "bureaux.geojson").write_text(json.dumps(doc), encoding="utf-8")
    loc = Locator.from_data_dir(tmp_path, settings=Settings(data_dir=tmp_path))
    d = loc.lookup_point(6.075, 49.010).to_dict()
    assert d["status"] == "ambiguous" and d["bureau"] is None
    assert sorted(c["id"] for c in d["candidates"]) == ["B1", "B2", "B3"]


def _geocode(kind, lon, lat):
    from locator import GeocodedPoint

    return GeocodedPoint(label="x", lon=lon, lat=lat, type=kind, score=0.9, citycode="57901", source="test")


def test_a_commune_level_geocode_gives_no_distance_and_no_boundary_warning(tiny):
    # the commune's reference point says nothing about where the voter lives
    d = tiny.answer(tiny.locate(6.0385, 49.015), query="x", geocode=_geocode("municipality", 6.0385, 49.015)).to_dict()
    assert d["status"] == "ok" and d["bureau"]["id"] == "A1"
    assert d["distance_m"] is None
    assert d["warnings"] == []


def test_a_house_number_geocode_keeps_distance_and_boundary_warning(tiny):
    d = tiny.answer(tiny.locate(6.0385, 49.015), query="x", geocode=_geocode("housenumber", 6.0385, 49.015)).to_dict()
    assert d == {**tiny.lookup_point(6.0385, 49.015, query="x").to_dict(), "geocode": d["geocode"]}
    assert d["distance_m"] is not None
    assert [w["code"] for w in d["warnings"]] == ["near_commune_boundary"]


def test_unplaced_candidates_carry_their_distance_when_known(tiny):
    from locator.projection import to_l93

    ci = tiny.index.by_code[tiny.bureau("B1").code_insee]
    near = {c.id: c for c in tiny.bureau_candidates(ci, *to_l93(6.06, 49.024))}
    assert near["B1"].kind == "bureau" and near["B1"].distance_m == pytest.approx(111.2, abs=1.0)
    assert list(near) == sorted(near, key=lambda i: near[i].distance_m)  # nearest first
    assert [c.distance_m for c in tiny.bureau_candidates(ci)] == [None] * len(near)


def test_null_island_is_refused_with_its_own_sentence(moselle):
    d = moselle.lookup_point(0, 0).to_dict()
    assert d["status"] == "invalid" and "(0, 0)" in d["message"] and "localiser" in d["message"]


def test_swapped_coordinates_say_where_the_point_would_be(moselle):
    d = moselle.lookup_point(49.1196, 6.1757).to_dict()
    assert d["status"] == "outside_coverage" and d["commune"] is None
    assert "inversées" in d["message"] and "à Metz" in d["message"]
    assert "inversées" not in moselle.lookup_point(4.0, 44.0).to_dict()["message"]  # far from both readings
