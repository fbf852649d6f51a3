"""Corrections are data: loaded, applied, reported, written to a fixed copy."""

from __future__ import annotations

import json

import pytest

from locator.data.corrections import HEADER, apply_corrections, load_corrections, write_fixed
from locator.errors import DataError

from ..validation.conftest import (
    DATA,
    SCHOOL_BETA,
    clean_bureaux,
    replace,
    shift,
    write_bureaux,
)


def test_the_committed_corrections_file_is_valid():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "data" / "corrections.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] + "\n" == HEADER
    for c in load_corrections(path):  # every real correction says why and who
        assert c.reason and c.author


def test_corrections_are_loaded_with_their_reason_author_and_date():
    cs = load_corrections(DATA / "corrections.csv")
    assert [c.bureau_id for c in cs] == ["B3", "G1", "ZZ9"]
    assert cs[0].moves and cs[0].lon == 6.065 and cs[0].date == "2026-01-15"
    assert not cs[1].moves and cs[1].address == "5 Grand-Rue, 57993 Gamma"


@pytest.mark.parametrize("row, message", [
    ("B1,6.1,,,typo,me,", "lon and lat"),
    ("B1,6.1,49.0,,,me,2026-01-01", "reason is required"),
    ("B1,6.1,49.0,,typo,,2026-01-01", "author is required"),
    ("B1,0,0,,typo,me,", "(0, 0)"),
    ("B1,abc,49,,typo,me,", "not numbers"),
    ("B1,,,,typo,me,", "new point"),
    ("B1,6.1,49.0,,typo,me,15/01/2026", "YYYY-MM-DD"),
])
def test_a_bad_correction_is_unusable_input_naming_file_and_line(tmp_path, row, message):
    path = tmp_path / "corrections.csv"
    path.write_text(HEADER + "B2,6.06,49.01,,ok,me,2026-01-01\n" + row + "\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_corrections(path)
    assert str(path) in str(err.value) and "line 3" in str(err.value) and message in str(err.value)


def test_a_corrections_file_without_the_expected_columns_is_refused(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,lon,lat\nB1,6,49\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing column"):
        load_corrections(path)


def test_applying_a_correction_moves_the_bureau_and_forgets_the_old_geocode():
    moved = shift(SCHOOL_BETA, 300, 0)
    bureaux = replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1])
    fixed, applied, unknown = apply_corrections(bureaux, load_corrections(DATA / "corrections.csv"))
    b3 = next(b for b in fixed if b.id == "B3")
    assert (b3.lon, b3.lat) == (6.065, 49.01)
    assert b3.location_source == "corrected" and b3.geocode_type is None and b3.geocode_score is None
    g1 = next(b for b in fixed if b.id == "G1")
    assert g1.address == "5 Grand-Rue, 57993 Gamma" and g1.lon == next(b for b in bureaux if b.id == "G1").lon
    assert [c.bureau_id for c in unknown] == ["ZZ9"]
    assert len(applied) == 2


def test_write_fixed_keeps_every_other_feature_and_never_touches_the_input(tmp_path):
    moved = shift(SCHOOL_BETA, 300, 0)
    source = write_bureaux(tmp_path / "bureaux.geojson", replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1]))
    original = source.read_bytes()
    _, applied, _ = apply_corrections(replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1]),
                                      load_corrections(DATA / "corrections.csv"))
    target = tmp_path / "out" / "fixed.geojson"
    write_fixed(source, target, applied)
    assert source.read_bytes() == original
    feats = json.loads(target.read_text(encoding="utf-8"))["features"]
    assert [f["properties"]["id"] for f in feats] == [b.id for b in clean_bureaux()]
    b3 = next(f for f in feats if f["properties"]["id"] == "B3")
    assert b3["geometry"]["coordinates"] == [6.065, 49.01]
    assert b3["properties"]["location_source"] == "corrected" and "parking" in b3["properties"]["notes"]
    a1_in, a1_out = (next(f for f in json.loads(t)["features"] if f["properties"]["id"] == "A1")
                     for t in (original.decode("utf-8"), target.read_text(encoding="utf-8")))
    assert a1_in == a1_out


def test_write_fixed_refuses_to_overwrite_the_input(tmp_path):
    source = write_bureaux(tmp_path / "bureaux.geojson", clean_bureaux())
    with pytest.raises(DataError, match="overwrite"):
        write_fixed(source, tmp_path / "." / "bureaux.geojson", [])
