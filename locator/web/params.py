"""HTTP request values → core arguments: the voter's text and numbers checked before anything
else sees them. Views call ``lookup``; the rules of an answer are the core's.

Refusing markup and control characters here answers hostile input plainly, never echoes it to
the voter and keeps it out of every later layer.
"""

from __future__ import annotations

import unicodedata

from ..data.departements import check_departement
from ..errors import InvalidQuery
from ..lookup.outcome import LookupResult, error_result
from ..lookup.scope import restrict_to_departement
from .security import note_query_length

__all__ = ["answer", "check_departement", "check_text", "lookup", "query_length"]

MAX_QUERY_CHARS = 200
MAX_NUMBER_CHARS = 32
_FORBIDDEN = set("<>{}[]\\|^`~$=*")
#: Refused whatever the text: markup characters and U+FFFD (bytes that were not UTF-8).
_REFUSED_PRINTABLE = frozenset(_FORBIDDEN | {"\ufffd"})


def check_text(raw) -> str:
    """The voter's text, trimmed and with spaces collapsed, or ``InvalidQuery``."""
    raw = raw or ""
    # Tabs and line breaks come from pasted addresses: they are spaces. Other control
    # characters, U+FFFD (bytes that were not UTF-8) and markup characters are refused.
    if _refused(raw[:MAX_QUERY_CHARS * 4]):
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


def _refused(text: str) -> bool:
    """Does ``text`` hold a character ``check_text`` refuses?"""
    if text.isprintable():  # no character of Unicode's "Other" categories: only the set to check
        return not _REFUSED_PRINTABLE.isdisjoint(text)
    return any(ch in _REFUSED_PRINTABLE or (unicodedata.category(ch)[0] == "C" and ch not in "\t\r\n")
               for ch in text)


def lookup(locator, *, q=None, lon=None, lat=None, departement=None) -> LookupResult:
    """``answer``, its query length noted for the access log (a Flask request's)."""
    note_query_length(query_length(q, lon, lat))
    return answer(locator, q=q, lon=lon, lat=lat, departement=departement)


def query_length(q=None, lon=None, lat=None) -> int:
    """What the access log says of a lookup's query: its length, never its text."""
    return len(q) if q is not None else len(lon or "") + len(lat or "")


def answer(locator, *, q=None, lon=None, lat=None, departement=None) -> LookupResult:
    """One lookup from raw request values. Invalid input gives a ``status: invalid`` result
    (HTTP 400) that does not echo the text; ``GeocoderUnavailable`` propagates (HTTP 503)."""
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
            result = locator.lookup(check_text(q))
    except InvalidQuery as err:
        return error_result(err, None)
    return restrict_to_departement(result, dep)
