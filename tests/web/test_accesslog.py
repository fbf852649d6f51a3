"""The access log: records complete, in order, with their request's time; deferred ones
reach the log within the interval, at a full batch or at the process's exit."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
import time

from locator.web.accesslog import AccessLog, BatchedStreamHandler


def make_log(name: str) -> tuple[AccessLog, io.StringIO]:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(created).3f %(message)s"))
    logger = logging.getLogger(f"test.accesslog.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return AccessLog(logger), stream


def lines(stream: io.StringIO) -> list[str]:
    return [line.split(" ", 1)[1] for line in stream.getvalue().splitlines()]


def test_by_default_each_record_is_handled_at_once(caplog):
    log = AccessLog(logging.getLogger("test.accesslog.direct"))
    with caplog.at_level(logging.INFO, logger="test.accesslog.direct"):
        log.write("GET", "/api/v1/lookup", 200, 1.25, 13)
        assert [r.getMessage() for r in caplog.records] == ["GET /api/v1/lookup 200 1.2ms qlen=13"]


def test_deferred_records_wait_for_a_full_batch_then_arrive_in_order():
    log, stream = make_log("batch")
    log.defer(capacity=3, interval_s=60)
    log.write("GET", "/a", 200, 1.0, 1)
    log.write("GET", "/b", 404, 2.0, 2)
    assert stream.getvalue() == ""
    log.write("POST", "/c", 400, 3.0, "-")
    assert lines(stream) == ["GET /a 200 1.0ms qlen=1", "GET /b 404 2.0ms qlen=2", "POST /c 400 3.0ms qlen=-"]


def test_deferred_records_keep_the_time_of_their_request():
    log, stream = make_log("time")
    log.defer(capacity=100, interval_s=60)
    before = time.time()
    log.write("GET", "/a", 200, 1.0, 1)
    time.sleep(0.3)
    log.flush()
    created = float(stream.getvalue().split(" ", 1)[0])
    assert before - 0.001 <= created < before + 0.2


def test_an_idle_server_still_writes_its_lines_within_the_interval():
    log, stream = make_log("idle")
    log.defer(capacity=100, interval_s=0.05)
    log.write("GET", "/healthz", 200, 0.1, "-")
    deadline = time.monotonic() + 5
    while stream.getvalue() == "" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lines(stream) == ["GET /healthz 200 0.1ms qlen=-"]


def test_no_line_is_lost_when_threads_write_while_the_flusher_runs():
    log, stream = make_log("threads")
    log.defer(capacity=50, interval_s=0.001)

    def work(n):
        for i in range(500):
            log.write("GET", f"/t{n}", 200, float(i), i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.flush()
    got = lines(stream)
    assert len(got) == 2000
    for n in range(4):  # each thread's lines in its order
        mine = [line for line in got if line.startswith(f"GET /t{n} ")]
        assert [int(line.rsplit("=", 1)[1]) for line in mine] == list(range(500))


def run_deferred(stream: str, body: str) -> subprocess.CompletedProcess:
    """``body`` in a fresh Python whose ``log`` is a deferred AccessLog writing to ``stream``."""
    code = (
        "import logging, os, sys\n"
        "from locator.web.accesslog import AccessLog, BatchedStreamHandler\n"
        "logger = logging.getLogger('x'); logger.setLevel(logging.INFO)\n"
        f"logger.addHandler(BatchedStreamHandler(sys.{stream}))\n"
        "log = AccessLog(logger); log.defer(capacity=100, interval_s=60)\n"
    ) + body
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out


def test_a_normal_exit_writes_the_waiting_lines():
    out = run_deferred("stderr", "log.write('GET', '/api/v1/lookup', 200, 1.0, 5)\n")
    assert out.stderr == "GET /api/v1/lookup 200 1.0ms qlen=5\n"


def test_a_forked_child_writes_only_its_own_lines():
    out = run_deferred("stdout", (
        "log.write('GET', '/parent', 200, 1.0, 1); log.flush(); sys.stdout.flush()\n"
        "log.write('GET', '/parent-unflushed', 200, 1.0, 1)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    log.write('GET', '/child', 200, 1.0, 1); log.flush(); os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    ))
    assert sorted(out.stdout.splitlines()) == ["GET /child 200 1.0ms qlen=1", "GET /parent 200 1.0ms qlen=1",
                                               "GET /parent-unflushed 200 1.0ms qlen=1"]


def test_the_handler_writes_a_warning_at_once():
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream)
    logger = logging.getLogger("test.accesslog.warning")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.info("kept")
    assert stream.getvalue() == ""
    logger.warning("storage failed")
    assert stream.getvalue() == "kept\nstorage failed\n"


def test_a_closed_stream_loses_lines_not_requests():
    log, stream = make_log("closed")
    (handler,) = log.logger.handlers
    log.defer(capacity=1, interval_s=60)
    stream.close()
    # The batch is full at once: its flush finds the stream closed. Writing to a closed stream
    # raises ValueError; the request that filled the batch must not see it.
    assert log.write("GET", "/healthz", 200, 0.1, "-") is None
    fresh = io.StringIO()
    handler.setStream(fresh)  # the log goes on once there is somewhere to write again
    log.write("GET", "/readyz", 200, 0.2, "-")
    assert lines(fresh) == ["GET /readyz 200 0.2ms qlen=-"]  # the lost line is lost, not replayed
