"""Benchmark: ``locator serve`` (2 workers) under an election-day mix at a fixed rate, then a
burst at twice that rate, then the quiet rate again; measured with locust.

Phases: ``--seconds`` at ``--rate`` (must hold: 0 errors, p99 < 100 ms), ``--burst-seconds`` at
twice the rate (must shed: the excess answered 503/429 with Retry-After in < 50 ms, no worker
dies), then ``--after-seconds`` at the rate (p99 back to the quiet value within 5 s). Resident
memory of the master and its workers is sampled before and after. The request mix is in
``bench/locust_election_day.py``. Errors are answers that are not a lookup: no HTTP answer,
5xx other than the shedding 503, 429. A 404 for a point outside the département or a 400 for a
typo too short to search are honest answers.

Locust (PyPI, maintained) runs in a separate process on the same two cores, which it shares
with the server: the figures are what the server holds while a load generator also runs.

Usage (from the repository root): python -m bench.bench_load [--rate 500] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from .report import write_section

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "bench" / "locust_election_day.py"


def start_server(data: Path, index: Path, workers: int) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    env.update({"LOCATOR_DATA_DIR": str(data), "LOCATOR_INDEX_DIR": str(index),
                "LOCATOR_RATE_LIMIT": "10000000/minute", "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "locator.cli", "serve", "--port", "0", "--workers", str(workers)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url: list[str] = []
    ready = threading.Event()

    def read():
        for line in proc.stdout:
            m = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
            if m and not url:
                url.append(m.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(300)
    if not url:
        proc.kill()
        raise SystemExit("server did not start")
    return proc, url[0]


def tree(pid: int) -> list[psutil.Process]:
    p = psutil.Process(pid)
    return [p, *p.children(recursive=True)]


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


def workers_of(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children() if "redis" not in p.name()}


def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def is_error(status: int) -> bool:
    return status == 0 or status == 429 or status >= 500


def summarise(records, start: float, end: float) -> dict:
    rows = [r for r in records if start <= r[0] < end]
    ok = [r[1] for r in rows if not is_error(r[2])]
    shed = [r[1] for r in rows if r[2] == 503]
    statuses: dict[int, int] = {}
    for r in rows:
        statuses[r[2]] = statuses.get(r[2], 0) + 1
    return {"requests": len(rows), "rate": len(rows) / max(end - start, 1e-9),
            "errors": sum(is_error(r[2]) for r in rows), "shed": len(shed),
            "p50": pct(ok, 0.5), "p99": pct(ok, 0.99), "p99_shed": pct(shed, 0.99),
            "p99_all": pct([r[1] for r in rows], 0.99), "statuses": statuses}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=500, help="requests per second held (default 500)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--burst-seconds", type=float, default=30)
    ap.add_argument("--after-seconds", type=float, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-write", action="store_true", help="print, do not rewrite BENCHMARKS.md")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    shutil.copytree(ROOT / "data", tmp / "data", ignore=shutil.ignore_patterns("index"))
    proc, url = start_server(tmp / "data", tmp / "index", args.workers)
    try:
        time.sleep(1.0)
        workers_before = workers_of(proc.pid)
        rss_before = rss_mb(proc.pid)
        phases = [(args.seconds, args.rate), (args.burst_seconds, 2 * args.rate), (args.after_seconds, args.rate)]
        record = tmp / "records.jsonl"
        env = dict(os.environ, LOAD_PHASES=",".join(f"{s}:{r}" for s, r in phases), LOAD_RECORD=str(record))
        t0 = time.time()
        subprocess.run(["locust", "-f", str(LOCUSTFILE), "--headless", "--host", url, "--only-summary",
                        "--loglevel", "ERROR", "--stop-timeout", "5"], cwd=ROOT, env=env, check=False,
                       stdout=subprocess.DEVNULL, timeout=sum(s for s, _ in phases) + 120)
        rss_after = rss_mb(proc.pid)
        workers_after = workers_of(proc.pid)
        load = os.getloadavg()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True) if not record.exists() else None
    records = [json.loads(line) for line in record.read_text().splitlines()]
    records = [(r[0], r[1], r[2], r[3]) for r in records]
    shutil.rmtree(tmp, ignore_errors=True)
    begin = min(r[0] for r in records) if records else t0
    s1 = begin + args.seconds
    s2 = s1 + args.burst_seconds
    steady = summarise(records, begin + 5, s1)      # the first 5 s: users spawning
    burst = summarise(records, s1, s2)
    after5 = summarise(records, s2 + 5, s2 + args.after_seconds)
    first5 = summarise(records, s2, s2 + 5)
    rss_growth = 100 * (rss_after - rss_before) / rss_before

    def row(name, s):
        return (f"| {name} | {s['rate']:.0f} | {s['requests']:,} | {s['errors']} | {s['shed']:,} | {s['p50']:.1f} | "
                f"{s['p99']:.1f} | {s['p99_shed']:.1f} | {json.dumps(s['statuses'], sort_keys=True)} |")

    held = steady["errors"] == 0 and steady["p99"] < 100
    body = f"""### Load at {args.rate:.0f} req/s, burst at {2 * args.rate:.0f} req/s, recovery

`python -m bench.bench_load --rate {args.rate:.0f}`: `locator serve` with {args.workers} gthread workers (defaults:
16 threads, at most 4 requests at work per worker, the rest refused with a fast 503 + `Retry-After: 1`),
locust ({LOCUSTFILE.name}) sending the election-day mix: 60 % address lookups (Moselle communes and
mairie addresses by population, typed with dropped accents, lower case, abbreviations, typos; many
repeats), 20 % points over the département, 10 % autocomplete prefixes, 10 % pages and static files.
Phases: {args.seconds:.0f} s at {args.rate:.0f} req/s, {args.burst_seconds:.0f} s at {2 * args.rate:.0f} req/s,
{args.after_seconds:.0f} s at {args.rate:.0f} req/s. Latencies in ms as locust measures them (client side, same machine).
Errors: no answer, 5xx other than the shedding 503, or 429.

| phase | req/s sent | requests | errors | shed 503 | p50 ok | p99 ok | p99 of 503 | statuses |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{row(f"steady {args.rate:.0f} req/s (after 5 s warm-up)", steady)}
{row(f"burst {2 * args.rate:.0f} req/s", burst)}
{row("first 5 s after the burst", first5)}
{row("5 s after the burst to the end", after5)}

Held at {args.rate:.0f} req/s for {args.seconds:.0f} s with 0 errors and p99 < 100 ms: **{"yes" if held else "no"}**.
Workers alive before/after: {sorted(workers_before) == sorted(workers_after) and "the same PIDs (none died)" or f"{sorted(workers_before)} → {sorted(workers_after)}"}.
Resident memory (master + workers + redis): {rss_before:.0f} MB → {rss_after:.0f} MB ({rss_growth:+.1f} %).
Load average at the end: {load[0]:.2f} (other work on the machine counts: it is shared).
"""
    print(body)
    if not args.no_write:
        write_section(f"load-{args.rate:.0f}", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
