"""Errors that only the web layer raises, in the same ``LocatorError`` tree as the core's.

Werkzeug's HTTP errors (unknown route, wrong method, body too large, rate limit) are turned
into ``HttpError`` by the app's single error handler, so every error response, JSON or
HTML, is rendered from one kind of object with a French public message.
"""

from __future__ import annotations

import logging
import traceback

from flask import current_app, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from ..errors import LocatorError
from .security import retry_after_seconds

log = logging.getLogger("locator.web")

#: Public messages for the HTTP errors a voter or a client can trigger.
_HTTP_MESSAGES = {
    400: ("bad_request", "La requête n'est pas valide."),
    404: ("not_found", "Cette page ou cette ressource n'existe pas."),
    405: ("method_not_allowed", "Cette méthode HTTP n'est pas acceptée ici."),
    413: ("too_large", "La requête est trop volumineuse."),
    414: ("too_large", "L'adresse de la requête est trop longue."),
    429: ("rate_limited", "Trop de recherches depuis votre connexion : patientez une minute avant de réessayer."),
    431: ("too_large", "Les en-têtes de la requête sont trop volumineux."),
}


class HttpError(LocatorError):
    """A protocol-level error (routing, method, size, rate limit) with a public message."""

    def __init__(self, http_status: int, code: str, public_message: str, *, retry_after: int | None = None):
        super().__init__(f"HTTP {http_status}", public_message=public_message)
        self.http_status = http_status
        self.code = code
        self.retry_after = retry_after

    @classmethod
    def from_werkzeug(cls, err: HTTPException, *, retry_after: int | None = None) -> HttpError:
        status = err.code or 500
        code, message = _HTTP_MESSAGES.get(status, ("error", LocatorError.public_message))
        if status == 429 and retry_after is None:
            retry_after = 60
        return cls(status, code, message, retry_after=retry_after if status == 429 else None)


class UnknownResource(LocatorError, LookupError):
    """A bureau id or commune code that is well formed but not in the loaded data."""

    http_status = 404
    code = "not_found"
    public_message = "Aucun élément ne correspond à cet identifiant dans les données du service."


class NotReady(LocatorError):
    """The service is up but cannot answer address lookups yet (or any more)."""

    http_status = 503
    code = "not_ready"
    public_message = "Le service démarre ou son moteur de recherche d'adresse est indisponible."
    retry_after = 10


# -- the app's one error handler -------------------------------------------------------------

def _wants_json() -> bool:
    path = request.path
    return path.startswith("/api/") or path in ("/healthz", "/readyz")


def handle_error(err):
    """The app's one error handler: every error becomes a ``LocatorError`` with a French public
    message, rendered as JSON for the API and as a page (or the widget's page) otherwise."""
    if isinstance(err, HTTPException):
        if err.code is not None and err.code < 400:  # routing redirects are not errors
            return err
        err = HttpError.from_werkzeug(err, retry_after=retry_after_seconds(current_app) if err.code == 429 else None)
    elif isinstance(err, UnicodeError):
        # Raw bytes that are not UTF-8 in the query string (werkzeug decodes it strictly): the
        # client's request is broken, not the service.
        code, message = _HTTP_MESSAGES[400]
        err = HttpError(400, code, message)
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
