"""Strict loading stops at the first bad record and names it; lenient loading reports each."""

from __future__ import annotations

import copy
import json
import shutil

import pytest

from locator import DataError, Locator, Settings
from locator.data.loader import load_bureaux, load_communes


@pytest.fixture
def data_copy(tmp_path, tiny_dir):
    shutil.copytree(tiny_dir, tmp_path / "data")
    return tmp_path / "data"


def _edit(path, fn):
    doc = json.loads(path.read_text(encoding="utf-8"))
    fn(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


def _bureau(doc, i=0):
    return doc["features"][i]


BUREAU_BREAKAGES = {
    "duplicate id": (lambda d: d["features"].append(copy.deepcopy(_bureau(d))), "duplicate bureau id 'A1'"),
    "unknown served code": (lambda d: _bureau(d)["properties"]["communes_served"].append("99999"), "unknown INSEE code(s) 99999"),
    "unknown code_insee": (lambda d: _bureau(d)["properties"].update(code_insee="12345"), "code_insee 12345"),
    "zero point": (lambda d: _bureau(d).update(geometry={"type": "Point", "coordinates": [0, 0]}), "(0, 0)"),
    "projected point": (lambda d: _bureau(d).update(geometry={"type": "Point", "coordinates": [931000.0, 6901000.0]}), "out of the lon/lat range"),
    "missing id": (lambda d: _bureau(d)["properties"].pop("id"), "missing or empty property 'id'"),
    "polygon geometry": (lambda d: _bureau(d).update(geometry={"type": "Polygon", "coordinates": []}), "Point or null"),
    "bad source": (lambda d: _bureau(d)["properties"].update(location_source="guess"), "location_source"),
    "not a feature": (lambda d: d["features"].__setitem__(0, [1, 2]), "not a GeoJSON Feature"),
}


@pytest.mark.parametrize("name", sorted(BUREAU_BREAKAGES))
def test_broken_bureaux_file_stops_the_engine_naming_file_and_record(data_copy, name):
    breakage, expected = BUREAU_BREAKAGES[name]
    _edit(data_copy / "bureaux.geojson", breakage)
    with pytest.raises(DataError) as err:
        Locator.from_data_dir(data_copy, settings=Settings(data_dir=data_copy))
    text = str(err.value)
    assert "bureaux.geojson" in text and "record #" in text
    assert expected in text


COMMUNE_BREAKAGES = {
    "self-intersecting polygon": (lambda d: d["features"][1]["geometry"].update(
        coordinates=[[[[6.04, 49.0], [6.08, 49.03], [6.08, 49.0], [6.04, 49.03], [6.04, 49.0]]]]), "invalid geometry"),
    "duplicate code": (lambda d: d["features"][1]["properties"].update(code="57901"), "duplicate commune code 57901"),
    "mairie at 0,0": (lambda d: d["features"][0]["properties"].update(mairie_lon=0, mairie_lat=0), "(0, 0)"),
    "missing nom": (lambda d: d["features"][0]["properties"].pop("nom"), "'nom'"),
    "point geometry": (lambda d: d["features"][0].update(geometry={"type": "Point", "coordinates": [6, 49]}), "Polygon"),
    "projected polygon": (lambda d: d["features"][0]["geometry"].update(
        coordinates=[[[[900000, 6900000], [901000, 6900000], [901000, 6901000], [900000, 6900000]]]]), "not in lon/lat"),
}


@pytest.mark.parametrize("name", sorted(COMMUNE_BREAKAGES))
def test_broken_communes_file_stops_the_engine_naming_file_and_record(data_copy, name):
    breakage, expected = COMMUNE_BREAKAGES[name]
    _edit(data_copy / "communes" / "57.geojson", breakage)
    with pytest.raises(DataError) as err:
        Locator.from_data_dir(data_copy, settings=Settings(data_dir=data_copy))
    assert "57.geojson" in str(err.value) and "record #" in str(err.value)
    assert expected in str(err.value)


def test_malformed_json_names_the_file(data_copy):
    (data_copy / "bureaux.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(DataError, match="bureaux.geojson.*not valid JSON"):
        Locator.from_data_dir(data_copy, settings=Settings(data_dir=data_copy))


def test_area_of_unknown_bureau_is_a_data_error(data_copy):
    _edit(data_copy / "bureaux_areas.geojson", lambda d: d["features"][0]["properties"].update(bureau_id="ZZ"))
    with pytest.raises(DataError, match="bureaux_areas.geojson.*'ZZ'"):
        Locator.from_data_dir(data_copy, settings=Settings(data_dir=data_copy))


def test_missing_folders_and_files_are_data_errors(tmp_path, data_copy):
    with pytest.raises(DataError, match="data folder not found"):
        Locator.from_data_dir(tmp_path / "nope")
    (data_copy / "bureaux.geojson").unlink()
    with pytest.raises(DataError, match="bureaux.geojson is missing"):
        Locator.from_data_dir(data_copy, settings=Settings(data_dir=data_copy))
    empty = tmp_path / "empty"
    (empty / "communes").mkdir(parents=True)
    with pytest.raises(DataError, match="no communes"):
        Locator.from_data_dir(empty)


def test_lenient_loading_reports_every_bad_record_and_keeps_implausible_points(data_copy):
    path = data_copy / "bureaux.geojson"

    def breakages(d):
        d["features"][0]["geometry"] = {"type": "Point", "coordinates": [0, 0]}
        d["features"][1]["properties"].pop("id")
        d["features"].append(copy.deepcopy(d["features"][2]))
        d["features"][3]["properties"]["communes_served"] = ["99999"]

    _edit(path, breakages)
    communes = load_communes([data_copy / "communes" / "57.geojson"], strict=False)
    loaded = load_bureaux(path, {c.code for c in communes.communes}, strict=False)
    ids = [b.id for b in loaded.bureaux]
    assert ids.count("B2") == 2  # duplicate kept for the validator to report
    assert "A1" in ids  # the (0,0) bureau is kept, with its point, for the checks
    assert next(b for b in loaded.bureaux if b.id == "A1").lon == 0
    assert [p.record for p in loaded.problems] == ["#1"]
    assert "'id'" in loaded.problems[0].message


def test_nothing_is_half_loaded(data_copy):
    _edit(data_copy / "bureaux.geojson", lambda d: d["features"][-1]["properties"].update(code_insee="12345"))
    with pytest.raises(DataError):
        Locator.from_data_dir(data_copy, settings=Settings(data_dir=data_copy))
