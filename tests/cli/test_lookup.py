"""The `locator` command line: lookups, batches, exit codes (bureaux import: test_import.py)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

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


def test_batch_output_lines_equal_input_lines_whatever_the_lines_hold(capsys, tiny_dir, tmp_path):
    """Outputs join back to inputs by line number: blank, spaces only, CRLF, NUL, numbers that
    are not finite, a missing last newline; each input line is one output line, in order."""
    queries = ["", "   ", "6.02,49.015\r", "nan,nan", "-inf,49", "49,1e999", "\x00", "6.02,49.015", "Alphaville", " "]
    data = tmp_path / "data"  # the text line builds an index: in a copy, not in tests/fixtures
    shutil.copytree(tiny_dir, data, ignore=shutil.ignore_patterns("index"))
    tiny_dir = data
    batch = tmp_path / "q.txt"
    batch.write_bytes("\n".join(queries).encode("utf-8"))  # no newline after the last line
    code, out, _ = _run(capsys, "lookup", "--batch", str(batch), "--json", "--data", str(tiny_dir))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(queries)
    statuses = [d["status"] for d in lines]
    assert statuses[0] == statuses[1] == "invalid"       # a blank line is invalid, not skipped
    assert statuses[2] == statuses[7] == "ok"
    assert statuses[3:6] == ["invalid"] * 3              # nan, inf, 1e999: invalid points, not text
    assert statuses[6] == statuses[9] == "invalid"


def test_geocode_gives_one_output_row_per_input_row_blank_ones_included(capsys, tiny_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data, ignore=shutil.ignore_patterns("index"))
    source = tmp_path / "in.csv"
    source.write_text("id,adresse\n1,Alphaville\n\n2,\n3,nan\n4,1e999\n", encoding="utf-8")
    code, out, _ = _run(capsys, "geocode", str(source), "--columns", "adresse", "--no-progress", "--data", str(data))
    assert code == 0
    rows = out.splitlines()
    assert len(rows) == 1 + 5  # the header, then one row per input row, the blank one included
    assert rows[2].endswith(",invalid") and rows[3].endswith(",invalid")
    assert rows[1].startswith("1,Alphaville,") and rows[4].startswith("3,nan,") and rows[5].startswith("4,1e999,")
