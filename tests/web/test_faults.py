"""Faults of election day, each with the real thing where the fault is a process.

* a remote geocoder (``embedded,remote``) pointed at a local fake that refuses, hangs, is
  slow, rate-limits, fails, or talks garbage: the voter still gets the embedded answer, within
  the timeout budget, and the circuit breaker opens and half-opens on a clock the test holds;
* the embedded redis-server killed with SIGKILL under load: points keep answering, addresses
  answer 503 with Retry-After and a French message until the service has restarted it;
* a gunicorn worker killed with SIGKILL under load: the master replaces it and only that
  worker's in-flight requests can fail;
* a read-only index folder when the index is built: one clear error line, exit 2, the
  previous index untouched.
"""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from locator import Locator, Settings
from locator.geocoding.remote import CircuitBreaker

from .servers import ADDRESS, METZ, ROOT, Load, ServerProcess, copy_data, get_json, serve_env

psutil = pytest.importorskip("psutil", reason="psutil is in the test extra")

#: A house number: the embedded index (communes, no BAN file) answers the street's commune,
#: which is not "sufficient", so the chain asks the remote next, and must fall back.
HOUSE_QUERY = "12 rue Serpenoise, 57000 Metz"
TIMEOUT_S = 0.5
#: What the voter may wait on top of the remote's timeout (the lookup itself, a loaded CI).
SLACK_S = 2.0

VALID = (b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point",'
         b'"coordinates":[6.1745,49.1163]},"properties":{"label":"12 Rue Serpenoise 57000 Metz",'
         b'"score":0.97,"type":"housenumber","citycode":"57463","postcode":"57000"}}]}')


class FakeRemote(http.server.ThreadingHTTPServer):
    """An addok-like HTTP server on 127.0.0.1 that misbehaves as ``mode`` says."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeRemoteHandler)
        self.mode = "valid"
        self.hits = 0
        self.release = threading.Event()  # cuts every hanging handler short at teardown
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self):
        self.release.set()
        self.shutdown()
        self.server_close()


class FakeRemoteHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes, ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's name
        server: FakeRemote = self.server
        server.hits += 1
        mode = server.mode
        if mode == "hang":
            server.release.wait(20)
            return
        if mode == "slow":
            if server.release.wait(10):
                return
            self._send(200, VALID)
        elif mode == "rate_limited":
            self._send(429, b'{"message":"too many requests"}', headers=[("Retry-After", "120")])
        elif mode == "error":
            self._send(500, b'{"message":"internal error"}')
        elif mode == "html":
            self._send(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", ctype="text/html")
        elif mode == "truncated":
            self._send(200, VALID[: len(VALID) // 2])
        elif mode == "wrong_shape":
            self._send(200, b'{"type":"FeatureCollection","features":[{"geometry":null,"properties":"x"}]}')
        elif mode == "huge":
            self._send(200, b'{"features":[' + b" " * (3 * 1024 * 1024) + b"]")
        else:
            self._send(200, VALID)


def refused_url() -> str:
    """A 127.0.0.1 port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def moselle(tmp_path_factory):
    """A private copy of the committed data with its embedded index built once."""
    base = tmp_path_factory.mktemp("faults")
    data = copy_data(base / "data")
    Locator.from_data_dir(data, settings=Settings(data_dir=data, index_dir=base / "index")).open().close()
    return data, base / "index"


@pytest.fixture(scope="module")
def remote():
    server = FakeRemote()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chained_app(moselle, remote):
    """The app on ``embedded,remote`` with the remote on the fake (opened once: ~10 s)."""
    from locator.web import create_app

    data, index = moselle
    settings = Settings(data_dir=data, index_dir=index, geocoders=("embedded", "remote"),
                        remote_url=remote.url, remote_timeout_s=TIMEOUT_S, geocode_cache_size=0,
                        rate_limit="100000/minute")
    locator = Locator.from_data_dir(data, settings=settings).open()
    try:
        client = create_app(settings, locator=locator).test_client()
        # The first lookup of a new app pays one-off costs (imports, lazy tables): not the remote's.
        assert client.get("/api/v1/lookup", query_string={"q": "Metz"}).status_code == 200
        yield client, locator.geocoder.backend("remote")
    finally:
        locator.close()


