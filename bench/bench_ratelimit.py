"""Benchmark: rate-limit counters in a shared Redis, one round trip a request vs batched.

Three ways of counting, side by side in the same run (the machine is shared: each round runs
every variant once, in turn, and the median round is kept):

* ``memory://``: each worker counts in its own memory (no limit shared between workers);
* Redis, ``LOCATOR_RATE_LIMIT_BATCH_MS=0``: ``limits``' fixed window, one round trip a request;
* Redis, batched (the default, ``locator/web/ratelimit.py``).

1. In-process: ``RateLimits.hit`` over a stream of many clients with a few hits each (voters),
   CPU µs per hit of this process plus redis-server, and the Redis commands per hit.
2. Over HTTP: point lookups (bench_web's random points) on ``locator serve`` with 2 workers,
   wrk sending each request with its own ``X-Forwarded-For`` from a pool of client addresses
   (``LOCATOR_TRUSTED_PROXIES=1``) under the default limit (600/minute per address): req/s,
   latency and server CPU per request (server, workers and redis-server).

Usage (from the repository root):
    python -m bench.bench_ratelimit [--duration 10] [--rounds 3] [--clients 5000] [--no-write]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_web import (
    Server,
    base_env,
    build_index,
    free_port,
    random_points,
    run_wrk,
)
from bench.report import cpu_seconds, write_section

VARIANTS = {"memory": "`memory://` (per worker)", "redis": "Redis, a round trip a request (`BATCH_MS=0`)",
            "batched": "Redis, batched (default)"}


def client_stream(n_clients: int, seed: int = 3) -> list[str]:
    """Hits of ``n_clients`` addresses, 1 to 10 each (a voter's lookups), shuffled together."""
    rng = random.Random(seed)
    hits = []
    for i in range(n_clients):
        hits += [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"] * rng.randint(1, 10)
    rng.shuffle(hits)
    return hits


class PacedClock:
    """Time as a worker answering ``rate`` requests a second sees it: one step a hit, so the
    batches come due on the request path as often as they would in a server."""

    def __init__(self, rate: float):
        self.now, self.step = time.time(), 1 / rate

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def counting(fn, counter: list[int]):
    def wrapped(*args, **kwargs):
        counter[0] += 1
        return fn(*args, **kwargs)
    return wrapped


def inprocess(uri: str, redis_proc, clients: list[str], rounds: int, rate: float) -> dict[str, tuple[float, float]]:
    """(CPU µs per hit, Redis round trips per hit) of each variant, the best of ``rounds`` passes."""
    import psutil

    from locator.web.security import RateLimits

    redis_ps = psutil.Process(redis_proc)
    best = {name: (float("inf"), 0.0) for name in VARIANTS}
    for _ in range(rounds):
        for name in VARIANTS:
            trips = [0]
            if name == "memory":
                limits = RateLimits("600/minute", "memory://")
            elif name == "redis":
                limits = RateLimits("600/minute", uri, batch_s=0)
                limits.storage.incr = counting(limits.storage.incr, trips)
            else:
                limits = RateLimits("600/minute", uri, batch_s=0.1, clock=PacedClock(rate), timer=False)
                limits.batched._send = counting(limits.batched._send, trips)
            if name != "memory":
                limits.storage.get_connection().flushdb()
            lookup, scope, hit = limits.lookup, limits.LOOKUP_SCOPE, limits.hit
            cpu = time.process_time() + cpu_seconds([redis_ps])
            for client in clients:
                hit(lookup, client, scope)
            if limits.batched is not None:
                limits.batched.close()
            cpu = time.process_time() + cpu_seconds([redis_ps]) - cpu
            us = cpu / len(clients) * 1e6
            if us < best[name][0]:
                best[name] = (us, trips[0] / len(clients))
    return best


def wrk_forwarded_script(paths: list[str], clients: int, folder: Path) -> Path:
    """A wrk Lua script cycling through ``paths``, each request from the next of ``clients``
    addresses (``X-Forwarded-For``); each wrk thread starts at its own offset."""
    body = ",\n".join(f'"{p}"' for p in paths)
    script = folder / f"forwarded-{len(paths)}-{clients}.lua"
    script.write_text(
        "local paths = {\n" + body + "\n}\n"
        f"local clients = {clients}\n"
        "local i, c = 0, 0\n"
        "init = function(args) i = math.random(#paths); c = math.random(clients) end\n"
        "request = function()\n"
        "  i = i % #paths + 1\n  c = c % clients + 1\n"
        "  local ip = string.format('10.%d.%d.%d', math.floor(c / 65536), math.floor(c / 256) % 256, c % 256)\n"
        "  return wrk.format('GET', paths[i], {['X-Forwarded-For'] = ip})\nend\n",
        encoding="utf-8")
    return script


def http(tmp: Path, args) -> dict[str, list]:
    from locator.geocoding.embedded import RDB_NAME
    from locator.geocoding.redis_server import EmbeddedRedis

    index_dir = tmp / "index"
    build_index(index_dir)
    points = random_points(2000)
    script = wrk_forwarded_script([f"/api/v1/lookup?lon={lon}&lat={lat}" for lon, lat in points], args.clients, tmp)
    runs: dict[str, list] = {name: [] for name in VARIANTS}
    with EmbeddedRedis(index_dir, RDB_NAME) as redis_server:
        sock = redis_server.socket_path
        env = base_env() | {"LOCATOR_REDIS_URL": f"unix://{sock}", "LOCATOR_INDEX_DIR": str(index_dir),
                            "LOCATOR_RATE_LIMIT": "600/minute", "LOCATOR_TRUSTED_PROXIES": "1"}
        storage = {"memory": {"LOCATOR_RATE_LIMIT_STORAGE": "memory://"},
                   "redis": {"LOCATOR_RATE_LIMIT_STORAGE": f"redis+unix://{sock}?db=1",
                             "LOCATOR_RATE_LIMIT_BATCH_MS": "0"},
                   "batched": {"LOCATOR_RATE_LIMIT_STORAGE": f"redis+unix://{sock}?db=1"}}
        servers = {}
        try:
            for name in VARIANTS:
                port = free_port()
                servers[name] = Server([sys.executable, "-m", "locator.cli", "serve", "--port", str(port),
                                        "--workers", str(args.workers), "--threads", str(args.threads),
                                        "--max-in-flight", "0"],
                                       env | storage[name], f"http://127.0.0.1:{port}", tmp / f"{name}.log")
            order = list(VARIANTS)
            for r in range(args.rounds):
                for name in order if r % 2 == 0 else order[::-1]:
                    runs[name].append(run_wrk(servers[name], script, duration=args.duration,
                                              connections=args.connections, rounds=1,
                                              extra_pids=[redis_server.pid]))
        finally:
            for server in servers.values():
                server.stop()
    return runs


def render(inproc, runs, args, n_hits: int, n_clients: int, load: tuple[str, str]) -> str:
    def median(name, attr):
        return statistics.median(getattr(r, attr) for r in runs[name])

    lines = [
        "## Rate-limit counters: a Redis round trip a request vs batched",
        "",
        f"`python -m bench.bench_ratelimit --duration {args.duration} --rounds {args.rounds} --clients {args.clients}"
        f" --rate {args.rate:g} --threads {args.threads}`. "
        f"Load average at start {load[0]}, at end {load[1]} (2 cores, shared).",
        "",
        f"**In-process**, `RateLimits.hit` over {n_hits:,} hits of {n_clients:,} addresses (1–10 each, "
        f"shuffled), 600/minute, paced as a worker answering {args.rate:,.0f} requests a second (the "
        "batches come due as in a server); CPU of this process plus redis-server, best of the rounds:",
        "",
        "| counters | CPU µs per hit | Redis round trips per hit |",
        "|---|---|---|",
        *[f"| {VARIANTS[name]} | {us:.1f} | {trips:.4f} |" for name, (us, trips) in inproc.items()],
    ]
    if runs is None:
        return "\n".join(lines)
    lines += [
        "",
        f"**Over HTTP**: point lookups (2,000 random points), `locator serve --workers {args.workers} "
        f"--threads {args.threads} --max-in-flight 0`, wrk 1 thread, {args.connections} connections, each request from the next of "
        f"{args.clients:,} addresses (`X-Forwarded-For`, `LOCATOR_TRUSTED_PROXIES=1`), limit 600/minute; "
        f"{args.rounds} rounds of {args.duration} s, the three servers in turn in each round; medians:",
        "",
        "| counters | req/s | p50 ms | p99 ms | server CPU µs/req (with redis-server) | non-2xx |",
        "|---|---|---|---|---|---|",
        *[f"| {VARIANTS[name]} | {median(name, 'rps'):,.0f} | {median(name, 'p50_ms'):.2f} | "
          f"{median(name, 'p99_ms'):.2f} | {median(name, 'cpu_us'):,.0f} | "
          f"{sum(r.non_2xx for r in runs[name]):,} |" for name in VARIANTS],
        "",
        "Rounds (req/s, p99 ms): " + "; ".join(
            f"{name} " + " / ".join(f"{r.rps:,.0f}, {r.p99_ms:.1f}" for r in runs[name]) for name in VARIANTS) + ".",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (1 = sync worker, "
                        "as bench_web)")
    parser.add_argument("--clients", type=int, default=5000, help="client addresses (in-process and over HTTP)")
    parser.add_argument("--rate", type=float, default=1000, help="in-process: requests a second one worker answers")
    parser.add_argument("--no-http", action="store_true", help="the in-process part only")
    parser.add_argument("--no-write", action="store_true", help="print, do not update BENCHMARKS.md")
    args = parser.parse_args(argv)
    if not args.no_http and shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    from locator.geocoding.redis_server import EmbeddedRedis

    load_start = Path("/proc/loadavg").read_text().split()[0]
    clients = client_stream(args.clients)
    with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp_name:
        tmp = Path(tmp_name)
        with EmbeddedRedis(tmp / "redis", "limits.rdb") as redis_server:
            inproc = inprocess(f"redis+unix://{redis_server.socket_path}?db=1", redis_server.pid, clients,
                               args.rounds, args.rate)
        runs = None if args.no_http else http(tmp, args)
    load_end = Path("/proc/loadavg").read_text().split()[0]
    body = render(inproc, runs, args, len(clients), args.clients, (load_start, load_end))
    print(body)
    if not args.no_write:
        write_section("web-ratelimit", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
