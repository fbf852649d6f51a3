"""The Flask service: JSON API v1, the voter page and the embeddable widget.

``create_app`` is the only way to build the app (the Flask tutorial's factory pattern): the
data and the geocoder are loaded once here, never at import time and never per request.

>>> app = create_app()                                    # doctest: +SKIP
>>> app.test_client().get("/api/v1/lookup?lon=6.1757&lat=49.1196").json["bureau"]["id"]  # doctest: +SKIP
'57463_1'
"""

from __future__ import annotations

import logging

import xstatic.pkg.leaflet as xstatic_leaflet
from flask import Flask, current_app, g
from werkzeug.middleware.proxy_fix import ProxyFix

from ..communes import CommuneIndex
from ..config import Settings
from ..data.datadir import DataDir
from ..service import Locator
from ..validation.checks import label
from ..validation.report import headline
from ..validation.run import doubtful_bureaux, validate_dataset
from .data import WebData
from .errors import handle_error
from .files import init_static_files
from .flaskapp import LocatorFlask, SafeJSONProvider
from .i18n import format_distance, pick_lang, translate
from .lookuproute import init_lookup_route
from .security import init_security

__all__ = ["create_app", "load_locator"]

log = logging.getLogger("locator.web")

#: Bumped with the package version so browsers refetch our CSS/JS after an upgrade.
ASSET_VERSION = "1"
LEAFLET_DIR = xstatic_leaflet.BASE_DIR


def load_locator(settings: Settings) -> Locator:
    """The locator the service answers from: ``settings.data_dir`` loaded strictly, checked by
    the validator (a bureau with an error is served without its point, and the log says once
    what was found), with the configured geocoder opened: the embedded index is built now if it
    is missing or stale, so the first voter never waits."""
    dataset = DataDir(settings.data_dir).load(strict=True)
    # the validator's commune index over the engine's cache: outlines and grid read, not rebuilt
    index = CommuneIndex(list(dataset.communes), list(dataset.commune_geoms), cache=dataset.engine_cache)
    result = validate_dataset(dataset, settings=settings, index=index)
    doubtful = doubtful_bureaux(result)
    log_validation(result, doubtful)
    return Locator.configured(dataset, settings, doubtful=doubtful).open()


def log_validation(result, doubtful: dict[str, str]) -> None:
    """One summary line (the validator's own headline), then the file's errors and warnings,
    one line each with the check's French label."""
    log.info("données %s : %d bureaux, %d communes ; %s ; %d bureau(x) servi(s) sans position, %d avec une "
             "position à vérifier", result.inputs.get("bureaux"), len(result.bureaux), len(result.communes),
             headline(result).rstrip("."), sum(1 for d in doubtful.values() if d == "error"),
             sum(1 for d in doubtful.values() if d == "warning"))
    for f in result.findings:
        if f.severity in ("error", "warning"):
            log.log(logging.WARNING if f.severity == "error" else logging.INFO, "  %s %s — %s (%s) : %s",
                    f.severity, f.bureau_id or "-", label(f.check), f.check, f.message)


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
    app.json = SafeJSONProvider(app)
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 86400
    app.config.update(test_config or {})
    app.extensions["locator"] = WebData(locator)
    app.extensions["locator_settings"] = settings

    # rate limits, CORS on /api, security headers, access log; then the page language
    init_security(app, settings, on_request=_set_language)

    from .api import api, health, suggestions_cache
    from .pages import pages
    from .widget import widget

    app.extensions["locator_suggestions"] = suggestions_cache()

    for blueprint in (api, health, pages, widget):
        app.register_blueprint(blueprint)

    app.add_url_rule("/vendor/leaflet/<path:filename>", "leaflet", _leaflet_file)
    init_static_files(app, leaflet_dir=LEAFLET_DIR)  # /static/ and /vendor/leaflet/ from memory

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
    app.register_error_handler(Exception, handle_error)
    init_lookup_route(app)  # GET /api/v1/lookup answered in front of Flask, with its parts
    if settings.trusted_proxies > 0:
        # Behind N reverse proxies the client IP (for the per-IP rate limit) is the N-th
        # address from the right of X-Forwarded-For; never trust it without proxies.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies,
                                x_host=settings.trusted_proxies)
    return app


def _set_language(req, ctx) -> None:
    args = req.args
    ctx.lang = pick_lang(args.get("lang") if "lang" in args else None)  # no KeyError raised and caught


def _leaflet_file(filename):
    return current_app.extensions["locator_leaflet"].send(filename, max_age=7 * 86400)
