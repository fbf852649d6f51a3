"""Benchmark: ``Locator.assign_points`` on 1M random points over Moselle against a geopandas
``sjoin`` + ``sjoin_nearest`` pipeline on the same data, in the same run; plus the load time
and resident memory of ``Locator.from_data_dir``.

Two bureau tables: the committed example (one bureau per commune: a table look-up) and a
variant where the 20 most populous communes have 3 bureaux each (nearest bureau *of the
commune*: geopandas needs ``sjoin_nearest`` per commune). Both pipelines' answers are
compared point by point; a mismatch fails the benchmark.

Usage (from the repository root): python -m bench.bench_engine [--points 1000000] [--data data]
Targets (issue 2): >= 1.5x the geopandas pipeline; load < 2 s; RSS < 300 MB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent


def random_points(data: Path, n: int, seed: int = 20170122):
    import shapely

    feats = json.loads((data / "communes" / "57.geojson").read_text(encoding="utf-8"))["features"]
    minx, miny, maxx, maxy = shapely.total_bounds(shapely.from_geojson([json.dumps(f["geometry"]) for f in feats]))
    rng = np.random.default_rng(seed)
    return rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)


def multi_bureaux_dir(data: Path, tmp: Path) -> Path:
    """A copy of the data where each of the 20 most populous communes has 3 bureaux."""
    import shapely

    from locator.projection import to_wgs84

    out = tmp / "multi"
    (out / "communes").mkdir(parents=True)
    for f in (data / "communes").glob("*.geojson"):
        (out / "communes" / f.name).write_bytes(f.read_bytes())
    communes = json.loads((data / "communes" / "57.geojson").read_text(encoding="utf-8"))["features"]
    bureaux = json.loads((data / "bureaux.geojson").read_text(encoding="utf-8"))
    big = sorted(communes, key=lambda f: -(f["properties"]["population"] or 0))[:20]
    rng = np.random.default_rng(7)
    from locator.projection import geometry_to_l93
    for f in big:
        # the example bureau <code>_1 (at the mairie) keeps serving it; two more join it
        code = f["properties"]["code"]
        geom = geometry_to_l93(shapely.from_geojson(json.dumps(f["geometry"])))
        minx, miny, maxx, maxy = geom.bounds
        pts = []
        while len(pts) < 2:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if geom.contains(shapely.Point(x, y)):
                pts.append(to_wgs84(x, y))
        for k, (lon, lat) in enumerate(pts, start=2):
            bureaux["features"].append({"type": "Feature", "properties": {
                "id": f"{code}_{k}", "name": f"Bureau {k}", "address": "", "code_insee": code,
                "communes_served": [code], "location_source": "manual"},
                "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    (out / "bureaux.geojson").write_text(json.dumps(bureaux), encoding="utf-8")
    return out


def geopandas_pipeline(data: Path, lons, lats):
    """What an analyst would write: sjoin to communes, the commune table, sjoin_nearest
    among the commune's bureaux where it has several."""
    import geopandas as gpd
    import pandas as pd

    communes = pd.concat([gpd.read_file(p) for p in sorted((data / "communes").glob("*.geojson"))]).to_crs(2154)
    bureaux = gpd.read_file(data / "bureaux.geojson").to_crs(2154)
    table = bureaux[["id", "communes_served"]].explode("communes_served").rename(columns={"communes_served": "code"})
    counts = table.groupby("code")["id"].count()

    t0 = time.perf_counter()
    pts = gpd.GeoDataFrame({"i": np.arange(len(lons))}, geometry=gpd.points_from_xy(lons, lats), crs=4326).to_crs(2154)
    j = gpd.sjoin(pts, communes[["code", "geometry"]], how="left", predicate="intersects")
    j = j[~j.index.duplicated(keep="first")]
    single = table[table["code"].map(counts) == 1]
    out = j[["i", "code"]].merge(single, on="code", how="left")
    multi_codes = counts[counts > 1].index
    if len(multi_codes):
        sel = j[j["code"].isin(multi_codes)]
        parts = []
        for code, grp in sel.groupby("code"):
            ids = table.loc[table["code"] == code, "id"]
            near = gpd.sjoin_nearest(grp[["i", "geometry"]], bureaux[bureaux["id"].isin(ids)][["id", "geometry"]])
            parts.append(near[~near.index.duplicated(keep="first")][["i", "id"]])
        near = pd.concat(parts).set_index("i")["id"]
        out = out.set_index("i")
        out.loc[near.index, "id"] = near
        out = out.reset_index()
    elapsed = time.perf_counter() - t0
    out = out.sort_values("i")
    codes = out["code"].to_numpy(dtype=object)
    ids = out["id"].to_numpy(dtype=object)
    codes = np.array([None if isinstance(c, float) else c for c in codes], dtype=object)
    ids = np.array([None if isinstance(c, float) else c for c in ids], dtype=object)
    return elapsed, codes, ids


