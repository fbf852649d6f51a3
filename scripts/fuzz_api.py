"""Fuzz a real ``locator serve`` from its own OpenAPI document with schemathesis.

Starts ``locator serve`` (2 workers, the committed Moselle data copied to a temporary folder,
the embedded geocoder, the per-IP limit raised so that the fuzzer is not answered 429) on a
free 127.0.0.1 port, runs ``schemathesis run`` against ``/api/v1/openapi.json`` with the
response checks (no 5xx, status codes, content types, bodies and headers as documented), and
prints the figures: requests generated, 5xx, schema violations. Stops the server by its PID.

Usage (from the repository root):
    python scripts/fuzz_api.py [--max-examples 1000] [--seed 14]

With the defaults it sends well over 10,000 requests across every operation (positive and
negative examples, coverage and fuzzing phases). Exit 0 when schemathesis found nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance," \
         "response_headers_conformance"


def start_server(data: Path, index: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    env.update({"LOCATOR_DATA_DIR": str(data), "LOCATOR_INDEX_DIR": str(index),
                "LOCATOR_RATE_LIMIT": "100000000/minute", "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "locator.cli", "serve", "--port", "0", "--workers", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    found: list[str] = []
    ready = threading.Event()
    errors: list[str] = []

    def read():
        for line in proc.stdout:
            m = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
            if m and not found:
                found.append(m.group(1))
                ready.set()
            if "unhandled" in line:
                errors.append(line.rstrip())
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(300)
    if not found:
        proc.kill()
        raise SystemExit("server did not start")
    proc.unhandled = errors  # type: ignore[attr-defined]
    return proc, found[0]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--max-examples", type=int, default=1000, help="examples per operation and phase")
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="fuzz-api-"))
    shutil.copytree(ROOT / "data", tmp / "data", ignore=shutil.ignore_patterns("index"))
    proc, url = start_server(tmp / "data", tmp / "index")
    try:
        done = subprocess.run(["schemathesis", "run", f"{url}/api/v1/openapi.json", "--checks", CHECKS,
                               "--max-examples", str(args.max_examples), "--seed", str(args.seed),
                               "--no-color", "--request-timeout", "30", "--workers", "2"],
                              cwd=tmp, capture_output=True, text=True, timeout=3 * 3600)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    out = done.stdout + done.stderr
    print(out)  # every failure with the request that reproduces it
    cases = re.search(r"Test cases:\s*([\d,]+) generated", out)
    generated = int(cases.group(1).replace(",", "")) if cases else None

    def counted(pattern: str) -> int:
        return sum(int(n) for n in re.findall(pattern + r": (\d+)", out))

    server_errors = counted(r"Server error")
    violations = sum(counted(p) for p in (r"Response violates schema", r"Undocumented status code",
                                          r"Undocumented Content-Type", r"Missing header"))
    print(f"requests generated: {generated}; 5xx: {server_errors}; schema violations: {violations}; "
          f"server log 'unhandled' lines: {len(proc.unhandled)}; schemathesis exit {done.returncode}")
    return 0 if done.returncode == 0 and not proc.unhandled else 1


if __name__ == "__main__":
    sys.exit(main())
