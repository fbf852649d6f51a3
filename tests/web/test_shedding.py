"""Overload shedding: past the bound, a fast 503 with Retry-After and a French message, never a
queue; the health probe is never refused. The WSGI middleware alone, then a real
``locator serve`` whose accepting thread refuses."""

from __future__ import annotations

import collections
import http.client
import json
import re
import selectors
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from locator.config import Settings
from locator.service import Locator
from locator.web import shedding
from locator.web.shedding import (
    BODY,
    RESPONSE,
    RESPONSE_KEEP_ALIVE,
    LoadShedder,
    RefusalTimes,
    SheddingThreadWorker,
    _bodiless_keep_alive,
    _path,
    _peek_request,
    _stamp_received,
)

from .servers import ServerProcess, copy_data, get, serve_env


def _blocking_app():
    """A WSGI app that holds each request until ``release`` is set."""
    entered, release = threading.Semaphore(0), threading.Event()

    def app(environ, start_response):
        entered.release()
        release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app, entered, release


def _call(app, path="/api/v1/lookup"):
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app({"PATH_INFO": path, "REQUEST_METHOD": "GET"}, start_response))
    return seen["status"], seen["headers"], body


def test_a_request_past_the_bound_is_refused_at_once_with_retry_after_and_a_french_message():
    app, entered, release = _blocking_app()
    shedder = LoadShedder(app, limit=1)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_call, shedder)
        assert entered.acquire(timeout=10)
        status, headers, body = _call(shedder)
        release.set()
        assert first.result(10)[0] == "200 OK"
    assert status.startswith("503")
    assert headers["Retry-After"] == "1"
    assert json.loads(body)["status"] == "overloaded"
    assert "réessayez" in json.loads(body)["message"]
    assert shedder.in_flight == 0 and shedder.shed == 1


def test_the_health_probe_is_never_refused():
    app, entered, release = _blocking_app()
    shedder = LoadShedder(app, limit=1)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_call, shedder)
        assert entered.acquire(timeout=10)
        probe = pool.submit(_call, shedder, "/healthz")
        assert entered.acquire(timeout=10)   # the probe reached the app past the bound
        release.set()
        assert probe.result(10)[0] == "200 OK" and first.result(10)[0] == "200 OK"
    assert shedder.shed == 0


def test_a_limit_of_zero_turns_shedding_off():
    app, entered, release = _blocking_app()
    release.set()
    assert _call(LoadShedder(app, limit=0))[0] == "200 OK"


@pytest.mark.parametrize("head, path", [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "/healthz"),
    (b"GET /healthz?probe=1 HTTP/1.1\r\n", "/healthz"),
    (b"GET /api/v1/lookup?q=metz HTTP/1.1\r\n", "/api/v1/lookup"),
    (b"GET /heal", ""),                        # request line not complete yet: not exempt
    (b"", ""),
])
def test_the_accepting_thread_reads_the_path_of_the_request_line(head, path):
    assert _path(head) == path


