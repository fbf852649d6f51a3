"""``--regeocode``: geocode each bureau's declared address (and the mairie addresses the
references need) through the project geocoder, rate-limited, with a progress bar.

With a data folder (``locator validate --regeocode``), every address goes through the
lookups' own evidence steps (``evidence_lookup``: ``TextLookup.geocode``, one code path): an
answer is kept only when the text backs it, so the mairie or bureau of a commune whose name
is shared (Châtenois 67073 and 88095) is never placed in its namesake of another
département; the commune's postcode or département is in the text sent, as a voter would
write it. Without one, ``geocoder`` is any object with ``search(text, *, citycode=None,
postcode=None, limit=5)`` returning ``GeocodedPoint``s (a fake in tests) and its first answer
is taken. Identical queries (bureaux sharing a building) are sent once.
"""

from __future__ import annotations

import logging
import re
import sys
from dataclasses import dataclass, field

from tqdm import tqdm

from ..errors import GeocoderUnavailable, LocatorError
from ..lookup.text import COMMUNES_SOURCE
from ..models import Bureau, Commune, GeocodedPoint
from ..pacing import Pacer

log = logging.getLogger(__name__)

#: Default pace. The national address API allows 50 requests/s per IP; a tenth of that
#: keeps a one-off validation polite. The embedded geocoder does not need it but does not
#: suffer from it either (a few hundred bureaux take a minute at most).
DEFAULT_RATE_PER_S = 5.0


@dataclass
class RegeocodeResult:
    #: bureau index → best answer (None: not found); bureaux without address are absent.
    bureaux: dict[int, GeocodedPoint | None] = field(default_factory=dict)
    #: INSEE code → best answer for the mairie's postal address.
    mairies: dict[str, GeocodedPoint | None] = field(default_factory=dict)
    #: Why geocoding stopped early (the geocoder became unavailable), else None.
    failure: str | None = None
    queries: int = 0


def bureau_query(bureau: Bureau, commune: Commune | None) -> str:
    """The text sent for a bureau: its address, plus the commune name when the address has
    neither a postcode nor that name (a bare "rue de l'École" matches everywhere). The
    commune is not passed as a filter: a geocoder answer in another commune is a finding."""
    text = " ".join(bureau.address.split())
    if commune is not None and not re.search(r"\b\d{5}\b", text) and commune.nom.lower() not in text.lower():
        text = f"{text}, {commune.nom}"
    return text


def mairie_query(commune: Commune) -> str | None:
    if not commune.mairie_adresse:
        return None
    return " ".join(commune.mairie_adresse.replace("|", ",").split())


def evidence_lookup(dataset, geocoder, settings=None):
    """The lookups' evidence steps over ``dataset`` with ``geocoder`` (a ``TextLookup``)."""
    from ..service import Locator

    return Locator(dataset, settings=settings, geocoder=geocoder).text


def with_departement(text: str, commune: Commune | None) -> str:
    """``text`` with "(NN)", the commune's département, when it has no postcode: what decides
    between same-named communes of several départements, as in a lookup."""
    if commune is None or not commune.departement or re.search(r"\b\d{5}\b", text):
        return text
    return f"{text} ({commune.departement})"


def regeocode(geocoder, bureaux: list[Bureau], communes_by_code: dict[str, Commune], *,
              mairie_codes=(), rate_per_s: float = DEFAULT_RATE_PER_S, progress: bool = True,
              limiter: Pacer | None = None, lookup=None) -> RegeocodeResult:
    """Geocode the bureaux addresses and the mairie addresses of ``mairie_codes``.

    ``lookup`` (``evidence_lookup``): answers only what the text backs; None: the geocoder's
    first answer (tests with a fake)."""
    limiter = limiter or Pacer.per_second(rate_per_s)
    jobs: list[tuple[str, object, str, str | None]] = []  # (kind, key, text, citycode)
    for i, b in enumerate(bureaux):
        if b.address.strip():
            commune = communes_by_code.get(b.code_insee)
            text = bureau_query(b, commune)
            jobs.append(("bureau", i, with_departement(text, commune) if lookup is not None else text, None))
    for code in dict.fromkeys(mairie_codes):
        commune = communes_by_code.get(code)
        text = mairie_query(commune) if commune is not None else None
        if text:
            jobs.append(("mairie", code, text, code))
    result = RegeocodeResult()
    cache: dict[tuple[str, str | None], GeocodedPoint | None] = {}
    bar = tqdm(jobs, desc="géocodage", unit="adresse", file=sys.stderr, disable=not progress or None, leave=False)
    for kind, key, text, citycode in bar:
        qkey = (text.lower(), citycode)
        if qkey not in cache:
            limiter.wait()
            try:
                if lookup is not None:
                    found = lookup.geocode(text, citycode=citycode)
                    # the commune's own point (the street was not found) geocodes nothing
                    answers = [found.point] if found.status == "ok" and found.point is not None \
                        and found.point.source != COMMUNES_SOURCE else []
                else:
                    answers = geocoder.search(text, citycode=citycode, limit=5)
            except GeocoderUnavailable as err:
                result.failure = str(err)
                log.warning("geocoder unavailable after %d queries: %s", result.queries, err)
                break
            except LocatorError as err:  # e.g. InvalidQuery: an address the geocoder refuses
                log.info("geocoder refused %r: %s", text, err)
                answers = []
            result.queries += 1
            cache[qkey] = answers[0] if answers else None
        target = result.bureaux if kind == "bureau" else result.mairies
        target[key] = cache[qkey]
    bar.close()
    return result
