"""`locator reu import` on the hand-made INSEE tables: bureaux placed only when the geocode is
trustworthy, areas, the register file, corrections winning, and the engine answering from it."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
import shapely

from locator.cli import main
from locator.data.register import read_register
from locator.projection import geometry_to_l93
from locator.register.importer import import_reu
from locator.service import Locator

from .reu_fixtures import ADRESSES, BUREAUX, LAT0, LON0, fake_geocoder, make_data_dir, point

SCHOOL = "12 rue du Bruch, 57600 Forbach"
MAIRIE = "Avenue Saint-Rémy, 57600 Forbach"


def _features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]


@pytest.fixture
def imported(tmp_path):
    data = make_data_dir(tmp_path / "data")
    geocoder = fake_geocoder({SCHOOL: point(LON0 - 0.006, LAT0), MAIRIE: point(LON0 + 0.001, LAT0)})
    rep = import_reu(data, ADRESSES, BUREAUX, geocoder=geocoder)
    return data, rep, geocoder


def test_every_register_bureau_of_the_folder_becomes_a_bureau_with_its_reu_id(imported):
    data, rep, geocoder = imported
    feats = {f["properties"]["id"]: f for f in _features(data / "bureaux.geojson")}
    assert sorted(feats) == ["57227_1", "57227_2"]  # Nancy's is outside the folder's communes
    school = feats["57227_1"]["properties"]
    assert school["name"] == "École du Bruch"
    assert school["address"] == SCHOOL
    assert school["communes_served"] == ["57227"]
    assert school["location_source"] == "geocoded" and school["geocode_type"] == "housenumber"
    # 8 house numbers, 1 street-level row, 1 row without a position (counted, not indexed)
    assert school["nb_adresses"] == 10 and school["nb_adresses_indexed"] == 9
    assert ("12 rue du Bruch, 57600 Forbach", "57227") in [(text, code) for text, code, *_ in geocoder.queries]


@pytest.mark.parametrize("answer, reason", [
    (None, "introuvable"),
    (point(LON0, LAT0, type_="municipality"), "commune"),
    (point(LON0 - 0.006, LAT0, score=0.3), "score"),
    (point(LON0 + 0.05, LAT0), "hors de sa commune"),
])
def test_an_untrustworthy_geocode_leaves_the_bureau_unplaced_and_listed(tmp_path, answer, reason):
    data = make_data_dir(tmp_path / "data")
    answers = {MAIRIE: point(LON0 + 0.001, LAT0)}
    if answer is not None:
        answers[SCHOOL] = answer
    rep = import_reu(data, ADRESSES, BUREAUX, geocoder=fake_geocoder(answers))
    assert [b for b, _ in rep.unplaced] == ["57227_1"]
    assert reason in rep.unplaced[0][1]
    feat = next(f for f in _features(data / "bureaux.geojson") if f["properties"]["id"] == "57227_1")
    assert feat["geometry"] is None and feat["properties"]["notes"].startswith("non placé")


def test_a_geocode_far_from_every_voter_of_the_bureau_is_not_trusted(tmp_path, monkeypatch):
    import locator.register.importer as ri

    monkeypatch.setattr(ri, "VOTERS_FAR_M", 200.0)  # the square commune is only 2 km across
    data = make_data_dir(tmp_path / "data")
    # inside the commune, but in the far north-east corner, ~ 900 m from any voter of bureau 1
    far = point(LON0 + 0.013, LAT0 + 0.0085)
    rep = ri.import_reu(data, ADRESSES, BUREAUX, geocoder=fake_geocoder({SCHOOL: far, MAIRIE: point(LON0, LAT0)}))
    assert dict(rep.unplaced)["57227_1"].startswith("géocodé à")
    assert "électeurs" in dict(rep.unplaced)["57227_1"]


def test_a_position_in_corrections_csv_wins_over_the_geocode(tmp_path):
    data = make_data_dir(tmp_path / "data")
    (data / "corrections.csv").write_text("bureau_id,lon,lat,address,reason,author,date\n"
                                          f"57227_1,{LON0 - 0.004},{LAT0 + 0.001},,relevé sur place,mairie,2026-01-10\n",
                                          encoding="utf-8")
    rep = import_reu(data, ADRESSES, BUREAUX, geocoder=fake_geocoder({}))
    feat = next(f for f in _features(data / "bureaux.geojson") if f["properties"]["id"] == "57227_1")
    assert feat["geometry"]["coordinates"] == [LON0 - 0.004, LAT0 + 0.001]
    assert feat["properties"]["location_source"] == "corrected" and feat["properties"]["notes"] is None
    assert rep.corrected == 1 and "57227_1" not in dict(rep.unplaced)


def test_the_register_file_holds_the_indexed_rows_only(imported):
    data, rep, _ = imported
    reg = read_register(data / "register.parquet")
    # 20 house numbers + 1 street row; the row without position and the one without text are not indexed
    assert len(reg) == rep.rows_indexed == 21
    assert set(reg.code_insee.tolist()) == {"57227"}
    assert "1 rue Nationale 57600 Forbach" in reg.geo_adresse.tolist()
    assert rep.rows_kept == 23


def test_areas_partition_the_commune_and_say_how_they_were_built(imported):
    data, _, _ = imported
    feats = _features(data / "bureaux_areas.geojson")
    assert sorted(f["properties"]["bureau_id"] for f in feats) == ["57227_1", "57227_2"]
    geoms = geometry_to_l93(np.array([shapely.geometry.shape(f["geometry"]) for f in feats]))
    commune = geometry_to_l93(shapely.geometry.shape(json.loads(
        (data / "communes" / "57.geojson").read_text())["features"][0]["geometry"]))
    assert shapely.area(shapely.intersection(geoms[0], geoms[1])) < 1.0  # m²: shared edges only
    assert abs(sum(shapely.area(geoms)) - commune.area) < 0.001 * commune.area
    built = {f["properties"]["bureau_id"]: f["properties"]["nb_adresses"] for f in feats}
    assert built == {"57227_1": 8, "57227_2": 12}  # house numbers only: the street row is not used
    assert all(f["properties"]["quality"] == 1.0 for f in feats)


def test_reimporting_the_same_files_writes_the_same_bytes(imported, tmp_path):
    data, _, _ = imported
    names = ("bureaux.geojson", "bureaux_areas.geojson", "register.parquet", "reu_import.json")
    before = {n: (data / n).read_bytes() for n in names}
    import_reu(data, ADRESSES, BUREAUX,
               geocoder=fake_geocoder({SCHOOL: point(LON0 - 0.006, LAT0), MAIRIE: point(LON0 + 0.001, LAT0)}))
    assert {n: (data / n).read_bytes() for n in names} == before
    assert not [p for p in data.iterdir() if p.name.startswith(".")]  # no staging file left


def test_the_engine_answers_from_the_import(imported):
    data, _, _ = imported
    loc = Locator.from_data_dir(data)
    reg = pq.read_table(data / "register.parquet").to_pylist()
    house = next(r for r in reg if r["geo_type"] == "housenumber" and r["bureau_id"] == "57227_1")
    res = loc.lookup_point(house["lon"], house["lat"])
    assert res.status == "ok" and res.method == "register" and res.bureau.id == "57227_1"


def test_cli_import_prints_the_summary_and_the_validator_report(tmp_path, capsys):
    data = make_data_dir(tmp_path / "data")
    assert main(["reu", "import", "--adresses", str(ADRESSES), "--bureaux", str(BUREAUX), "--data", str(data),
                 "--no-geocode", "-q"]) == 0
    out = capsys.readouterr().out
    assert "2 bureaux, 0 placés" in out and "non placé 57227_1" in out
    assert "locator validate : 2 bureaux" in out


def test_the_validator_flags_a_bureau_outside_the_area_of_its_own_voters(tmp_path):
    from locator.config import Settings
    from locator.validation.run import validate_files

    data = make_data_dir(tmp_path / "data")
    # placed by hand in the east half, among the other bureau's voters
    (data / "corrections.csv").write_text("bureau_id,lon,lat,address,reason,author,date\n"
                                          f"57227_1,{LON0 + 0.010},{LAT0},,saisie,mairie,2026-01-10\n",
                                          encoding="utf-8")
    import_reu(data, ADRESSES, BUREAUX, geocoder=None)
    result = validate_files(data / "bureaux.geojson", settings=Settings(data_dir=data))
    flagged = [f for f in result.findings if f.check == "far_from_own_voters"]
    assert [f.bureau_id for f in flagged] == ["57227_1"]
    assert flagged[0].distance_m > 500 and "nearest_voter_m" in flagged[0].extra


def test_a_typed_address_of_the_register_is_found_without_a_ban_file_and_gets_its_bureau(imported, tmp_path):
    """The register's addresses are indexed by the embedded geocoder (``register_docs``): a voter
    typing one finds it at house-number level, at the register's point, so its bureau is the
    register's (method ``register``), in both bureaux of the street."""
    from locator import Settings

    data, _rep, _geocoder = imported
    settings = Settings(data_dir=data, index_dir=tmp_path / "index")
    with Locator.from_data_dir(data, settings=settings) as loc:
        for text, bureau in (("7 rue Nationale 57600 Forbach", "57227_1"), ("14 rue Nationale, Forbach", "57227_2")):
            d = loc.lookup(text).to_dict()
            assert d["status"] == "ok", d["message"]
            assert d["geocode"]["type"] == "housenumber" and d["method"] == "register"
            assert d["bureau"]["id"] == bureau
        report = loc.geocoder.backend("embedded").manifest["report"]
        assert report["register_streets"] == 1  # the street-level and text-less rows are not streets
