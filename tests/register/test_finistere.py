"""The REU import on real addresses (Finistère sample, shared data): one fold of the 5-fold
leave-out of bench/bench_reu.py, through the real engine, at a conservative floor. The full
figures are in BENCHMARKS.md."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from locator.data.register import usable
from locator.projection import geometry_to_l93, to_l93
from locator.register.areas import commune_areas
from locator.register.importer import import_reu
from locator.service import Locator

from . import reu_sample

pytestmark = pytest.mark.skipif(not reu_sample.available(), reason="shared Finistère REU sample not available")


@pytest.fixture(scope="module")
def fold(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reu29")
    rows = reu_sample.read_rows()
    fold_of = reu_sample.folds(rows)
    train = [r for r, f in zip(rows, fold_of, strict=True) if f != 0]
    held = [r for r, f in zip(rows, fold_of, strict=True) if f == 0]
    data = reu_sample.make_data_dir(tmp / "data")
    adresses, bureaux = reu_sample.write_tables(tmp / "in", train)
    import_reu(data, adresses, bureaux, geocoder=None)
    return Locator.from_data_dir(data), train, held


def _answers(loc, rows):
    return [loc.lookup_point(float(r["longitude"]), float(r["latitude"])) for r in rows]


def test_held_out_addresses_get_their_bureau(fold):
    loc, _, held = fold
    results = _answers(loc, held)
    right = np.mean([r.bureau is not None and r.bureau.id == h["id_brut_bv_reu"] for r, h in zip(results, held, strict=True)])
    bare_wrong = np.mean([r.bureau is not None and r.bureau.id != h["id_brut_bv_reu"] and not r.warnings
                          for r, h in zip(results, held, strict=True)])
    assert right >= 0.95
    assert bare_wrong <= 0.015


def test_imported_addresses_get_their_bureau(fold):
    loc, train, _ = fold
    sample = [train[i] for i in np.random.default_rng(1).choice(len(train), 1500, replace=False)]
    results = _answers(loc, sample)
    right = np.mean([r.bureau is not None and r.bureau.id == s["id_brut_bv_reu"] for r, s in zip(results, sample, strict=True)])
    assert right >= 0.99


def test_areas_partition_each_commune_and_every_bureau_with_addresses_gets_one():
    rows = reu_sample.read_rows()
    import json

    doc = json.loads(reu_sample.COMMUNES.read_text(encoding="utf-8"))
    for f in doc["features"]:
        code = f["properties"]["code"]
        mine = [r for r in rows if r["code_commune_ref"] == code]
        keep = usable(np.array([r["geo_type"] for r in mine], dtype=object),
                      np.array([float(r["geo_score"]) for r in mine]))
        mine = [r for r, k in zip(mine, keep, strict=True) if k]
        x, y = to_l93(np.array([float(r["longitude"]) for r in mine]), np.array([float(r["latitude"]) for r in mine]))
        commune = geometry_to_l93(shape(f["geometry"]))
        areas = commune_areas(code, commune, x, y, np.array([r["id_brut_bv_reu"] for r in mine], dtype=object))
        inside = shapely.contains_xy(commune, x, y)
        assert {a.bureau_id for a in areas} == {r["id_brut_bv_reu"] for r, i in zip(mine, inside, strict=True) if i}
        geoms = [a.geometry for a in areas]
        total = sum(g.area for g in geoms)
        assert abs(total - commune.area) < 1e-6 * commune.area  # no gap
        assert abs(shapely.union_all(geoms).area - total) < 1e-6 * total  # no overlap
        assert all(a.quality is not None and a.quality >= 0.9 for a in areas)
