"""``GET /api/v1/lookup`` answered in front of Flask, with Flask's own parts.

The voter's lookup is the request the service answers most, and on the exact-address fast
path the engine answers it quickly enough that Flask's machinery around it (request and
application contexts, the request and response objects, URL matching, hook dispatch) costs
about as much again (BENCHMARKS.md, "Web service: the exact-address fast path"). This WSGI
layer sits between ``ProxyFix`` and Flask and answers the plain form of that request itself,
with the parts the Flask view and hooks use, so that there is still one rule for each thing:

* the query string, parsed as Flask's ``request.args`` parses it (the first value of a key);
* the rate limit: ``RateLimits.check``, the check of Flask's ``before_request`` hook;
* the answer: ``params.answer`` and ``LookupResult.to_dict``, encoded by the app's JSON
  provider (``SafeJSONProvider.compact_body``);
* the headers: ``Cache-Control: no-store`` as the view sets it, then the API's list from
  ``init_security``; the status line as Werkzeug writes it;
* the access log line, as the ``after_request`` hook writes it.

Everything else goes to Flask unchanged: another path or method (``HEAD``, ``OPTIONS``), a
query string that is not UTF-8, a private-network preflight header, indented JSON (debug).
And, once the rate limit has been checked here: a refused request (Flask answers the 429 from
this check, kept in the environ, without counting the request twice) and a lookup that raises
(Flask runs it again and its error handler answers). The tests send each kind of request both
ways and compare status, headers and body.
"""

from __future__ import annotations

from time import perf_counter
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401 - registers the "werkzeug.url_quote" decoding error handler
from werkzeug.http import HTTP_STATUS_CODES

from . import params
from .accesslog import access_log
from .security import RATE_LIMIT_CHECKED

PATH = "/api/v1/lookup"
#: The Flask endpoint of ``PATH`` (``api.lookup``): its rate limits are the ones checked.
ENDPOINT = "api.lookup"


class LookupRoute:
    """WSGI middleware answering ``GET PATH`` before ``wsgi_app`` (Flask's) sees it.

    Parameters
    ----------
    app
        the Flask app built by ``create_app`` (its locator, rate limits, JSON provider and
        API headers are read once here).
    wsgi_app
        what answers every other request: ``app.wsgi_app`` as it was.
    """

    def __init__(self, app, wsgi_app):
        self.wsgi_app = wsgi_app
        self.json = app.json
        self.locator = app.extensions["locator"].locator
        self.rate_limits = app.extensions["locator_limiter"]
        self.mimetype = app.json.mimetype
        self.headers = (("Cache-Control", "no-store"), *app.extensions["locator_api_headers"])

    def __call__(self, environ, start_response):
        if (environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET"
                or "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK" in environ or not self.json.is_compact()):
            return self.wsgi_app(environ, start_response)
        started = perf_counter()
        try:
            query = environ.get("QUERY_STRING", "").encode("latin1").decode()
        except UnicodeError:  # Flask's error handler answers it (400)
            return self.wsgi_app(environ, start_response)
        args: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"):
            args.setdefault(key, value)
        refusal = self.rate_limits.check(ENDPOINT, "GET", environ.get("REMOTE_ADDR"))
        environ[RATE_LIMIT_CHECKED] = refusal
        if refusal is not None:
            return self.wsgi_app(environ, start_response)
        q, lon, lat = args.get("q"), args.get("lon"), args.get("lat")
        try:
            result = params.answer(self.locator, q=q, lon=lon, lat=lat, departement=args.get("departement"))
            body = self.json.compact_body(result.to_dict())
            status = result.http_status
        except Exception:  # noqa: BLE001 - Flask's error handler says what went wrong
            return self.wsgi_app(environ, start_response)
        start_response(status_line(status),
                       [("Content-Type", self.mimetype), ("Content-Length", str(len(body))), *self.headers])
        if access_log.enabled():
            access_log.write("GET", PATH, status, (perf_counter() - started) * 1000,
                             params.query_length(q, lon, lat))
        return [body]


def status_line(code: int) -> str:
    """The WSGI status line of ``code``, as Werkzeug's ``Response`` writes it ("400 BAD REQUEST")."""
    return f"{code} {HTTP_STATUS_CODES.get(code, 'unknown').upper()}"


def init_lookup_route(app) -> None:
    """Put ``LookupRoute`` in front of ``app``'s Flask WSGI app (call it last in
    ``create_app``, before any proxy middleware)."""
    app.wsgi_app = LookupRoute(app, app.wsgi_app)
