"""What one service or one widget covers: suggestions while the voter types, a département
restriction, and the readiness probe. Rules of the core, so every shell applies the same."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import GeocoderUnavailable
from .messages import say
from .outcome import LookupResult, Status

#: Suggestions start at this many characters.
SUGGEST_MIN_CHARS = 3


@dataclass(frozen=True)
class Suggestion:
    """A place offered while the voter types (``/api/v1/autocomplete``)."""

    label: str
    lon: float
    lat: float
    type: str
    citycode: str | None
    postcode: str | None
    score: float | None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def suggest(locator, text: str, *, limit: int, departement: str | None = None) -> list[Suggestion]:
    """Places the geocoder knows for ``text`` that this service can answer for (a commune of
    the data, and of ``departement`` when given), best first.

    Raises
    ------
    GeocoderUnavailable
        no geocoder, or every configured geocoder failed.
    """
    if len(text) < SUGGEST_MIN_CHARS:
        return []
    geocoder = locator.geocoder
    if geocoder is None:
        raise GeocoderUnavailable("no geocoder configured")
    # Ask for more when filtering by département, so the filter does not empty the list.
    points = geocoder.search(text, limit=limit * 3 if departement else limit)
    out = []
    for p in points:
        if p.citycode is not None and locator.commune(p.citycode) is None:
            continue  # a place this service cannot answer for
        if departement and not (p.citycode or "").startswith(departement):
            continue
        out.append(Suggestion(p.label, p.lon, p.lat, p.type, p.citycode, p.postcode, p.score))
        if len(out) >= limit:
            break
    return out


def restrict_to_departement(result: LookupResult, departement: str | None) -> LookupResult:
    """A widget limited to one département answers "outside coverage" for the others, keeping
    the commune and its mairie so the voter still knows whom to ask."""
    if departement is None or result.commune is None or result.commune.departement == departement:
        return result
    commune = result.commune
    params = {"commune": commune.nom, "departement": departement}
    return dataclasses.replace(
        result, status=Status.OUTSIDE_COVERAGE, bureau=None, distance_m=None, method=None, candidates=(),
        mairie=commune.mairie_contact(), message=say("outside.departement", **params),
        message_key="outside.departement", message_params=tuple(params.items()))


def probe(locator) -> None:
    """Can this locator answer an address now? ``GeocoderUnavailable`` says why not."""
    geocoder = locator.geocoder
    if geocoder is None:
        raise GeocoderUnavailable("no geocoder configured")
    geocoder.search(locator.communes[0].nom, limit=1)
