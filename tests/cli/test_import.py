"""`locator bureaux import` as an organiser runs it: every bad row at once, never over an
existing file without --force, then the validator on what was written, with its exit code."""

from __future__ import annotations

import json

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
