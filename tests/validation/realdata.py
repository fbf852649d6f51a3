"""Real communes for the validator tests: the committed Moselle file (official mairie points
included) plus the neighbouring départements 54/67/88 from the shared data folder, with
their official mairie points from the annuaire CSV."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from locator.data.loader import load_communes

ROOT = Path(__file__).resolve().parents[2]
MOSELLE = ROOT / "data" / "communes" / "57.geojson"


def mairie_points(shared: Path) -> dict[str, dict]:
    rows = {}
    with open(shared / "datafrance_mairies_annuaire_57_54_67_88.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            rows[r["code_insee"]] = r
    return rows


def moselle_and_neighbours(shared: Path):
    """(communes, WGS84 geometries): 57 from the repository, 54/67/88 from ``shared``."""
    moselle = load_communes([MOSELLE])
    others = load_communes([shared / "datafrance_communes_54_67_88.geojson"])
    mairies = mairie_points(shared)
    communes = list(moselle.communes)
    for c in others.communes:
        r = mairies.get(c.code)
        if r and r["mairie_lon"]:
            c = dataclasses.replace(c, mairie_lon=float(r["mairie_lon"]), mairie_lat=float(r["mairie_lat"]),
                                    mairie_adresse=r["mairie_adresse"].replace(" | ", ", "))
        communes.append(c)
    return communes, list(moselle.geometries) + list(others.geometries)
