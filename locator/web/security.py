"""Security and privacy for every response: CSP and headers, size limits, rate limits, and an
access log that never holds what the voter typed.

* CSP without inline scripts or styles; only the widget may be framed (``frame-ancestors``
  from ``Settings.widget_frame_ancestors``), every other response says ``'none'``.
* Rate limits per client IP with ``limits`` (flask-limiter's storage and strategy library),
  checked by one ``before_request`` hook. The counters are shared by every worker: by default
  in the embedded geocoder's redis-server (started before gunicorn forks, so all workers reach
  the same socket), or any ``limits`` storage URI (``redis://``, ``memory://``) given by
  ``LOCATOR_RATE_LIMIT_STORAGE``; per process, with a logged warning, when neither exists. In
  a Redis, each worker adds its hits in batches and decides without a round trip while a client
  is far from its limit (``ratelimit.BatchedCounters``: the same keys and counts, bounded
  overshoot). A storage that fails lets requests through: refusing voters because Redis is down
  would be worse.
* The access log records method, route pattern, status, latency and the query's *length*;
  never the query string, the form, the client IP or the raw path.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from time import perf_counter
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

from flask import Flask, g, request
from limits import parse_many
from limits.storage import MemoryStorage, RedisClusterStorage, RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from ..errors import DataError
from .accesslog import access_log
from .ratelimit import BatchedCounters, FailureLog

security_log = logging.getLogger("locator.web.security")

#: Bodies are a handful of form fields; anything bigger is refused with 413.
MAX_BODY_BYTES = 16 * 1024

#: Lookups (API, sandbox, the page's and the widget's searches) share one budget per IP,
#: ``Settings.rate_limit``. Autocomplete fires while the voter types, so it has its own budget
#: of ``AUTOCOMPLETE_FACTOR`` times that. Everything else (pages, data, health, assets) is
#: not limited.
LOOKUP_ENDPOINTS = frozenset({"api.lookup", "api.sandbox_lookup", "pages.search"})
AUTOCOMPLETE_ENDPOINT = "api.autocomplete"
AUTOCOMPLETE_FACTOR = 5

#: CORS on ``/api`` only, as flask-cors answered with our options.
CORS_METHODS = "GET, OPTIONS"
CORS_MAX_AGE = "86400"
_ALLOW_ANY_ORIGIN = ("Access-Control-Allow-Origin", "*")
#: A JSON response loads nothing and may be framed by nobody.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


#: The WSGI environ key under which a request's rate-limit check is kept when the route in
#: front of Flask has made it (``lookuproute``): the refusal, or ``None``. Flask's hook reads it
#: instead of counting the request again.
RATE_LIMIT_CHECKED = "locator.rate_limit_checked"


class Refusal(NamedTuple):
    """A request over its rate limit: when the exhausted window ends (``time.time()``), or
    ``None`` when the storage cannot say."""

    reset_at: float | None


_SOURCE = re.compile(r"^(\*|'self'|https?://(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?|https?:)$")


def frame_ancestors_value(sources) -> str:
    """The CSP ``frame-ancestors`` value for the widget from the settings' allow-list.

    Raises ``DataError`` at start-up for an entry that is not a CSP host source, so a typo
    in ``LOCATOR_WIDGET_FRAME_ANCESTORS`` cannot inject another directive.
    """
    sources = tuple(sources) or ("'none'",)
    for source in sources:
        if source != "'none'" and not _SOURCE.match(source):
            raise DataError(f"not a CSP source: {source!r} (expected *, 'self' or https://host)",
                            path="LOCATOR_WIDGET_FRAME_ANCESTORS")
    return " ".join(sources)


def tiles_source(tiles_url: str | None) -> str | None:
    """The CSP source that lets the map load tiles from ``tiles_url`` (``{s}`` → ``*``)."""
    if not tiles_url:
        return None
    parts = urlsplit(tiles_url.replace("{s}", "*"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DataError(f"tiles URL must be http(s)://host/...: {tiles_url!r}", path="LOCATOR_TILES_URL")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(*, frame_ancestors: str, tiles: str | None) -> str:
    img = "'self' data:" + (f" {tiles}" if tiles else "")
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {img}",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "frame-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ])


class SweptMemoryStorage(MemoryStorage):
    """``limits``' in-memory storage (``memory://``) without its expiry timer thread.

    ``MemoryStorage`` restarts a ``threading.Timer`` every 10 ms while hits keep coming, to
    drop expired counters: a thread start per 10 ms is a measurable share of a busy worker's
    CPU (BENCHMARKS.md). Here the same clean-up runs inline, at most once a second, on the request path;
    a counter read after its window has ended is dropped on read, as ``MemoryStorage`` does.
    Counters, keys and windows are the same as ``MemoryStorage``'s.
    """

    STORAGE_SCHEME: list[str] = []  # not registered: ``memory://`` keeps meaning MemoryStorage
    SWEEP_EVERY_S = 1.0

    def __init__(self, uri: str | None = None, **options):
        super().__init__(uri, **options)
        self.timer.cancel()
        self._lock = threading.Lock()
        self._next_sweep = time.time() + self.SWEEP_EVERY_S

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        storage, expirations = self.storage, self.expirations
        with self._lock:
            if now >= self._next_sweep:
                self._next_sweep = now + self.SWEEP_EVERY_S
                for old in [k for k, at in expirations.items() if at <= now]:
                    storage.pop(old, None)
                    expirations.pop(old, None)
            if expirations.get(key, 0) <= now:
                storage.pop(key, None)
                expirations.pop(key, None)
            value = storage[key] = storage.get(key, 0) + amount
            if value == amount:
                expirations[key] = now + expiry
        return value


#: The embedded redis-server's database for the rate-limit counters (addok's index is in 0).
RATE_LIMIT_DB = 1


def rate_limit_storage_uri(settings, geocoder) -> str:
    """Where the counters live: ``settings.rate_limit_storage`` when set; else the redis the
    embedded geocoder uses (its own server's unix socket, or ``settings.redis_url``), in
    database ``RATE_LIMIT_DB``; else ``memory://`` (counted per worker, said in the log)."""
    if settings.rate_limit_storage:
        return settings.rate_limit_storage
    embedded = geocoder.backend("embedded") if hasattr(geocoder, "backend") else None
    if embedded is not None and getattr(embedded, "settings", None) is not None and embedded.settings.redis_url:
        url = embedded.settings.redis_url
        # redis-py's unix socket URL; ``limits`` names the same thing redis+unix:// (unix:// it refuses)
        return "redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else url
    socket_path = getattr(embedded, "redis_socket_path", None)
    if socket_path:
        return f"redis+unix://{socket_path}?db={RATE_LIMIT_DB}"
    security_log.warning("rate limits counted per worker process (no embedded redis and no "
                         "LOCATOR_RATE_LIMIT_STORAGE): with N workers a client gets up to N times the limit")
    return "memory://"


def _storage(uri: str):
    if urlsplit(uri).scheme == "memory":
        return SweptMemoryStorage(uri)
    return storage_from_string(uri)


class RateLimits:
    """Per-IP fixed-window limits on ``limits``, the storage and strategy library under
    flask-limiter: the same storage URIs (``memory://``, ``redis://``, ``redis+unix://`` ...),
    the same rate strings and the same counter keys (``LIMITER/locator/<ip>/<scope>/...``),
    so counters in a shared Redis keep working across an upgrade.

    One ``hit`` per limited request from one ``before_request`` hook: flask-limiter's
    per-request machinery (resolving limits, exemptions and contexts through request proxies)
    costs many times the storage hit itself (BENCHMARKS.md, web section). In a Redis the hits
    go through ``ratelimit.BatchedCounters`` (``batch_s`` > 0: one pipeline per worker every
    ``batch_s`` instead of one round trip a request, see there for the overshoot it allows);
    ``memory://`` is in-process already, and ``batch_s=0`` asks the storage on every hit.

    Limits are tried smallest window first and stop at the first one exhausted, as
    flask-limiter does. A storage that raises lets the request through (logged, without the
    client's address).
    """

    KEY_PREFIX = "locator"
    LOOKUP_SCOPE = "global"  # flask-limiter's scope for application-wide limits

    def __init__(self, rate: str, storage_uri: str, *, batch_s: float = 0.1, clock=time.time,
                 timer: bool = True):
        self.storage = _storage(storage_uri)
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.lookup = sorted(parse_many(rate))
        self.autocomplete = sorted(parse_many(_scaled(rate, AUTOCOMPLETE_FACTOR)))
        self.enabled = True
        batchable = isinstance(self.storage, RedisStorage) and not isinstance(self.storage, RedisClusterStorage)
        self.batched = (BatchedCounters(self.storage, batch_s=batch_s, clock=clock, timer=timer)
                        if batchable and batch_s > 0 else None)
        self._failures = FailureLog(clock, "request let through", "requests", "those let through")
        # each limit's counter key around the client and scope, as ``RateLimitItem.key_for`` makes it
        self._keys = {id(item): (f"{item.namespace}/{self.KEY_PREFIX}/",
                                 f"/{item.amount}/{item.multiples}/{item.GRANULARITY.name}",
                                 item.amount, item.get_expiry())
                      for item in (*self.lookup, *self.autocomplete)}

    def key(self, item, client: str, scope: str) -> str:
        """The storage key of ``item`` for ``client`` in ``scope`` (``item.key_for(prefix, client, scope)``)."""
        head, tail, _, _ = self._keys[id(item)]
        return f"{head}{client}/{scope}{tail}"

    def limits_for(self, endpoint: str | None, method: str):
        """(limits, scope) that apply to a request, or ``None`` when it is not limited."""
        if endpoint in LOOKUP_ENDPOINTS or (endpoint == "widget.widget" and method == "POST"):
            return self.lookup, self.LOOKUP_SCOPE
        if endpoint == AUTOCOMPLETE_ENDPOINT:
            return self.autocomplete, AUTOCOMPLETE_ENDPOINT
        return None

    def check(self, endpoint: str | None, method: str, remote_addr: str | None) -> Refusal | None:
        """Count a request against the limits of its endpoint: a ``Refusal`` when one is
        exhausted, ``None`` when it may pass (or is not limited, or limits are off)."""
        applicable = self.limits_for(endpoint, method) if self.enabled else None
        if applicable is None:
            return None
        limits, scope = applicable
        client = remote_addr or "127.0.0.1"  # flask-limiter's get_remote_address
        exhausted = self.hit(limits, client, scope)
        if exhausted is None:
            return None
        return Refusal(self.reset_at(exhausted, client, scope))

    def hit(self, limits, client: str, scope: str):
        """Count one request; the first exhausted limit, or ``None`` when the request may pass
        (also when the storage fails: logged as ``ratelimit.FailureLog`` paces it)."""
        try:
            exhausted = self._hit(limits, client, scope)
        except Exception as err:  # noqa: BLE001 - any storage failure: let the voter through
            self._failures.failed(err)
            return None
        self._failures.answered()
        return exhausted

    def _hit(self, limits, client: str, scope: str):
        batched = self.batched
        if batched is not None:
            keys = self._keys
            for item in limits:
                head, tail, amount, expiry = keys[id(item)]
                if not batched.hit(f"{head}{client}/{scope}{tail}", amount, expiry):
                    return item
            return None
        hit = self.strategy.hit
        prefix = self.KEY_PREFIX
        for item in limits:
            if not hit(item, prefix, client, scope):
                return item
        return None

    def close(self) -> None:
        """Add the hits still counted only here to the storage and stop the flush timer
        (batched counters in a Redis); nothing to do for a storage asked on every hit."""
        if self.batched is not None:
            self.batched.close()

    def reset_at(self, item, client: str, scope: str) -> float | None:
        """When the window of ``item`` for ``client`` ends (a time.time() value), ``None`` when unknown."""
        if self.batched is not None:
            known = self.batched.reset_at(self.key(item, client, scope))
            if known is not None:
                return known
        try:
            return self.strategy.get_window_stats(item, self.KEY_PREFIX, client, scope).reset_time
        except Exception:  # noqa: BLE001
            return None


def _cors_preflight_headers(req) -> list[tuple[str, str]]:
    """The extra headers flask-cors gave an API preflight with our options (origins ``*``,
    methods GET and OPTIONS, any requested header, max age one day)."""
    headers = []
    if req.headers.get("Access-Control-Request-Private-Network") == "true":
        headers.append(("Access-Control-Allow-Private-Network", "false"))
    if req.method == "OPTIONS":
        wanted = req.headers.get("Access-Control-Request-Method", "").upper()
        if wanted and wanted in CORS_METHODS:
            requested = req.headers.get("Access-Control-Request-Headers")
            if requested:
                allow = ", ".join(sorted(h.strip() for h in requested.split(",")))
                if allow:
                    headers.append(("Access-Control-Allow-Headers", allow))
            headers += [("Access-Control-Max-Age", CORS_MAX_AGE), ("Access-Control-Allow-Methods", CORS_METHODS)]
    return headers


def init_security(app: Flask, settings, *, on_request=None) -> RateLimits:
    """Install limits, CORS, headers and the access log on ``app``; returns the rate limits
    (their storage: ``rate_limit_storage_uri`` with the geocoder of ``app.extensions["locator"]``).

    ``on_request(request, g)`` runs in the same ``before_request`` hook once the request has
    passed the rate limit (one hook instead of two: Flask checks each hook for ``async``)."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    app.config["MAX_FORM_PARTS"] = 50

    tiles = tiles_source(settings.tiles_url)
    page_csp = content_security_policy(frame_ancestors="'none'", tiles=tiles)
    widget_csp = content_security_policy(frame_ancestors=frame_ancestors_value(settings.widget_frame_ancestors),
                                         tiles=tiles)

    # Result pages may carry the voter's address in their URL: Referrer-Policy no-referrer
    # never leaks it to tile servers or to the directions sites the page links to.
    every_response = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))
    common = (*every_response,
              ("Permissions-Policy", "camera=(), microphone=(), payment=(), interest-cohort=()"))
    framed = (*common, ("Content-Security-Policy", widget_csp))
    unframed = (*common, ("Content-Security-Policy", page_csp), ("X-Frame-Options", "DENY"),
                ("Cross-Origin-Opener-Policy", "same-origin"))
    # The API is open to every origin (no credentials), like flask-cors with origins "*",
    # send_wildcard and no Vary; nothing else gets CORS headers. Its JSON is never a document:
    # the CSP that locks a JSON body down (OWASP's REST advice) replaces the page's, and the
    # document-only headers (Permissions-Policy, COOP) are left out; every header is work for
    # the server and bytes for a voter's phone. Precomputed header lists are appended in one
    # call: no view sets any of these headers itself.
    api_headers = (_ALLOW_ANY_ORIGIN, *every_response, ("Content-Security-Policy", API_CSP),
                   ("X-Frame-Options", "DENY"))
    app.extensions["locator_api_headers"] = api_headers  # also sent by ``lookuproute``

    web_data = app.extensions.get("locator")
    geocoder = getattr(getattr(web_data, "locator", None), "geocoder", None)
    rate_limits = RateLimits(settings.rate_limit, rate_limit_storage_uri(settings, geocoder),
                             batch_s=settings.rate_limit_batch_ms / 1000)
    app.extensions["locator_limiter"] = rate_limits

    @app.before_request
    def _clock_and_rate_limit():
        ctx = g._get_current_object()
        ctx.started = perf_counter()
        req = request._get_current_object()
        environ = req.environ
        if RATE_LIMIT_CHECKED in environ:  # counted by the route in front (``lookuproute``)
            refusal = environ[RATE_LIMIT_CHECKED]
        else:
            refusal = rate_limits.check(req.endpoint, req.method, req.remote_addr)
        if refusal is not None:
            ctx.rate_limit_reset = refusal.reset_at
            raise TooManyRequests()
        if on_request is not None:
            on_request(req, ctx)

    @app.after_request
    def _headers_and_log(response):
        ctx = g._get_current_object()
        req = request._get_current_object()
        headers = response.headers
        # Append the precomputed (already valid) header pairs in one go; Headers.extend would
        # re-validate each value. Fallback for a Headers without its list.
        extend = headers._list.extend if hasattr(headers, "_list") else headers.extend
        path = req.path
        if path.startswith("/api") or ("%" in path and unquote(path).startswith("/api")):
            if req.method == "OPTIONS" or "Access-Control-Request-Private-Network" in req.headers:
                extend([*api_headers, *_cors_preflight_headers(req)])
            else:
                extend(api_headers)
        else:
            extend(framed if getattr(ctx, "frameable", False) else unframed)
        if access_log.enabled():
            _log(response, ctx, req)
        return response

    return rate_limits


def retry_after_seconds(app: Flask) -> int | None:
    """Seconds until the current request's exhausted rate-limit window resets."""
    reset = g.get("rate_limit_reset")
    if reset is None:
        return None
    # flask-limiter's RequestLimit.reset_at: the window's end, rounded down, plus one second
    return max(1, math.ceil(int(reset + 1) - time.time()))


def _scaled(rate: str, factor: int) -> str:
    """``"60/minute"`` × 5 → ``"300/minute"``; each ``;``-separated item is scaled."""
    items = []
    for item in rate.split(";"):
        m = re.match(r"^\s*(\d+)\s*(/|per)\s*(.+?)\s*$", item)
        items.append(f"{int(m.group(1)) * factor}/{m.group(3)}" if m else item.strip())
    return ";".join(items)


def note_query_length(n: int) -> None:
    """Views call this so the access log can report the query length (never the query)."""
    g.query_length = n


def _log(response, ctx, req) -> None:
    started = getattr(ctx, "started", None)
    elapsed_ms = (perf_counter() - started) * 1000 if started is not None else -1.0
    rule = req.url_rule
    access_log.write(req.method, rule.rule if rule is not None else "<no route>", response.status_code,
                     elapsed_ms, getattr(ctx, "query_length", "-"))
