"""Overload shedding: a bounded number of requests at work per worker, a short bounded wait
for a thread, a fast 503 for the rest.

On election day the page is shared at 8:00 and at 18:00: more requests arrive than two cores
can answer. Without a bound they wait in gunicorn's queue until the voter's browser gives up,
and every voter waits. With it, each worker runs at most ``limit`` requests at once; the next
ones wait for a thread only while the queue moves (the request at its head has waited less
than ``max_wait_s``); the rest are answered at once with ``503`` and ``Retry-After``. The
requests that are served keep a latency close to their quiet-day one and the others know to
retry in a second.

Why a wait and not only a count: one slow request (a first search of a rare text, tens of
milliseconds under one interpreter lock) holds the worker while a few more arrive. Refusing
as soon as ``limit`` are at work refused those at a rate the worker could have answered a
few milliseconds later (BENCHMARKS.md "Election day"). The
queue's own delay is what says whether the worker keeps up: as long as its head waits less
than ``max_wait_s`` it does; past that, it does not, and waiting longer would only make every
voter wait (the queue's length is then bounded by about ``max_wait_s`` × the worker's rate).

Two places refuse, with the same answer:

* ``SheddingThreadWorker``, the gunicorn worker ``locator serve`` runs: its accepting thread
  counts the requests handed to its threads (``limit`` threads at work, then the waiting
  ones) and answers the next one itself, from the bytes already on the socket, without
  handing it to a thread.
  A refusal then waits neither for a free thread nor behind the thread queue, and takes the
  interpreter lock once instead of three times (accept, a worker thread, back to the
  accepting thread): it used to wait behind the requests at work (p99 of a refusal 310 ms
  under load, BENCHMARKS.md "Election day"). The worker also shortens the interpreter's
  switch interval so that the accepting thread gets the lock back quickly from busy threads:
  it gives the lock up at every socket call and waits for it again behind them, so a
  refusal makes as few calls as it can (a peek that also reads the receive time, a read of
  the request, the answer).
* ``LoadShedder``, an in-flight counter wrapped around the WSGI app, before Flask builds its
  request context, for any other server (or a worker given more threads than ``limit``).

The health probe (``/healthz``) is never refused, so an orchestrator does not kill a busy but
healthy worker.

How fast a refusal is, on the server's side: each worker times its refusals from the moment the
request reached the server (the kernel's receive time of its bytes, ``SO_TIMESTAMPNS`` on Linux;
elsewhere the moment the accepting thread saw it) to the moment its 503 was written, in a small
histogram (``RefusalTimes``), and logs count, p50, p99 and max every ``REFUSAL_LOG_INTERVAL_S``
while it refuses and once when it exits. A client on the same machine cannot show that figure
honestly: when the cores are busy its own requests start late and its clock includes that.
"""

from __future__ import annotations

import collections
import errno
import math
import selectors
import socket
import struct
import sys
import threading
import time
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

#: The refusal, in French like every public message (the API's ``status``/``message`` shape).
BODY = ('{"status":"overloaded","message":"Le service est très sollicité en ce moment : '
        'réessayez dans quelques secondes."}').encode()
RETRY_AFTER_S = 1
EXEMPT_PATHS = frozenset({"/healthz"})
HEADERS = [
    ("Content-Type", "application/json"),
    ("Content-Length", str(len(BODY))),
    ("Retry-After", str(RETRY_AFTER_S)),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
]
#: The whole refusal as the accepting thread sends it, closing the connection after it, or
#: keeping it when the refused request was read whole (``_refuse_keeping_alive``).
RESPONSE = ("HTTP/1.1 503 Service Unavailable\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in HEADERS)
            + "Connection: close\r\n\r\n").encode("latin-1") + BODY
RESPONSE_KEEP_ALIVE = RESPONSE.replace(b"Connection: close", b"Connection: keep-alive")
#: Request heads longer than this are refused by closing the connection.
MAX_HEAD = 8192
#: Linux's socket option that stamps every received packet with the kernel's receive time
#: (``CLOCK_REALTIME``, read back with ``recvmsg``): 35 on the common architectures (the
#: generic ABI); Python's ``socket`` module does not name it. ``None`` elsewhere: a refusal is
#: then timed from the moment the accepting thread saw its request.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform == "linux" else None)
#: While a worker refuses, a log line with its refusals' times at most this often.
REFUSAL_LOG_INTERVAL_S = 10.0


