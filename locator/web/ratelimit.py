"""Rate-limit counters in a shared Redis, added in batches instead of one round trip a request.

``limits``' fixed window asks Redis on every hit (its ``incr`` Lua script: ``INCRBY``, then
``EXPIRE`` when the key was just made). That round trip costs a worker and redis-server about
230 µs of CPU a request (BENCHMARKS.md), a quarter of a point lookup over HTTP. Here each
worker counts hits locally per counter key and adds them to the shared counters in batches:

* **same keys, same counting**: a flush is ONE round trip carrying, for every key with pending
  hits, what ``limits``' ``incr`` script does with the pending amount (``INCRBY``, ``EXPIRE``
  when new), then ``PTTL``: one Lua script over the batch's keys (``INCR_EACH``).
  Counters stay those of ``FixedWindowRateLimiter`` (``LIMITS:LIMITER/locator/<ip>/<scope>/...``,
  the window starting at the first hit, refused hits counted too), so nodes of an older version
  share them and ``reset_at``/``Retry-After`` read them as before.
* **when**: when the oldest pending hit is ``batch_s`` old (checked on the request path, and
  by a daemon thread so that an idle worker flushes too), at interpreter exit (a gunicorn worker
  leaving), and whenever a hit needs the storage's answer (below): that round trip carries every
  other pending key as well.
* **decision without a round trip while the client is far from its limit**: each reply tells a
  worker the key's shared count ``S`` (every node's flushed hits); it lets a hit through
  without asking while fewer than ``floor(SHARE × (limit − S))`` of the hits it let through
  are still uncounted by a reply. When that allowance is 0 (fewer than ``1 / SHARE`` hits
  left, or a limit smaller than that, such as 5/minute) every hit goes to the storage
  synchronously and is decided by its reply, exactly as ``limits`` does. A
  key the storage reports exhausted is refused locally until its window ends (counted, flushed
  with the next batch), so a client hammering past its limit costs no round trip either.

Worst case: at any moment a worker has let through at most ``floor(SHARE × limit)`` hits that
the shared counter may not show yet; once the counter reaches the limit, each worker's next
reply says so and it lets nothing more through. So a client can get at most
``workers × floor(SHARE × limit)`` requests beyond its limit in one window, over all workers of
all nodes: with the default 600/minute, 18 per worker, 72 (12 %) on two nodes of two workers,
and only by sending to every worker at once, faster than ``batch_s`` lets the workers compare
notes. The limit stops scripts and floods, it is not a quota anyone pays for: a 12 % overshoot
for a client running flat out is worth a quarter of the service's CPU on every request of every
voter. Limits below ``1 / SHARE`` per window are exact across workers, as before.

Also approximate by design: hits still pending when their window ends are dropped (they belonged
to a window that is gone); a window a worker starts locally begins in Redis at its first flush
(≤ ``batch_s`` later); a flush that fails loses its hits and lets the requests through, as a
failing storage always did. While the storage is down, the timer of every worker would fail
every ``batch_s``: the first failure is logged (without any IP), then at most one line every
``FAILURE_LOG_S`` with the count of flushes failed since, and one line when it answers again.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import threading
import time
import weakref
from collections import deque

from redis.exceptions import NoScriptError

security_log = logging.getLogger("locator.web.security")

#: ``limits``' fixed-window ``incr`` (``incr_expire.lua``: ``INCRBY``; ``EXPIRE`` when the count
#: equals the amount just added, i.e. the key is new) applied to each key of a batch, returning
#: each key's count and ``PTTL``. One command for many keys: packing and parsing a command per
#: key cost a worker more than the round trip saved (bench/bench_ratelimit.py).
INCR_EACH = """
local out = {}
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[2 * i])
  local current = redis.call("incrby", key, amount)
  out[2 * i - 1] = current
  if tonumber(current) == amount then
    redis.call("expire", key, ARGV[2 * i - 1])
    out[2 * i] = ARGV[2 * i - 1] * 1000
  else
    out[2 * i] = redis.call("pttl", key)
  end
