"""`locator bureaux import` as an organiser runs it: every bad row at once, never over an
existing file without --force, then the validator on what was written, with its exit code."""

from __future__ import annotations

import json
import shutil

import pytest

from locator.cli import main

from ..validation.conftest import COMMUNES_FILE, MAIRIES, SCHOOL_BETA, shift

HEADER = "id,name,address,code_insee,communes_served,lon,lat\n"


def row(bid, name, code, point, served=None):
    lon, lat = point
    return f"{bid},{name},,{code},{served or code},{lon},{lat}\n"


#: Every commune of the hand-made data served; the bureaux at their mairie or school.
GOOD = (row("A1", "Mairie d'Alpha", "57991", MAIRIES["57991"], "57991 57994")
        + row("B1", "Mairie de Beta", "57992", MAIRIES["57992"])
        + row("B2", "École Jules Ferry", "57992", SCHOOL_BETA)
        + row("G1", "Mairie de Gamma", "57993", (6.1, 49.02))
        + row("E1", "Hôtel de ville", "57995", shift(MAIRIES["57995"], 20, 10), "57995 57997")
        + row("Z1", "Mairie de Zeta", "57996", MAIRIES["57996"]))


@pytest.fixture
def data_dir(tmp_path):
    folder = tmp_path / "data"
    (folder / "communes").mkdir(parents=True)
    (folder / "communes" / "57.geojson").write_bytes(COMMUNES_FILE.read_bytes())
    return folder


def csv_file(tmp_path, text):
    path = tmp_path / "bureaux.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    return path


def run(*args):
    return main(["bureaux", "import", *map(str, args)])


def test_every_bad_row_is_listed_in_one_run_and_nothing_is_written(tmp_path, data_dir, capsys):
    alpha = MAIRIES["57991"]
    path = csv_file(tmp_path, GOOD + row("X1", "Mairie", "57991", (alpha[1], alpha[0]))  # swapped
                    + row("X2", "École", "57000", SCHOOL_BETA)  # no such commune
                    + "X3,École,,57992,57992,abc,49\n")
    out = tmp_path / "out.geojson"
    assert run(path, "--data", data_dir, "--output", out) == 2
    err = capsys.readouterr().err
    assert "3 bad rows, nothing written" in err
    assert "line 8: lon/lat look swapped" in err
    assert "line 9: code_insee 57000 is not a commune" in err
    assert "line 10: lon/lat are not numbers" in err
    assert not out.exists()


def test_the_data_folder_file_is_not_replaced_without_force(tmp_path, data_dir, capsys):
    committed = data_dir / "bureaux.geojson"
    committed.write_text("the committed example", encoding="utf-8")
    path = csv_file(tmp_path, GOOD)
    assert run(path, "--data", data_dir) == 2
    err = capsys.readouterr().err
    assert "nothing written" in err and "--output" in err and "--force" in err
    assert committed.read_text(encoding="utf-8") == "the committed example"
    out = tmp_path / "mine.geojson"
    out.write_text("an earlier import", encoding="utf-8")
    assert run(path, "--data", data_dir, "--output", out) == 2
    assert "--force" in capsys.readouterr().err and out.read_text(encoding="utf-8") == "an earlier import"


def test_force_writes_the_data_folder_file_and_validates_it(tmp_path, data_dir, capsys):
    (data_dir / "bureaux.geojson").write_text("old", encoding="utf-8")
    path = csv_file(tmp_path, GOOD)
    assert run(path, "--data", data_dir, "--force") == 0
    captured = capsys.readouterr()
    doc = json.loads((data_dir / "bureaux.geojson").read_text(encoding="utf-8"))
    assert [f["properties"]["id"] for f in doc["features"]] == ["A1", "B1", "B2", "E1", "G1", "Z1"]
    # the validator's summary: Gamma's official mairie point is wrong (a reference warning)
    assert "1 mairie de référence à vérifier : 0 erreur, 1 avertissement" in captured.out
    assert "Contrôle" in captured.out and "locator validate" in captured.out
    assert "6 bureaux written" in captured.err