@pytest.fixture
def chained(chained_app):
    """The module's app with a fresh breaker on a clock the test holds (3 failures, 30 s)."""
    client, backend = chained_app
    clock = Clock()
    backend.breaker = CircuitBreaker(failures=3, cooldown_s=30, clock=clock)
    geocode_api = backend.api.geocode_api
    yield client, backend, clock
    backend.api.geocode_api = geocode_api


FAULTS = ["refused", "hang", "slow", "rate_limited", "error", "html", "truncated", "wrong_shape", "huge"]


@pytest.mark.parametrize("mode", FAULTS)
def test_a_failing_remote_never_costs_the_voter_an_answer_the_embedded_index_has(chained, remote, mode):
    client, backend, clock = chained
    if mode == "refused":
        backend.api.geocode_api = refused_url() + "/search/"
    remote.mode = mode
    remote.hits = 0

    for attempt in range(3):  # the configured failures before the breaker opens
        started = time.monotonic()
        r = client.get("/api/v1/lookup", query_string={"q": HOUSE_QUERY})
        elapsed = time.monotonic() - started
        assert r.status_code == 200, r.json
        assert r.json["commune"]["code"] == "57463"
        assert r.json["geocode"]["source"] == "embedded"
        assert elapsed < TIMEOUT_S + SLACK_S, (mode, attempt, elapsed)
    assert backend.breaker.state == "open"

    # Open: the remote is not called at all, the voter still gets the embedded answer.
    hits = remote.hits
    r = client.get("/api/v1/lookup", query_string={"q": HOUSE_QUERY})
    assert r.status_code == 200
    assert remote.hits == hits

    # Retry-After (120 s) holds the breaker open longer than its own cooldown (30 s).
    clock.now += 31
    assert backend.breaker.state == ("open" if mode == "rate_limited" else "half-open")
    clock.now += 100
    assert backend.breaker.state == "half-open"

    # Half-open: one trial call. The remote has recovered: the breaker closes and the remote's
    # house number is used again.
    remote.mode = "valid"
    if mode == "refused":
        return  # nothing listens on that port: the recovery is tested with the other faults
    r = client.get("/api/v1/lookup", query_string={"q": HOUSE_QUERY})
    assert r.status_code == 200
    assert r.json["geocode"]["source"] == "remote"
    assert backend.breaker.state == "closed"


def test_a_half_open_breaker_reopens_at_the_first_failure(chained, remote):
    client, backend, clock = chained
    remote.mode = "error"
    for _ in range(3):
        client.get("/api/v1/lookup", query_string={"q": HOUSE_QUERY})
    assert backend.breaker.state == "open"
    clock.now += 31
    hits = remote.hits
    assert client.get("/api/v1/lookup", query_string={"q": HOUSE_QUERY}).status_code == 200
    assert remote.hits == hits + 1  # the one trial call
    assert backend.breaker.state == "open"


# -- processes -----------------------------------------------------------------------------

def children(pid: int) -> list:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def alive(proc) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def mixed_load(url: str, threads: int = 3) -> Load:
    return Load(url, [("/api/v1/lookup", {"lon": METZ[0], "lat": METZ[1]}), ("/api/v1/lookup", {"q": ADDRESS}),
                      ("/healthz", {})], threads=threads, max_seconds=60)


@pytest.fixture
def server(moselle, tmp_path):
    data, index = moselle
    proc = ServerProcess(["--workers", "2"], serve_env(data, index))
    try:
        proc.wait_ready()
        yield proc
    finally:
        everything = children(proc.proc.pid)
        assert proc.stop() == 0, proc.output[-2000:]
        time.sleep(0.3)
        left = [p for p in everything if alive(p)]
        assert not left, [(p.pid, p.name()) for p in left]


def redis_servers(pid: int) -> list:
    return [p for p in children(pid) if "redis" in p.name()]


