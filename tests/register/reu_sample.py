"""The Finistère REU sample (shared data) as an organiser's inputs: a data folder with the
three communes, and the two INSEE tables of a fold. Used by tests/test_reu_finistere.py and
bench/bench_reu.py (which loads this file by path)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("LOCATOR_TEST_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
ADDRESSES = SHARED / "insee_reu_addresses_sample_29_mapvotr.csv"
COMMUNES = SHARED / "datafrance_communes_29_reu_sample.geojson"


def available() -> bool:
    return ADDRESSES.is_file() and COMMUNES.is_file()


def read_rows() -> list[dict]:
    with open(ADDRESSES, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def make_data_dir(folder: Path) -> Path:
    """``folder/communes/29.geojson`` with the properties the loader reads."""
    doc = json.loads(COMMUNES.read_text(encoding="utf-8"))
    feats = []
    for f in doc["features"]:
        p = f["properties"]
        props = {"code": p["code"], "nom": p["nom"], "departement": p.get("departement", "29"),
                 "mairie_lon": p.get("mairie_lon"), "mairie_lat": p.get("mairie_lat"),
                 "mairie_adresse": p.get("mairie_adresse")}
        feats.append({"type": "Feature", "properties": props, "geometry": f["geometry"]})
    (folder / "communes").mkdir(parents=True, exist_ok=True)
    (folder / "communes" / "29.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                                                    encoding="utf-8")
    return folder


def folds(rows: list[dict], k: int = 5, seed: int = 2024) -> np.ndarray:
    """The fold of each row (a fixed shuffle)."""
    rng = np.random.default_rng(seed)
    out = np.arange(len(rows)) % k
    rng.shuffle(out)
    return out


def write_tables(folder: Path, rows: list[dict]) -> tuple[Path, Path]:
    """The two INSEE tables for ``rows``: the sample has no bureau table (and no address text),
    so the bureau table names each bureau with no postal address."""
    folder.mkdir(parents=True, exist_ok=True)
    adresses, bureaux = folder / "table-adresses-reu.csv", folder / "table-bv-reu.csv"
    cols = ["code_commune_ref", "id_brut_bv_reu", "longitude", "latitude", "geo_type", "geo_score", "nb_adresses"]
    with open(adresses, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([r[c] for c in cols])
    ids = sorted({(r["id_brut_bv_reu"], r["code_commune_ref"]) for r in rows})
    with open(bureaux, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["id_brut_reu", "code_commune", "code", "libelle_reu", "num_voie_reu", "voie_reu", "cp_reu",
                    "commune_reu"])
        for bid, code in ids:
            w.writerow([bid, code, bid.rsplit("_", 1)[1], f"Bureau {bid.rsplit('_', 1)[1]}", "", "", "", ""])
    return adresses, bureaux
