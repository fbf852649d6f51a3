"""The voter page: a form that works without JavaScript (POST → result page), enhanced by
``static/locator.js`` (autocomplete, in-place results, the map) when scripts run.

The form is POSTed so the voter's address stays out of URLs, browser history and the logs
of any proxy in front of the service.
"""

from __future__ import annotations

import threading

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from . import params
from .render import build_view

pages = Blueprint("pages", __name__)


def lang_args() -> dict:
    return {"lang": g.lang} if g.lang != "fr" else {}


def wants_fragment() -> bool:
    """The enhanced page asks for the result block only (set by locator.js)."""
    return request.headers.get("X-Locator-Fragment") == "1"


def _page(template: str, status: int = 200, **context):
    return _no_store(make_response(render_template(template, **context), status))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


class RenderedPages:
    """Pages that are the same text for every voter who asks them the same way (the empty
    search form, the widget's empty form, the integration guide), rendered once per key and
    kept by the app (a reload builds a new app, so new data is never served from old pages).

    The key holds everything the page's text depends on besides the app: its endpoint, the
    language, the URL prefix and path (the links and the language switch), and what the view
    adds (the widget's options, the integration guide's host). At most ``limit`` pages: the
    host and the widget's colour come from the client; past the limit the oldest goes.
    """

    def __init__(self, limit: int = 128):
        self.limit = limit
        self._pages: dict[tuple, str] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, render) -> str:
        text = self._pages.get(key)
        if text is None:
            text = render()
            with self._lock:
                if key not in self._pages and len(self._pages) >= self.limit:
                    self._pages.pop(next(iter(self._pages)))
                self._pages[key] = text
        return text


def constant_page(extra: tuple, render):
    """A 200 ``no-store`` response with ``render()``'s text, rendered once per request key
    and ``extra`` (every time when templates are reloaded from disk: debug mode)."""
    app = current_app
    if app.jinja_env.auto_reload:
        return _no_store(make_response(render()))
    cache = app.extensions.get("locator_pages")
    if cache is None:
        cache = app.extensions.setdefault("locator_pages", RenderedPages())
    key = (request.endpoint, g.lang, request.script_root, request.path, *extra)
    return _no_store(make_response(cache.get(key, render)))


@pages.get("/")
def index():
    return constant_page((), lambda: render_template(
        "search.html", v=None, q="", form_action=url_for("pages.search", **lang_args())))


@pages.route("/recherche", methods=["GET", "POST"])
def search():
    values = request.form if request.method == "POST" else request.args
    q, lon, lat = values.get("q"), values.get("lon"), values.get("lat")
    if request.method == "GET" and q is None and lon is None and lat is None:
        return redirect(url_for("pages.index", **lang_args()))
    data = current_app.extensions["locator"]
    result = params.lookup(data.locator, q=q, lon=lon, lat=lat)
    view = build_view(result, g.lang)
    prefill = result.query if isinstance(result.query, str) else ""
    context = {"v": view, "q": prefill, "departements": data.departements,
               "form_action": url_for("pages.search", **lang_args())}
    template = "_result.html" if wants_fragment() else "search.html"
    return _page(template, result.http_status, **context)


@pages.get("/integration")
def integration():
    """How to put the widget on another site (the copy-paste snippet)."""
    base = request.host_url.rstrip("/")
    return constant_page((base,), lambda: render_template(
        "integration.html", base=base, departements=current_app.extensions["locator"].departements))
