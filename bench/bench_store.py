"""Benchmark: where addok keeps its documents, in Redis (addok's default) or in SQLite
(``addok-sqlite-store``), on the same BAN-layout import.

For each store, in a fresh process (addok reads its settings once per process), the committed
Moselle data is indexed twice: communes and mairies alone, then with a BAN file in the
published CSV layout. Two BAN files: the real-format sample of ../shared/data
(``ban_format_real_addresses.csv``), and a synthetic one made here of ``--ban-rows`` rows (the
real rows replicated with renamed streets, as ``bench_geocoding`` makes it; never committed).
Reported per store: Redis memory and SQLite file per million BAN addresses (the difference
between the two builds), build rows/s, and the latency of bare addok searches
(``addok.core.search``) and of whole ``Locator.lookup`` answers on distinct full addresses of
the BAN file (each text once, the lookup cache off).

Usage (from the repository root; needs ``pip install .[sqlite-store]``):
    flock /tmp/bench.lock python -m bench.bench_store [--ban-rows 1000000] [--queries 2000] [--no-write]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_geocoding import SHARED, data_dir, synthetic_ban
from bench.report import write_section

ROOT = Path(__file__).resolve().parent.parent
REAL_BAN = SHARED / "ban_format_real_addresses.csv"
STORES = ("redis", "sqlite")


def address_queries(ban: Path, n: int, rng: random.Random) -> list[str]:
    """Distinct full addresses of the file, as voters type them ("12 Rue X 57000 Metz")."""
    with open(ban, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    qs = sorted({f"{r['numero']}{r['rep']} {r['nom_voie']} {r['code_postal']} {r['nom_commune']}" for r in rows})
    rng.shuffle(qs)
    return qs[:n]


def one_store(store: str, data: Path, ban: Path, queries: list[str]) -> dict:
    """Run in a fresh process: both builds and the timed searches with ``store``."""
    from addok.core import search

    from locator import Locator, Settings
    from locator.geocoding import addok_config
    from locator.geocoding.embedded import EmbeddedGeocoder

    sqlite = data / "index" / "documents.sqlite"
    # addok keeps the first settings a process loads: ours name the store, the geocoder's
    # own module (written next) then only rebinds Redis.
    preload = addok_config.write(data / "store_config.py", addok_config.redis_settings(unix_socket_path="/nonexistent"),
                                 store=store, sqlite_path=sqlite)
    (data / "index").mkdir(exist_ok=True)
    addok_config.load(preload)

    def build(ban_files):
        t = time.perf_counter()
        g = EmbeddedGeocoder(Settings(data_dir=data, exact_fastpath=False), ban_files=ban_files)
        with g:
            g.open(rebuild=True)
            report = g.last_build
            client = g._client
            client.execute_command("MEMORY", "PURGE")
            memory = client.info("memory")["used_memory"]
        return {"seconds": time.perf_counter() - t, "build_seconds": report.seconds, "redis_bytes": memory,
                "documents": report.documents, "sqlite_bytes": sqlite.stat().st_size if sqlite.is_file() else 0}

    base = build([])
    with_ban = build([ban])
    # the exact-address fast path off: addok's own search, the part the store changes
    settings = Settings(data_dir=data, geocode_cache_size=0, exact_fastpath=False)
    loc = Locator.from_data_dir(data, settings=settings).open()
    embedded = loc.geocoder.backend("embedded")
    for q in queries[:100]:  # warm-up: imports, Lua scripts, SQLite pages
        loc.lookup(q)
    bare, whole = [], []
    clock = time.perf_counter
    for q in queries:
        t0 = clock()
        with addok_config.lock():
            addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
            search(q, limit=5, autocomplete=False)
        t1 = clock()
        loc.lookup(q)
        t2 = clock()
        bare.append(t1 - t0)
        whole.append(t2 - t1)
    loc.geocoder.close()
    return {"base": base, "ban": with_ban, "bare": bare, "lookup": whole}


def run_store(store: str, ban: Path, queries: list[str], tmp: Path) -> dict:
    data = data_dir(tmp / f"data-{store}-{ban.stem}")
    qfile = tmp / "queries.json"
    qfile.write_text(json.dumps(queries), encoding="utf-8")
    code = ("import json, sys; from pathlib import Path; from bench.bench_store import one_store; "
            "print(json.dumps(one_store(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), "
            "json.loads(Path(sys.argv[4]).read_text()))))")
    out = subprocess.run([sys.executable, "-c", code, store, str(data), str(ban), str(qfile)], cwd=ROOT,
                         capture_output=True, text=True, timeout=6 * 3600)
    if out.returncode != 0:
        raise SystemExit(f"{store}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def count_rows(ban: Path) -> int:
    with open(ban, encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ban-rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=2017)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    try:
        import addok_sqlite_store  # noqa: F401
    except ImportError:
        raise SystemExit("addok-sqlite-store is not installed: pip install .[sqlite-store]") from None
    rng = random.Random(args.seed)
    load_start = Path("/proc/loadavg").read_text().split()[:3]
    tmp = Path(tempfile.mkdtemp(prefix="bench-store-"))
    rows = []
    try:
        synthetic = tmp / "adresses-synthetic.csv"
        synthetic_ban(synthetic, args.ban_rows)
        for label, ban in (("real sample", REAL_BAN), ("synthetic", synthetic)):
            n = count_rows(ban)
            queries = address_queries(ban, args.queries, rng)
            for store in STORES:
                m = run_store(store, ban, queries, tmp)
                rows.append((label, n, len(queries), store, m))
                print(label, store, json.dumps({k: m[k] for k in ("base", "ban")}), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = Path("/proc/loadavg").read_text().split()[:3]

    lines = [
        "### Index build: where addok keeps its documents (Redis or SQLite)",
        "",
        "The same import with addok's documents in Redis (its default) and in a SQLite file "
        "(`addok-sqlite-store`), each store in a fresh process: the Moselle communes and mairies, "
        "then the same with a BAN file (the real-format sample of the shared data, then "
        f"{args.ban_rows:,} synthetic rows made from it, {20} numbers per street). Per million "
        "addresses: the difference between the two builds. Latency: each of the BAN file's distinct "
        "full addresses once (\"12 Rue X 57000 Commune\"), bare `addok.core.search` and the whole "
        "`Locator.lookup` (cache off, the exact-address fast path off: addok's own search), median and p99. Load average (1, 5, 15 min) at the start "
        f"{' '.join(load_start)}, at the end {' '.join(load_end)}, on {os.cpu_count()} cores. "
        "The real sample has about one number per street: its per-million figures are those of "
        "streets; the synthetic file's (20 numbers a street, as the BAN) are those of addresses.",
        "",
        "| BAN file | rows | store | build rows/s | Redis per M addresses | SQLite per M | Redis total "
        "| addok search p50 / p99 | lookup p50 / p99 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, n, _nq, store, m in rows:
        base, ban = m["base"], m["ban"]
        per_m = 1e6 / n
        build_s = max(ban["build_seconds"] - base["build_seconds"], 1e-9)
        lines.append(
            f"| {label} | {n:,} | {store} | {n / build_s:,.0f} | "
            f"{(ban['redis_bytes'] - base['redis_bytes']) * per_m / 1e6:,.0f} MB | "
            f"{(ban['sqlite_bytes'] - base['sqlite_bytes']) * per_m / 1e6:,.0f} MB | "
            f"{ban['redis_bytes'] / 1e6:,.0f} MB | "
            f"{pct(m['bare'], .5) * 1e3:.2f} / {pct(m['bare'], .99) * 1e3:.2f} ms | "
            f"{pct(m['lookup'], .5) * 1e3:.2f} / {pct(m['lookup'], .99) * 1e3:.2f} ms |")
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("store", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