@pytest.mark.parametrize("head, keep", [
    (b"GET /api/v1/lookup?q=metz HTTP/1.1\r\nHost: x", True),
    (b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive", True),
    (b"GET / HTTP/1.1\r\nConnection: close", False),
    (b"GET / HTTP/1.0\r\nHost: x", False),
    (b"POST /widget HTTP/1.1\r\nContent-Length: 5", False),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked", False),
    (b"garbage", False),
])
def test_only_a_whole_bodiless_http11_request_is_refused_keeping_its_connection(head, keep):
    assert _bodiless_keep_alive(head) is keep


def test_the_refusal_sent_by_the_accepting_thread_is_a_complete_http_answer_that_closes():
    head, _, body = RESPONSE.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Connection"] == "close" and headers["Retry-After"] == "1"
    assert int(headers["Content-Length"]) == len(body) and body == BODY
    assert RESPONSE_KEEP_ALIVE.replace(b"keep-alive", b"close") == RESPONSE


class _Queue:
    """What ``SheddingThreadWorker._may_wait`` reads of a worker."""

    def __init__(self, limit=2, max_wait_s=0.025, max_waiting=3):
        self.limit, self.max_wait_s, self.max_waiting = limit, max_wait_s, max_waiting
        self.in_flight, self._queued = 0, collections.deque()

    def hand(self, at):
        self.in_flight += 1
        self._queued.append(at)

    def start(self):
        self._queued.popleft()

    def may_wait(self):
        return SheddingThreadWorker._may_wait(self)


def test_a_request_waits_for_a_thread_while_the_queue_moves_and_is_refused_once_it_stalls(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(shedding.time, "monotonic", lambda: now[0])
    q = _Queue(limit=2, max_wait_s=0.025)
    q.hand(100.0), q.start(), q.hand(100.0), q.start()    # both threads at work, nobody waits
    assert q.may_wait()
    q.hand(100.0)                                          # waits since 100.000
    now[0] = 100.024
    assert q.may_wait()                                    # its head has waited 24 ms
    q.hand(100.024)
    now[0] = 100.026
    assert not q.may_wait()                                # 26 ms: the queue does not move
    q.in_flight -= 1
    q.start()                                              # a thread takes the oldest
    assert q.may_wait()                                    # the head now waited 2 ms


def test_the_waiting_requests_are_bounded_whatever_the_clock_and_zero_wait_refuses_at_the_limit(monkeypatch):
    monkeypatch.setattr(shedding.time, "monotonic", lambda: 5.0)
    q = _Queue(limit=1, max_wait_s=10.0, max_waiting=3)
    q.hand(5.0), q.start()
    for _ in range(3):
        assert q.may_wait()
        q.hand(5.0)
    assert not q.may_wait()                                # 3 wait: the bound
    q = _Queue(limit=1, max_wait_s=0.0)
    q.hand(5.0), q.start()
    assert not q.may_wait()


@pytest.mark.parametrize("times, p50, p99, largest", [
    ([1.0], 1.0, 1.0, 1.0),                                  # one refusal: its own time
    ([0.5] * 98 + [3.0, 40.0], 0.5, 3.0, 40.0),              # p99 is the 99th of 100, not the max
    ([0.01, 0.02], 0.02, 0.02, 0.02),                        # under the first bucket
    ([0.4, 0.5, 0.6, 12.0], 0.5, 12.0, 12.0),
])
def test_refusal_times_read_percentiles_within_a_bucket_and_the_maximum_exactly(times, p50, p99, largest):
    t = RefusalTimes()
    for ms in times:
        t.record(ms)
    assert t.count == len(times) and t.max_ms == largest
    for q, expected in ((0.5, p50), (0.99, p99)):
        assert expected <= t.quantile(q) <= expected * RefusalTimes.RATIO   # a bucket is ~9 % wide
    assert f"{len(times)} refused, 503 written in p50" in t.summary()


def test_no_refusal_reads_as_zero_refused():
    assert RefusalTimes().summary() == "0 refused"
    assert RefusalTimes().quantile(0.99) != RefusalTimes().quantile(0.99)   # nan


class _Conn:
    """What the refusing code reads of gthread's connection."""

    def __init__(self, sock):
        self.sock, self.parser, self.initialized = sock, None, True

    def set_timeout(self):
        pass


class _Log:
    def __init__(self):
        self.lines = []

    def info(self, msg, *args):
        self.lines.append(msg % args)


def _bare_worker(now):
    """A ``SheddingThreadWorker`` without gunicorn's process around it, on the clock ``now[0]``."""
    worker = object.__new__(SheddingThreadWorker)
    worker.clock = lambda: now[0]
    worker.pid, worker.log, worker.nr_conns = 4242, _Log(), 1
    worker.requests, worker._window_requests = 0, 0
    worker.refusal_times, worker._refusal_window = RefusalTimes(), RefusalTimes()
    worker._refusals_logged_at, worker._seen_at, worker._timestamped = now[0], now[0], False
    worker.keepalived_conns, worker.poller = collections.deque(), selectors.DefaultSelector()
    return worker


def _kernel_stamps(listener) -> bool:
    """Does the kernel stamp what ``listener``'s connections receive yet? Linux turns receive
    stamping on for the whole stack when a first socket asks, through deferred work: the packets
    of the first moments after that may come unstamped (``SheddingThreadWorker`` then times
    from when its accepting thread saw the request). Probes a connection for up to 2 s."""
    with socket.create_connection(listener.getsockname()) as client:
        served, _addr = listener.accept()
        with served:
            for _ in range(100):
                client.sendall(b"x")
                with selectors.DefaultSelector() as sel:
                    sel.register(served, selectors.EVENT_READ)
                    sel.select(2)
                if _peek_request(_Conn(served))[1] is not None:
                    return True
                served.recv(4096)
                time.sleep(0.02)
    return False


@pytest.fixture
def stamped_connection():
    """(client, server side) of a loopback TCP connection accepted by a stamped listener."""
    listener = socket.create_server(("127.0.0.1", 0))
    if not _stamp_received([listener]) or not _kernel_stamps(listener):
        listener.close()
        pytest.skip("no kernel receive timestamps on this platform")
    client = socket.create_connection(listener.getsockname())
    served, _addr = listener.accept()
    try:
        yield client, served
    finally:
        for s in (client, served, listener):
            s.close()


def test_a_refusal_is_timed_from_the_kernels_receive_time_of_the_request_to_its_503(stamped_connection):
    client, served = stamped_connection
    client.sendall(b"GET /api/v1/lookup?q=metz HTTP/1.1\r\nHost: x\r\n\r\n")
    with selectors.DefaultSelector() as sel:   # wait until the request is on the server's side
        sel.register(served, selectors.EVENT_READ)
        assert sel.select(10)
    conn = _Conn(served)
    head, received = _peek_request(conn)
    assert head.startswith(b"GET /api/v1/lookup?q=metz ") and received is not None
    assert _peek_request(conn) == (head, received)   # peeked, not consumed
    now = [received + 0.0042]                  # the 503 is written 4.2 ms after the request came
    worker = _bare_worker(now)
    worker._timestamped, worker._seen_at = True, received + 0.004   # the accepting thread saw it late
    worker._refuse(conn, head, received)
    assert client.recv(len(RESPONSE_KEEP_ALIVE) + 10) == RESPONSE_KEEP_ALIVE
    assert worker.refusal_times.count == 1 and worker.requests == 1
    assert worker.refusal_times.max_ms == pytest.approx(4.2, abs=1e-3)   # not the 4 ms the thread saw


def test_without_receive_timestamps_a_refusal_is_timed_from_when_the_accepting_thread_saw_it():
    client, served = socket.socketpair()
    with client, served:
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        now = [100.0025]
        worker = _bare_worker(now)
        worker._seen_at = 100.0
        conn = _Conn(served)
        head, received = _peek_request(conn)
        assert head == b"GET / HTTP/1.1\r\n\r\n" and received is None   # not stamped
        worker._refuse(conn, head, received)
        assert client.recv(len(RESPONSE_KEEP_ALIVE) + 10) == RESPONSE_KEEP_ALIVE
        assert worker.refusal_times.max_ms == pytest.approx(2.5)
        assert worker._refusal_window.count == 1


def test_refusal_times_are_logged_while_refusing_at_most_every_interval_and_at_exit():
    now = [1000.0]
    worker = _bare_worker(now)
    worker.log_refusals()
    now[0] += shedding.REFUSAL_LOG_INTERVAL_S + 5
    worker.log_refusals()
    assert worker.log.lines == []                           # nothing refused: nothing logged
    for ms in (1.0, 2.0):
        worker._time_refusal(now[0] - ms / 1000)
    worker._window_requests = 40
    worker.log_refusals()                                   # 15 s since the last line (none)
    assert len(worker.log.lines) == 1
    assert re.search(r"worker 4242, last 15 s; 40 requests\): 2 refused, 503 written in p50 1\.0\d ms, p99 2\.00 ms, "
                     r"max 2\.00 ms after the request reached the worker's accepting thread", worker.log.lines[0])
    worker._time_refusal(now[0] - 0.003)
    now[0] += 1
    worker.log_refusals()                                   # 1 s later: waits for the interval
    assert len(worker.log.lines) == 1
    now[0] += shedding.REFUSAL_LOG_INTERVAL_S
    worker.log_refusals()
    assert "last 11 s; 0 requests): 1 refused" in worker.log.lines[1]
    assert worker.refusal_times.count == 3                  # the totals are kept for the exit line


@pytest.fixture(scope="module")
def one_request_server(tmp_path_factory):
    """``locator serve`` with one worker that takes one request at a time."""
    base = tmp_path_factory.mktemp("shedding")
    data = copy_data(base / "data")
    Locator.from_data_dir(data, settings=Settings(data_dir=data, index_dir=base / "index")).open().close()
    proc = ServerProcess(["--workers", "1", "--max-in-flight", "1", "--max-wait-ms", "0"],
                         serve_env(data, base / "index"))
    try:
        proc.wait_ready()
        yield proc
    finally:
        assert proc.stop() == 0, proc.output[-2000:]


def test_a_real_server_refuses_the_excess_with_fast_503s_and_keeps_answering(one_request_server):
    url = one_request_server.url
    assert get(url, "/healthz")[0] == 200   # the worker is up (it is forked after "serving on")
    worker = psutil.Process(one_request_server.proc.pid).children()
    queries = ["Metz", "Thionville", "1 place d'Armes, Metz", "Forbach", "Sarreguemines", "Hayange"]

    host, port = urllib.parse.urlsplit(url).netloc.split(":")

    def kept_alive(i):
        """One HTTP/1.1 connection kept across requests (a new one when the server closed it)."""
        answers, conn = [], http.client.HTTPConnection(host, int(port), timeout=15)
        for n in range(25):
            conn.request("GET", "/api/v1/lookup?" + urllib.parse.urlencode({"q": queries[(i + n) % len(queries)]}))
            r = conn.getresponse()
            answers.append((r.status, dict(r.getheaders()), r.read().decode()))
            if r.will_close:
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=15)
        conn.close()
        return answers

    def lookups(i):
        if i % 2:
            return kept_alive(i)
        return [get(url, "/api/v1/lookup", q=queries[(i + n) % len(queries)]) for n in range(25)]

    with ThreadPoolExecutor(9) as pool:
        probes = pool.submit(lambda: [get(url, "/healthz") for _ in range(40)])
        answers = [a for f in [pool.submit(lookups, i) for i in range(8)] for a in f.result(120)]
        probes = probes.result(120)

    statuses = [status for status, _h, _b in answers]
    refused = [(h, b) for status, h, b in answers if status == 503]
    assert set(statuses) <= {200, 503}, statuses
    assert refused, "eight clients against one request at a time: some must be refused"
    assert statuses.count(200) > 0
    for headers, body in refused:
        assert headers["Retry-After"] == "1"
        assert json.loads(body)["status"] == "overloaded"
    assert all(status == 200 for status, _h, _b in probes)
    assert psutil.Process(one_request_server.proc.pid).children() == worker  # no worker died
    assert one_request_server.stop() == 0
    # At exit the worker logs every refusal it wrote, timed from the request's arrival.
    logged = re.findall(r"refusals \(worker \d+, since start; (\d+) requests\): (\d+) refused, 503 written in "
                        r"p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms after the request reached the server",
                        one_request_server.output)
    assert len(logged) == 1
    requests, refusals = map(int, logged[0])
    # Every 503 a client read was counted; a written refusal may be lost with its connection.
    assert len(refused) <= refusals <= len(answers) - statuses.count(200)
    assert requests >= len(answers) + len(probes) + 1         # and every answer was a request

    assert "Traceback" not in one_request_server.output
