"""Text → ``LookupResult``: geocode, check the evidence and the commune, gate on precision.

Never confidently wrong:

1. Input that cannot be a query (empty, over 200 characters, only punctuation) is ``invalid``.
2. An answer of the geocoder is only *accepted* when the text backs it
   (``geocoding.evidence``): the text names its commune (a name, an alias, a former name,
   or a postcode of that commune alone) and, for a street or a house number, the street typed
   and the street found agree. When nothing is accepted but the text names a commune, the
   answer is that commune (the street was not found). When only the street agrees, the
   answer is ``ambiguous`` with the places found and a request for the commune. Otherwise
   ``not_found``.
3. When accepted answers score within ``TIE_MARGIN`` and would give a different commune or
   bureau, the result is ``ambiguous`` with the places as candidates.
4. The geocoder's ``citycode`` (former codes mapped to today's) must agree with the commune
   polygon containing the point. The polygons are simplified, so within
   ``Settings.boundary_margin_m`` of the geocoder's commune its citycode wins, with a warning;
   farther away the polygon wins, and the result says so.
5. Precision gating: a street-, locality- or municipality-level match in a commune served by
   several bureaux gives ``ambiguous`` with that commune's bureaux and a request for the house
   number, never a guess. With a single bureau, the commune is enough: ``ok``, said plainly.
6. Everything else is the point engine (``Locator.lookup_point``), so a text lookup has the
   same JSON as a point lookup, with ``geocode`` filled.

``GeocoderUnavailable`` propagates (the web layer answers 503).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from weakref import WeakKeyDictionary

import shapely

from . import messages
from .communes import NO_COMMUNE
from .errors import AddressNotFound, InvalidQuery
from .geocoding.anciennes import CodeHistory, load_anciennes
from .geocoding.chain import GeocoderChain
from .geocoding.evidence import (
    gazetteer_for,
    label_city,
    match_names,
    parse_query,
    street_words,
    streets_agree,
)
from .geocoding.normalize import normalize_query
from .models import GeocodedPoint, LookupResult, ResultWarning
from .projection import to_lonlat, to_metric

#: Matches scoring under this are noise (addok's own floor is 0.1); the evidence checks do
#: the real filtering.
MIN_SCORE = 0.2
#: Two answers closer than this in score are equally likely.
TIE_MARGIN = 0.05
#: How many answers are asked of the geocoder (candidates shown when ambiguous).
CANDIDATES = 5

IMPRECISE = ("street", "locality", "municipality")
_PRECISION_FR = {"street": "de la rue", "locality": "du lieu-dit", "municipality": "de la commune"}


# -- sentences ----------------------------------------------------------------------------------

def _msg_not_found() -> str:
    return AddressNotFound.public_message


def _msg_which_commune(text: str) -> str:
    return (f"Nous ne savons pas dans quelle commune se trouve « {text} » : ajoutez le nom de la commune "
            "ou le code postal, ou choisissez dans la liste.")


def _msg_several_places(text: str) -> str:
    return (f"Plusieurs lieux correspondent à « {text} » : précisez la commune ou le code postal, "
            "ou choisissez dans la liste.")


def _msg_need_housenumber(commune, precision: str) -> str:
    return (f"Plusieurs bureaux de vote servent {commune.nom} et seule la position {_PRECISION_FR[precision]} "
            "a été trouvée : indiquez le numéro dans la rue pour connaître votre bureau, "
            "ou consultez la liste ci-dessous et votre carte électorale.")


def _msg_precision_enough(commune, precision: str) -> str:
    return (f"Adresse reconnue au niveau {_PRECISION_FR[precision]} seulement : cela suffit, "
            f"un seul bureau de vote sert {commune.nom}.")


def _msg_citycode_within_margin(geo_commune, poly_commune, distance_m: float) -> str:
    return (f"Le géocodage place cette adresse à {geo_commune.nom}, à environ {round(distance_m)} m de la limite "
            f"avec {poly_commune.nom} : nous retenons {geo_commune.nom}, vérifiez votre commune.")


def _msg_polygon_wins(geo_name: str, poly_commune) -> str:
    return (f"Le géocodage indique {geo_name}, mais ce point est à l'intérieur de {poly_commune.nom} : "
            f"nous retenons {poly_commune.nom} (limites officielles), vérifiez votre adresse.")


def _msg_outside_but_geocoder_commune(geo_name: str) -> str:
    return (f"Le géocodage indique {geo_name}, mais ce point est hors des communes couvertes : "
            "vérifiez votre adresse.")


# -- the lookup ---------------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _anciennes_in(data_dir: str) -> tuple:
    return tuple(load_anciennes(data_dir))


class _Context:
    """What an address lookup needs of a locator beyond the locator itself, built once per
    locator (not per query): its former communes, code history and gazetteer."""

    __slots__ = ("anciennes", "history", "gazetteer", "__weakref__")

    def __init__(self, locator):
        self.anciennes = _anciennes_in(str(Path(locator.settings.data_dir).resolve()))
        self.history = CodeHistory(list(self.anciennes))
        self.gazetteer = gazetteer_for(locator.index, self.anciennes)


_contexts: WeakKeyDictionary = WeakKeyDictionary()


def _context(locator) -> _Context:
    ctx = _contexts.get(locator)
    if ctx is None:
        ctx = _contexts[locator] = _Context(locator)
    return ctx


def _anciennes(locator) -> tuple:
    return _context(locator).anciennes


def code_history(locator) -> CodeHistory:
    """Former INSEE codes → today's, from the locator's data folder."""
    return _context(locator).history


def lookup_text(locator, text) -> LookupResult:
    """The voter's commune and bureau for an address or a commune name.

    Raises
    ------
    GeocoderUnavailable
        every configured geocoder failed.
    """
    query = text
    try:
        normalised = normalize_query(text)  # validates first
    except InvalidQuery as err:
        return _error(err, query)
    if locator.geocoder is None:
        from .geocoding import attach_default_geocoder

        attach_default_geocoder(locator, eager=False)
    geocoder = locator.geocoder
    if isinstance(geocoder, GeocoderChain):  # what the chain would make of the text anyway
        found = geocoder.search_normalised(normalised, limit=CANDIDATES)
    else:
        found = geocoder.search(text, limit=CANDIDATES)
    points = [p for p in found if p.score is None or p.score >= MIN_SCORE]
    parts = parse_query(normalised)
    ctx = _context(locator)
    gazetteer = ctx.gazetteer
    accepted, plausible = _judge(locator, ctx, parts, points)
    if not accepted:
        named = gazetteer.find(parts)
        if named:
            accepted = _in_named_commune(locator, ctx, parts, text, named[0])
        elif plausible:
            cands = tuple(_place_candidate(locator, p) for p in plausible)
            return LookupResult(status="ambiguous", query=query, geocode=plausible[0], candidates=cands,
                                message=_msg_which_commune(text))
        elif sharing := sorted({ci for cp in parts.postcodes for ci in gazetteer.by_postcode.get(cp, ())}):
            # a postcode shared by several communes, and nothing else to go on
            cands = tuple(_commune_candidate(locator, ci) for ci in sharing)
            return LookupResult(status="ambiguous", query=query, candidates=cands, message=_msg_which_commune(text))
        else:
            return LookupResult(status="not_found", query=query, message=_msg_not_found())
    best = accepted[0]

    rivals = _rivals(locator, accepted)
    if rivals:
        cands = tuple(_place_candidate(locator, p) for p in [best, *rivals])
        return LookupResult(status="ambiguous", query=query, geocode=best, candidates=cands,
                            message=_msg_several_places(text))

    x, y = (float(v) for v in to_metric(best.lon, best.lat))
    polygon_ci, here = locator.index.locate_point(x, y, locator.settings.boundary_margin_m)
    ci, warnings = _commune_of(locator, ctx, best, x, y, here, polygon_ci)
    if ci == NO_COMMUNE:
        return locator.lookup_point(best.lon, best.lat, query=query, geocode=best, extra_warnings=warnings)

    commune = locator.index.communes[ci]
    serving = locator.assigner.serving[ci]
    if best.type != "housenumber":
        precision = best.type if best.type in IMPRECISE else "locality"
        if len(serving) > 1:
            cands = tuple(locator.bureau_candidate(b, x, y) for b in serving)
            cands = tuple(sorted(cands, key=lambda c: (c["distance_m"] is None, c["distance_m"] or 0.0)))
            return LookupResult(status="ambiguous", query=query, commune=commune, geocode=best, candidates=cands,
                                warnings=tuple(warnings), mairie=commune.mairie_contact(),
                                message=_msg_need_housenumber(commune, precision))
        if len(serving) == 1:
            warnings.append(ResultWarning("geocode_precision", _msg_precision_enough(commune, precision)))

    if ci == polygon_ci:
        return _answer_in_polygon(locator, ci, x, y, here, query=query, geocode=best, warnings=warnings)
    return locator.answer_in_commune(ci, x, y, query=query, geocode=best, warnings=warnings, point=here)


def _answer_in_polygon(locator, ci: int, x: float, y: float, here, *, query, geocode: GeocodedPoint,
                       warnings: list[ResultWarning]) -> LookupResult:
    """``locator.lookup_point(geocode.lon, geocode.lat, ...)`` for a point already projected
    and located in commune ``ci`` (``CommuneIndex.locate_point``): the same answer, without
    projecting and locating the point a second time. ``tests/geocoding/test_address_lookup.py``
    checks that both agree."""
    if geocode.type != "municipality" and here is not None:  # None: deep in its commune
        warnings = [*warnings, *locator._boundary_warnings(ci, x, y, point=here)]
    return locator.answer_in_commune(ci, x, y, query=query, geocode=geocode, warnings=warnings, point=here)


def _judge(locator, ctx: _Context, parts, points: list[GeocodedPoint]) -> tuple[list[GeocodedPoint], list[GeocodedPoint]]:
    """(answers the text backs, answers whose street agrees but whose commune is not named)."""
    history = ctx.history
    gazetteer = ctx.gazetteer
    by_code = locator.index.by_code
    claims = gazetteer.claims(parts)
    longest = max(claims.values(), default=0)
    accepted, plausible = [], []
    for p in points:
        ci = by_code.get(history.today(p.citycode)) if p.citycode else None
        if ci is None:
            # Not one of our communes: only usable to say "not covered", i.e. when the point
            # is outside every commune we have (else the polygon would answer unchecked), and
            # checked against the commune its label names.
            x, y = to_metric(p.lon, p.lat)
            if int(locator.index.locate(x, y)[0]) != NO_COMMUNE:
                continue
            names = {label_city(p.label, p.postcode)} - {()}
            length, rest = match_names(parts, names, unique_postcode=lambda cp, p=p: cp == p.postcode)
        else:
            names = gazetteer.names[ci]
            length, rest = gazetteer.names_commune(parts, ci)
            if claims and claims.get(ci, 0) < longest:
                length = 0  # the text names another commune exactly: "Betting" is not "Zetting"
        named = length > 0 and length >= longest
        if p.type == "municipality":
            if named:
                accepted.append(p)
            continue
        found = street_words(p.label, postcode=p.postcode, commune_names_folded=names)
        typed = rest if rest is not None else parts.street_tokens
        if streets_agree(typed, found):
            (accepted if named else plausible).append(p)
    return accepted, plausible


def _in_named_commune(locator, ctx: _Context, parts, text: str, ci: int) -> list[GeocodedPoint]:
    """The text names commune ``ci`` but no answer there was backed: search in that commune
    only; failing a street that agrees, the commune itself."""
    commune = locator.index.communes[ci]
    points = locator.geocoder.search(text, citycode=commune.code, limit=CANDIDATES)
    accepted, _ = _judge(locator, ctx, parts, points)
    if accepted:
        return accepted
    history = ctx.history
    for p in points:
        if p.type == "municipality" and history.today(p.citycode) == commune.code:
            return [p]
    return [_commune_point(locator, ci)]


def _commune_point(locator, ci: int) -> GeocodedPoint:
    """The commune itself as a municipality-level answer (a point inside its polygon)."""
    c = locator.index.communes[ci]
    p = shapely.point_on_surface(locator.index.geoms[ci])
    lon, lat = to_lonlat(p.x, p.y)
    return GeocodedPoint(label=c.nom, lon=round(float(lon), 7), lat=round(float(lat), 7), type="municipality",
                         score=None, citycode=c.code, postcode=c.codes_postaux[0] if c.codes_postaux else None,
                         source="communes")


def _error(err, query) -> LookupResult:
    return LookupResult(status=err.code, query=query, message=err.public_message)


def _rivals(locator, points: list[GeocodedPoint]) -> list[GeocodedPoint]:
    """Answers about as likely as the best one that would lead elsewhere (commune or bureau)."""
    best = points[0]
    if best.score is None:
        return []
    close = [p for p in points[1:] if p.score is not None and best.score - p.score <= TIE_MARGIN]
    if not close:
        return []
    lons = [best.lon] + [p.lon for p in close]
    lats = [best.lat] + [p.lat for p in close]
    codes, ids = locator.assign_points(lons, lats)
    history = code_history(locator)
    out = []
    for p, code, bid in zip(close, codes[1:], ids[1:], strict=True):
        other_city = history.today(p.citycode) != history.today(best.citycode)
        if other_city or code != codes[0] or (bid != ids[0] and best.type == "housenumber"):
            out.append(p)
    return out


def _commune_of(locator, ctx: _Context, point: GeocodedPoint, x: float, y: float,
                here, polygon_ci: int) -> tuple[int, list[ResultWarning]]:
    """(commune to answer in, warnings), given the commune whose polygon contains the point
    and ``here`` from ``CommuneIndex.locate_point`` (``None``: no commune boundary within
    the margin)."""
    index = locator.index
    margin = locator.settings.boundary_margin_m
    code = ctx.history.today(point.citycode)
    geo_ci = index.by_code.get(code) if code else None
    if code is None or geo_ci == polygon_ci:
        return polygon_ci, []
    if geo_ci is None:
        # A commune we do not have (another département): near our edge, the address is its.
        if polygon_ci != NO_COMMUNE and (here is None
                                         or index.distance_to_boundary(x, y, polygon_ci, point=here) > margin):
            poly = index.communes[polygon_ci]
            return polygon_ci, [ResultWarning("geocoder_commune_overridden",
                                              _msg_polygon_wins(f"la commune {code}", poly))]
        return NO_COMMUNE, [ResultWarning("geocoder_commune_not_covered",
                                          _msg_outside_but_geocoder_commune(f"la commune {code}"))]
    geo = index.communes[geo_ci]
    # Deep in a commune (or deep outside all), every other commune is beyond the margin.
    distance = math.inf if here is None else float(shapely.distance(here, index.geoms[geo_ci]))
    if distance <= margin:
        if polygon_ci == NO_COMMUNE:
            return geo_ci, [ResultWarning("commune_disagreement", messages.near_edge(geo, distance))]
        poly = index.communes[polygon_ci]
        return geo_ci, [ResultWarning("commune_disagreement",
                                      _msg_citycode_within_margin(geo, poly, distance))]
    if polygon_ci == NO_COMMUNE:
        return NO_COMMUNE, [ResultWarning("geocoder_commune_overridden",
                                          _msg_outside_but_geocoder_commune(geo.nom))]
    return polygon_ci, [ResultWarning("geocoder_commune_overridden",
                                      _msg_polygon_wins(geo.nom, index.communes[polygon_ci]))]


def _commune_candidate(locator, ci: int) -> dict:
    c = locator.index.communes[ci]
    return {"kind": "commune", "code": c.code, "nom": c.nom, "codes_postaux": list(c.codes_postaux)}


def _place_candidate(locator, p: GeocodedPoint) -> dict:
    code = code_history(locator).today(p.citycode)
    commune = locator.commune(code) if code else None
    return {"kind": "place", "label": p.label, "type": p.type, "score": p.score, "lon": p.lon, "lat": p.lat,
            "citycode": code, "commune": None if commune is None else commune.nom}