class RefusalTimes:
    """A histogram of how long refusals took, in ms: log-scale buckets (about 9 % wide from
    0.05 ms to about 50 s), so that recording is a few operations and the memory is fixed.

    Percentiles are read as the upper bound of their bucket (never more than the largest time
    recorded), the maximum exactly.

    >>> t = RefusalTimes()
    >>> for ms in (0.4, 0.5, 0.6, 12.0):
    ...     t.record(ms)
    >>> t.count, t.max_ms, round(t.quantile(0.5), 2)
    (4, 12.0, 0.52)
    """

    FIRST_MS = 0.05
    RATIO = 2 ** 0.125
    BUCKETS = 161

    def __init__(self):
        self.counts = [0] * self.BUCKETS
        self.count = 0
        self.max_ms = 0.0

    def record(self, ms: float) -> None:
        ms = max(ms, 0.0)   # a clock set back between the two readings
        i = 0 if ms < self.FIRST_MS else min(self.BUCKETS - 1, 1 + int(math.log(ms / self.FIRST_MS, self.RATIO)))
        self.counts[i] += 1
        self.count += 1
        self.max_ms = max(self.max_ms, ms)

    def quantile(self, q: float) -> float:
        """The time (ms) under which a fraction ``q`` of the refusals took; ``nan`` when none."""
        if not self.count:
            return float("nan")
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank:
                return min(self.FIRST_MS * self.RATIO ** i, self.max_ms)
        return self.max_ms

    def summary(self) -> str:
        """``N refused`` and, when N > 0, the p50, p99 and max of their times."""
        if not self.count:
            return "0 refused"
        return (f"{self.count} refused, 503 written in p50 {self.quantile(0.5):.2f} ms, "
                f"p99 {self.quantile(0.99):.2f} ms, max {self.max_ms:.2f} ms")