end
return out
"""
INCR_EACH_SHA = hashlib.sha1(INCR_EACH.encode()).hexdigest()
#: Keys per script call: one call runs atomically in Redis, so a huge batch is cut in pieces
#: that keep other clients' commands waiting at most a millisecond or so.
CHUNK = 500

#: The fraction of a key's remaining budget (limit − shared count) a worker may let through
#: between two replies from the storage. See the module docstring for the overshoot it allows.
SHARE = 1 / 32

#: While flushes keep failing (the storage is down), one log line at most this often per worker.
FAILURE_LOG_S = 60.0


class _Counter:
    """One counter key as this worker knows it."""

    __slots__ = ("limit", "expiry", "shared", "pending", "local", "unconfirmed", "allow", "ends_at")

    def __init__(self, limit: int, expiry: int, now: float):
        self.limit = limit
        self.expiry = expiry
        self.restart(now)

    def restart(self, now: float) -> None:
        """A new window: the storage's key is gone, and so are hits still pending."""
        self.shared = 0  # the storage's count at the latest reply (0 before any)
        self.pending = 0  # hits counted here, not yet sent to the storage
        self.local = 0  # of those, the ones let through without asking
        self.unconfirmed = 0  # hits let through without asking that no reply has counted yet
        self.allow = int(SHARE * self.limit)  # how many of those there may be at once
        self.ends_at = now + self.expiry  # the window's end: a first guess, then the storage's TTL

    def read(self, count: int, sent: int, local: int, ends_at: float) -> None:
        """A reply: the key's count after adding ``sent`` hits, ``local`` of them let through here."""
        self.unconfirmed = max(0, self.unconfirmed - local)
        # a count equal to what was sent: that batch opened the window; else counts only grow
        self.shared = count if count == sent else max(self.shared, count)
        self.allow = int(SHARE * (self.limit - self.shared)) if self.shared < self.limit else 0
        self.ends_at = ends_at


