"""One exception root for the whole locator.

Every error carries the HTTP status it means and a public French message that is safe to
show a voter (no path, no traceback). The Flask layer has a single handler for
``LocatorError``; the CLI maps ``DataError`` to exit code 2. Leaves also subclass the
matching built-in so callers that only know ``ValueError``/``OSError`` still catch them
(the pattern of ``geopy.exc``).
"""

from __future__ import annotations


class LocatorError(Exception):
    """Root of every error raised on purpose by the locator."""

    http_status = 500
    code = "error"
    public_message = "Une erreur interne est survenue. Réessayez dans un instant."

    def __init__(self, message: str | None = None, *, public_message: str | None = None):
        super().__init__(message or self.public_message)
        if public_message is not None:
            self.public_message = public_message

    def to_dict(self) -> dict:
        return {"status": self.code, "message": self.public_message}


class InvalidQuery(LocatorError, ValueError):
    """The voter's input cannot be a query: empty, too long, not numbers, out of range."""

    http_status = 400
    code = "invalid"
    public_message = "La recherche n'est pas valide : saisissez une adresse ou une commune."


class GeocoderUnavailable(LocatorError, OSError):
    """Every configured geocoder failed (down, timeout, rate limit, garbage)."""

    http_status = 503
    code = "geocoder_unavailable"
    public_message = "Le service de recherche d'adresse est momentanément indisponible. Réessayez dans une minute."
    retry_after = 30


class DataError(LocatorError, ValueError):
    """A data file is unusable. The message names the file and the record."""

    http_status = 500
    code = "data_error"
    public_message = "Les données du service sont invalides ; l'équipe a été prévenue."

    def __init__(self, message: str, *, path: str | None = None, record: str | None = None):
        where = ", ".join(part for part in (path, f"record {record}" if record is not None else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.record = record
        self.detail = message
