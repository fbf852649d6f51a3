"""Real ``locator serve`` processes for the fault and reload tests: a private copy of the
committed Moselle data, one embedded index built once per session, a server started on a
free 127.0.0.1 port and stopped by its PID, and a bounded load generator that counts what
failed."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_DATA = ROOT / "data"
ADDRESS = "1 place d'Armes, Metz"
METZ = (6.1757, 49.1196)


def copy_data(dest: Path) -> Path:
    """The committed data folder without its (git-ignored) index."""
    shutil.copytree(COMMITTED_DATA, dest, ignore=shutil.ignore_patterns("index"))
    return dest


def serve_env(data_dir: Path, index_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATOR_")}
    env.update({
        "LOCATOR_DATA_DIR": str(data_dir),
        "LOCATOR_INDEX_DIR": str(index_dir),
        # The load below comes from one IP: the per-IP limit would answer 429 (not a lookup).
        "LOCATOR_RATE_LIMIT": "1000000/minute",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class ServerProcess:
    """``python -m locator.cli serve --port 0 ...`` with its output collected in a thread."""

    def __init__(self, args, env):
        self.proc = subprocess.Popen([sys.executable, "-m", "locator.cli", "serve", "--port", "0", *args],
                                     cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.url: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
            if m and self.url is None:
                self.url = m.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 180) -> str:
        self._ready.wait(timeout)
        assert self.url, "server did not start:\n" + self.output[-3000:]
        return self.url

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, pattern: str, *, after: int = 0, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if rx.search(line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in:\n" + "".join(self.lines[after:])[-3000:])

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def get(url: str, path: str, timeout: float = 15, **params) -> tuple[int, dict, str]:
    full = url + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(full, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def get_json(url: str, path: str, **params) -> tuple[int, dict, dict]:
    status, headers, body = get(url, path, **params)
    return status, headers, json.loads(body)


class Load:
    """Requests from ``threads`` threads, in a loop, until ``stop()`` or ``max_seconds``.

    Each request is ``(path, params)`` from ``requests`` in turn; every answer is recorded as
    ``(time, label, status, body)``, the label being the path and the parameter names
    (``/api/v1/lookup?lat,lon``); status 0: no HTTP answer at all.
    """

    def __init__(self, url: str, requests, *, threads: int = 4, max_seconds: float = 90, timeout: float = 15):
        self.url = url
        self.requests = list(requests)
        self.timeout = timeout
        self.records: list[tuple[float, str, int, str]] = []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + max_seconds
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]
        for t in self._threads:
            t.start()

    def _run(self, offset: int):
        i = offset
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            path, params = self.requests[i % len(self.requests)]
            i += 1
            label = path + ("?" + ",".join(sorted(params)) if params else "")
            try:
                status, _headers, body = get(self.url, path, timeout=self.timeout, **params)
            except (OSError, urllib.error.URLError, http.client.HTTPException) as err:
                # a worker killed between the headers and the body: IncompleteRead
                status, body = 0, repr(err)
            self.records.append((time.monotonic(), label, status, body))

    def stop(self) -> list[tuple[float, str, int, str]]:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.records

    def statuses(self, since: float = 0.0) -> Counter:
        return Counter(r[2] for r in self.records if r[0] >= since)
