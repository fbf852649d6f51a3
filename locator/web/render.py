"""From a ``LookupResult`` to what the page and the widget show: sentences in the page's
language, distance, directions links, map data, candidates and the mairie to call.

Shared by the voter page and the widget so both say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import quote

from ..lookup.messages import street_address
from .i18n import format_distance, result_sentence, translate, warning_sentence

OSM_DIRECTIONS = "https://www.openstreetmap.org/directions"
OSM_ENGINES = {"walk": "fossgis_osrm_foot", "drive": "fossgis_osrm_car"}

#: Warnings that inform without casting doubt on the answer ("recognised at the commune only:
#: that is enough, one bureau serves it"): shown as a plain note. Every other warning is a real
#: doubt and keeps the "À vérifier" style, so voters do not learn to skip it.
NOTE_WARNINGS = frozenset({"geocode_precision"})
#: The bureau's published position is wrong or unchecked: no marker, no directions, no distance;
#: its address and the mairie's contact instead.
POSITION_WARNINGS = frozenset({"bureau_position_doubtful", "bureau_position_unverified"})


@dataclass
class ResultView:
    result: object
    lang: str
    status: str
    sentence: str
    sentence_lang: str
    heading: str
    #: real doubts (the "À vérifier" box) and plain notes, as (sentence, language)
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    distance: str | None = None
    directions: dict = field(default_factory=dict)
    geo_uri: str | None = None
    point: tuple[float, float] | None = None
    places: list = field(default_factory=list)
    bureau_candidates: list = field(default_factory=list)
    communes: list = field(default_factory=list)
    show_mairie: bool = False
    #: only the commune was recognised: no "your address" point, no directions from the mairie
    commune_only: bool = False
    #: the bureau is shown by its address only (no published or trusted position)
    bureau_unplaced: bool = False
    bureau_address: str | None = None
    mairie_address: str | None = None

    @property
    def bureau(self):
        return self.result.bureau

    @property
    def commune(self):
        return self.result.commune

    @property
    def geocode(self):
        return self.result.geocode

    @property
    def bureau_point(self) -> tuple[float, float] | None:
        """Where the map draws the bureau: nowhere when its position is not trusted."""
        bureau = self.bureau
        if bureau is None or not bureau.has_point or self.bureau_unplaced:
            return None
        return bureau.lon, bureau.lat

    @property
    def has_map(self) -> bool:
        return self.commune is not None and (self.point is not None or self.bureau_point is not None)


def voter_point(result) -> tuple[float, float] | None:
    """Where the voter is: the geocoded point, or the coordinates they gave."""
    if result.geocode is not None:
        return result.geocode.lon, result.geocode.lat
    query = result.query
    if isinstance(query, dict):
        try:
            lon, lat = float(query.get("lon")), float(query.get("lat"))
        except (TypeError, ValueError):
            return None
        if math.isfinite(lon) and math.isfinite(lat):
            return lon, lat
    return None


def directions_links(origin, bureau) -> dict:
    if bureau is None or not bureau.has_point:
        return {}
    dest = f"{bureau.lat:.6f},{bureau.lon:.6f}"
    start = f"{origin[1]:.6f},{origin[0]:.6f}" if origin is not None else ""
    route = quote(f"{start};{dest}", safe="")
    return {mode: f"{OSM_DIRECTIONS}?engine={engine}&route={route}" for mode, engine in OSM_ENGINES.items()}


def heading_for(result, lang: str) -> str:
    if result.status == "ok":
        key = "probable_bureau" if result.method == "nearest_in_commune" else "your_bureau"
        return translate(lang, key)
    if result.status == "ambiguous":
        return translate(lang, "candidates")
    return translate(lang, "result")


def build_view(result, lang: str) -> ResultView:
    sentence, sentence_lang = result_sentence(result, lang)
    bureau = result.bureau
    # Only the commune matched: its point is the mairie, not the voter's address. Neither drawn
    # as "your address" nor used as the start of directions or of a distance.
    commune_only = result.geocode is not None and result.geocode.type == "municipality"
    point = None if commune_only else voter_point(result)
    codes = {w.code for w in result.warnings}
    unplaced = bureau is not None and (not bureau.has_point or bool(codes & POSITION_WARNINGS))
    view = ResultView(
        result=result, lang=lang, status=result.status, sentence=sentence, sentence_lang=sentence_lang,
        heading=heading_for(result, lang),
        warnings=[warning_sentence(w, lang) for w in result.warnings if w.code not in NOTE_WARNINGS],
        notes=[warning_sentence(w, lang) for w in result.warnings if w.code in NOTE_WARNINGS],
        distance=None if commune_only or unplaced else format_distance(result.distance_m, lang),
        directions={} if unplaced else directions_links(point, bureau),
        point=point,
        commune_only=commune_only,
        bureau_unplaced=unplaced,
        bureau_address=street_address(bureau.address) if bureau is not None else None,
        mairie_address=street_address(result.commune.mairie_adresse) if result.commune is not None else None,
    )
    if bureau is not None and bureau.has_point and not unplaced:
        label = quote(bureau.name or "bureau de vote")
        view.geo_uri = f"geo:{bureau.lat:.6f},{bureau.lon:.6f}?q={bureau.lat:.6f},{bureau.lon:.6f}({label})"
    for cand in result.candidates:
        if cand.kind == "bureau":
            view.bureau_candidates.append(cand)
        elif cand.kind == "place":
            view.places.append(cand)
        elif cand.kind == "commune":
            view.communes.append((cand, commune_search_text(cand)))
    # The mairie is the fallback whenever we cannot name or place the bureau with confidence.
    view.show_mairie = result.commune is not None and (result.status != "ok" or result.method == "nearest_in_commune"
                                                       or unplaced)
    return view


def commune_search_text(candidate) -> str:
    """What picking a commune candidate searches: its name, with its postcode when it has
    one, so a name shared by several communes is not ambiguous again."""
    postcodes = candidate.codes_postaux
    return f"{candidate.nom} {postcodes[0]}" if len(postcodes) == 1 else candidate.nom