def run_ours(data: Path, lons, lats):
    from locator import Locator, Settings

    loc = Locator.from_data_dir(data, settings=Settings(data_dir=data))
    t0 = time.perf_counter()
    codes, ids = loc.assign_points(lons, lats)
    return time.perf_counter() - t0, codes, ids


def load_stats(data: Path) -> tuple[float, float]:
    """Load time and peak RSS of a fresh process that only loads the data."""
    code = (
        # VmHWM, not ru_maxrss: the latter keeps the forking parent's peak across exec.
        "import time;t=time.perf_counter();"
        "from locator import Locator,Settings;"
        f"Locator.from_data_dir({str(data)!r},settings=Settings(data_dir={str(data)!r}));"
        "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
        "print(time.perf_counter()-t, int(hwm)/1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    t, rss = out.stdout.split()
    return float(t), float(rss)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, default=ROOT / "data")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    lons, lats = random_points(args.data, args.points)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # a copy without the folder's cache/ (locator.data.cache): our time includes the
        # grid build, as an analyst's first run on new data would
        example = Path(tmp) / "example"
        shutil.copytree(args.data, example, ignore=shutil.ignore_patterns("cache", "index"))
        for label, data in (("example table (1 bureau / commune)", example),
                            ("20 communes with 3 bureaux (nearest in commune)", multi_bureaux_dir(args.data, Path(tmp)))):
            t_ours, c1, b1 = run_ours(data, lons, lats)
            t_gpd, c2, b2 = geopandas_pipeline(data, lons, lats)
            same = bool(np.array_equal(c1, c2) and np.array_equal(b1, b2))
            if not same:
                bad = int(np.sum((c1 != c2) | (b1 != b2)))
                print(f"MISMATCH on {bad} points in {label}", file=sys.stderr)
                return 1
            inside = int(np.sum(c1 != None))  # noqa: E711 (object array)
            rows.append((label, t_ours, t_gpd, inside))
            print(f"{label}: ours {t_ours:.3f} s, geopandas {t_gpd:.3f} s, x{t_gpd / t_ours:.2f}, "
                  f"{inside} points in a commune, answers identical")
        cold = Path(tmp) / "cold"
        shutil.copytree(args.data, cold, ignore=shutil.ignore_patterns("cache", "index"))
        load_t, rss = load_stats(cold)  # no cache: the GeoJSON parsed
        cached_t, cached_rss = load_stats(cold)  # the cache the first load wrote
    print(f"load {load_t:.3f} s, peak RSS {rss:.0f} MB; with the cache {cached_t:.3f} s, {cached_rss:.0f} MB")
    body = [
        "## Engine: `assign_points` vs geopandas (issue 2)",
        "",
        f"{args.points:,} uniform random points over the bounding box of Moselle's communes; the same points, "
        "data and answers (checked identical point by point) for both pipelines. Our time includes "
        "projection, the one-off cell-grid build (see `locator/grid.py`; the folder copied without its `cache/`) "
        "and the output arrays.",
        "",
        "| bureau table | `assign_points` | geopandas `sjoin` + `sjoin_nearest` | speed-up (target ≥ 1.5×) | points in a commune |",
        "|---|---|---|---|---|",
    ]
    for label, t1, t2, inside in rows:
        body.append(f"| {label} | {t1:.3f} s | {t2:.3f} s | **{t2 / t1:.1f}×** | {inside:,} |")
    body += ["", f"`Locator.from_data_dir('data')` in a fresh process: **{load_t:.2f} s** (target < 2 s), "
             f"peak RSS **{rss:.0f} MB** including the Python interpreter and libraries (target < 300 MB); "
             f"the next process, reading the `cache/` the first one wrote: **{cached_t:.2f} s**, {cached_rss:.0f} MB."]
    if not args.no_write:
        write_section("engine", "\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
