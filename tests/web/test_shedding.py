"""Overload shedding: past the bound, a fast 503 with Retry-After and a French message, never a
queue; the health probe is never refused. The WSGI middleware alone, then a real
``locator serve`` whose accepting thread refuses."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from locator.config import Settings
from locator.service import Locator
from locator.web.shedding import BODY, RESPONSE, LoadShedder, _path

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


def test_the_refusal_sent_by_the_accepting_thread_is_a_complete_http_answer_that_closes():
    head, _, body = RESPONSE.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 503 Service Unavailable"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers["Connection"] == "close" and headers["Retry-After"] == "1"
    assert int(headers["Content-Length"]) == len(body) and body == BODY


@pytest.fixture(scope="module")
def one_request_server(tmp_path_factory):
    """``locator serve`` with one worker that takes one request at a time."""
    base = tmp_path_factory.mktemp("shedding")
    data = copy_data(base / "data")
    Locator.from_data_dir(data, settings=Settings(data_dir=data, index_dir=base / "index")).open().close()
    proc = ServerProcess(["--workers", "1", "--max-in-flight", "1"], serve_env(data, base / "index"))
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

    def lookups(i):
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
    assert "Traceback" not in one_request_server.output
