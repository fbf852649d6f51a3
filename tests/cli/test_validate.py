"""`locator validate` and scripts/validate_bureaux.py: options, exit codes, files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from locator.cli import main

from ..validation.conftest import (
    COMMUNES_FILE,
    DATA,
    SCHOOL_BETA,
    address_geocoder,
    clean_bureaux,
    replace,
    shift,
    write_bureaux,
)

#: Until ``python -m locator.cli`` works again (remove with the fix: strict xfails then fail).

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_file(tmp_path):
    return write_bureaux(tmp_path / "bureaux.geojson", clean_bureaux())


@pytest.fixture
def faulty_file(tmp_path):
    moved = shift(SCHOOL_BETA, 300, 0)
    bureaux = replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1])
    bureaux = replace(bureaux, "Z1", lon=49.02, lat=6.715)
    return write_bureaux(tmp_path / "bureaux.geojson", bureaux)


def validate(*args):
    return main(["validate", *map(str, args)])


def result_line(text: str) -> str:
    """The line after the inputs: what needs a human."""
    return text.split("\n\n")[2].strip()


def test_a_clean_file_exits_0(clean_file, capsys):
    assert validate(clean_file, "--communes", COMMUNES_FILE) == 0
    out = capsys.readouterr().out
    assert result_line(out).startswith("1 mairie de référence à vérifier : 0 erreur, 1 avertissement")


def test_errors_exit_1_and_json_reports_them(faulty_file, capsys):
    assert validate(faulty_file, "--communes", COMMUNES_FILE, "--format", "json", "-q") == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["by_check"]["lonlat_swapped"] == 1
    assert doc["summary"]["errors"] >= 1


def test_unusable_input_exits_2_naming_the_file_and_every_bad_record(capsys):
    bad = DATA / "bureaux_bad_schema.geojson"
    assert validate(bad, "--communes", COMMUNES_FILE) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "record #1" in err and "missing or empty property 'id'" in err
    assert "record #2 (E1)" in err and "Point" in err


@pytest.mark.parametrize("args", [
    ["{tmp}/absent.geojson", "--communes", str(COMMUNES_FILE)],
    ["{clean}", "--communes", "{tmp}/absent.geojson"],
    ["{clean}", "--communes", str(COMMUNES_FILE), "--corrections", "{tmp}/absent.csv"],
    ["{clean}", "--communes", str(COMMUNES_FILE), "--areas", "{tmp}/absent.geojson"],
])
def test_a_missing_file_is_unusable_input(clean_file, tmp_path, capsys, args):
    args = [a.format(tmp=tmp_path, clean=clean_file) for a in args]
    assert validate(*args) == 2
    assert "absent" in capsys.readouterr().err


def test_output_and_write_fixed_write_files_and_leave_the_input_alone(faulty_file, tmp_path, capsys):
    original = faulty_file.read_bytes()
    report, fixed = tmp_path / "r" / "report.html", tmp_path / "fixed.geojson"
    rc = validate(faulty_file, "--communes", COMMUNES_FILE, "--corrections", DATA / "corrections.csv",
                  "--format", "html", "--output", report, "--write-fixed", fixed)
    assert rc == 1
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert os.stat(report).st_mode & 0o044  # readable by others, unlike a temporary file
    assert faulty_file.read_bytes() == original
    b3 = next(f for f in json.loads(fixed.read_text(encoding="utf-8"))["features"] if f["properties"]["id"] == "B3")
    assert b3["geometry"]["coordinates"] == [6.065, 49.01]
    assert "report.html" in capsys.readouterr().err


def test_write_fixed_onto_the_input_is_refused(clean_file, capsys):
    assert validate(clean_file, "--communes", COMMUNES_FILE, "--write-fixed", clean_file) == 2


def test_corrections_next_to_the_bureaux_file_are_applied_unless_disabled(faulty_file, capsys):
    (faulty_file.parent / "corrections.csv").write_bytes((DATA / "corrections.csv").read_bytes())
    validate(faulty_file, "--communes", COMMUNES_FILE, "--format", "json", "-q")
    assert json.loads(capsys.readouterr().out)["summary"]["corrections_applied"] == 2
    validate(faulty_file, "--communes", COMMUNES_FILE, "--format", "json", "-q", "--no-corrections")
    assert json.loads(capsys.readouterr().out)["summary"]["corrections_applied"] == 0


def test_communes_can_be_given_as_a_folder(clean_file, tmp_path, capsys):
    folder = tmp_path / "communes"
    folder.mkdir()
    (folder / "57.geojson").write_bytes(COMMUNES_FILE.read_bytes())
    assert validate(clean_file, "--communes", folder) == 0


def test_regeocode_uses_the_project_geocoder(clean_file, monkeypatch, capsys):
    import locator.geocoding

    fake = address_geocoder({"8 rue des Écoles": []})
    monkeypatch.setattr(locator.geocoding, "build_geocoder", lambda settings, **kw: fake, raising=False)
    assert validate(clean_file, "--communes", COMMUNES_FILE, "--regeocode", "--rate", "0", "-q",
                    "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["summary"]["by_check"]["regeocode_not_found"] == 7
    assert fake.calls


def test_regeocode_without_a_geocoder_still_validates_and_says_so(clean_file, monkeypatch, capsys):
    import locator.geocoding
    from locator.errors import GeocoderUnavailable

    def broken(settings, **kw):
        raise GeocoderUnavailable("no redis")

    monkeypatch.setattr(locator.geocoding, "build_geocoder", broken, raising=False)
    assert validate(clean_file, "--communes", COMMUNES_FILE, "--regeocode", "--format", "json", "-q") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["by_check"]["regeocode_unavailable"] == 1
    assert "no redis" in captured.err


def test_the_default_data_reports_the_wrong_official_mairie_points(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LOCATOR_DATA_DIR", raising=False)
    rc = validate("--format", "json", "-q")
    doc = json.loads(capsys.readouterr().out)
    refs = {f["extra"]["commune"] for f in doc["findings"] if f["check"] == "reference_outside_commune"}
    assert {"57465", "57368"} <= refs
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    # the only error: the example bureau copied from Metzervisse's wrong official point
    assert [(f["bureau_id"], f["check"]) for f in errors] == [("57465_1", "outside_declared_commune")]
    assert errors[0]["extra"]["copied_official_mairie_point"] is True
    assert rc == 1


def test_the_script_is_the_same_command(faulty_file):
    args = [str(faulty_file), "--communes", str(COMMUNES_FILE), "--format", "json", "-q"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = subprocess.run([sys.executable, str(ROOT / "scripts" / "validate_bureaux.py"), *args],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    module = subprocess.run([sys.executable, "-m", "locator.cli", "validate", *args],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    assert script.returncode == module.returncode == 1
    assert script.stdout == module.stdout and json.loads(script.stdout)["summary"]["errors"] >= 1


# -- issue 10: what an organiser is told --------------------------------------------------------

def test_the_2017_case_leads_with_the_bureau_to_check_and_strict_gates_on_it(clean_file, tmp_path, capsys):
    house = shift((6.0150, 49.0200), 0, 150)  # "Mairie d'Alpha", 150 m from the mairie
    path = write_bureaux(tmp_path / "b2017.geojson", replace(clean_bureaux(), "A1", lon=house[0], lat=house[1]))
    assert validate(path, "--communes", COMMUNES_FILE) == 0  # a warning: the severity stays honest
    out = capsys.readouterr().out
    assert result_line(out).startswith("1 bureau et 1 mairie de référence à vérifier : 0 erreur, 2 avertissements")
    assert "aucune erreur" not in out
    assert "« Mairie » loin de la mairie (mairie_named_far)" in out
    assert validate(path, "--communes", COMMUNES_FILE, "--strict", "-q") == 1
    capsys.readouterr()
    assert validate(path, "--communes", COMMUNES_FILE, "--format", "json") == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["summary"]["to_check"]["bureaux"] == 1
    assert {f["label"] for f in doc["findings"] if f["check"] == "mairie_named_far"} == {"« Mairie » loin de la mairie"}
    assert "1 bureau et 1 mairie de référence à vérifier" in captured.err


def test_a_partial_file_gives_one_finding_for_the_communes_without_bureau(tmp_path, monkeypatch, capsys):
    features = json.loads((ROOT / "data" / "bureaux.geojson").read_text(encoding="utf-8"))["features"][:11]
    path = tmp_path / "partial.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    html = tmp_path / "r.html"
    assert validate(path, "--data", ROOT / "data", "--format", "json", "-q") == 0
    doc = json.loads(capsys.readouterr().out)
    (f,) = [f for f in doc["findings"] if f["check"] == "commune_without_bureau"]
    assert f["severity"] == "info" and f["extra"]["count"] == len(f["extra"]["communes"]) > 600
    validate(path, "--data", ROOT / "data", "-q")
    assert len(capsys.readouterr().out.splitlines()) < 150
    validate(path, "--data", ROOT / "data", "--format", "html", "-o", html, "-q")
    page = html.read_text(encoding="utf-8")
    assert page.count('<tr class="finding') == len(doc["findings"]) < 30
    points = json.loads(re.search(r"var data = (\{.*?\});\n", page).group(1))["points"]
    assert len(points) < 30  # no dot per commune over the map


def test_a_postcode_as_insee_code_suggests_the_commune_of_the_postcode_not_a_move(tmp_path, capsys):
    # 57500 is Saint-Avold's postcode and Neufmoulins' INSEE code (50 km away)
    feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [6.7056268, 49.105044]},
               "properties": {"id": "SA1", "name": "Mairie de Saint-Avold", "code_insee": "57500",
                              "address": "36 boulevard de Lorraine, 57500 Saint-Avold", "communes_served": ["57500"]}}
    path = tmp_path / "sa.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
    assert validate(path, "--data", ROOT / "data", "--format", "json", "-q") == 1
    doc = json.loads(capsys.readouterr().out)
    mine = [f for f in doc["findings"] if f["bureau_id"] == "SA1"]
    (f,) = [f for f in mine if f["check"] == "postcode_as_insee"]
    assert f["suggestion"]["code_insee"] == "57606" and "Saint-Avold (57606)" in f["message"]
    assert [g["suggestion"] for g in mine if g["suggestion"] and "lon" in g["suggestion"]] == []
    assert not any("Neufmoulins" in g["message"] and g["check"] != "postcode_as_insee" for g in mine)


@pytest.mark.parametrize("where", ["clean", "default"])
def test_with_regeocode_no_finding_says_to_run_with_regeocode(clean_file, monkeypatch, capsys, where):
    import locator.geocoding

    monkeypatch.setattr(locator.geocoding, "build_geocoder", lambda settings, **kw: address_geocoder({}),
                        raising=False)
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("LOCATOR_DATA_DIR", raising=False)
    args = [clean_file, "--communes", COMMUNES_FILE] if where == "clean" else []
    advice = re.compile(r"(relancez avec|géocodez l'adresse[^.]*)\s+\(?--regeocode", re.I)
    validate(*args, "--regeocode", "--rate", "0", "-q")
    out = " ".join(capsys.readouterr().out.split())
    assert "--regeocode" in out  # said as what was done...
    assert advice.findall(out) == []  # ...never as what to do
    validate(*args, "-q")
    assert advice.findall(" ".join(capsys.readouterr().out.split()))


@pytest.mark.parametrize("make_data", [False, True], ids=["no-data-folder", "no-communes"])
def test_outside_the_project_folder_the_error_says_how_to_point_at_the_data(tmp_path, monkeypatch, capsys, make_data):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOCATOR_DATA_DIR", raising=False)
    if make_data:
        (tmp_path / "data").mkdir()
    assert validate() == 2
    err = capsys.readouterr().err
    assert "--data DIR" in err and "LOCATOR_DATA_DIR" in err