def test_a_killed_redis_server_is_restarted_and_no_lookup_gets_a_500_or_hangs(server):
    url = server.url
    [redis_proc] = wait_until(lambda: redis_servers(server.proc.pid), 10)
    load = mixed_load(url)
    try:
        time.sleep(0.5)
        killed_at = time.monotonic()
        os.kill(redis_proc.pid, signal.SIGKILL)
        back = wait_until(lambda: get_json(url, "/api/v1/lookup", q=ADDRESS)[0] == 200, 10, step=0.2)
        recovered_at = time.monotonic()
        time.sleep(0.5)
    finally:
        records = load.stop()
    assert back, server.output[-3000:]
    assert recovered_at - killed_at < 10
    points = [r for r in records if r[1] == "/api/v1/lookup?lat,lon"]
    statuses = load.statuses()
    assert set(statuses) <= {200, 503}, (statuses, [r for r in records if r[2] not in (200, 503)][:3])
    for _t, _path, status, body in records:
        if status == 503:
            assert "indisponible" in body or "sollicité" in body, body
    assert all(r[2] == 200 for r in records if r[1] == "/healthz")
    assert points and all(r[2] == 200 for r in points)  # point lookups kept answering
    # A 503 said when to come back.
    status, headers, body = get_json(url, "/api/v1/lookup", q=ADDRESS)
    assert status == 200, body
    assert not any(p.pid == redis_proc.pid and alive(p) for p in children(server.proc.pid))


def test_a_killed_worker_is_replaced_and_only_its_requests_can_fail(server):
    url = server.url
    def worker_procs():
        return [p for p in children(server.proc.pid) if "redis" not in p.name()]

    wait_until(lambda: len(worker_procs()) == 2, 15)
    workers = worker_procs()
    assert len(workers) == 2
    load = mixed_load(url, threads=2)
    try:
        time.sleep(1.0)
        victim = workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        replaced = wait_until(lambda: len([p for p in children(server.proc.pid)
                                           if "redis" not in p.name() and p.pid != victim.pid and alive(p)]) == 2, 15)
        replaced_at = time.monotonic()
        answered = wait_until(lambda: sum(r[0] > replaced_at and r[2] == 200 for r in load.records) >= 10, 30)
    finally:
        records = load.stop()
    assert replaced, server.output[-3000:]
    assert answered, records[-5:]
    failed = [r for r in records if r[2] != 200]
    # One request at a time per load thread: the killed worker held at most one of each.
    assert len(failed) <= 2, failed[:5]
    assert all(r[2] == 0 for r in failed), failed[:5]  # a dropped connection, never a 5xx


def _disk_full():
    """The build's process and its redis-server may not write a file past 200 kB (the Moselle
    index is ~740 kB): what a full disk looks like to the writers, even for root."""
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


@pytest.mark.parametrize("fault", ["disk_full", "read_only"])
def test_an_index_that_cannot_be_written_is_one_clear_error_line_exit_2_and_the_old_index_untouched(
        moselle, tmp_path, fault):
    if fault == "read_only" and os.geteuid() == 0:
        pytest.skip("root writes into a read-only folder (the disk_full case covers root)")
    data, index = moselle
    old = tmp_path / "index"
    subprocess.run(["cp", "-r", str(index), str(old)], check=True)
    # addok_config.py names the socket of each run's redis-server: rewritten at every start.
    before = {p.name: p.read_bytes() for p in old.iterdir() if p.is_file() and p.name != "addok_config.py"}
    if fault == "read_only":
        os.chmod(old, 0o555)
    try:
        done = subprocess.run([sys.executable, "-m", "locator.cli", "index", "build", "--force"], cwd=ROOT,
                              env=serve_env(data, old), capture_output=True, text=True, timeout=120,
                              preexec_fn=_disk_full if fault == "disk_full" else None)
    finally:
        os.chmod(old, 0o755)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("error: ") and str(old) in lines[0], lines
    after = {p.name: p.read_bytes() for p in old.iterdir() if p.is_file() and p.name != "addok_config.py"}
    assert {name: after.get(name) for name in before} == before
    assert set(after) == set(before), sorted(set(after) - set(before))  # no temporary file left
