"""The Flask service: JSON API v1, the voter page and the embeddable widget.

``create_app`` is the only way to build the app (the Flask tutorial's factory pattern): the
data and the geocoder are loaded once here, never at import time and never per request.

>>> app = create_app()                                    # doctest: +SKIP
>>> app.test_client().get("/api/v1/lookup?lon=6.1757&lat=49.1196").json["bureau"]["id"]  # doctest: +SKIP
'57463_1'
"""

from __future__ import annotations

import logging
import traceback
from types import FunctionType

import orjson
import xstatic.pkg.leaflet as xstatic_leaflet
from flask import (
    Flask,
    current_app,
    g,
    jsonify,
    make_response,
    render_template,
    request,
    send_from_directory,
)
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Settings
from ..errors import LocatorError
from ..service import Locator
from .data import WebData
from .errors import HttpError
from .i18n import format_distance, pick_lang, translate
from .security import init_security, retry_after_seconds

__all__ = ["create_app", "load_locator"]

log = logging.getLogger(__name__)

#: Bumped with the package version so browsers refetch our CSS/JS after an upgrade.
ASSET_VERSION = "1"
LEAFLET_DIR = xstatic_leaflet.BASE_DIR
LEAFLET_VERSION = xstatic_leaflet.VERSION


class SafeJSONProvider(DefaultJSONProvider):
    """UTF-8 JSON in the contract's key order, with ``<``, ``>`` and ``&`` escaped so that a
    voter's text echoed in ``query`` can never be read as markup, whatever a client does.

    Compact output (every response outside debug) is encoded by orjson: the stdlib encoder
    took ~14 µs of a ~150 µs point lookup. Types orjson does not know, and dates and
    dataclasses (which Flask serialises its own way), go through Flask's ``default`` so the
    output means the same as ``DefaultJSONProvider``'s. Indented output (debug) keeps the
    stdlib encoder.
    """

    ensure_ascii = False
    sort_keys = False
    #: As the stdlib encoder: int dict keys become strings and numpy floats are numbers; dates
    #: and dataclasses go to Flask's ``default``.
    _ORJSON = (orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME
               | orjson.OPT_PASSTHROUGH_DATACLASS)

    def _encode(self, obj) -> bytes:
        return (orjson.dumps(obj, default=self.default, option=self._ORJSON)
                .replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026"))

    def dumps(self, obj, **kwargs):
        if not kwargs or kwargs == _COMPACT:
            return self._encode(obj).decode("utf-8")
        text = super().dumps(obj, **kwargs)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")

    def response(self, *args, **kwargs):
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self._encode(obj) + b"\n", mimetype=self.mimetype)


_COMPACT = {"separators": (",", ":")}


class LocatorFlask(Flask):
    """Flask, remembering which of our functions are plain (not ``async``).

    Flask asks ``ensure_sync`` about every hook and the view on every request, and each
    answer goes through ``inspect``: ~1 µs apiece, for functions that never change. Only plain
    functions are remembered (bound methods are new objects on every access).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_functions: set = set()

    def ensure_sync(self, func):
        if func in self._plain_functions:
            return func
        wrapped = super().ensure_sync(func)
        if wrapped is func and type(func) is FunctionType:
            self._plain_functions.add(func)
        return wrapped


def load_locator(settings: Settings) -> Locator:
    """The locator on ``settings.data_dir`` with the configured geocoder attached and opened:
    the embedded index is built now if it is missing or stale, so the first voter never waits."""
    from ..geocoding import attach_default_geocoder

    locator = Locator.from_data_dir(settings.data_dir, settings=settings)
    return attach_default_geocoder(locator, eager=True)


def create_app(settings: Settings | None = None, *, locator: Locator | None = None, test_config=None) -> Flask:
    """Build the web app.

    Parameters
    ----------
    settings
        defaults → ``LOCATOR_*`` environment when ``None``.
    locator
        an already-built ``Locator`` (tests, or a server that preloaded it); its geocoder,
        if any, serves address lookups and autocomplete.
    test_config
        Flask config overrides (``TESTING`` ...).
    """
    if settings is None:
        settings = locator.settings if locator is not None else Settings.from_env()
    if locator is None:
        locator = load_locator(settings)
    # The tables one-point lookups read, built here once: under ``locator serve`` this runs in
    # gunicorn's master, before the fork, so the workers share them (~36 MB for the Moselle).
    locator.warm()

    app = LocatorFlask(__name__)
    if settings.trusted_proxies > 0:
        # Behind N reverse proxies the client IP (for the per-IP rate limit) is the N-th
        # address from the right of X-Forwarded-For; never trust it without proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies,
                                x_host=settings.trusted_proxies)
    app.json = SafeJSONProvider(app)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 86400
    app.config.update(test_config or {})
    app.extensions["locator"] = WebData(locator)
    app.extensions["locator_settings"] = settings

    # rate limits, CORS on /api, security headers, access log; then the page language
    init_security(app, settings, on_request=_set_language)

    from .api import api, health
    from .pages import pages
    from .widget import widget

    for blueprint in (api, health, pages, widget):
        app.register_blueprint(blueprint)

    app.add_url_rule("/vendor/leaflet/<path:filename>", "leaflet", _leaflet_file)

    @app.context_processor
    def _template_globals():
        lang = g.get("lang", "fr")
        return {
            "lang": lang,
            "t": lambda key, **kw: translate(lang, key, **kw),
            "asset_version": ASSET_VERSION,
            "tiles_url": settings.tiles_url,
            "tiles_attribution": settings.tiles_attribution,
        }

    app.add_template_filter(lambda metres: format_distance(metres, g.get("lang", "fr")), "distance")
    app.register_error_handler(Exception, _handle_error)
    return app


def _set_language(req, ctx) -> None:
    args = req.args
    ctx.lang = pick_lang(args.get("lang") if "lang" in args else None)  # no KeyError raised and caught


def _leaflet_file(filename):
    return send_from_directory(LEAFLET_DIR, filename, max_age=7 * 86400)


def _wants_json() -> bool:
    path = request.path
    return path.startswith("/api/") or path in ("/healthz", "/readyz")


def _handle_error(err):
    """The app's one error handler: every error becomes a ``LocatorError`` with a French public
    message, rendered as JSON for the API and as a page (or the widget's page) otherwise."""
    if isinstance(err, HTTPException):
        if err.code is not None and err.code < 400:  # routing redirects are not errors
            return err
        err = HttpError.from_werkzeug(err, retry_after=retry_after_seconds(current_app) if err.code == 429 else None)
    elif not isinstance(err, LocatorError):
        # Log the stack without the exception's message: it could quote the voter's input.
        rule = request.url_rule.rule if request.url_rule is not None else "<no route>"
        log.error("unhandled %s on %s %s\n%s", type(err).__name__, request.method, rule,
                  "".join(traceback.format_tb(err.__traceback__)))
        err = LocatorError()
    status = err.http_status
    if _wants_json():
        response = jsonify(err.to_dict())
    else:
        response = _error_page(err)
    response.status_code = status
    retry_after = getattr(err, "retry_after", None)
    if retry_after is not None and status in (429, 503):
        response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_page(err):
    lang = g.get("lang", "fr")
    widget_page = request.blueprint == "widget"
    if widget_page:
        g.frameable = True
    if request.headers.get("X-Locator-Fragment") == "1":
        template = "_error.html"
    else:
        template = "widget_error.html" if widget_page else "error.html"
    return make_response(render_template(template, error=err, lang=lang))