@pytest.mark.parametrize("strict, expected", [((), 0), (("--strict",), 1)])
def test_the_exit_code_is_the_validators(tmp_path, data_dir, capsys, strict, expected):
    house = shift(MAIRIES["57991"], 0, 150)  # the 2017 case: "Mairie" 150 m from the mairie
    text = GOOD.replace(f"{MAIRIES['57991'][0]},{MAIRIES['57991'][1]}", f"{house[0]},{house[1]}")
    out = tmp_path / "out.geojson"
    assert run(csv_file(tmp_path, text), "--data", data_dir, "--output", out, *strict) == expected
    assert "1 bureau et 1 mairie de référence à vérifier : 0 erreur, 2 avertissements" in capsys.readouterr().out
    errors = run(csv_file(tmp_path, text.replace("57995 57997", "57995")), "--data", data_dir, "--output", out,
                 "--force")
    assert errors == 1  # Eta served by no bureau: an error
    assert "Communes sans bureau (commune_without_bureau)" in capsys.readouterr().out


# -- the CSV as organisers write it (the tiny communes 57901-57903) --------------------------------

@pytest.fixture
def tiny_data(tmp_path, tiny_dir):
    folder = tmp_path / "tiny"
    shutil.copytree(tiny_dir / "communes", folder / "communes")
    return folder


def test_a_csv_becomes_the_bureaux_file_the_engine_serves(capsys, tmp_path, tiny_data):
    src = csv_file(tmp_path, 'X1,École Jules-Ferry,"2 rue de l\'École, 57000 Alphaville",57901,57901;57903,"6,021",49.016\n'
                             "X2,Salle des fêtes,,57902,57902,,\n")
    out = tiny_data / "bureaux.geojson"  # not there yet: --output may create it
    assert run(src, "--data", tiny_data, "--output", out) == 1  # X2 has no position: the validator's error
    assert "Bureau sans position (missing_point)" in capsys.readouterr().out
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert feats[0]["properties"]["communes_served"] == ["57901", "57903"]
    assert feats[0]["geometry"]["coordinates"] == [6.021, 49.016]
    assert feats[0]["properties"]["location_source"] == "manual"
    assert feats[1]["geometry"] is None and feats[1]["properties"]["location_source"] is None
    assert main(["lookup", "--lon", "6.10", "--lat", "49.015", "--json", "--data", str(tiny_data)]) == 0
    assert json.loads(capsys.readouterr().out)["bureau"]["id"] == "X1"


@pytest.mark.parametrize("rows, message", [
    ("X1,A,,57901,57901,6.0,\n", "line 2: lon and lat must both be given"),
    ("X1,A,,57901,57901,0,0\n", "line 2: point is (0, 0)"),
    ("X1,A,,57901,57901,931000,6901000\n", "line 2: point (931000.0, 6901000.0) is out of the lon/lat range"),
    ("X1,A,,57901,57901,abc,49\n", "line 2: lon/lat are not numbers"),
    ("X1,A,,57901,57901,6,49\nX1,B,,57901,57901,6,49\n", "line 3: duplicate bureau id 'X1'"),
])
def test_a_bad_row_is_named_by_its_line(capsys, tmp_path, tiny_data, rows, message):
    out = tmp_path / "out.geojson"
    assert run(csv_file(tmp_path, rows), "--data", tiny_data, "--output", out) == 2
    err = capsys.readouterr().err
    assert "bureaux.csv" in err and message in err
    assert not out.exists()  # nothing half-written


def test_missing_columns_are_named(capsys, tmp_path, tiny_data):
    src = tmp_path / "b.csv"
    src.write_text("id;name\nX;Y\n", encoding="utf-8")
    assert run(src, "--data", tiny_data, "--output", tmp_path / "o.geojson") == 2
    assert "missing column(s) address, code_insee" in capsys.readouterr().err


def test_a_quoted_address_with_a_line_break_keeps_the_file_line_numbers(capsys, tmp_path, tiny_data):
    src = tmp_path / "b.csv"
    src.write_text(HEADER.replace(",", ";") + 'X1;Salle;"Salle des fêtes\n2 rue Haute";57901;57901;6.02;49.01\n'
                   "X2;École;;57901;57901;abc;49\n", encoding="utf-8")
    assert run(src, "--data", tiny_data, "--output", tmp_path / "o.geojson") == 2
    # the second record starts on line 4 of the file: the error names that line
    assert "line 4: lon/lat are not numbers" in capsys.readouterr().err


def test_outside_the_project_folder_the_error_says_how_to_point_at_the_data(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOCATOR_DATA_DIR", raising=False)
    assert run(csv_file(tmp_path, GOOD), "--output", tmp_path / "o.geojson") == 2
    err = capsys.readouterr().err
    assert "--data DIR" in err and "LOCATOR_DATA_DIR" in err
    assert not (tmp_path / "o.geojson").exists()
