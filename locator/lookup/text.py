"""Text → ``LookupResult``: the one address pipeline, as a list of small named steps.

Never confidently wrong. Each step reads and fills one ``Query`` and either returns a final
result or ``None`` to go on (the shape of addok's processors)::

    normalise        input that cannot be a query (empty, over 200 characters, only
                     punctuation) is ``invalid``; otherwise normalised once and parsed once
                     (a former commune's full name cut to the part its commune nouvelle
                     kept: "Granges-sur-Vologne" → Granges-Aumontzey).
    search           the geocoder's answers (former INSEE codes mapped to today's, once).
    judge            an answer is *accepted* only when the text backs it (``evidence``): the
                     text names its commune (a name, an alias, a former name, or a postcode of
                     that commune alone) and, for a street or a house number, the street typed
                     and the street found agree.
    fall_back        nothing accepted: the commune the text names (searched again in it alone),
                     else ``ambiguous`` (the street agrees but no commune is named; a postcode
                     shared by several communes), else ``not_found``.
    refuse_head_alone  a former name read by its head ("Granges-sur-Vologne" → Granges) is ok
                     only with a street found there or one of the commune's postcodes.
    refuse_homonyms  the text names the answer's commune by a name several communes share
                     ("Châtenois": 67073 and 88095): ok only when something in the text decides
                     (a postcode, the département's name or "(NN)", a street found in only one
                     of them); else ``ambiguous`` with one candidate per commune, labelled with
                     its département.
    refuse_rivals    accepted answers within ``TIE_MARGIN`` that lead to another commune or
                     bureau: ``ambiguous`` with the places.
    locate           the best answer is projected and located once; its ``citycode`` must agree
                     with the commune polygon (within ``boundary_margin_m`` of the geocoder's
                     commune, its citycode wins with a warning; farther, the polygon wins).
    gate_precision   a street-, locality- or municipality-level match in a commune served by
                     several bureaux is ``ambiguous`` with that commune's bureaux and a request
                     for the house number; with a single bureau the commune is enough.

Then ``Locator.answer``, the tail shared with point lookups, so a text lookup has the same
JSON as a point lookup, with ``geocode`` filled. ``GeocoderUnavailable`` propagates (the web
layer answers 503).
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from functools import cached_property

import shapely

from ..communes import NO_COMMUNE
from ..errors import GeocoderUnavailable, InvalidQuery
from ..geocoding.evidence import (
    Gazetteer,
    QueryParts,
    label_city,
    match_names,
    parse_query,
    street_words,
    streets_agree,
)
from ..geocoding.normalize import fold, normalize_query, without_article
from ..models import GeocodedPoint
from ..projection import to_lonlat, to_metric
from .messages import PRECISION_FR, say
from .outcome import (
    CommuneCandidate,
    LookupResult,
    PlaceCandidate,
    ResultWarning,
    Status,
    error_result,
    warning,
)

#: Matches scoring under this are noise (addok's own floor is 0.1); the evidence checks do
#: the real filtering.
MIN_SCORE = 0.2
#: Two answers closer than this in score are equally likely.
TIE_MARGIN = 0.05
#: How many answers are asked of the geocoder (candidates shown when ambiguous).
CANDIDATES = 5

IMPRECISE = ("street", "locality", "municipality")


@dataclass
class Query:
    """One address lookup on its way through the steps."""

    text: object
    normalised: str = ""
    parts: QueryParts | None = None
    points: list[GeocodedPoint] = field(default_factory=list)
    accepted: list[GeocodedPoint] = field(default_factory=list)
    plausible: list[GeocodedPoint] = field(default_factory=list)
    here: object = None  # the best answer, located (``service.Located``)
    ci: int | None = None  # the commune answered in (None: the polygon's)
    warnings: list[ResultWarning] = field(default_factory=list)
    departements: frozenset = frozenset()  # département codes the text names ("(67)", "Bas-Rhin")
    qualified: bool = False  # a former name was read by its head ("Granges-sur-Vologne" → Granges)
    citycode: str | None = None  # every search restricted to this commune (bulk geocoding)

    @property
    def best(self) -> GeocodedPoint:
        return self.accepted[0]

    def result(self, status: Status, key: str, *, candidates=(), **fields) -> LookupResult:
        """A final result whose sentence is ``key`` about the typed text."""
        return LookupResult(status=status, query=self.text, message=say(key, text=self.text),
                            candidates=tuple(candidates), message_key=key,
                            message_params=(("text", self.text),), **fields)


@dataclass(frozen=True)
class Geocoded:
    """A bulk geocoding answer: ``point`` is the backed answer when ``status`` is ok (for an
    ambiguous text, the likeliest place, never to be taken as the answer)."""

    status: Status
    point: GeocodedPoint | None
    message_key: str | None


class TextLookup:
    """The pipeline over one ``Locator``: its gazetteer is built once, here."""

    def __init__(self, locator):
        self.locator = locator
        self.gazetteer = Gazetteer(locator.index.communes, locator.dataset.anciennes)
        self.names = locator.dataset.france_names
        self.departement_names = _folded_departement_names(self.names, self.gazetteer)
        #: the same by last word, longest first: a text is only compared with the names it ends with
        self._departements_by_last_word: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for name, code in self.departement_names.items():
            self._departements_by_last_word.setdefault(name[-1], []).append((name, code))
        self.steps = (self.normalise, self.search, self.judge, self.fall_back, self.refuse_head_alone,
                      self.refuse_homonyms,
                      self.refuse_rivals, self.locate, self.gate_precision)

    def warm(self) -> TextLookup:
        """Build now the tables the rarer steps make on first use (the communes of France
        outside the data, each commune's own point, the sorted names of prefix look-ups):
        a server calls it before forking, so that no worker stalls to build them in its
        first minutes of traffic. Answers do not change."""
        _ = self._names_elsewhere, self._commune_points, self.gazetteer.sorted_names
        return self

    def run(self, text) -> LookupResult:
        q = Query(text)
        for step in self.steps:
            result = step(q)
            if result is not None:
                return result
        return self.locator.answer(q.here, q.ci, query=q.text, geocode=q.best, warnings=q.warnings)

    def geocode(self, text, *, citycode: str | None = None) -> Geocoded:
        """The evidence steps alone (normalise … refuse_rivals), for bulk geocoding: the
        answer the text backs, or why there is none. ``citycode`` restricts every search."""
        q = Query(text, citycode=citycode)
        for step in self.steps[:self.steps.index(self.refuse_rivals) + 1]:
            result = step(q)
            if result is not None:
                return Geocoded(result.status, result.geocode if result.status == Status.AMBIGUOUS else None,
                                result.message_key)
        return Geocoded(Status.OK, q.best, None)

    # -- the steps ------------------------------------------------------------------------------
    def normalise(self, q: Query):
        try:
            q.normalised = normalize_query(q.text)  # validates first
        except InvalidQuery as err:
            return error_result(err, q.text)
        q.departements, q.normalised = self._split_departement(q.text, q.normalised)
        parsed = parse_query(q.normalised)
        q.parts = self.gazetteer.with_former_names(parsed, self._is_current_elsewhere)
        q.qualified = q.parts is not parsed
        return None

    def search(self, q: Query):
        q.points = [p for p in self._search(q.normalised, citycode=q.citycode) if p.score is None or p.score >= MIN_SCORE]
        return None

    def judge(self, q: Query):
        q.accepted, q.plausible = self._judge(q.parts, q.points)
        return None

    def fall_back(self, q: Query):
        if q.accepted:
            return None
        named = self.gazetteer.find(q.parts)
        if named:
            q.accepted = self._in_named_commune(q, named[0])
            if q.accepted:
                return None
            # a commune known by name only (no outline, no mairie point): its bureaux, no place
            commune = self.locator.index.communes[named[0]]
            return LookupResult(status=Status.AMBIGUOUS, query=q.text, commune=commune,
                                candidates=self.locator.bureau_candidates(named[0]), mairie=commune.mairie_contact(),
                                message=say("ambiguous.unplaced", commune=commune.nom),
                                message_key="ambiguous.unplaced", message_params=(("commune", commune.nom),))
        elsewhere = self._communes_elsewhere(q.parts)
        typo, partial = self.gazetteer.near(q.parts, inside=not elsewhere)
        if not typo and not partial and elsewhere:
            return self._outside(q, elsewhere)
        if len(typo) == 1 and not elsewhere:  # one commune's name with a typo ("Hagondagne")
            q.accepted = self._in_named_commune(q, typo[0])
            if q.accepted:
                return None
        if typo or partial:  # several, or names the text only begins ("Moyeuvre")
            communes = self.locator.index.communes
            return q.result(Status.AMBIGUOUS, "ambiguous.which_name",
                            candidates=[dataclasses.replace(CommuneCandidate.of(communes[ci]), nom=self._labelled(ci))
                                        if len(self.gazetteer.homonyms(q.parts, ci)) > 1 else
                                        CommuneCandidate.of(communes[ci]) for ci in (typo + partial)[:MAX_NAMES]])
        exact = self._only_house_in_postcode(q)
        if exact:
            q.accepted = exact
            return None
        # the voter who gave a postcode is asked for the commune's name, not the postcode
        which = "ambiguous.which_commune_of_postcode" if q.parts.postcodes else "ambiguous.which_commune"
        if q.plausible:
            return q.result(Status.AMBIGUOUS, which, geocode=q.plausible[0],
                            candidates=[self._place(p) for p in q.plausible])
        sharing = sorted({ci for cp in q.parts.postcodes for ci in self.gazetteer.by_postcode.get(cp, ())})
        if sharing:  # a postcode shared by several communes, and nothing else to go on
            communes = self.locator.index.communes
            return q.result(Status.AMBIGUOUS, which,
                            candidates=[CommuneCandidate.of(communes[ci]) for ci in sharing])
        return LookupResult(status=Status.NOT_FOUND, query=q.text, message=say("not_found"), message_key="not_found")

    def refuse_head_alone(self, q: Query):
        """A former name read by its head ("Granges-sur-Vologne") is a guess about the
        qualifier: ok only with a street found in that commune or one of its postcodes, else
        the commune is offered ("Condé-sur-Noireau" is not Condé-Northen by its name alone)."""
        best = q.best
        if not q.qualified or best.type not in ("municipality", "locality"):
            return None
        ci = self.locator.index.by_code.get(best.citycode) if best.citycode else None
        if ci is None or q.parts.postcodes & set(self.locator.index.communes[ci].codes_postaux):
            return None
        return q.result(Status.AMBIGUOUS, "ambiguous.which_name",
                        candidates=[CommuneCandidate.of(self.locator.index.communes[ci])])

    def refuse_homonyms(self, q: Query):
        index = self.locator.index
        ci = index.by_code.get(q.best.citycode) if q.best.citycode else None
        if ci is None:
            return None
        same = self.gazetteer.homonyms(q.parts, ci)
        if len(same) < 2:
            return None
        communes = index.communes
        for keep in (lambda cj: communes[cj].code == q.citycode,  # the caller knows the commune
                     lambda cj: bool(q.parts.postcodes & set(communes[cj].codes_postaux)),
                     lambda cj: communes[cj].departement in q.departements):
            narrowed = [cj for cj in same if keep(cj)]
            if narrowed:
                same = narrowed
        if len(same) > 1 and q.parts.has_street:
            # a street that exists in only one of them decides
            found = {cj: self._street_in(q, cj) for cj in same}
            with_street = [cj for cj in same if found[cj]]
            if len(with_street) == 1:
                same = with_street
            elif with_street:
                return q.result(Status.AMBIGUOUS, "ambiguous.homonym", geocode=found[with_street[0]][0],
                                candidates=[self._place(found[cj][0], self._labelled(cj)) for cj in with_street])
        if len(same) == 1:
            code = communes[same[0]].code
            # the decided commune's answers only: its homonyms are no rivals
            q.accepted = [p for p in q.accepted if p.citycode == code] or self._in_named_commune(q, same[0])
            if not q.accepted:
                return q.result(Status.NOT_FOUND, "not_found")
            return None
        return q.result(Status.AMBIGUOUS, "ambiguous.homonym",
                        candidates=[dataclasses.replace(CommuneCandidate.of(communes[cj]), nom=self._labelled(cj))
                                    for cj in same])

    def refuse_rivals(self, q: Query):
        rivals = self._rivals(q.accepted)
        if rivals:
            return q.result(Status.AMBIGUOUS, "ambiguous.several_places", geocode=q.best,
                            candidates=[self._place(p) for p in [q.best, *rivals]])
        return None

    def locate(self, q: Query):
        best = q.best
        if best.source == COMMUNES_SOURCE:  # our own point, already in the metric plane
            x, y = self._commune_points[best.citycode]
            q.here = self.locator.locate_metric(x, y)
        else:
            q.here = self.locator.locate(best.lon, best.lat)
        q.ci, q.warnings = self._commune_of(best, q.here)
        return None

    def gate_precision(self, q: Query):
        best = q.best
        ci = q.here.polygon_ci if q.ci is None else q.ci
        if ci == NO_COMMUNE or best.type == "housenumber":
            return None
        locator = self.locator
        commune = locator.index.communes[ci]
        serving = locator.assigner.serving[ci]
        precision = best.type if best.type in IMPRECISE else "locality"
        if len(serving) > 1:
            params = {"commune": commune.nom, "precision": PRECISION_FR[precision]}
            return LookupResult(status=Status.AMBIGUOUS, query=q.text, commune=commune, geocode=best,
                                candidates=locator.bureau_candidates(ci, q.here.x, q.here.y),
                                warnings=tuple(q.warnings), mairie=commune.mairie_contact(),
                                message=say("ambiguous.need_housenumber", **params),
                                message_key="ambiguous.need_housenumber", message_params=tuple(params.items()))
        if len(serving) == 1:
            q.warnings.append(warning("geocode_precision", commune=commune.nom,
                                       precision=PRECISION_FR[precision]))
        return None

    # -- what the steps share -------------------------------------------------------------------
    def _search(self, normalised: str, *, citycode: str | None = None) -> list[GeocodedPoint]:
        geocoder = self.locator.geocoder
        if geocoder is None:
            raise GeocoderUnavailable("no geocoder configured")
        today = self.locator.history.today
        known = self.locator.index.by_code
        out = []
        for p in geocoder.search(normalised, citycode=citycode, limit=CANDIDATES):
            # a code of the data is today's (an arrondissement is never folded into its city,
            # which the data does not have); a former one is mapped once
            code = p.citycode if p.citycode in known else today(p.citycode)
            out.append(p if code == p.citycode else dataclasses.replace(p, citycode=code))
        return out

    def _judge(self, parts: QueryParts, points: list[GeocodedPoint]) -> tuple[list, list]:
        """(answers the text backs, answers whose street agrees but whose commune is not named)."""
        gazetteer = self.gazetteer
        index = self.locator.index
        claims = gazetteer.claims(parts)
        longest = max(claims.values(), default=0)
        accepted, plausible = [], []
        for p in points:
            ci = index.by_code.get(p.citycode) if p.citycode else None
            if ci is None:
                # Not one of our communes: only usable to say "not covered", i.e. when the point
                # is outside every commune we have (else the polygon would answer unchecked), and
                # checked against the commune its label names.
                x, y = to_metric(p.lon, p.lat)
                if int(index.locate(x, y)[0]) != NO_COMMUNE:
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

    def _in_named_commune(self, q: Query, ci: int) -> list[GeocodedPoint]:
        """The text names commune ``ci`` but no answer there was backed: search in that commune
        only; failing a street that agrees, the commune itself."""
        commune = self.locator.index.communes[ci]
        points = self._search(q.normalised, citycode=commune.code)
        accepted, _ = self._judge(q.parts, points)
        if accepted:
            return accepted
        for p in points:
            if p.type == "municipality" and p.citycode == commune.code:
                return [p]
        own = self._commune_point(ci)
        return [] if own is None else [own]

    @cached_property
    def _commune_points(self) -> dict[str, tuple[float, float]]:
        """Each commune's own point (inside its polygon; its mairie when the source has no
        outline; none when it has neither), in the metric plane, made on first use."""
        index = self.locator.index
        out = {}
        for c, geom in zip(index.communes, index.geoms, strict=True):
            if geom is not None:
                p = shapely.point_on_surface(geom)
                out[c.code] = (float(p.x), float(p.y))
            elif c.has_mairie_point:
                x, y = to_metric(c.mairie_lon, c.mairie_lat)
                out[c.code] = (float(x), float(y))
        return out

    def _commune_point(self, ci: int) -> GeocodedPoint | None:
        """The commune itself as a municipality-level answer (a point inside its polygon)."""
        c = self.locator.index.communes[ci]
        xy = self._commune_points.get(c.code)
        if xy is None:
            return None
        lon, lat = to_lonlat(*xy)
        return GeocodedPoint(label=c.nom, lon=round(float(lon), 7), lat=round(float(lat), 7), type="municipality",
                             score=None, citycode=c.code, postcode=c.codes_postaux[0] if c.codes_postaux else None,
                             source=COMMUNES_SOURCE)

    def _rivals(self, points: list[GeocodedPoint]) -> list[GeocodedPoint]:
        """Answers about as likely as the best one that would lead elsewhere (commune or bureau)."""
        best = points[0]
        if best.score is None:
            return []
        close = [p for p in points[1:] if p.score is not None and best.score - p.score <= TIE_MARGIN]
        if not close:
            return []
        codes, ids = self.locator.assign_points([best.lon] + [p.lon for p in close],
                                                [best.lat] + [p.lat for p in close])
        out = []
        for p, code, bid in zip(close, codes[1:], ids[1:], strict=True):
            if p.citycode != best.citycode or code != codes[0] or (bid != ids[0] and best.type == "housenumber"):
                out.append(p)
        return out

    def _commune_of(self, point: GeocodedPoint, here) -> tuple[int | None, list[ResultWarning]]:
        """(commune to answer in, None for the polygon's; warnings) for a located answer."""
        index = self.locator.index
        margin = self.locator.settings.boundary_margin_m
        polygon_ci = here.polygon_ci
        code = point.citycode
        geo_ci = index.by_code.get(code) if code else None
        if code is None or geo_ci == polygon_ci:
            return None, []
        if geo_ci is None:
            # A commune we do not have (another département): near our edge, the address is its.
            if polygon_ci != NO_COMMUNE and (here.deep or index.distance_to_boundary(
                    here.x, here.y, polygon_ci, point=here.point) > margin):
                return None, [warning("geocoder_commune_overridden", geo=f"la commune {code}",
                                       poly=index.communes[polygon_ci].nom)]
            return None, [warning("geocoder_commune_not_covered", geo=f"la commune {code}")]
        geo = index.communes[geo_ci]
        # Deep in a commune (or deep outside all), every other commune is beyond the margin.
        distance = math.inf if here.deep else float(shapely.distance(here.point, index.geoms[geo_ci]))
        if distance <= margin:
            if polygon_ci == NO_COMMUNE:
                return geo_ci, [warning("commune_disagreement", "warning.near_coverage_edge",
                                         distance=round(distance), commune=geo.nom)]
            return geo_ci, [warning("commune_disagreement", distance=round(distance), geo=geo.nom,
                                     poly=index.communes[polygon_ci].nom)]
        if polygon_ci == NO_COMMUNE:
            return None, [warning("geocoder_commune_overridden", "warning.geocoder_commune_not_covered",
                                   geo=geo.nom)]
        return None, [warning("geocoder_commune_overridden", geo=geo.nom, poly=index.communes[polygon_ci].nom)]

    def _place(self, p: GeocodedPoint, commune_label: str | None = None) -> PlaceCandidate:
        place = PlaceCandidate.of(p, p.citycode, self.locator.commune(p.citycode))
        return place if commune_label is None else dataclasses.replace(place, commune=commune_label)

    @cached_property
    def _names_elsewhere(self) -> dict[tuple[str, ...], list]:
        """Folded names (with and without article; "Paris" for its arrondissements) → the
        communes of France outside the data that bear them (``france.names.json``)."""
        out: dict[tuple[str, ...], list] = {}
        if self.names is None:
            return out
        known = self.locator.index.by_code
        for c in self.names.communes:
            if c.code in known:
                continue
            city = _ARRONDISSEMENT.match(c.nom)
            for name in {c.nom, without_article(c.nom), city and city.group(1)} - {None}:
                out.setdefault(tuple(fold(name).split()), []).append(c)
        return out

    def _is_current_elsewhere(self, name: tuple[str, ...]) -> bool:
        """Is ``name`` (folded words) a current commune's outside the data?"""
        return name in self._names_elsewhere

    def _communes_elsewhere(self, parts: QueryParts) -> list:
        """Communes of France outside the data the text names exactly (none when it names
        one of the data)."""
        names = self._names_elsewhere
        for loc in parts.localities:
            if loc in names:
                return names[loc]
        for tail, _rest in parts.suffixes:
            if tail in names:
                return names[tail]
        return []

    def _outside(self, q: Query, communes: list) -> LookupResult:
        """"Nancy (Meurthe-et-Moselle) n'est pas couverte par ce service, qui couvre la Moselle"."""
        deps = list(dict.fromkeys(c.departement for c in communes))
        named = [self.names.departement_name(d) or d for d in deps]
        city = _ARRONDISSEMENT.match(communes[0].nom)
        commune = city.group(1) if city and len(communes) > 1 else communes[0].nom
        covered = list(self.locator.dataset.departement_names.values())
        params = {"commune": commune, "departement": ", ".join(named),
                  "covered": covered[0] if len(covered) == 1 else ", ".join(covered[:-1]) + " et " + covered[-1]}
        return LookupResult(status=Status.OUTSIDE_COVERAGE, query=q.text, message=say("outside.elsewhere", **params),
                            message_key="outside.elsewhere", message_params=tuple(params.items()))

    def _only_house_in_postcode(self, q: Query) -> list[GeocodedPoint]:
        """A postcode shared by several communes, and the street agrees in one of them only,
        at the very house number: that address ("2 Route de Grand Champ 54620")."""
        codes = q.parts.postcodes
        if not codes:
            return []
        within = [p for p in q.plausible if p.postcode in codes]
        if not within or within[0].type != "housenumber" or len({p.citycode for p in within}) != 1:
            return []
        return [p for p in within if p.type == "housenumber"]

    def _street_in(self, q: Query, ci: int) -> list[GeocodedPoint]:
        """The answers in commune ``ci`` alone whose street agrees with the text's."""
        code = self.locator.index.communes[ci].code
        accepted, _ = self._judge(q.parts, self._search(q.normalised, citycode=code))
        return [p for p in accepted if p.citycode == code and p.type in ("housenumber", "street", "locality")]

    def _labelled(self, ci: int) -> str:
        """'Châtenois (Bas-Rhin)': a commune with its département, to tell homonyms apart."""
        c = self.locator.index.communes[ci]
        dep = (self.names.departement_name(c.departement) if self.names else None) or c.departement
        return f"{c.nom} ({dep})"

    def _split_departement(self, raw, normalised: str) -> tuple[frozenset, str]:
        """The départements the text names ("(67)" in the raw text, which normalising drops;
        a département's name written after the commune, which is taken off the query)."""
        codes = {m.upper() for m in _DEP_NUMBER.findall(raw)} if isinstance(raw, str) else set()
        tokens = fold(normalised).split()
        for name, code in self._departements_by_last_word.get(tokens[-1], ()) if tokens else ():
            n = len(name)
            if len(tokens) > n and tuple(tokens[-n:]) == name and tokens[-n - 1] not in _LINK_WORDS:
                rest = _drop_last_words(normalised, n)
                if normalised[len(rest):][:1] in (" ", ","):  # "Ars-sur-Moselle" is a name
                    codes.add(code)
                    normalised = rest
                break
        return frozenset(codes), normalised


#: At most this many communes are offered for a name typed in part.
MAX_NAMES = 12
_ARRONDISSEMENT = re.compile(r"^(.+?) \d+(?:er|e) [Aa]rrondissement$")
#: Words that join a name to a département's ("Ars sur Moselle", "Pont-à-Mousson"...).
_LINK_WORDS = frozenset("sur sous en de du des la le les l d a au aux et lez les".split())
_DEP_NUMBER = re.compile(r"\(\s*(\d{2}|2[abAB]|97\d)\s*\)")


def _folded_departement_names(names, gazetteer: Gazetteer) -> dict[tuple[str, ...], str]:
    """Folded département names → code, longest first; a name that is also a commune's
    ("Paris") is left out (it names the commune)."""
    if names is None:
        return {}
    communes = set(gazetteer.by_name) | {tuple(fold(c.nom).split()) for c in names.communes}
    out = {tuple(fold(nom).split()): code for code, (nom, _tncc) in names.departements.items()}
    out = {k: v for k, v in out.items() if k and k not in communes}
    return dict(sorted(out.items(), key=lambda kv: -len(kv[0])))


def _drop_last_words(text: str, n: int) -> str:
    """``text`` without its last ``n`` words (as ``fold`` splits them), and the separators
    before them."""
    for _ in range(n):
        text = re.sub(r"[\W_]*[^\W_]+[\W_]*$", "", text)
    return text.rstrip(" ,-")


#: ``GeocodedPoint.source`` of a commune's own point (no geocoder answer was backed).
COMMUNES_SOURCE = "communes"
