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

#: Endpoints under the lookup rate limit, and the scope they share (one budget per IP for the
#: API, the page and the widget). Autocomplete fires while the voter types, so it has its own
#: budget of ``AUTOCOMPLETE_FACTOR`` times the lookup limit.
LIMITED_ENDPOINTS = {
    "api.lookup": "lookup",
    "pages.search": "lookup",
    "widget.widget": "lookup",
    "api.autocomplete": "autocomplete",
    "api.sandbox_lookup": "sandbox",
}
AUTOCOMPLETE_FACTOR = 5

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

    @app.before_request
    def _start_clock():
        g.started = time.perf_counter()

    @app.after_request
    def _headers_and_log(response):
        headers = response.headers
        headers["X-Content-Type-Options"] = "nosniff"
        # Result pages may carry the voter's address in their URL: never leak it to tile
        # servers or to the directions sites the page links to.
        headers["Referrer-Policy"] = "no-referrer"
        if g.get("frameable"):
            headers["Content-Security-Policy"] = widget_csp
        else:
            headers["Content-Security-Policy"] = page_csp
            headers["X-Frame-Options"] = "DENY"
            headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), payment=(), interest-cohort=()")
        _log(response)
        return response

    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=settings.rate_limit_storage,
        headers_enabled=True,
        swallow_errors=True,
        strategy="fixed-window",
        key_prefix="locator",
    )
    return limiter


def apply_rate_limits(app: Flask, limiter: Limiter, rate: str) -> None:
    """Put the configured limit on the lookup endpoints (call after the blueprints are registered)."""
    autocomplete_rate = _scaled(rate, AUTOCOMPLETE_FACTOR)
    for endpoint, scope in LIMITED_ENDPOINTS.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            continue
        value = autocomplete_rate if scope == "autocomplete" else rate
        app.view_functions[endpoint] = limiter.shared_limit(value, scope=scope)(view)


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


def _log(response) -> None:
    started = g.get("started")
    elapsed_ms = (time.perf_counter() - started) * 1000 if started is not None else -1.0
    rule = request.url_rule.rule if request.url_rule is not None else "<no route>"
    access_log.info("%s %s %d %.1fms qlen=%s", request.method, rule, response.status_code, elapsed_ms,
                    g.get("query_length", "-"))
