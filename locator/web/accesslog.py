"""The access log: one line per request (method, route, status, latency, query length), through
``logging`` (logger ``locator.web.access``), never with what the voter typed.

By default each request's record is handed to ``logging`` at once. ``locator serve`` defers
them (``AccessLog.defer``), as nginx's ``access_log ... buffer= flush=`` does: a request only
appends a tuple, and the records are made, handled and written together, every ``capacity``
requests and at the latest ``interval_s`` later (a background thread of each worker sees to
an idle server), and at a normal exit: the logging code runs once with warm CPU caches
instead of between two requests (the cost either way is in BENCHMARKS.md, web section). Each
record keeps its request's time. Lines are lost only if the process is killed with SIGKILL.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

ACCESS_LOG_NAME = "locator.web.access"
_FORMAT = "%s %s %d %.1fms qlen=%s"


class AccessLog:
    def __init__(self, logger: logging.Logger):
        self.logger = logger
        self.capacity = 0  # 0: each record goes to logging at once
        self.interval_s = 1.0
        self._pending: list[tuple] = []
        self._lock = threading.Lock()
        self._flusher_pid: int | None = None

    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def write(self, method: str, route: str, status: int, elapsed_ms: float, query_length) -> None:
        if not self.capacity:
            self.logger.handle(self._record(time.time(), method, route, status, elapsed_ms, query_length))
            return
        if self._flusher_pid != os.getpid():  # gunicorn forks its workers after ``defer``
            self._start_flusher()
        item = (time.time(), method, route, status, elapsed_ms, query_length)
        with self._lock:  # flush swaps the list: an append must land in one or the other
            self._pending.append(item)
            full = len(self._pending) >= self.capacity
        if full:
            self.flush()

    def defer(self, *, capacity: int = 64, interval_s: float = 1.0) -> None:
        """Hand records to ``logging`` in batches from now on (see the module's docstring)."""
        if not self.capacity:
            atexit.register(self.flush)
        self.interval_s = interval_s
        self.capacity = capacity

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        handle, record = self.logger.handle, self._record
        for item in pending:
            handle(record(*item))
        for handler in self.logger.handlers:  # the batch is written out together
            handler.flush()

    def _record(self, created: float, method, route, status, elapsed_ms, query_length) -> logging.LogRecord:
        # Made directly: ``Logger.info`` would also walk the stack for a caller that never changes.
        rec = self.logger.makeRecord(self.logger.name, logging.INFO, __file__, 0, _FORMAT,
                                     (method, route, status, elapsed_ms, query_length), None)
        rec.created = created
        rec.msecs = (created - int(created)) * 1000
        return rec

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher_pid == os.getpid():
                return
            self._flusher_pid = os.getpid()
            self._pending = []  # a fork copies the parent's waiting records: the parent's to write
        threading.Thread(target=self._flush_every_interval, name="access-log-flush", daemon=True).start()

    def _flush_every_interval(self) -> None:
        pid = os.getpid()
        while self._flusher_pid == pid:
            time.sleep(self.interval_s)
            self.flush()


access_log = AccessLog(logging.getLogger(ACCESS_LOG_NAME))


class BatchedStreamHandler(logging.StreamHandler):
    """A ``StreamHandler`` that writes on ``flush`` (and every 64 lines, and at once for a
    warning): for the deferred access log, which flushes its handlers after each batch, so
    a batch costs one ``write`` instead of one per line."""

    def __init__(self, stream):
        super().__init__(stream)
        self._lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)
            return
        self._lines.append(line)
        if len(self._lines) >= 64 or record.levelno >= logging.WARNING:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            lines, self._lines = self._lines, []
            if self.stream is None:
                return
            try:
                if lines:
                    self.stream.write("".join(lines))
                if hasattr(self.stream, "flush"):
                    self.stream.flush()
            except (OSError, ValueError):  # stream closed or gone: lose the lines, not the request
                pass
