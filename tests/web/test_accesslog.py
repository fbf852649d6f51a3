"""The access log's batched handler: lines arrive complete, in order, and never later than
its interval, a warning, a full batch or the process's exit."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import time

from locator.web.accesslog import BatchedStreamHandler


def make_logger(name: str, **options) -> tuple[logging.Logger, io.StringIO, BatchedStreamHandler]:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, **options)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test.accesslog.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream, handler


def test_lines_wait_for_a_full_batch_then_arrive_in_order():
    logger, stream, handler = make_logger("batch", capacity=3, interval_s=60)
    logger.info("one")
    logger.info("two")
    assert stream.getvalue() == ""
    logger.info("three")
    assert stream.getvalue() == "INFO one\nINFO two\nINFO three\n"
    handler.close()


def test_a_warning_is_written_at_once_with_the_lines_before_it():
    logger, stream, handler = make_logger("warning", capacity=100, interval_s=60)
    logger.info("request")
    logger.warning("storage failed")
    assert stream.getvalue() == "INFO request\nWARNING storage failed\n"
    handler.close()


def test_an_idle_server_still_writes_its_lines_within_the_interval():
    logger, stream, handler = make_logger("idle", capacity=100, interval_s=0.05)
    logger.info("last request before a quiet hour")
    deadline = time.monotonic() + 5
    while stream.getvalue() == "" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stream.getvalue() == "INFO last request before a quiet hour\n"
    handler.close()


def test_close_writes_what_is_waiting():
    logger, stream, handler = make_logger("close", capacity=100, interval_s=60)
    logger.info("a")
    handler.close()
    assert stream.getvalue() == "INFO a\n"


def test_a_normal_exit_writes_the_waiting_lines():
    code = (
        "import logging, sys\n"
        "from locator.web.accesslog import BatchedStreamHandler\n"
        "h = BatchedStreamHandler(sys.stderr, capacity=100, interval_s=60)\n"
        "log = logging.getLogger('x'); log.addHandler(h); log.setLevel(logging.INFO)\n"
        "log.info('written at exit')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "written at exit\n"


def test_a_forked_child_writes_only_its_own_lines():
    code = (
        "import logging, os, sys\n"
        "from locator.web.accesslog import BatchedStreamHandler\n"
        "h = BatchedStreamHandler(sys.stdout, capacity=100, interval_s=60)\n"
        "log = logging.getLogger('x'); log.addHandler(h); log.setLevel(logging.INFO)\n"
        "log.info('parent'); sys.stdout.flush()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    log.info('child'); logging.shutdown(); os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.splitlines()) == ["child", "parent"]
