"""Security and privacy for every response: CSP and headers, size limits, rate limits, and an
access log that never holds what the voter typed.

* CSP without inline scripts or styles; only the widget may be framed (``frame-ancestors``
  from ``Settings.widget_frame_ancestors``), every other response says ``'none'``.
* Rate limits per client IP with flask-limiter (in-memory by default, any ``limits``
  storage URI such as ``redis://`` by ``LOCATOR_RATE_LIMIT_STORAGE``). A storage that fails
  lets requests through: refusing voters because Redis is down would be worse.
* The access log records method, route pattern, status, latency and the query's *length*;
  never the query string, the form, the client IP or the raw path.
"""

from __future__ import annotations

import logging
import math
import re
import time
from urllib.parse import urlsplit

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from ..errors import DataError

access_log = logging.getLogger("locator.web.access")

#: Bodies are a handful of form fields; anything bigger is refused with 413.
MAX_BODY_BYTES = 16 * 1024

#: Lookups (API, sandbox, the page's and the widget's searches) share one budget per IP,
#: ``Settings.rate_limit``. Autocomplete fires while the voter types, so it has its own budget
#: of ``AUTOCOMPLETE_FACTOR`` times that. Everything else (pages, data, health, assets) is
#: not limited.
LOOKUP_ENDPOINTS = frozenset({"api.lookup", "api.sandbox_lookup", "pages.search"})
AUTOCOMPLETE_ENDPOINT = "api.autocomplete"
AUTOCOMPLETE_FACTOR = 5


def counts_as_lookup() -> bool:
    endpoint = request.endpoint
    return endpoint in LOOKUP_ENDPOINTS or (endpoint == "widget.widget" and request.method == "POST")


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


def init_security(app: Flask, settings) -> Limiter:
    """Install limits, headers and the access log on ``app``; returns the limiter."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    app.config["MAX_FORM_PARTS"] = 50

    tiles = tiles_source(settings.tiles_url)
    page_csp = content_security_policy(frame_ancestors="'none'", tiles=tiles)
    widget_csp = content_security_policy(frame_ancestors=frame_ancestors_value(settings.widget_frame_ancestors),
                                         tiles=tiles)

    # Result pages may carry the voter's address in their URL: Referrer-Policy no-referrer
    # never leaks it to tile servers or to the directions sites the page links to.
    common = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
              ("Permissions-Policy", "camera=(), microphone=(), payment=(), interest-cohort=()"))
    framed = (*common, ("Content-Security-Policy", widget_csp))
    unframed = (*common, ("Content-Security-Policy", page_csp), ("X-Frame-Options", "DENY"),
                ("Cross-Origin-Opener-Policy", "same-origin"))

    @app.before_request
    def _start_clock():
        g.started = time.perf_counter()

    @app.after_request
    def _headers_and_log(response):
        ctx = g._get_current_object()
        headers = response.headers
        for name, value in framed if getattr(ctx, "frameable", False) else unframed:
            headers[name] = value
        _log(response, ctx)
        return response

    # One flask-limiter check per request (application limits, evaluated in its before_request
    # hook) rather than route decorators, which run the whole machinery twice.
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[settings.rate_limit],
        application_limits_exempt_when=lambda: not counts_as_lookup(),
        storage_uri=settings.rate_limit_storage,
        headers_enabled=False,
        swallow_errors=True,
        strategy="fixed-window",
        key_prefix="locator",
    )
    # Requests no limit applies to skip flask-limiter entirely (it otherwise resolves every
    # limit before finding the route exempt).
    limiter.request_filter(lambda: not counts_as_lookup() and request.endpoint != AUTOCOMPLETE_ENDPOINT)
    app.extensions["locator_limiter"] = limiter
    return limiter


def apply_rate_limits(app: Flask, limiter: Limiter, rate: str) -> None:
    """Give autocomplete its own, larger budget (call after the blueprints are registered)."""
    view = app.view_functions.get(AUTOCOMPLETE_ENDPOINT)
    if view is not None:
        app.view_functions[AUTOCOMPLETE_ENDPOINT] = limiter.limit(_scaled(rate, AUTOCOMPLETE_FACTOR))(view)


def retry_after_seconds(app: Flask) -> int | None:
    """Seconds until the current request's exhausted rate-limit window resets."""
    limiter = app.extensions.get("locator_limiter")
    current = getattr(limiter, "current_limit", None) if limiter is not None else None
    if current is None:
        return None
    return max(1, math.ceil(current.reset_at - time.time()))


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


def _log(response, ctx) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    started = getattr(ctx, "started", None)
    elapsed_ms = (time.perf_counter() - started) * 1000 if started is not None else -1.0
    req = request._get_current_object()
    rule = req.url_rule.rule if req.url_rule is not None else "<no route>"
    access_log.info("%s %s %d %.1fms qlen=%s", req.method, rule, response.status_code, elapsed_ms,
                    getattr(ctx, "query_length", "-"))
