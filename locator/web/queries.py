"""Turn request parameters into a lookup, the same way for the API, the page and the widget.

The voter's text is checked here, at the boundary, before any geocoder sees it: empty, over
200 characters, control or binary characters, or markup characters are an ``InvalidQuery``
(HTTP 400). Addresses never contain ``<``, ``>``, braces or backslashes, so refusing them costs
no real voter anything and keeps hostile input out of every later layer.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata

from ..errors import GeocoderUnavailable, InvalidQuery, LocatorError
from ..models import LookupResult
from ..service import error_result
from .security import note_query_length

MAX_QUERY_CHARS = 200
MAX_NUMBER_CHARS = 32
_FORBIDDEN = set("<>{}[]\\|^`~$=*")
_DEPARTEMENT = re.compile(r"^(\d{2}|2A|2B|97\d)$")

#: HTTP status of each lookup status (ambiguous is an answer the voter acts on: 200).
HTTP_STATUS = {"ok": 200, "ambiguous": 200, "invalid": 400, "not_found": 404, "outside_coverage": 404}


def check_text(raw) -> str:
    """The voter's text, trimmed and with spaces collapsed, or ``InvalidQuery``."""
    raw = raw or ""
    # Tabs and line breaks come from pasted addresses: they are spaces. Other control
    # characters, U+FFFD (bytes that were not UTF-8) and markup characters are refused.
    if any(ch in _FORBIDDEN or ch == "\ufffd" or (unicodedata.category(ch)[0] == "C" and ch not in "\t\r\n")
           for ch in raw[:MAX_QUERY_CHARS * 4]):
        raise InvalidQuery("forbidden characters", public_message=(
            "La recherche contient des caractères non autorisés : saisissez seulement une adresse "
            "ou le nom d'une commune."))
    text = " ".join(raw.split())
    if not text:
        raise InvalidQuery("empty query", public_message="Saisissez une adresse ou le nom d'une commune.")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidQuery("query too long", public_message=(
            f"La recherche est trop longue ({MAX_QUERY_CHARS} caractères au plus) : "
            "saisissez seulement l'adresse ou la commune."))
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuery("no letter or digit", public_message="Saisissez une adresse ou le nom d'une commune.")
    return text


def check_departement(raw) -> str | None:
    if raw is None or raw == "":
        return None
    code = str(raw).strip().upper()
    if not _DEPARTEMENT.match(code):
        raise InvalidQuery("bad departement", public_message="Le code de département n'est pas valide (ex. 57).")
    return code


def lookup(locator, *, q=None, lon=None, lat=None, departement=None) -> LookupResult:
    """One lookup from raw request values. Invalid input gives a ``status: invalid`` result
    (HTTP 400) that does not echo the text; ``GeocoderUnavailable`` propagates (HTTP 503)."""
    note_query_length(len(q) if q is not None else len(lon or "") + len(lat or ""))
    has_point = lon is not None or lat is not None
    try:
        dep = check_departement(departement)
        if has_point and q is not None:
            raise InvalidQuery("both q and lon/lat",
                               public_message="Donnez soit une adresse (q), soit des coordonnées (lon et lat), pas les deux.")
        if has_point:
            if lon is None or lat is None:
                raise InvalidQuery("lon without lat", public_message="Donnez la longitude (lon) et la latitude (lat).")
            if len(lon) > MAX_NUMBER_CHARS or len(lat) > MAX_NUMBER_CHARS:
                raise InvalidQuery("number too long", public_message="Les coordonnées doivent être des nombres.")
            result = locator.lookup_point(lon, lat)
        else:
            result = lookup_text(locator, check_text(q))
    except InvalidQuery as err:
        return error_result(err, None)
    return restrict_to_departement(result, dep)


def lookup_text(locator, text: str) -> LookupResult:
    """An address or commune lookup through the locator's geocoder."""
    lookup_fn = getattr(locator, "lookup", None)
    if lookup_fn is None or getattr(locator, "geocoder", None) is None:
        raise GeocoderUnavailable("no geocoder configured")
    try:
        return lookup_fn(text)
    except (GeocoderUnavailable, InvalidQuery):
        raise
    except LocatorError as err:
        return error_result(err, text)


def restrict_to_departement(result: LookupResult, departement: str | None) -> LookupResult:
    """A widget limited to one département answers "outside coverage" for the others, keeping
    the commune and its mairie so the voter still knows whom to ask."""
    if departement is None or result.commune is None or result.commune.departement == departement:
        return result
    commune = result.commune
    return dataclasses.replace(
        result, status="outside_coverage", bureau=None, distance_m=None, method=None, candidates=(),
        mairie=commune.mairie_contact(),
        message=(f"{commune.nom} n'est pas dans le département {departement} couvert par ce formulaire : "
                 "renseignez-vous auprès de la mairie."))


def http_status(result: LookupResult) -> int:
    return HTTP_STATUS.get(result.status, 500)