class LoadShedder:
    """WSGI middleware: at most ``limit`` requests inside ``app`` at once, 503 for the others.

    Parameters
    ----------
    app
        the WSGI app (``flask_app.wsgi_app``).
    limit
        requests at work at once in this process; ``0`` turns shedding off.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = max(int(limit), 0)
        self.in_flight = 0
        self.shed = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not self.limit or environ.get("PATH_INFO") in EXEMPT_PATHS:
            return self.app(environ, start_response)
        with self._lock:
            if self.in_flight >= self.limit:
                self.shed += 1
                refused = True
            else:
                self.in_flight += 1
                refused = False
        if refused:
            start_response("503 Service Unavailable", list(HEADERS))
            return [BODY]
        try:
            return self.app(environ, start_response)
        finally:
            # Flask builds the whole body before returning (no streamed responses here), so the
            # work is done when the app returns.
            with self._lock:
                self.in_flight -= 1


#: The interpreter lock is handed over after this long (CPython's default is 5 ms): the
#: accepting thread, which refuses, waits at most about this long per busy thread.
SWITCH_INTERVAL_S = 0.001
#: How long a refused connection is kept open to read what the client still sends, so that
#: closing it does not reset the connection before the client has read the refusal.
LINGER_S = 2.0


class SheddingThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, refusing in its accepting thread what it cannot answer soon.

    Every request handed to the thread pool counts until the app has made its answer. With
    ``limit`` at work (as many threads), a request waits in the pool's queue (first come,
    first served) while the request at the head of that queue has waited less than
    ``max_wait_s`` and fewer than ``max_waiting`` wait; otherwise it is refused as
    ``LoadShedder`` refuses it, unless its request line is for an exempt path (read with
    ``MSG_PEEK``, so an exempt request is then served unchanged). ``max_wait_s = 0`` refuses
    as soon as ``limit`` are at work. A new connection whose request has not arrived yet waits
    in gthread's own poller (no thread held) until it has. Make the subclass with
    ``shedding_worker(limit, max_wait_s)``.
    """

    limit = 4
    #: How long the oldest waiting request may have waited for new ones to be let in.
    max_wait_s = 0.0
    #: Requests waiting for a thread at most (a bound on memory whatever the clock says).
    max_waiting = 64
    #: Paths each thread answers once before the worker accepts (``warm_threads``).
    warm_paths: tuple[str, ...] = ()
    #: The wall clock refusals are timed with (the kernel's receive times are on it).
    clock = staticmethod(time.time)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_flight = 0
        #: every refusal's time since the worker started, and those not logged yet
        self.refusal_times = RefusalTimes()
        self._refusal_window = RefusalTimes()
        #: requests decided on (handed to a thread or refused), since start and since the last
        #: line: how the workers share the traffic (a kept-alive connection stays with one)
        self.requests = 0
        self._window_requests = 0
        self._refusals_logged_at = self.clock()
        self._timestamped = False
        #: when the accepting thread saw the request it is deciding on (``enqueue_req``)
        self._seen_at = 0.0
        self._count_lock = threading.Lock()
        self._done = threading.local()
        self._lingering: list[tuple[float, socket.socket]] = []
        #: When each request handed to the pool and not started yet was handed, oldest first
        #: (the pool starts them in that order; appended by the accepting thread, popped by
        #: the thread that starts one: deque's append and popleft are atomic).
        self._queued: collections.deque[float] = collections.deque()

    def init_process(self):
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        super().init_process()

    def run(self):
        self.warm_threads()
        self._timestamped = _stamp_received(self.sockets)
        try:
            super().run()
        finally:
            self.log.info("refusals (worker %d, since start; %d requests): %s after the request reached the %s",
                          self.pid, self.requests, self.refusal_times.summary(), self._reached())

    def warm_threads(self) -> None:
        """Each thread of the pool answers ``warm_paths`` once, before the first request.

        What a thread builds for itself on its first lookups (per-thread state of the
        libraries under the point and address paths: measured about +15 MB a worker) is then
        built at start-up, so a worker's memory is at its steady state before traffic comes
        instead of growing during the first burst. Rate limits and the access log are off
        meanwhile. A failure is logged, never fatal."""
        if not self.warm_paths:
            return
        from werkzeug.test import EnvironBuilder

        from .accesslog import access_log

        app = self.wsgi.__wrapped__ if hasattr(self.wsgi, "__wrapped__") else self.wsgi
        limiter = getattr(app, "extensions", {}).get("locator_limiter")
        barrier = threading.Barrier(self.cfg.threads)

        def warm():
            try:
                barrier.wait(30)   # one task per thread: the pool starts them all
            except threading.BrokenBarrierError:
                pass
            for path in self.warm_paths:
                environ = EnvironBuilder(path=path).get_environ()
                for _chunk in app(environ, lambda *_a: None):
                    pass

        was_disabled, access_log.logger.disabled = access_log.logger.disabled, True
        enabled = limiter.enabled if limiter is not None else None
        try:
            if limiter is not None:
                limiter.enabled = False
            for future in [self.tpool.submit(warm) for _ in range(self.cfg.threads)]:
                future.result(60)
        except Exception as err:  # noqa: BLE001 - warming must never stop a worker
            self.log.warning("warming the worker's threads: %s", err)
        finally:
            access_log.logger.disabled = was_disabled
            if limiter is not None:
                limiter.enabled = enabled

    def load_wsgi(self):
        super().load_wsgi()
        app = self.wsgi

        def counted(environ, start_response):
            # Counted down as soon as the app has made its answer, before gunicorn writes it
            # (as ``LoadShedder`` does): counting down after the write, or in
            # ``finish_request`` on the accepting thread, would refuse on a stale count the
            # next request the client sends as soon as it has read this answer.
            try:
                return app(environ, start_response)
            finally:
                self._done.counted = True
                with self._count_lock:
                    self.in_flight -= 1

        counted.__wrapped__ = app
        self.wsgi = counted

    def handle(self, conn):
        self._done.counted = False
        try:
            self._queued.popleft()
        except IndexError:
            pass
        try:
            return super().handle(conn)
        finally:
            if not self._done.counted:  # no request reached the app (client gone, bad request)
                with self._count_lock:
                    self.in_flight -= 1

    def enqueue_req(self, conn):
        self._seen_at = self.clock()
        # One look at the socket at most (each call lets the busy threads take the interpreter
        # lock back, and a refusal waits for it again): a kept-alive connection is looked at
        # for whether its client closed it, a new one only when it may be refused.
        head = arrived = None
        if conn.initialized:
            head, arrived = _peek_request(conn)
        if self.limit and self.in_flight >= self.limit and not self._may_wait():
            if not conn.initialized:
                head, arrived = _peek_request(conn)
                if head is None and self.alive:
                    self._wait_for_request(conn)
                    return
            if head is not None and head != b"" and _path(head) in EXEMPT_PATHS:
                head = None   # served
            elif head != b"":
                self._refuse(conn, head, arrived)
                return
        if head == b"":
            # The client has closed the connection (after an answer, or after a refusal on its
            # first request): closed here, not handed to a thread (where it would count as a
            # request at work until the thread got to it), nor refused.
            self.nr_conns -= 1
            conn.close()
            return
        with self._count_lock:
            self.in_flight += 1
        self.requests += 1
        self._window_requests += 1
        self._queued.append(time.monotonic())
        super().enqueue_req(conn)

    def _may_wait(self) -> bool:
        """Every thread is at work: may one more request wait for one? Yes while the queue
        moves: nobody waits, or the oldest waiting request has waited less than
        ``max_wait_s``, and fewer than ``max_waiting`` wait."""
        if self.max_wait_s <= 0:
            return False
        waiting = self.in_flight - self.limit
        if waiting <= 0:
            return True
        if waiting >= self.max_waiting:
            return False
        try:
            oldest = self._queued[0]
        except IndexError:  # the waiting ones were all taken by threads meanwhile
            return True
        return time.monotonic() - oldest < self.max_wait_s

    def murder_keepalived(self, force=False):
        super().murder_keepalived(force)
        now = time.monotonic()
        while self._lingering and (force or self._lingering[0][0] <= now):
            _deadline, sock = self._lingering.pop(0)
            self._close_lingering(sock)
        self.log_refusals()

    def log_refusals(self) -> None:
        """Log the refusals not logged yet, at most every ``REFUSAL_LOG_INTERVAL_S`` and only
        when there are some (called by the accepting thread's loop, about once a second)."""
        now = self.clock()
        if not self._refusal_window.count or now - self._refusals_logged_at < REFUSAL_LOG_INTERVAL_S:
            return
        self.log.info("refusals (worker %d, last %.0f s; %d requests): %s after the request reached the %s",
                      self.pid, now - self._refusals_logged_at, self._window_requests,
                      self._refusal_window.summary(), self._reached())
        self._refusal_window = RefusalTimes()
        self._window_requests = 0
        self._refusals_logged_at = now

    def _reached(self) -> str:
        return "server" if self._timestamped else "worker's accepting thread"

    def _time_refusal(self, arrived: float) -> None:
        """The refusal of a request that reached the server at ``arrived`` has just been written."""
        ms = (self.clock() - arrived) * 1000
        self.refusal_times.record(ms)
        self._refusal_window.record(ms)

    def _wait_for_request(self, conn):
        """A new connection with nothing to read yet: in gthread's pending list, not a thread."""
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def _refuse(self, conn, head: bytes | None, arrived: float | None):
        """Answer 503 to the request whose first bytes are ``head`` (``None``: nothing read),
        received at ``arrived`` (``None``: unknown, then when the accepting thread saw it)."""
        self.requests += 1
        self._window_requests += 1
        arrived = arrived or self._seen_at   # a time comes only from a stamped socket
        if self._refuse_keeping_alive(conn, head):
            self._time_refusal(arrived)
            return
        self.nr_conns -= 1
        sock = conn.sock
        try:
            sock.setblocking(False)
            _drain(sock)
            sock.send(RESPONSE)   # 400 bytes: the socket's send buffer takes it at once
            self._time_refusal(arrived)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        # Read what the client still sends until it closes; closing a socket with unread
        # bytes would send a reset that can destroy the refusal before the client reads it.
        self._lingering.append((time.monotonic() + LINGER_S, sock))
        self.poller.register(sock, selectors.EVENT_READ, self._on_lingering_readable)

    def _refuse_keeping_alive(self, conn, head: bytes | None) -> bool:
        """Refuse a whole bodiless HTTP/1.1 request already on the socket (``head``, as
        peeked) and keep the connection for the client's next request (a client refused on
        every other request would otherwise connect again each time); ``False`` when the
        request is not such."""
        if head is None or (conn.parser is not None and conn.parser.unreader.buf.getvalue()):
            return False
        end = head.find(b"\r\n\r\n")
        if end < 0 or not _bodiless_keep_alive(head[:end]):
            return False
        try:
            conn.sock.recv(end + 4)            # exactly this request: already there
            conn.sock.send(RESPONSE_KEEP_ALIVE)
        except OSError:
            return False
        conn.sock.setblocking(False)
        conn.set_timeout()
        self.keepalived_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
        return True

    def _on_lingering_readable(self, sock):
        try:
            if _drain(sock):
                return
        except OSError:
            pass
        self._lingering = [(d, s) for d, s in self._lingering if s is not sock]
        self._close_lingering(sock)

    def _close_lingering(self, sock):
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        sock.close()


