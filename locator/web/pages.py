"""The voter page: a form that works without JavaScript (POST → result page), enhanced by
``static/locator.js`` (autocomplete, in-place results, the map) when scripts run.

The form is POSTed so the voter's address stays out of URLs, browser history and the logs
of any proxy in front of the service.
"""

from __future__ import annotations

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
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get("/")
def index():
    return _page("search.html", v=None, q="", form_action=url_for("pages.search", **lang_args()))


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
    return _page("integration.html", base=base, departements=current_app.extensions["locator"].departements)