class BatchedCounters:
    """Fixed-window counters on a ``limits`` ``RedisStorage``, added to it in batches.

    Parameters
    ----------
    storage : limits.storage.RedisStorage
        The shared storage (its connection and key prefix are used; not a Redis Cluster, whose
        keys of one batch may live on different nodes).
    batch_s : float
        How long a hit may stay pending before it is added to the storage.
    clock : callable
        ``time.time`` by default: window ends are compared with it and returned by ``reset_at``;
        the log of failing flushes is paced by it.
    timer : bool
        Start a daemon thread that flushes an idle worker's pending hits (tests turn it off and
        call ``flush`` themselves).
    """

    def __init__(self, storage, *, batch_s: float = 0.1, clock=time.time, timer: bool = True):
        self.storage = storage
        self.batch_s = batch_s
        self.clock = clock
        self.timer = timer
        self._init_process_state()
        _live.add(self)

    def _init_process_state(self) -> None:
        """Fresh per-process state (also in a forked child: nothing of the parent's is kept)."""
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        self._pending: dict[str, _Counter] = {}  # the counters holding pending hits
        self._ends: deque[tuple[float, str]] = deque()  # (window end, key), to forget old keys
        self._oldest: float | None = None  # when the oldest pending hit was counted
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = FailureLog(self.clock, "pending hits not counted", "flushes", "their hits not counted")

    # -- the request path -------------------------------------------------------------------

    def hit(self, key: str, limit: int, expiry: int) -> bool:
        """Count one hit on ``key``; ``True`` when it is within ``limit``.

        Raises the storage's error when a synchronous hit fails (the caller lets it through)."""
        now = self.clock()
        batch = None
        with self._lock:
            c = self._counters.get(key)
            if c is None:
                c = self._counters[key] = _Counter(limit, expiry, now)
                self._ends.append((c.ends_at, key))
            elif now >= c.ends_at:
                c.restart(now)
                self._ends.append((c.ends_at, key))
            if not c.pending:
                self._pending[key] = c
            c.pending += 1
            if c.shared >= c.limit:
                allowed = False  # the storage said this window is used up: counted, refused here
            elif c.unconfirmed < c.allow:
                allowed = True
                c.unconfirmed += 1
                c.local += 1
            else:  # near the limit: this hit goes with every pending one, the reply decides it
                batch = self._take_batch(now)
            if batch is None:
                if self._oldest is None:
                    self._oldest = now
                    self._wake_timer()
                due = now - self._oldest >= self.batch_s
        if batch is not None:
            return self._send_and_read(batch, decide=key) <= limit
        if due:
            self.flush()
        return allowed

    def reset_at(self, key: str) -> float | None:
        """When ``key``'s window ends, as last read from the storage; ``None`` when not known here."""
        c = self._counters.get(key)
        if c is None or c.shared == 0:
            return None
        return c.ends_at if c.ends_at > self.clock() else None

    # -- flushing ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Add every pending hit to the storage now (one pipeline); a failure is logged."""
        with self._lock:
            batch = self._take_batch(self.clock())
        if not batch:
            return
        try:
            self._send_and_read(batch)
        except Exception as err:  # noqa: BLE001 - the hits are lost, the voters were let through
            self._failures.failed(err)

    def _take_batch(self, now: float) -> list[tuple[str, int, int, int]]:
        """(key, pending, of which local, expiry) of every key with pending hits, now sent (lock held)."""
        batch = []
        for key, c in self._pending.items():
            if c.pending:  # (0: its window ended meanwhile)
                batch.append((key, c.pending, c.local, c.expiry))
                c.pending = c.local = 0
        self._pending = {}
        self._oldest = None
        self._forget_ended(now)
        return batch

    def _send_and_read(self, batch, decide: str | None = None) -> int:
        """Send ``batch`` in one pipeline and learn each key's count and window end from the
        replies; returns the count of ``decide`` (0 without)."""
        sent_at = self.clock()
        try:
            replies = self._send(batch)
        except Exception:
            with self._lock:  # lost: no longer waiting for a reply that will not come
                for key, _, local, _ in batch:
                    c = self._counters.get(key)
                    if c is not None:
                        c.unconfirmed = max(0, c.unconfirmed - local)
            raise
        self._failures.answered()
        result = 0
        with self._lock:
            for (key, amount, local, expiry), count, pttl in zip(batch, replies[::2], replies[1::2], strict=True):
                count = int(count)
                if key == decide:
                    result = count
                c = self._counters.get(key)
                if c is not None:
                    # measured from before the request: a window may end here a little early, never late
                    c.read(count, amount, local, sent_at + (pttl / 1000 if pttl >= 0 else expiry))
        return result

    def _send(self, batch) -> list:
        """The replies (count, PTTL, count, PTTL, ...) to ``batch``: ``INCR_EACH`` once per
        ``CHUNK`` keys, all in one pipeline (one round trip)."""
        storage = self.storage
        conn = storage.get_connection()
        for attempt in (1, 2):
            pipe = conn.pipeline(transaction=False)
            for start in range(0, len(batch), CHUNK):
                chunk = batch[start:start + CHUNK]
                args = []
                for _, amount, _, expiry in chunk:
                    args += (expiry, amount)
                pipe.evalsha(INCR_EACH_SHA, len(chunk), *[storage.prefixed_key(key) for key, *_ in chunk], *args)
            try:
                return [value for reply in pipe.execute() for value in reply]
            except NoScriptError:
                # a fresh (or flushed) Redis: no script ran, so nothing was counted; load it, retry
                if attempt == 2:
                    raise
                conn.script_load(INCR_EACH)
        raise AssertionError("unreachable")

    def _forget_ended(self, now: float) -> None:
        """Drop counters whose window has ended and that hold no pending hit (lock held)."""
        ends, counters = self._ends, self._counters
        while ends and ends[0][0] <= now:
            _, key = ends.popleft()
            c = counters.get(key)
            if c is None:
                continue
            if c.ends_at <= now and not c.pending:
                del counters[key]
            elif c.ends_at > now:
                ends.append((c.ends_at, key))  # its end was read later from the storage
            else:
                ends.append((now + self.batch_s, key))  # pending: look again after the flush

    # -- the timer --------------------------------------------------------------------------

    def _wake_timer(self) -> None:
        """Lock held, the first pending hit: make sure this process's flusher runs, and wake it."""
        if not self.timer:
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=_timer_loop, args=(weakref.ref(self),),
                                            name="rate-limit-flush", daemon=True)
            self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Flush what is pending and stop the timer."""
        self._stop.set()
        self._wake.set()
        self.flush()


class FailureLog:
    """The log of a rate-limit storage failing in a row: the first failure said at once, then
    at most one line every ``FAILURE_LOG_S`` with how many failed since the last line, and one
    line when the storage answers again. A worker's flush timer (every 100 ms) and its
    requests (each asking the storage near a limit, or without batching) would otherwise write
    a line each while Redis is down.

    ``what`` says what a failure costs ("pending hits not counted"), ``unit`` what failed
    ("flushes"), ``since`` what the failures since the last line cost."""

    def __init__(self, clock, what: str, unit: str, since: str):
        self.clock = clock
        self.what, self.unit, self.since = what, unit, since
        self._lock = threading.Lock()
        self._failing: _Failing | None = None  # since the first of the failures in a row

    def failed(self, err: Exception) -> None:
        now = self.clock()
        with self._lock:
            failing = self._failing
            if failing is None:
                failing = self._failing = _Failing(now)
            failing.failed += 1
            failing.unsaid += 1
            if failing.failed > 1 and now - failing.said_at < FAILURE_LOG_S:
                return
            first = failing.failed == 1
            unsaid, since_said, failing.unsaid, failing.said_at = failing.unsaid, now - failing.said_at, 0, now
        if first:
            security_log.warning("rate-limit storage failed (%s): %s (said again at most once every %.0f s "
                                 "while it fails)", type(err).__name__, self.what, FAILURE_LOG_S)
        else:
            security_log.warning("rate-limit storage still failing (%s): %d %s failed in the last %.0f s, %s",
                                 type(err).__name__, unsaid, self.unit, since_said, self.since)

    def answered(self) -> None:
        """A reply came: after failures, say once that the storage answers again."""
        if self._failing is None:  # the usual case: no lock taken
            return
        now = self.clock()
        with self._lock:
            failing, self._failing = self._failing, None
        if failing is not None:
            security_log.info("rate-limit storage answers again after %.0f s: %d %s had failed",
                              now - failing.since, failing.failed, self.unit)


class _Failing:
    """Failures in a row: since when, how many, when the log last said so."""

    __slots__ = ("since", "failed", "unsaid", "said_at")

    def __init__(self, now: float):
        self.since = self.said_at = now
        self.failed = self.unsaid = 0


def _timer_loop(ref) -> None:
    """Flush ``batch_s`` after the oldest pending hit; sleep while nothing is pending. Holds the
    counters only by a weak reference between rounds, so an app that is dropped is collected."""
    counters = ref()
    if counters is None:
        return
    wake, stop = counters._wake, counters._stop
    del counters
    while not stop.is_set():
        wake.wait(60)
        counters = ref()
        if counters is None or stop.is_set():
            return
        with counters._lock:
            oldest = counters._oldest
            if oldest is None:
                wake.clear()  # under the lock: the next first pending hit sets it again
                delay = 0.0
            else:
                delay = oldest + counters.batch_s - counters.clock()
        if oldest is not None and delay <= 0:
            counters.flush()
        del counters
        if delay > 0:
            stop.wait(delay)


_live: weakref.WeakSet[BatchedCounters] = weakref.WeakSet()


def _flush_all_at_exit() -> None:
    for counters in list(_live):
        counters.close()


def _after_fork_in_child() -> None:
    # gunicorn forks its workers from the master that built the app: a child starts with empty
    # counters, its own lock and no timer thread (threads do not survive a fork)
    for counters in list(_live):
        counters._init_process_state()


atexit.register(_flush_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
