"""Benchmark: ``locator serve`` (2 workers) under an election-day mix sent open loop at a fixed
rate, then a burst at twice that rate, then the quiet rate again; driven by locust.

Phases: ``--seconds`` at ``--rate`` (must hold: 0 errors, p99 < 100 ms), ``--burst-seconds`` at
twice the rate (must shed: the excess answered 503/429 with Retry-After in < 50 ms, no worker
dies), then ``--after-seconds`` at the rate (p99 back to the quiet value within 5 s). The request
mix and the open-loop schedule are in ``bench/locust_election_day.py``: each request starts at
its scheduled time whatever the earlier ones do, and its latency counts from that time. Errors
are answers that are not a lookup: no HTTP answer within 6 s, 5xx other than the shedding
503, 429. A 404 for a point outside the département or a 400 for a typo too short to search
are honest answers.

Measured besides latencies: the CPU seconds of the server (master, workers, redis) and of the
load generator itself (it runs on the same two cores), how late the generator started its
requests, resident memory (RSS and the private part, USS) of every server process at the start,
the end of the steady phase and the end of the run, and the refusals' own time on the server
side, which each worker logs when it exits (from the request's arrival to its 503 written,
``locator.web.shedding``): the client's clock also counts the time its own requests waited
for a core.

``--server-nice N`` starts the server (and so its workers and Redis) at a lower CPU priority
than the generator: a real service's clients are on other machines, so the cores the
generator needs should not be taken from it by the server it measures; without it, a
starved generator starts its requests late and then sends the late ones together.

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

from .report import cpu_seconds, terminate, write_section

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "bench" / "locust_election_day.py"


class Server:
    """``locator serve`` in a child process, its log kept (``lines``) until it exits."""

    def __init__(self, data: Path, index: Path, workers: int, extra: list[str], nice: int = 0):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
        env.update({"LOCATOR_DATA_DIR": str(data), "LOCATOR_INDEX_DIR": str(index),
                    "LOCATOR_RATE_LIMIT": "10000000/minute", "PYTHONUNBUFFERED": "1"})
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "locator.cli", "serve", "--port", "0", "--workers", str(workers), *extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=(lambda: os.nice(nice)) if nice else None)
        url: list[str] = []
        ready = threading.Event()

        def read():
            for line in self.proc.stdout:
                self.lines.append(line)
                m = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
                if m and not url:
                    url.append(m.group(1))
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        ready.wait(300)
        if not url:
            self.proc.kill()
            raise SystemExit("server did not start:\n" + "".join(self.lines[-20:]))
        self.url = url[0]

    def stop(self) -> None:
        """SIGTERM, then wait for the master and for the end of its log."""
        terminate(self.proc)
        self._reader.join(10)


#: The line each shedding worker logs when it exits (``SheddingThreadWorker.run``).
REFUSALS = re.compile(r"refusals \(worker (\d+), since start; (\d+) requests\): (\d+) refused(?:, 503 written in p50 ([\d.]+) ms, "
                      r"p99 ([\d.]+) ms, max ([\d.]+) ms)? after the request reached the (server|worker's accepting thread)")


def server_refusals(lines: list[str]) -> list[dict]:
    """Each worker's refusals as its exit line says: pid, requests, count, p50, p99, max (ms), and from
    when they are timed (``server``: the kernel's receive time of the request)."""
    out = []
    for line in lines:
        m = REFUSALS.search(line)
        if m:
            pid, requests, count, p50, p99, top, since = m.groups()
            out.append({"pid": int(pid), "requests": int(requests), "count": int(count), "p50": float(p50 or "nan"),
                        "p99": float(p99 or "nan"), "max": float(top or "nan"), "from": since})
    return out


def refusals_text(workers: list[dict]) -> str:
    if not workers:
        return "no worker logged its refusals (shedding off, or a worker that did not exit cleanly)"
    since = {w["from"] for w in workers}
    parts = [f"worker {i + 1}: {w['requests']:,} requests, {w['count']:,} refused" + (f", p50 {w['p50']:.2f} / p99 {w['p99']:.2f} / max {w['max']:.2f} ms"
                                                          if w["count"] else "")
             for i, w in enumerate(workers)]
    return ("; ".join(parts) + " (from the request's arrival " +
            ("in the server's kernel" if since == {"server"} else "at the worker's accepting thread") + " to its 503 written)")


def tree(pid: int) -> list[psutil.Process]:
    p = psutil.Process(pid)
    return [p, *p.children(recursive=True)]


def memory(pid: int) -> dict:
    """Resident memory of the server's processes, MB: total RSS and total USS (pages that are
    only that process's: what it costs beyond what the fork shares)."""
    rss = uss = 0
    for p in tree(pid):
        try:
            info = p.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        uss += info.uss
    return {"rss": rss / 1e6, "uss": uss / 1e6}



def workers_of(pid: int) -> set[int]:
    return {p.pid for p in psutil.Process(pid).children() if "redis" not in p.name()}


def pct(values, q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def is_error(status: int) -> bool:
    return status == 0 or status == 429 or status >= 500


def is_shed(status: int) -> bool:
    return status == 503


#: record: (scheduled start, lateness of the start ms, latency from scheduled start ms, status, kind)
def summarise(records, start: float, end: float) -> dict:
    rows = [r for r in records if start <= r[0] < end]
    ok = [r[2] for r in rows if not is_error(r[3])]
    shed = [r[2] for r in rows if is_shed(r[3])]
    statuses: dict[int, int] = {}
    for r in rows:
        statuses[r[3]] = statuses.get(r[3], 0) + 1
    return {"requests": len(rows), "rate": len(rows) / max(end - start, 1e-9),
            "answered": sum(1 for r in rows if not is_error(r[3])) / max(end - start, 1e-9),
            "errors": sum(is_error(r[3]) and not is_shed(r[3]) for r in rows), "shed": len(shed),
            "p50": pct(ok, 0.5), "p99": pct(ok, 0.99), "p99_shed": pct(shed, 0.99),
            "p99_sent": pct([r[2] - r[1] for r in rows if not is_error(r[3])], 0.99),
            "p99_shed_sent": pct([r[2] - r[1] for r in rows if is_shed(r[3])], 0.99),
            "late_p99": pct([r[1] for r in rows], 0.99), "statuses": statuses}


def recovery(records, burst_end: float, quiet_p99: float, until: float) -> tuple[float | None, list[float]]:
    """Seconds after the burst from which every later one-second window's p99 (answered
    requests) is back within max(1.5 × quiet p99, quiet p99 + 10 ms); and the first ten
    windows' p99."""
    bound = max(1.5 * quiet_p99, quiet_p99 + 10)
    windows = []
    t = burst_end
    while t + 1 <= until:
        windows.append(pct([r[2] for r in records if t <= r[0] < t + 1 and not is_error(r[3])], 0.99))
        t += 1
    back = None
    if not any(w == w for w in windows):   # nothing answered after the burst: not measured
        return None, windows[:10]
    for i in range(len(windows)):
        if all(w <= bound for w in windows[i:] if w == w):
            back = float(i)
            break
    return back, windows[:10]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=500, help="requests per second held (default 500)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--burst-seconds", type=float, default=30)
    ap.add_argument("--after-seconds", type=float, default=20)
    ap.add_argument("--warm-seconds", type=float, default=0,
                    help="first send the mix at a fifth of the rate for this long, not counted: a server up "
                         "before the morning's voters (default 0: the phases start on a fresh server)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--serve-option", action="append", default=[], metavar="OPT",
                    help="extra locator serve option, e.g. --serve-option=--max-in-flight=2 (repeatable)")
    ap.add_argument("--section", default=None,
                    help="BENCHMARKS.md section name (default load-RATE, then -warm and -niceN when given)")
    ap.add_argument("--no-write", action="store_true", help="print, do not rewrite BENCHMARKS.md")
    ap.add_argument("--keep-records", type=Path, default=None, metavar="FILE",
                    help="also copy every request's record (JSON lines) to FILE")
    ap.add_argument("--server-log", type=Path, default=None, metavar="FILE", help="also copy the server's log to FILE")
    ap.add_argument("--server-nice", type=int, default=0, metavar="N",
                    help="start the server with its CPU priority lowered by N (nice), so that the load generator, "
                         "on the same cores, starts its requests on time (default 0)")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    shutil.copytree(ROOT / "data", tmp / "data", ignore=shutil.ignore_patterns("index"))
    load_start = os.getloadavg()
    server_process = Server(tmp / "data", tmp / "index", args.workers, args.serve_option, args.server_nice)
    proc, url = server_process.proc, server_process.url
    record = tmp / "records.jsonl"
    warm = [(args.warm_seconds, args.rate / 5)] if args.warm_seconds > 0 else []
    phases = warm + [(args.seconds, args.rate), (args.burst_seconds, 2 * args.rate), (args.after_seconds, args.rate)]
    try:
        time.sleep(1.0)
        server = tree(proc.pid)
        workers_before = workers_of(proc.pid)
        mem_before = memory(proc.pid)
        cpu_before = cpu_seconds(server)
        mem_steady: list[dict] = []

        def sample_steady():
            time.sleep(args.warm_seconds + args.seconds + 3)  # locust's start-up, then the end of the steady phase
            mem_steady.append(memory(proc.pid))

        threading.Thread(target=sample_steady, daemon=True).start()
        env = dict(os.environ, LOAD_PHASES=",".join(f"{s}:{r}" for s, r in phases), LOAD_RECORD=str(record))
        t0 = time.time()
        locust = subprocess.Popen(["locust", "-f", str(LOCUSTFILE), "--headless", "--host", url, "--only-summary",
                                   "--loglevel", "ERROR", "--stop-timeout", "5"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL)
        try:
            locust.wait(sum(s for s, _ in phases) + 60)
        except subprocess.TimeoutExpired:
            locust.send_signal(signal.SIGTERM)   # locust quits and still writes its records
            try:
                locust.wait(60)
            except subprocess.TimeoutExpired:
                locust.kill()
                locust.wait()
        wall = time.time() - t0
        cpu_server = cpu_seconds(server) - cpu_before
        mem_after = memory(proc.pid)
        workers_after = workers_of(proc.pid)
        load_end = os.getloadavg()
    finally:
        server_process.stop()
    refusals = server_refusals(server_process.lines)
    if args.server_log is not None:
        args.server_log.write_text("".join(server_process.lines), encoding="utf-8")
    records = [tuple(json.loads(line)) for line in record.read_text().splitlines()]
    gen_cpu = json.loads(Path(str(record) + ".cpu").read_text())
    if args.keep_records is not None:
        shutil.copyfile(record, args.keep_records)
    shutil.rmtree(tmp, ignore_errors=True)
    gen_cpu_s = gen_cpu["user_s"] + gen_cpu["system_s"]
    not_sent = gen_cpu.get("not_sent", 0)
    begin = (min(r[0] for r in records) if records else t0) + args.warm_seconds
    skip = 0 if args.warm_seconds > 0 else 5   # on a fresh server, the first 5 s: caches warming
    s1 = begin + args.seconds
    s2 = s1 + args.burst_seconds
    s3 = s2 + args.after_seconds
    steady = summarise(records, begin + skip, s1)
    burst = summarise(records, s1, s2)
    first5 = summarise(records, s2, s2 + 5)
    after5 = summarise(records, s2 + 5, s3)
    back, windows = recovery(records, s2, steady["p99"], s3)
    kinds = {}
    for kind in sorted({r[4] for r in records}):
        rows = [r for r in records if r[4] == kind and begin + skip <= r[0] < s1 and not is_error(r[3])]
        kinds[kind] = (len(rows), pct([r[2] for r in rows], 0.5), pct([r[2] for r in rows], 0.99))
    mem_mid = mem_steady[0] if mem_steady else mem_after

    def growth(a, b):
        return 100 * (b - a) / a

    def row(name, s, server="–"):
        return (f"| {name} | {s['rate']:.0f} | {s['requests']:,} | {s['answered']:.0f} | {s['errors']} | {s['shed']:,} | "
                f"{s['p50']:.1f} | {s['p99']:.1f} | {s['p99_shed']:.1f} | {s['late_p99']:.1f} | "
                f"{s['p99_sent']:.1f} | {s['p99_shed_sent']:.1f} | {server} | "
                f"{json.dumps(s['statuses'], sort_keys=True)} |")

    # The workers log their refusals once, at exit: all the run's, nearly all in the burst.
    refused_server = [w for w in refusals if w["count"]]
    burst_server = (" / ".join(f"{w['p99']:.2f}" for w in refused_server) + " (run)") if refused_server else "–"

    held = steady["errors"] == 0 and steady["shed"] == 0 and steady["p99"] < 100
    phase_args = "".join(f" --{name}-seconds {value:g}" if name else f" --seconds {value:g}"
                         for name, value, default in (("warm", args.warm_seconds, 0), ("", args.seconds, 60),
                                                      ("burst", args.burst_seconds, 30),
                                                      ("after", args.after_seconds, 20)) if value != default)
    per_second = []
    for i in range(int(args.seconds)):
        second = summarise(records, begin + i, begin + i + 1)
        per_second.append(f"{second['shed']}/{second['p99']:.0f}")
    warm_text = (f"{args.warm_seconds:.0f} s at {args.rate / 5:.0f} req/s (a server up before the morning's voters; "
                 "not counted), " if args.warm_seconds > 0 else "")
    steady_name = "steady" if args.warm_seconds > 0 else "steady (after 5 s)"
    options = " ".join(args.serve_option) or "the defaults"
    body = f"""### Load at {args.rate:.0f} req/s{", after a warm-up" if args.warm_seconds > 0 else ""}, burst at {2 * args.rate:.0f} req/s, recovery{f" (server at nice {args.server_nice})" if args.server_nice else ""}

`python -m bench.bench_load --rate {args.rate:.0f}{phase_args}{"".join(f" --serve-option={o}" for o in args.serve_option)}{f" --server-nice {args.server_nice}" if args.server_nice else ""}`:
`locator serve` with {args.workers} workers ({options}){f", started under nice {args.server_nice} (the generator has the cores first)" if args.server_nice else ""}, locust ({LOCUSTFILE.name}) sending the
election-day mix open loop (each request started on a fixed schedule, whatever the earlier ones
do; latency counted from the scheduled start): 60 % address lookups (Moselle communes and
mairie addresses by population, typed with dropped accents, lower case, abbreviations, typos;
many repeats), 20 % points over the département, 10 % autocomplete prefixes, 10 % pages and
static files. Phases: {warm_text}{args.seconds:.0f} s at {args.rate:.0f} req/s, {args.burst_seconds:.0f} s at
{2 * args.rate:.0f} req/s, {args.after_seconds:.0f} s at {args.rate:.0f} req/s. Latencies in ms, client
side, same machine. "answered/s": answers that are not errors nor 503; errors: no answer in 6 s,
5xx other than the shedding 503, 429; "late p99": how late the generator started requests
(the "from send" columns leave that lateness out: the latency once the request was started);
"p99 503 server side": each worker's own p99 of its refusals over the whole run, from the
request's arrival to its 503 written (the workers log it at exit).

| phase | sent/s | requests | answered/s | errors | shed 503 | p50 ok | p99 ok | p99 of 503 | late p99 | p99 ok from send | p99 503 from send | p99 503 server side | statuses |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{row(f"{steady_name} {args.rate:.0f} req/s", steady)}
{row(f"burst {2 * args.rate:.0f} req/s", burst, burst_server)}
{row("first 5 s after the burst", first5)}
{row("5 s after the burst to the end", after5)}

Steady phase by kind (answered, p50 / p99 ms): {"; ".join(f"{k} {n:,} {a:.1f} / {b:.1f}" for k, (n, a, b) in kinds.items())}.
Steady phase second by second from its start (503s / p99 ms of the answers): {" ".join(per_second)}.
p99 per second after the burst (ms): {", ".join(f"{w:.0f}" for w in windows)}; back within
max(1.5 × quiet p99, quiet p99 + 10 ms) for good after: {"never or not measured" if back is None else f"{back:.0f} s"}.

Held at {args.rate:.0f} req/s for {args.seconds:.0f} s with 0 errors, 0 shed and p99 < 100 ms: **{"yes" if held else "no"}**.
Refusals on the server side: {refusals_text(refusals)}.
Workers alive before/after: {sorted(workers_before) == sorted(workers_after) and "the same PIDs (none died)" or f"{sorted(workers_before)} → {sorted(workers_after)}"}.
Memory (master + workers + redis), RSS: {mem_before["rss"]:.0f} → {mem_mid["rss"]:.0f} (end of steady phase, {growth(mem_before["rss"], mem_mid["rss"]):+.1f} %) → {mem_after["rss"]:.0f} MB (end, {growth(mem_before["rss"], mem_after["rss"]):+.1f} %); private (USS): {mem_before["uss"]:.0f} → {mem_mid["uss"]:.0f} → {mem_after["uss"]:.0f} MB.
Requests the generator had not started by the end of the phases (counted as not sent): {not_sent:,}.
CPU over the run ({wall:.0f} s of wall time, 2 cores = {2 * wall:.0f} core-seconds): server {cpu_server:.0f} s ({100 * cpu_server / (2 * wall):.0f} % of the machine), load generator {gen_cpu_s:.0f} s ({100 * gen_cpu_s / (2 * wall):.0f} %).
Load average at the start / end: {load_start[0]:.2f} / {load_end[0]:.2f} (other work on the machine counts: it is shared).
"""
    print(body)
    if not args.no_write:
        write_section(args.section or (f"load-{args.rate:.0f}{'-warm' if args.warm_seconds > 0 else ''}"
                                       f"{f'-nice{args.server_nice}' if args.server_nice else ''}"), body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
