"""The framework-free core: ``Locator`` answers point (and, with a geocoder, address) queries.

Data is loaded once and never mutated; reloading builds a new ``Locator``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import messages
from .assign import METHOD_NAMES, NO_BUREAU, Assigner
from .communes import NO_COMMUNE, NO_OUTLINE_RADIUS_M, CommuneIndex
from .config import Settings
from .data.loader import communes_paths, load_areas, load_bureaux, load_communes
from .errors import DataError, InvalidQuery, LocatorError
from .models import Bureau, LookupResult, ResultWarning
from .projection import to_metric


class Locator:
    """Point → commune → bureau over one set of data files.

    >>> loc = Locator.from_data_dir("data")          # doctest: +SKIP
    >>> loc.lookup_point(6.1757, 49.1196).to_dict()["bureau"]["id"]  # doctest: +SKIP
    """

    def __init__(self, communes, commune_geoms, bureaux, *, area_bureau_ids=(), area_geoms=(),
                 settings: Settings | None = None, geocoder=None):
        self.settings = settings or Settings()
        self.index = CommuneIndex(communes, commune_geoms)
        self.bureaux: list[Bureau] = list(bureaux)
        self.assigner = Assigner(self.bureaux, [c.code for c in communes], area_bureau_ids, area_geoms)
        self.geocoder = geocoder

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_data_dir(cls, path: Path | str | None = None, *, settings: Settings | None = None, geocoder=None):
        """Load ``communes/*.geojson``, ``bureaux.geojson`` and the optional
        ``bureaux_areas.geojson`` from a folder, strictly.

        Raises
        ------
        DataError
            naming the file and record of the first bad record (nothing is half-loaded).
        """
        settings = settings or Settings.from_env()
        data_dir = Path(path) if path is not None else Path(settings.data_dir)
        if not data_dir.is_dir():
            raise DataError("data folder not found", path=str(data_dir))
        communes = load_communes(communes_paths(data_dir), strict=True)
        known = {c.code for c in communes.communes}
        bureaux_path = data_dir / "bureaux.geojson"
        if not bureaux_path.is_file():
            raise DataError("bureaux.geojson is missing", path=str(bureaux_path))
        bureaux = load_bureaux(bureaux_path, known, strict=True)
        areas_path = data_dir / "bureaux_areas.geojson"
        areas = None
        if areas_path.is_file():
            areas = load_areas(areas_path, {b.id for b in bureaux.bureaux}, strict=True)
        return cls(communes.communes, communes.geometries, bureaux.bureaux,
                   area_bureau_ids=areas.bureau_ids if areas else (),
                   area_geoms=areas.geometries if areas else (),
                   settings=settings.replace(data_dir=data_dir), geocoder=geocoder)

    def warm(self) -> Locator:
        """Build now what makes one-point lookups cheaper, instead of never: the commune
        cell grid with its cells far from every boundary, and the neighbour blocks (about
        0.9 s and 36 MB for the Moselle). Idempotent and thread-safe; a web app calls it once
        at start-up, before forking its workers so that they share the memory. Answers are
        the same with or without it; a single lookup never builds it (the command line
        starts fast)."""
        self.index.warm(self.settings.boundary_margin_m)
        return self

    @property
    def communes(self):
        return self.index.communes

    def commune(self, code: str):
        i = self.index.by_code.get(code)
        return None if i is None else self.index.communes[i]

    def bureau(self, bureau_id: str):
        i = self.assigner.by_id.get(bureau_id)
        return None if i is None else self.bureaux[i]

    def bureaux_serving(self, code: str) -> list[Bureau]:
        i = self.index.by_code.get(code)
        return [] if i is None else [self.bureaux[b] for b in self.assigner.serving[i]]

    # -- vectorised ----------------------------------------------------------------------------
    def assign_points(self, lons, lats) -> tuple[np.ndarray, np.ndarray]:
        """Commune codes and bureau ids for arrays of lon/lat (``None`` where none).

        Vectorised: one projection, one tree query, array look-ups; no Python loop per point.
        Points in a multi-bureau commune without official areas get the nearest of that
        commune's bureaux.
        """
        lons = np.asarray(lons, dtype=float)
        lats = np.asarray(lats, dtype=float)
        if lons.shape != lats.shape:
            raise InvalidQuery("lons and lats must have the same length")
        x, y = to_metric(lons, lats)  # each territory in its own projection
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        cidx = self.index.locate(x, y)
        bidx, _ = self.assigner.assign(x, y, cidx)
        codes = np.where(cidx == NO_COMMUNE, None, self.index.codes[np.maximum(cidx, 0)])
        ids = np.where(bidx < 0, None, self.assigner.ids[np.maximum(bidx, 0)] if len(self.bureaux) else None)
        return codes, ids

    # -- one point -----------------------------------------------------------------------------
    def lookup_point(self, lon, lat, *, query=None, geocode=None, extra_warnings=()) -> LookupResult:
        """The voter's commune and bureau for one point. Never raises for bad input: an
        invalid point gives ``status: invalid``."""
        query = query if query is not None else {"lon": lon, "lat": lat}
        try:
            lon, lat = parse_lonlat(lon, lat)
        except LocatorError as err:
            return error_result(err, query)
        x, y = to_metric(lon, lat)
        margin = self.settings.boundary_margin_m
        # point None: no boundary within the margin, no GEOS test left (bureau areas make their own)
        ci, point = self.index.locate_point(x, y, margin)
        deep = point is None
        warnings = list(extra_warnings)

        if ci == NO_COMMUNE:
            hole = self.index.without_outline_near(x, y, NO_OUTLINE_RADIUS_M)
            if hole is not None:  # most likely in the hole a commune without a polygon leaves
                warnings.append(ResultWarning("commune_outline_unknown",
                                              messages.outline_unknown(self.index.communes[hole[0]], hole[1])))
                return self.answer_in_commune(hole[0], x, y, query=query, geocode=geocode, warnings=warnings)
            near = None if deep else self.index.nearest(x, y, margin, point=point)
            if near is not None:
                c = self.index.communes[near[0]]
                warnings.append(ResultWarning("near_commune_boundary", messages.near_boundary(c, near[1])))
            return LookupResult(status="outside_coverage", query=query, geocode=geocode, warnings=tuple(warnings),
                                message=messages.outside_all_communes())

        # A municipality-level geocode is the commune's reference point, not the voter's
        # place: how close it is to a boundary says nothing about the voter.
        if not deep and (geocode is None or geocode.type != "municipality"):
            warnings += self._boundary_warnings(ci, x, y, point=point)
        return self.answer_in_commune(ci, x, y, query=query, geocode=geocode, warnings=warnings, point=point)

    def _boundary_warnings(self, ci: int, x: float, y: float, *, point=None) -> list[ResultWarning]:
        margin = self.settings.boundary_margin_m
        neighbours = self.index.neighbours_within(x, y, ci, margin, point=point)
        if neighbours:
            j, d = neighbours[0]
            return [ResultWarning("near_commune_boundary", messages.near_boundary(self.index.communes[j], d))]
        edge = self.index.distance_to_boundary(x, y, ci, point=point)
        if edge < margin:
            return [ResultWarning("near_coverage_edge", messages.near_edge(self.index.communes[ci], edge))]
        return []

    def answer_in_commune(self, ci: int, x: float, y: float, *, query, geocode=None, warnings=(),
                          point=None) -> LookupResult:
        """The assignment for a metric-plane point attributed to commune index ``ci`` (by its
        polygon, or by the geocoder's citycode when the simplified polygon is a few metres off):
        the strategies of ``locator.assign``, in that commune only."""
        commune = self.index.communes[ci]
        warnings = list(warnings)
        if not self.index.has_outline[ci] and not any(w.code == "commune_outline_unknown" for w in warnings):
            warnings.append(ResultWarning("commune_outline_unknown", messages.outline_unknown(commune)))
        bi, method = self.assigner.assign_one(float(x), float(y), ci, point=point)
        method_name = METHOD_NAMES[method]
        if bi == NO_BUREAU:
            serving = self.assigner.serving[ci]
            if serving:  # several bureaux, none placed: let the voter see them, never guess
                cands = tuple(self.bureau_candidate(b, x, y) for b in serving)
                return LookupResult(status="ambiguous", query=query, commune=commune, geocode=geocode,
                                    candidates=cands, warnings=tuple(warnings), mairie=commune.mairie_contact(),
                                    message=messages.several_unplaced(commune))
            return LookupResult(status="outside_coverage", query=query, commune=commune, geocode=geocode,
                                warnings=tuple(warnings), mairie=commune.mairie_contact(),
                                message=messages.commune_not_covered(commune))
        bureau = self.bureaux[bi]
        if method_name == "nearest_in_commune":
            warnings.append(ResultWarning("nearest_in_commune", messages.nearest_warning(commune)))
        # From a commune's reference point the distance would be a number about nobody.
        distance = None if geocode is not None and geocode.type == "municipality" else self.assigner.distance(x, y, bi)
        return LookupResult(status="ok", query=query, commune=commune, bureau=bureau,
                            distance_m=distance, method=method_name, geocode=geocode,
                            warnings=tuple(warnings), message=messages.found(commune, bureau, method_name))

    def bureau_candidate(self, bi: int, x: float | None = None, y: float | None = None) -> dict:
        """A bureau as a candidate, with its distance from the point when one is given."""
        d = None if x is None or y is None else self.assigner.distance(x, y, bi)
        return {"kind": "bureau", **self.bureaux[bi].summary(), "distance_m": None if d is None else round(d, 1)}

    # -- one address ------------------------------------------------------------------------
    def lookup(self, text) -> LookupResult:
        """The commune and bureau for an address or a commune name (see ``locator.address_lookup``).

        Invalid input gives ``status: invalid``; ``GeocoderUnavailable`` propagates. Without a
        geocoder attached, the configured one is attached on first use.
        """
        from .address_lookup import lookup_text

        return lookup_text(self, text)


def parse_lonlat(lon, lat) -> tuple[float, float]:
    """Two finite numbers in range, or ``InvalidQuery``."""
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError) as err:
        raise InvalidQuery("lon/lat are not numbers",
                           public_message="Les coordonnées doivent être des nombres (longitude, latitude).") from err
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise InvalidQuery("lon/lat not finite", public_message="Les coordonnées doivent être des nombres finis.")
    if not (-180 <= lon_f <= 180 and -90 <= lat_f <= 90):
        raise InvalidQuery("lon/lat out of range",
                           public_message="Coordonnées hors limites : longitude entre -180 et 180, latitude entre -90 et 90.")
    return lon_f, lat_f


def error_result(err: LocatorError, query) -> LookupResult:
    return LookupResult(status=err.code, query=query, message=err.public_message)
