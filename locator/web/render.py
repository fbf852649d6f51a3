"""From a ``LookupResult`` to what the page and the widget show: sentences in the page's
language, distance, directions links, map data, candidates and the mairie to call.

Shared by the voter page and the widget so both say the same thing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import quote

from .i18n import format_distance, result_sentence, translate, warning_sentence

OSM_DIRECTIONS = "https://www.openstreetmap.org/directions"
OSM_ENGINES = {"walk": "fossgis_osrm_foot", "drive": "fossgis_osrm_car"}


@dataclass
class ResultView:
    result: object
    lang: str
    status: str
    sentence: str
    sentence_lang: str
    heading: str
    warnings: list = field(default_factory=list)
    distance: str | None = None
    directions: dict = field(default_factory=dict)
    geo_uri: str | None = None
    point: tuple[float, float] | None = None
    places: list = field(default_factory=list)
    bureau_candidates: list = field(default_factory=list)
    show_mairie: bool = False

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
    def has_map(self) -> bool:
        return self.commune is not None and (self.point is not None or
                                             (self.bureau is not None and self.bureau.has_point))


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
    point = voter_point(result)
    bureau = result.bureau
    view = ResultView(
        result=result, lang=lang, status=result.status, sentence=sentence, sentence_lang=sentence_lang,
        heading=heading_for(result, lang),
        warnings=[warning_sentence(w, lang) for w in result.warnings],
        distance=format_distance(result.distance_m, lang),
        directions=directions_links(point, bureau),
        point=point,
    )
    if bureau is not None and bureau.has_point:
        label = quote(bureau.name or "bureau de vote")
        view.geo_uri = f"geo:{bureau.lat:.6f},{bureau.lon:.6f}?q={bureau.lat:.6f},{bureau.lon:.6f}({label})"
    for cand in result.candidates:
        if cand.kind == "bureau":
            view.bureau_candidates.append(cand)
        elif cand.kind == "place":
            view.places.append(cand)
    # The mairie is the fallback whenever we cannot name the bureau with confidence.
    view.show_mairie = result.commune is not None and (result.status != "ok" or result.method == "nearest_in_commune")
    return view
