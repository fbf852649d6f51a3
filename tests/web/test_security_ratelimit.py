"""Rate-limit counters in a shared Redis added in batches (locator/web/ratelimit.py): exact for
small limits, equal to the true number of hits once flushed, a bounded overshoot on large ones,
the same keys as ``limits`` (older nodes share them), windows that end, a storage that fails,
and pending hits flushed at exit. Time is a clock the test moves; Redis windows end in real time
only where a test waits for one (a 1-second window), never asserting how long anything took."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time

import pytest
from limits import parse_many
from limits.strategies import FixedWindowRateLimiter

from locator import Locator, Settings
from locator.web import create_app
from locator.web.ratelimit import SHARE
from locator.web.security import RateLimits


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_server(tmp_path):
    from locator.geocoding.redis_server import EmbeddedRedis

    with EmbeddedRedis(tmp_path / "redis", "limits.rdb") as server:
        yield server


@pytest.fixture
def uri(redis_server):
    return f"redis+unix://{redis_server.socket_path}?db=1"


@pytest.fixture
def db(redis_server):
    client = redis_server.client()
    client.select(1)
    return client


def nodes(uri, rate, n=2, *, clock=None, batch_s=3600.0):
    """``n`` workers (or nodes) sharing one Redis; no timer, and a batch that never comes due by
    itself unless the test moves the clock: only the test decides when they flush."""
    clock = clock or Clock()
    return [RateLimits(rate, uri, batch_s=batch_s, clock=clock, timer=False) for _ in range(n)], clock


def allowed(limits: RateLimits, client: str = "203.0.113.7") -> bool:
    return limits.hit(limits.lookup, client, limits.LOOKUP_SCOPE) is None


def stored(db, limits: RateLimits, client: str) -> int:
    [item] = limits.lookup
    return int(db.get("LIMITS:" + item.key_for(limits.KEY_PREFIX, client, limits.LOOKUP_SCOPE)) or 0)


def test_a_redis_storage_is_batched_and_memory_or_a_zero_batch_is_not(uri):
    assert RateLimits("5/minute", uri, timer=False).batched is not None
    assert RateLimits("5/minute", uri, batch_s=0).batched is None
    assert RateLimits("5/minute", "memory://").batched is None


def test_the_counter_keys_are_those_of_limits(uri):
    [limits], _ = nodes(uri, "600/minute;10/second", n=1)
    for item in (*limits.lookup, *limits.autocomplete):
        assert limits.key(item, "2001:db8::1", "global") == item.key_for("locator", "2001:db8::1", "global")


@pytest.mark.parametrize("rate", ["5/minute", "2/minute", "1/minute"])
def test_a_small_limit_refuses_exactly_the_hit_after_it_across_two_workers(uri, rate):
    (first, second), _ = nodes(uri, rate)
    [item] = first.lookup
    answers = [allowed(limits) for _ in range(item.amount + 3) for limits in (first, second)]
    assert answers == [True] * item.amount + [False] * (len(answers) - item.amount)


def test_a_small_limit_answers_429_at_the_limit_through_the_app(web_data_dir, web_locator, uri):
    settings = Settings(data_dir=web_data_dir, rate_limit="5/minute", rate_limit_storage=uri)
    first = create_app(settings, locator=web_locator).test_client()
    second = create_app(settings, locator=web_locator).test_client()
    assert first.application.extensions["locator_limiter"].batched is not None
    url = "/api/v1/lookup?lon=6.15&lat=49.1"
    codes = [client.get(url).status_code for _ in range(4) for client in (first, second)]
    assert codes == [200] * 5 + [429] * 3
    refused = second.get(url)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 61  # as flask-limiter rounds


def test_far_from_the_limit_no_hit_asks_redis_and_a_flush_adds_the_true_counts(uri, db):
    (first, second), _ = nodes(uri, "600/minute")
    clients = {f"198.51.100.{i}": 1 + i % 7 for i in range(60)}  # many voters, a few lookups each
    for i, (client, n) in enumerate(clients.items()):
        for j in range(n):
            assert allowed((first, second)[(i + j) % 2], client)
    assert db.dbsize() == 0  # every decision was local: nothing reached Redis yet
    first.batched.flush()
    second.batched.flush()
    assert {client: stored(db, first, client) for client in clients} == clients
    [item] = first.lookup
    ttl = db.ttl("LIMITS:" + item.key_for("locator", "198.51.100.3", "global"))
    assert 0 < ttl <= 60


def test_a_flush_of_more_keys_than_one_script_call_takes_counts_them_all(uri, db):
    from locator.web.ratelimit import CHUNK

    [limits], _ = nodes(uri, "600/minute", n=1)
    clients = [f"10.0.{i // 256}.{i % 256}" for i in range(2 * CHUNK + 7)]
    for client in clients:
        assert allowed(limits, client)
    limits.batched.flush()
    [item] = limits.lookup
    counts = db.mget(["LIMITS:" + item.key_for("locator", client, "global") for client in clients])
    assert [int(c) for c in counts] == [1] * len(clients)


def test_a_restarted_redis_without_the_script_still_gets_the_counts(uri, db):
    [limits], _ = nodes(uri, "600/minute", n=1)
    assert allowed(limits, "192.0.2.50")
    limits.batched.flush()
    db.script_flush()  # as a redis-server restarted by the service knows no script
    assert allowed(limits, "192.0.2.50")
    limits.batched.flush()
    assert stored(db, limits, "192.0.2.50") == 2


def test_an_older_node_counting_every_hit_shares_the_same_counters(uri, db):
    [batched], _ = nodes(uri, "100/minute", n=1)
    [item] = batched.lookup
    older = FixedWindowRateLimiter(batched.storage)  # what a node of the previous version does
    for _ in range(3):
        assert allowed(batched, "192.0.2.9")
    for _ in range(4):
        assert older.hit(item, "locator", "192.0.2.9", "global")
    batched.batched.flush()
    assert older.get_window_stats(item, "locator", "192.0.2.9", "global").remaining == 100 - 7
    # the older node uses up the window; the batched one has not read it since: it may let
    # through what it was allowed at its last reply (its share of what was left), then asks
    for _ in range(100 - 7):
        assert older.hit(item, "locator", "192.0.2.9", "global")
    own_share = int(SHARE * (100 - 7))
    assert [allowed(batched, "192.0.2.9") for _ in range(own_share + 2)] == [True] * own_share + [False] * 2
    assert not older.hit(item, "locator", "192.0.2.9", "global")


@pytest.mark.parametrize("amount", [640, 3200])
def test_two_workers_racing_on_a_large_limit_overshoot_by_at_most_their_local_budgets(uri, db, amount):
    (first, second), clock = nodes(uri, f"{amount}/minute", batch_s=0.1)
    results: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def hammer(limits, n):
        start.wait()
        mine = []
        for i in range(n):
            mine.append(allowed(limits))
            if i % 50 == 49:
                with lock:
                    clock.now += 0.1  # batches come due now and then, on the request path
        with lock:
            results.extend(mine)

    # two threads a worker, as in a gthread worker: the bound is per worker, not per thread
    threads = [threading.Thread(target=hammer, args=(limits, amount)) for limits in (first, second, first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    first.batched.flush()
    second.batched.flush()
    let_through = sum(results)
    assert amount <= let_through <= amount + 2 * int(SHARE * amount)
    assert stored(db, first, "203.0.113.7") == len(results) == 4 * amount  # refused hits count too, as in limits


def test_the_worst_overshoot_is_one_worker_s_allowance_read_before_the_others_used_the_window(uri, db):
    (first, second), _ = nodes(uri, "640/minute")
    assert allowed(first)
    first.batched.flush()  # first has read a count of 1: it may let through 1/32 of the 639 left
    let_through = 1
    while allowed(second):  # second uses up the window, asking Redis near its end
        let_through += 1
    assert let_through == 640
    stale = [allowed(first) for _ in range(40)]  # first has not read anything since
    assert stale == [True] * int(SHARE * 639) + [False] * (40 - int(SHARE * 639))
    assert 640 < let_through + sum(stale) <= 640 + 2 * int(SHARE * 640)


def test_a_client_past_its_limit_is_refused_without_asking_redis_again(uri, db):
    [limits], _ = nodes(uri, "3/minute", n=1)
    assert [allowed(limits) for _ in range(4)] == [True, True, True, False]
    calls_before = int(db.info("stats")["total_commands_processed"])
    assert [allowed(limits) for _ in range(50)] == [False] * 50
    assert int(db.info("stats")["total_commands_processed"]) == calls_before + 1  # only that INFO
    reset = limits.reset_at(limits.lookup[0], "203.0.113.7", "global")
    assert reset is not None and 0 < reset - limits.batched.clock() <= 60
    limits.batched.flush()
    assert stored(db, limits, "203.0.113.7") == 54


def test_a_new_window_starts_when_redis_drops_the_old_one(uri, db):
    (first, second), clock = nodes(uri, "3/second")
    assert [allowed(limits) for limits in (first, second, first, second)] == [True, True, True, False]
    key = "LIMITS:" + first.lookup[0].key_for("locator", "203.0.113.7", "global")
    deadline = time.monotonic() + 10
    while db.exists(key) and time.monotonic() < deadline:  # Redis ends the 1-second window
        time.sleep(0.05)
    assert not db.exists(key)
    clock.now += 1.5
    assert [allowed(limits) for limits in (second, first, second, first)] == [True, True, True, False]


def test_hits_pending_when_their_window_ends_are_not_counted_in_the_next(uri, db):
    [limits], clock = nodes(uri, "640/minute", n=1)
    for _ in range(5):
        assert allowed(limits)
    clock.now += 61  # the window this worker started has ended before it flushed
    assert allowed(limits)
    limits.batched.flush()
    assert stored(db, limits, "203.0.113.7") == 1


def test_a_storage_that_fails_lets_voters_through_and_logs_no_address(tmp_path, caplog):
    dead = f"redis+unix://{tmp_path / 'nobody.sock'}"
    [small], _ = nodes(dead, "1/minute", n=1)
    [large], _ = nodes(dead, "6400/minute", n=1)
    with caplog.at_level(logging.WARNING, logger="locator.web.security"):
        assert [allowed(small, "192.0.2.44") for _ in range(3)] == [True] * 3  # each asks, each fails
        assert [allowed(large, "192.0.2.44") for _ in range(30)] == [True] * 30  # local, then a failed flush
        large.batched.flush()
    assert "rate-limit storage failed" in caplog.text
    assert "192.0.2.44" not in caplog.text


def test_closing_the_limits_adds_the_hits_still_pending_and_stops_the_timer(uri, db):
    limits = RateLimits("600/minute", uri, batch_s=3600)  # never due: only close flushes
    assert [allowed(limits, "192.0.2.9") for _ in range(3)] == [True] * 3
    assert stored(db, limits, "192.0.2.9") == 0
    limits.close()
    assert stored(db, limits, "192.0.2.9") == 3
    assert limits.batched._stop.is_set()
    limits.close()  # again: nothing pending, nothing added
    assert stored(db, limits, "192.0.2.9") == 3


@pytest.mark.parametrize("in_redis", [False, True], ids=["memory", "redis-unbatched"])
def test_closing_limits_that_ask_their_storage_on_every_hit_changes_nothing(in_redis, uri, db):
    limits = RateLimits("600/minute", uri if in_redis else "memory://", batch_s=0)
    assert limits.batched is None
    assert allowed(limits, "192.0.2.10")
    limits.close()
    assert allowed(limits, "192.0.2.10")  # still counting
    assert stored(db, limits, "192.0.2.10") == (2 if in_redis else 0)


def test_serve_closes_the_app_s_limits_before_the_embedded_redis_stops(uri, db):
    from types import SimpleNamespace

    from locator.cli.serve import flush_rate_limits

    limits = RateLimits("600/minute", uri, batch_s=3600)
    assert allowed(limits, "192.0.2.11")
    flush_rate_limits(SimpleNamespace(extensions={"locator_limiter": limits}))
    assert stored(db, limits, "192.0.2.11") == 1
    flush_rate_limits(SimpleNamespace(extensions={}))  # an app without limits: nothing to do


def redis_down(batch):
    """``BatchedCounters._send`` against a Redis that refuses connections."""
    from redis.exceptions import ConnectionError as RedisDown

    raise RedisDown("Connection refused")


def logged(caplog, limits, clock, client: str, n: int, step: float, *, flush: bool) -> list[str]:
    """``n`` requests of ``client`` ``step`` seconds apart, each let through and, with ``flush``,
    followed by a flush (a worker's timer round); the lines logged meanwhile."""
    caplog.clear()
    for _ in range(n):
        assert allowed(limits, client)
        if flush:
            limits.batched.flush()
        clock.now += step
    return [r.getMessage() for r in caplog.records]


def test_a_redis_down_is_logged_once_then_once_a_minute_with_the_count_and_once_back(uri, db, monkeypatch,
                                                                                      caplog):
    [limits], clock = nodes(uri, "6400/minute", n=1)
    batched = limits.batched
    send = batched._send

    def flushes(n: int) -> list[str]:
        """``n`` timer rounds 0.125 s apart (a worker's timer, about ``batch_s``), each with a hit pending."""
        return logged(caplog, limits, clock, "192.0.2.12", n, 0.125, flush=True)

    with caplog.at_level(logging.INFO, logger="locator.web.security"):
        monkeypatch.setattr(batched, "_send", redis_down)
        first = flushes(480)  # a minute of a worker's timer against a Redis that is down
        assert len(first) == 1 and "rate-limit storage failed (ConnectionError)" in first[0]
        assert flushes(1) == ["rate-limit storage still failing (ConnectionError): 480 flushes failed in the "
                              "last 60 s, their hits not counted"]
        assert len(flushes(3 * 480)) == 3  # three minutes more: a line a minute
        monkeypatch.setattr(batched, "_send", send)
        back = flushes(3)
        assert back == ["rate-limit storage answers again after 240 s: 1921 flushes had failed"]
        assert stored(db, limits, "192.0.2.12") == 3  # counted again from then on
        monkeypatch.setattr(batched, "_send", redis_down)
        again = flushes(2)  # a new outage is said at once again
        assert len(again) == 1 and "rate-limit storage failed" in again[0]
    assert "192.0.2.12" not in caplog.text


def test_an_idle_worker_flushes_by_its_timer(uri, db):
    limits = RateLimits("600/minute", uri, batch_s=0.05)
    assert allowed(limits, "192.0.2.77")
    deadline = time.monotonic() + 10
    while stored(db, limits, "192.0.2.77") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stored(db, limits, "192.0.2.77") == 1


EXITING_WORKER = """
import sys
from locator.web.security import RateLimits
limits = RateLimits("600/minute", sys.argv[1], batch_s=3600)  # never due: only the exit flushes
for client in ("192.0.2.1", "192.0.2.2", "192.0.2.2"):
    assert limits.hit(limits.lookup, client, limits.LOOKUP_SCOPE) is None
"""


def test_pending_hits_are_flushed_when_the_worker_exits(uri, db):
    done = subprocess.run([sys.executable, "-c", EXITING_WORKER, uri], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    probe = RateLimits("600/minute", uri, batch_s=0)
    assert [stored(db, probe, c) for c in ("192.0.2.1", "192.0.2.2")] == [1, 2]


def test_the_batch_delay_is_a_setting():
    assert Settings().rate_limit_batch_ms == 100.0
    assert Settings.from_env({"LOCATOR_RATE_LIMIT_BATCH_MS": "0"}).rate_limit_batch_ms == 0.0
    [item] = parse_many(Settings().rate_limit)
    assert int(SHARE * item.amount) >= 5  # a voter's first lookups never wait for Redis


def test_gunicorn_workers_count_locally_and_add_their_hits_when_they_exit(tmp_path, uri, db):
    # locator serve: the app is built in the master, then forked; each worker counts in its own
    # memory (a batch that never comes due by itself), and SIGTERM makes each add what it holds.
    from .servers import METZ, ServerProcess, copy_data, get, serve_env

    data = copy_data(tmp_path / "data")
    Locator.from_data_dir(data, settings=Settings(data_dir=data, index_dir=tmp_path / "index")).open().close()
    env = serve_env(data, tmp_path / "index", LOCATOR_RATE_LIMIT="600/minute", LOCATOR_RATE_LIMIT_STORAGE=uri,
                    LOCATOR_RATE_LIMIT_BATCH_MS="600000", LOCATOR_TRUSTED_PROXIES="1")
    server = ServerProcess(["--workers", "2", "--max-in-flight", "0"], env)
    sent = {f"192.0.2.{i}": 2 + i for i in range(1, 6)}
    try:
        url = server.wait_ready()
        for client, n in sent.items():
            for _ in range(n):
                status, _, _ = get_forwarded(url, client, METZ)
                assert status == 200
        assert get(url, "/healthz")[0] == 200
        assert db.dbsize() == 0  # nothing asked Redis: every voter was far from the limit
    finally:
        assert server.stop() == 0, server.output[-2000:]
    probe = RateLimits("600/minute", uri, batch_s=0)
    assert {client: stored(db, probe, client) for client in sent} == sent


def get_forwarded(url: str, client: str, lonlat) -> tuple[int, dict, str]:
    import urllib.request

    request = urllib.request.Request(f"{url}/api/v1/lookup?lon={lonlat[0]}&lat={lonlat[1]}",
                                     headers={"X-Forwarded-For": client})
    with urllib.request.urlopen(request, timeout=15) as r:
        return r.status, dict(r.headers), r.read().decode()


def test_requests_whose_hit_fails_are_logged_once_then_once_a_minute_and_once_back(uri, db, monkeypatch, caplog):
    # A small limit asks the storage on every hit (batching would overshoot it): while Redis
    # is down every request fails its hit; the log says so once, then a line a minute.
    [limits], clock = nodes(uri, "5/minute", n=1)
    batched = limits.batched
    send = batched._send

    def requests(n: int) -> list[str]:
        return logged(caplog, limits, clock, "192.0.2.13", n, 0.01, flush=False)

    with caplog.at_level(logging.INFO, logger="locator.web.security"):
        monkeypatch.setattr(batched, "_send", redis_down)
        first = requests(6000)   # a minute at 100 requests a second
        assert first == ["rate-limit storage failed (ConnectionError): request let through (said again at "
                         "most once every 60 s while it fails)"]
        assert requests(1) == ["rate-limit storage still failing (ConnectionError): 6000 requests failed in the "
                               "last 60 s, those let through"]
        monkeypatch.setattr(batched, "_send", send)
        clock.now += 60   # a new window: the 5 of the limit are free again
        assert requests(1) == ["rate-limit storage answers again after 120 s: 6001 requests had failed"]
    assert "192.0.2.13" not in caplog.text
