"""The framework-free core: ``Locator`` answers point and address queries over one ``Dataset``.

Two paths, one tail. A point (``lookup_point``) is checked, projected and located once
(``locate`` → a ``Located`` value); an address (``lookup``, ``locator.lookup.text``) is
geocoded, gated, and its best answer is located the same way. Both end in ``answer``: the
commune's bureau by the strategies of ``locator.assign``, with the warnings of the point's
place. Data is loaded once and never mutated; reloading builds a new ``Locator``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np

from . import projection
from .assign import METHOD_NAMES, NO_BUREAU, Assigner
from .communes import NO_COMMUNE, NO_OUTLINE_RADIUS_M, CommuneIndex
from .config import Settings
from .data.datadir import DataDir, Dataset
from .data.points import check_lonlat
from .errors import InvalidQuery, LocatorError
from .lookup import messages
from .lookup.messages import say
from .lookup.outcome import (
    BureauCandidate,
    LookupResult,
    ResultWarning,
    Status,
    error_result,
    warning,
)
from .models import Bureau, GeocodedPoint
from .projection import territory_of, to_metric
from .register.index import RegisterIndex

_FOUND = {name: f"found.{name}" for name in METHOD_NAMES.values() if name is not None}  # sentence keys


class Located(NamedTuple):
    """A point projected and located once: metric ``x``/``y`` (``locator.projection``: Lambert-93
    on the mainland, each overseas département's own projection), the commune whose polygon
    holds it (``NO_COMMUNE``: none), and ``point`` (a shapely Point, or ``None`` when no
    commune boundary is within the margin: nothing is left for GEOS to test)."""

    x: float
    y: float
    polygon_ci: int
    point: object

    @property
    def deep(self) -> bool:
        return self.point is None


class Locator:
    """Point → commune → bureau over one ``Dataset``, and address → point with a geocoder.

    >>> loc = Locator.from_data_dir("data")          # doctest: +SKIP
    >>> loc.lookup_point(6.1757, 49.1196).to_dict()["bureau"]["id"]  # doctest: +SKIP
    """

    def __init__(self, dataset: Dataset, *, settings: Settings | None = None, geocoder=None,
                 doubtful: Mapping[str, str] | None = None):
        self.dataset = dataset
        self.settings = settings or Settings(data_dir=dataset.data_dir.path)
        # the engine's cache: projected outlines and warm grids kept next to the data, by digest
        self.index = CommuneIndex(list(dataset.communes), list(dataset.commune_geoms), cache=dataset.engine_cache)
        #: Bureaux whose published position the validator doubts (id → ``error``: served by
        #: their name and address only, never with a point a voter would walk to; ``warning``:
        #: served with their point and a warning).
        self.doubtful: dict[str, str] = dict(doubtful or {})
        self.bureaux: list[Bureau] = [
            dataclasses.replace(b, lon=None, lat=None) if self.doubtful.get(b.id) == "error" else b
            for b in dataset.bureaux]
        self.assigner = Assigner(self.bureaux, [c.code for c in dataset.communes],
                                 dataset.area_bureau_ids, dataset.area_geoms)
        #: The electoral register's addresses (``register.parquet``), or None.
        self.register = None if dataset.register is None else RegisterIndex(
            dataset.register, [c.code for c in dataset.communes], [b.id for b in self.bureaux])
        self.geocoder = geocoder
        self._wheres: dict[int, str] = {}  # bureau index → ``messages.where``, made on first answer

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_data_dir(cls, path: Path | str | None = None, *, settings: Settings | None = None,
                      geocoder=None) -> Locator:
        """Load a data folder strictly (``DataDir.load``), with the configured geocoder unless
        one is given (it starts on the first address, never for a point).

        Raises
        ------
        DataError
            naming the file and record of the first bad record (nothing is half-loaded).
        """
        settings = settings or Settings.from_env()
        data_dir = Path(path) if path is not None else Path(settings.data_dir)
        settings = settings.replace(data_dir=data_dir)
        return cls.configured(DataDir(data_dir).load(strict=True), settings, geocoder=geocoder)

    @classmethod
    def configured(cls, dataset: Dataset, settings: Settings, *, geocoder=None,
                   doubtful: Mapping[str, str] | None = None) -> Locator:
        """A locator over ``dataset`` with the geocoder ``settings`` configure (over the same
        data and commune index), unless one is given."""
        locator = cls(dataset, settings=settings, doubtful=doubtful)
        if geocoder is None:
            from .geocoding import build_geocoder

            geocoder = build_geocoder(settings, dataset=dataset, communes=locator.index)
        locator.geocoder = geocoder
        return locator

    def warm(self) -> Locator:
        """Build now what makes one-point lookups cheaper, instead of never: the commune
        cell grid with its cells far from every boundary, and the neighbour blocks. Idempotent
        and thread-safe; a web app calls it once at start-up, before forking its workers so
        that they share the memory. Answers are the same with or without it; a single lookup
        never builds it (the command line starts fast)."""
        self.index.warm(self.settings.boundary_margin_m)
        projection.warm()
        return self

    def open(self) -> Locator:
        """Start the geocoder now (the embedded index is built first if missing or stale)."""
        if self.geocoder is not None:
            try:
                self.geocoder.open()
            except BaseException:
                self.geocoder.close()
                raise
        return self

    def close(self) -> None:
        """Stop what the geocoder holds (the embedded redis-server)."""
        if self.geocoder is not None:
            self.geocoder.close()

    def __enter__(self) -> Locator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the data ---------------------------------------------------------------------------
    @property
    def communes(self):
        return self.index.communes

    @property
    def history(self):
        """Former INSEE codes → today's."""
        return self.dataset.history

    def commune(self, code: str | None):
        i = self.index.by_code.get(code) if code is not None else None
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
        # One gather each: the tables end with None, which index -1 (none) reads.
        codes = self._codes_or_none[cidx]
        ids = self._ids_or_none[np.where(bidx < 0, -1, bidx)]
        return codes, ids

    @cached_property
    def _codes_or_none(self) -> np.ndarray:
        return np.append(np.asarray(self.index.codes, dtype=object), None)

    @cached_property
    def _ids_or_none(self) -> np.ndarray:
        return np.append(np.asarray(self.assigner.ids, dtype=object), None)

    # -- one point -----------------------------------------------------------------------------
    def locate(self, lon: float, lat: float) -> Located:
        """Project a checked lon/lat once (into its territory's projection, ``locator.projection``)
        and find the commune whose polygon holds it."""
        x, y = to_metric(lon, lat)  # Python floats for Python floats (NaN outside every territory)
        ci, point = self.index.locate_point(x, y, self.settings.boundary_margin_m)
        return Located(x, y, ci, point)

    def locate_metric(self, x: float, y: float) -> Located:
        ci, point = self.index.locate_point(x, y, self.settings.boundary_margin_m)
        return Located(x, y, ci, point)

    def lookup_point(self, lon, lat, *, query=None) -> LookupResult:
        """The voter's commune and bureau for one point. Never raises for bad input: an
        invalid point gives ``status: invalid``."""
        query = query if query is not None else {"lon": lon, "lat": lat}
        try:
            lon, lat = check_lonlat(lon, lat)
        except LocatorError as err:
            return error_result(err, query)
        if lon == 0 and lat == 0:  # what a form or an app sends when it has no position
            return LookupResult(status=Status.INVALID, query=query, message=say("invalid.null_island"),
                                message_key="invalid.null_island")
        result = self.answer(self.locate(lon, lat), query=query)
        if (result.commune is None and result.status == Status.OUTSIDE_COVERAGE and -90 <= lon <= 90
                and territory_of(lat, lon) is not None):
            swapped = self.locate(lat, lon)  # latitude typed first?
            if swapped.polygon_ci != NO_COMMUNE:
                commune = self.index.communes[swapped.polygon_ci]
                return result._replace(message=say("outside.swapped", commune=commune.nom, lon=lat,
                                                               lat=lon),
                                           message_key="outside.swapped",
                                           message_params=(("commune", commune.nom), ("lon", lat), ("lat", lon)))
        return result

    def answer(self, here: Located, ci: int | None = None, *, query, geocode: GeocodedPoint | None = None,
               warnings=()) -> LookupResult:
        """The one tail of both paths: the answer for a located point, in commune ``ci``
        (``None``: the commune whose polygon holds the point; another one when the geocoder's
        commune wins near a simplified boundary)."""
        warnings = list(warnings) if warnings else []
        registered = False
        if ci is None and self.register is not None:
            # An address of the register belongs to its commune, even outside the simplified
            # outline (the coastline is cut off): the register knows better than the polygon.
            match = self.register.match(here.x, here.y, self.settings.register_match_m)
            if match is not None:
                ci, registered = match.commune, True
            elif here.polygon_ci == NO_COMMUNE:
                # just outside every outline: the commune of the nearest voters, said plainly
                near = self.register.nearest(here.x, here.y, self.settings.boundary_margin_m)
                if near is not None:
                    ci, registered = near.commune, True
                    c = self.index.communes[ci]
                    edge = float(self.index.distance_to_boundary(here.x, here.y, ci, point=here.point))
                    warnings.append(warning("near_coverage_edge", distance=round(edge), commune=c.nom))
        if ci is None:
            ci = here.polygon_ci
        if ci == NO_COMMUNE:
            hole = self.index.without_outline_near(here.x, here.y, NO_OUTLINE_RADIUS_M)
            if hole is not None:  # most likely in the hole a commune without a polygon leaves
                c = self.index.communes[hole[0]]
                warnings.append(warning("commune_outline_unknown", "warning.commune_outline_unknown_near",
                                        commune=c.nom, insee=c.code, km=f"{hole[1] / 1000:.1f}"))
                return self._answer_in_commune(hole[0], here, query=query, geocode=geocode, warnings=warnings)
        if ci == NO_COMMUNE:
            near = None if here.point is None else self.index.nearest(
                here.x, here.y, self.settings.boundary_margin_m, point=here.point)
            if near is not None:
                c = self.index.communes[near[0]]
                warnings.append(warning("near_commune_boundary", distance=round(near[1]), other=c.nom,
                                        other_code=c.code))
            return LookupResult(status=Status.OUTSIDE_COVERAGE, query=query, geocode=geocode,
                                warnings=tuple(warnings), message=say("outside.all_communes"),
                                message_key="outside.all_communes")
        # A municipality-level geocode is the commune's reference point, not the voter's
        # place: how close it is to a boundary says nothing about the voter.
        if (not registered and ci == here.polygon_ci and here.point is not None
                and (geocode is None or geocode.type != "municipality")):
            warnings += self._boundary_warnings(ci, here)
        return self._answer_in_commune(ci, here, query=query, geocode=geocode, warnings=warnings)

    def _boundary_warnings(self, ci: int, here: Located) -> list[ResultWarning]:
        margin = self.settings.boundary_margin_m
        neighbours = self.index.neighbours_within(here.x, here.y, ci, margin, point=here.point)
        if neighbours:
            j, d = neighbours[0]
            other = self.index.communes[j]
            return [warning("near_commune_boundary", distance=round(d), other=other.nom, other_code=other.code)]
        edge = self.index.distance_to_boundary(here.x, here.y, ci, point=here.point)
        if edge < margin:
            return [warning("near_coverage_edge", distance=round(edge), commune=self.index.communes[ci].nom)]
        return []

    def _answer_in_commune(self, ci: int, here: Located, *, query, geocode, warnings) -> LookupResult:
        """The strategies of ``locator.assign`` in commune ``ci`` only."""
        commune = self.index.communes[ci]
        if not self.index.has_outline[ci] and not any(w.code == "commune_outline_unknown" for w in warnings):
            warnings = [*warnings, warning("commune_outline_unknown", commune=commune.nom, insee=commune.code)]
        registered = None if self.register is None else self._registered(ci, here)
        if registered is not None:
            bi, method_name = registered.bureau, "register"
        else:
            bi, method = self.assigner.assign_one(here.x, here.y, ci, point=here.point)
            method_name = METHOD_NAMES[method]
            if method_name in (None, "nearest_in_commune") and self.register is not None:
                # past the clipped edge of the estimated areas (the outline is simplified): the
                # rule they are built by, the bureau of the nearest voters of the commune
                near = self.register.nearest(here.x, here.y, self.settings.boundary_margin_m, commune=ci)
                if near is not None and near.bureau in self.assigner.serving[ci]:
                    bi, method_name = near.bureau, "area"
        if bi == NO_BUREAU:
            serving = self.assigner.serving[ci]
            if serving:  # several bureaux, none placed: let the voter see them, never guess
                return LookupResult(status=Status.AMBIGUOUS, query=query, commune=commune, geocode=geocode,
                                    candidates=self.bureau_candidates(ci, here.x, here.y, sort=False),
                                    warnings=tuple(warnings), mairie=commune.mairie_contact(),
                                    message=say("ambiguous.unplaced", commune=commune.nom),
                                    message_key="ambiguous.unplaced", message_params=(("commune", commune.nom),))
            params = {"commune": commune.nom, "tel": messages.telephone_part(commune)}
            return LookupResult(status=Status.OUTSIDE_COVERAGE, query=query, commune=commune, geocode=geocode,
                                warnings=tuple(warnings), mairie=commune.mairie_contact(),
                                message=say("outside.commune_not_covered", **params),
                                message_key="outside.commune_not_covered", message_params=tuple(params.items()))
        bureau = self.bureaux[bi]
        doubt = self.doubtful.get(bureau.id)
        if doubt is not None:
            code = "bureau_position_doubtful" if doubt == "error" else "bureau_position_unverified"
            warnings.append(warning(code, bureau=bureau.name or bureau.id, tel=messages.telephone_part(commune)))
        if method_name == "nearest_in_commune":
            warnings.append(warning("nearest_in_commune", commune=commune.nom))
        elif method_name in ("register", "area"):
            warnings += self._area_boundary_warnings(ci, here, bi, registered)
        # From a commune's reference point the distance would be a number about nobody.
        distance = None if geocode is not None and geocode.type == "municipality" else self.assigner.distance(
            here.x, here.y, bi)
        where = self._wheres.get(bi)
        if where is None:  # the same few bureaux come back answer after answer
            where = self._wheres[bi] = messages.where(bureau)
        params = (("where", where), ("commune", commune.nom))
        key = _FOUND[method_name]
        return LookupResult(status=Status.OK, query=query, commune=commune, bureau=bureau,
                            distance_m=distance, method=method_name, geocode=geocode,
                            warnings=tuple(warnings), message=messages.say_items(key, params),
                            message_key=key, message_params=params)

    def _registered(self, ci: int, here: Located):
        """The register address of commune ``ci`` within ``register_match_m``, when its
        bureau serves the commune (``RegisterMatch``), else None."""
        if self.register is None:
            return None
        found = self.register.match(here.x, here.y, self.settings.register_match_m, commune=ci)
        if found is None or found.bureau not in self.assigner.serving[ci]:
            return None
        return found

    def _area_boundary_warnings(self, ci: int, here: Located, bi: int, registered) -> list[ResultWarning]:
        """``near_area_boundary`` when voters of another bureau of the commune live within
        ``area_boundary_m`` (or at the very same address): the answer is the likeliest bureau,
        not a certainty."""
        if self.register is None or len(self.assigner.serving[ci]) < 2:
            return []
        shared = [] if registered is None else [(b, registered.distance_m) for b in registered.shared_with]
        if shared:
            rivals = shared
        else:
            # another bureau's voters not much farther than the nearest voters: near the edge
            near = self.register.nearest(here.x, here.y, self.settings.boundary_margin_m, commune=ci)
            reach = (0.0 if near is None else near.distance_m) + self.settings.area_boundary_m
            rivals = self.register.rivals(here.x, here.y, ci, bi, reach)
        if not rivals:
            return []
        other, distance = rivals[0]
        return [warning("near_area_boundary", distance=round(distance), other=messages.where(self.bureaux[other]))]

    def bureau_candidates(self, ci: int, x: float | None = None, y: float | None = None, *,
                          sort: bool = True) -> tuple[BureauCandidate, ...]:
        """The bureaux serving commune ``ci``, with their distance from the point when one is
        given (nearest first when ``sort``)."""
        cands = [BureauCandidate.of(self.bureaux[b], None if x is None or y is None
                                    else self.assigner.distance(x, y, b))
                 for b in self.assigner.serving[ci]]
        if sort:
            cands.sort(key=lambda c: (c.distance_m is None, c.distance_m or 0.0))
        return tuple(cands)

    # -- one address ------------------------------------------------------------------------
    @cached_property
    def text(self):
        """The address pipeline over this locator (``locator.lookup.text``), built on first use."""
        from .lookup.text import TextLookup

        return TextLookup(self)

    def lookup(self, text) -> LookupResult:
        """The commune and bureau for an address or a commune name (``locator.lookup.text``).

        Invalid input gives ``status: invalid``.

        Raises
        ------
        GeocoderUnavailable
            no geocoder, or every configured geocoder failed.
        """
        return self.text.run(text)
