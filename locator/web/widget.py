"""The embeddable widget: ``/widget`` (a compact page made for iframes), ``/embed.js`` (the
script of the copy-paste snippet) and ``/widget/theme.css`` (the embedder's colour).

Only ``/widget`` may be framed: its CSP ``frame-ancestors`` comes from
``Settings.widget_frame_ancestors`` (any site by default); every other response forbids
framing. Options come from the query string and a bad option falls back to its default
rather than breaking the widget for voters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import (
    Blueprint,
    current_app,
    g,
    make_response,
    render_template,
    request,
    url_for,
)

from . import params
from .i18n import pick_lang
from .pages import constant_page, wants_fragment
from .render import build_view

widget = Blueprint("widget", __name__)

DEFAULT_COLOUR = "1d4ed8"
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")
_FALSE = {"0", "false", "non", "no", "off"}


@dataclass(frozen=True)
class WidgetOptions:
    lang: str = "fr"
    colour: str = DEFAULT_COLOUR
    departement: str | None = None
    show_map: bool = True

    @classmethod
    def from_args(cls, args) -> WidgetOptions:
        try:
            dep = params.check_departement(args.get("departement"))
        except ValueError:
            dep = None
        return cls(lang=pick_lang(args.get("lang")), colour=parse_colour(args.get("colour")), departement=dep,
                   show_map=(args.get("map") or "1").strip().lower() not in _FALSE)

    def query_args(self) -> dict:
        """The options as query arguments, defaults left out (for URLs and the form action)."""
        out = {}
        if self.lang != "fr":
            out["lang"] = self.lang
        if self.colour != DEFAULT_COLOUR:
            out["colour"] = self.colour
        if self.departement:
            out["departement"] = self.departement
        if not self.show_map:
            out["map"] = "0"
        return out


def parse_colour(raw) -> str:
    """``#RRGGBB``, ``RRGGBB`` or ``RGB`` → ``rrggbb``; anything else → the default colour."""
    m = _HEX.match((raw or "").strip())
    if not m:
        return DEFAULT_COLOUR
    value = m.group(1).lower()
    return "".join(ch * 2 for ch in value) if len(value) == 3 else value


def _luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g_, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g_ + 0.0722 * b


def contrast_with_white(hex6: str) -> float:
    rgb = [int(hex6[i:i + 2], 16) for i in (0, 2, 4)]
    return 1.05 / (_luminance(rgb) + 0.05)


def accessible_colour(hex6: str, minimum: float = 4.5) -> str:
    """The embedder's colour, darkened just enough for white text on it and for it as link
    text on white to reach the WCAG AA contrast of 4.5:1."""
    rgb = [int(hex6[i:i + 2], 16) for i in (0, 2, 4)]
    factor = 1.0
    while 1.05 / (_luminance([round(c * factor) for c in rgb]) + 0.05) < minimum and factor > 0:
        factor -= 0.02
    return "".join(f"{round(c * max(factor, 0)):02x}" for c in rgb)


@widget.route("/widget", methods=["GET", "POST"], endpoint="widget")
def widget_view():
    g.frameable = True
    options = WidgetOptions.from_args(request.args)
    g.lang = options.lang
    data = current_app.extensions["locator"]

    def empty_form_context():
        return {"options": options, "v": None, "q": "", "departements": data.departements,
                "form_action": url_for("widget.widget", **options.query_args()),
                "full_page": url_for("pages.index", **({"lang": options.lang} if options.lang != "fr" else {}))}

    if request.method != "POST":  # the empty form: the same page for the same options
        return constant_page((options,), lambda: render_template("widget.html", widget=True, **empty_form_context()))
    context = empty_form_context()
    form = request.form
    result = params.lookup(data.locator, q=form.get("q"), lon=form.get("lon"), lat=form.get("lat"),
                           departement=options.departement)
    context["v"] = build_view(result, options.lang)
    context["q"] = result.query if isinstance(result.query, str) else ""
    status = result.http_status
    template = "_result.html" if wants_fragment() else "widget.html"
    response = make_response(render_template(template, widget=True, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@widget.get("/widget/theme.css")
def theme():
    colour = accessible_colour(parse_colour(request.args.get("colour")))
    css = f":root {{ --accent: #{colour}; --on-accent: #ffffff; }}\n"
    response = make_response(css)
    response.mimetype = "text/css"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@widget.get("/embed.js")
def embed_js():
    return current_app.extensions["locator_static"].send("embed.js", max_age=3600, mimetype="text/javascript")
