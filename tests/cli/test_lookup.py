"""The `locator` command line: lookups, batches, bureaux import, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from locator.cli import main

#: Until ``python -m locator.cli`` works again (remove with the fix: strict xfails then fail).


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_point_lookup_prints_the_json_contract(capsys, tiny_dir):
    code, out, _ = _run(capsys, "lookup", "--lon", "6.02", "--lat", "49.015", "--json", "--data", str(tiny_dir))
    assert code == 0
    d = json.loads(out)
    assert d["bureau"]["id"] == "A1" and d["method"] == "commune"


def test_point_lookup_text_output_names_the_bureau(capsys, tiny_dir):
    code, out, _ = _run(capsys, "lookup", "--lon", "6.02", "--lat", "49.015", "--data", str(tiny_dir))
    assert code == 0 and "Mairie d'Alphaville" in out and "A1" in out


def test_batch_prints_one_json_object_per_line_in_order_and_goes_on_after_bad_lines(capsys, tiny_dir, tmp_path):
    batch = tmp_path / "q.txt"
    queries = ["6.02,49.015", "6.02;49.015", "", "6.05, 49.025", "200,49", "5.5,49.0", "nan,1", "inf inf", "1e999 2"]
    batch.write_text("\n".join(queries) + "\n", encoding="utf-8")
    code, out, _ = _run(capsys, "lookup", "--batch", str(batch), "--json", "--data", str(tiny_dir))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]  # one output line per input line
    assert [d["status"] for d in lines] == ["ok", "ok", "invalid", "ok", "invalid", "outside_coverage",
                                            "invalid", "invalid", "invalid"]
    assert [d["query"] for d in lines][:2] == ["6.02,49.015", "6.02;49.015"]
    assert lines[3]["bureau"]["id"] == "B1"
    assert all(d["bureau"] is None and d["message"] for d in lines if d["status"] == "invalid")


def test_broken_data_file_exits_2_with_one_line_naming_file_and_record(capsys, tiny_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data)
    doc = json.loads((data / "bureaux.geojson").read_text(encoding="utf-8"))
    doc["features"][2]["geometry"]["coordinates"] = [0, 0]
    (data / "bureaux.geojson").write_text(json.dumps(doc), encoding="utf-8")
    code, out, err = _run(capsys, "lookup", "--lon", "6.02", "--lat", "49.015", "--data", str(data))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "bureaux.geojson" in err and "record #2 (B2)" in err and "(0, 0)" in err


def test_data_dir_comes_from_the_environment(capsys, tiny_dir, monkeypatch):
    monkeypatch.setenv("LOCATOR_DATA_DIR", str(tiny_dir))
    code, out, _ = _run(capsys, "lookup", "--lon", "6.06", "--lat", "49.005", "--json")
    assert code == 0 and json.loads(out)["bureau"]["id"] == "B2"


def test_lookup_without_a_query_is_a_usage_error(capsys, tiny_dir):
    code, _, err = _run(capsys, "lookup", "--data", str(tiny_dir))
    assert code == 2 and "--lon" in err


def test_console_script_runs_on_the_committed_data():
    out = subprocess.run([sys.executable, "-m", "locator.cli", "lookup", "--lon", "6.1757", "--lat", "49.1196", "--json"],
                         capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    assert d["commune"] == {"code": "57463", "nom": "Metz"} and d["status"] == "ok"


CSV_HEADER = "id,name,address,code_insee,communes_served,lon,lat\n"


def test_bureaux_import_converts_a_csv_to_the_bureaux_format(capsys, tmp_path, tiny_dir):
    src = tmp_path / "b.csv"
    src.write_text(CSV_HEADER + 'X1,École Jules-Ferry,"2 rue de l\'École, 57000 Alphaville",57901,57901;57903,"6,021",49.016\n'
                   "X2,Salle des fêtes,,57902,57902,,\n", encoding="utf-8")
    out = tmp_path / "data" / "bureaux.geojson"
    code, _, _ = _run(capsys, "bureaux", "import", str(src), "--out", str(out))
    assert code == 0
    feats = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert feats[0]["properties"]["communes_served"] == ["57901", "57903"]
    assert feats[0]["geometry"]["coordinates"] == [6.021, 49.016]
    assert feats[0]["properties"]["location_source"] == "manual"
    assert feats[1]["geometry"] is None and feats[1]["properties"]["location_source"] is None
    # the result loads in the engine next to the tiny communes
    shutil.copytree(tiny_dir / "communes", tmp_path / "data" / "communes")
    code, got, _ = _run(capsys, "lookup", "--lon", "6.10", "--lat", "49.015", "--json", "--data", str(tmp_path / "data"))
    assert json.loads(got)["bureau"]["id"] == "X1"


@pytest.mark.parametrize("row, message", [
    ("X1,A,,57901,57901,6.0,\n", "line 2: lon and lat must both be given"),
    ("X1,A,,57901,57901,0,0\n", "line 2: point is (0, 0)"),
    ("X1,A,,57901,57901,931000,6901000\n", "line 2: point (931000.0, 6901000.0) is out of the lon/lat range"),
    ("X1,A,,57901,57901,abc,49\n", "line 2: lon/lat are not numbers"),
    ("X1,A,,57901,57901,6,49\nX1,B,,57901,57901,6,49\n", "line 3: duplicate bureau id 'X1'"),
])
def test_bureaux_import_rejects_bad_rows_naming_the_line(capsys, tmp_path, row, message):
    src = tmp_path / "b.csv"
    src.write_text(CSV_HEADER + row, encoding="utf-8")
    out = tmp_path / "out.geojson"
    code, _, err = _run(capsys, "bureaux", "import", str(src), "--out", str(out))
    assert code == 2 and "b.csv" in err and message in err
    assert not out.exists()  # nothing half-written


def test_bureaux_import_names_missing_columns(capsys, tmp_path):
    src = tmp_path / "b.csv"
    src.write_text("id;name\nX;Y\n", encoding="utf-8")
    code, _, err = _run(capsys, "bureaux", "import", str(src), "--out", str(tmp_path / "o.geojson"))
    assert code == 2 and "missing column(s) address, code_insee" in err


def test_bureaux_import_reads_a_quoted_address_with_a_line_break(capsys, tmp_path):
    src = tmp_path / "b.csv"
    src.write_text(CSV_HEADER.replace(",", ";") + 'X1;Salle;"Salle des fêtes\n2 rue Haute";57901;57901;6.02;49.01\n'
                   "X2;École;;57901;57901;abc;49\n", encoding="utf-8")
    code, _, err = _run(capsys, "bureaux", "import", str(src), "--out", str(tmp_path / "o.geojson"))
    # the second record starts on line 4 of the file: the error names that line
    assert code == 2 and "line 4: lon/lat are not numbers" in err