def shedding_worker(limit: int, max_wait_s: float = 0.0, warm_paths=()) -> type[SheddingThreadWorker]:
    """The worker class for ``limit`` requests at work per worker, the next ones waiting for a
    thread while the oldest waiting one has waited less than ``max_wait_s``, whose threads
    each answer ``warm_paths`` once before the worker accepts."""
    return type("SheddingThreadWorker", (SheddingThreadWorker,),
                {"limit": max(int(limit), 0), "max_wait_s": max(float(max_wait_s), 0.0),
                 "warm_paths": tuple(warm_paths)})


def _stamp_received(sockets) -> bool:
    """Ask the kernel to stamp what the listening ``sockets`` receive (the connections they
    accept inherit it); ``False`` when the platform cannot."""
    if SO_TIMESTAMPNS is None or not sockets:
        return False
    try:
        for listener in sockets:
            listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


_TIMESPEC = struct.Struct("@qq")
_STAMP_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)


def _peek_request(conn) -> tuple[bytes | None, float | None]:
    """What waits on ``conn`` (up to ``MAX_HEAD`` bytes, not consumed) and when the kernel
    received it (``time.time()``'s clock; ``None`` when the socket is not stamped), in one
    call: ``(None, None)`` when nothing has arrived yet, ``(b"", None)`` when the client has
    closed; the bytes gunicorn's parser has already read, without a time, when there are some."""
    buffered = conn.parser.unreader.buf.getvalue() if conn.parser is not None else b""
    if buffered:
        return buffered[:MAX_HEAD], None
    try:
        data, ancillary, _flags, _addr = conn.sock.recvmsg(MAX_HEAD, _STAMP_SPACE, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return None, None
    except OSError:
        return b"", None
    for level, kind, stamp in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(stamp) >= _TIMESPEC.size:
            seconds, nanoseconds = _TIMESPEC.unpack_from(stamp)
            return data, seconds + nanoseconds / 1e9
    return data, None


def _bodiless_keep_alive(head: bytes) -> bool:
    """Is this request head (without its blank line) a GET or HEAD in HTTP/1.1, without a body
    and without ``Connection: close``?"""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] not in (b"GET", b"HEAD") or parts[2] != b"HTTP/1.1":
        return False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name in (b"content-length", b"transfer-encoding"):
            return False
        if name == b"connection" and b"close" in value.lower():
            return False
    return True


def _path(head: bytes) -> str:
    """The path of a request line (``GET /healthz?x HTTP/1.1`` → ``/healthz``)."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    target = parts[1] if len(parts) > 2 else b""
    return target.split(b"?", 1)[0].decode("latin-1")


def _drain(sock) -> bool:
    """Read and drop what is on a non-blocking socket; ``False`` at end of stream."""
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError as err:
            if err.errno == errno.EINTR:
                continue
            raise
        if not data:
            return False
