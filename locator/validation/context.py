"""Everything the checks read, computed once per run (projections and point-in-polygon in
one vectorised pass), so that each check stays a few lines."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely

from ..communes import NO_COMMUNE, CommuneIndex
from ..models import Bureau, Commune, GeocodedPoint
from ..projection import geometry_to_metric, to_metric_anywhere
from .reference import Reference
from .text import names_public_building, says_at_mairie
from .thresholds import Thresholds


@dataclass
class ValidationContext:
    bureaux: list[Bureau]
    index: CommuneIndex
    thresholds: Thresholds
    references: dict[str, Reference]
    #: Official bureau areas in Lambert-93, by bureau id (``--areas``).
    areas: dict[str, list] = field(default_factory=dict)
    #: ``--regeocode`` answers by bureau index (None: address not found); None when not run.
    regeocoded: dict[int, GeocodedPoint | None] | None = None
    #: The register's (REU) voters' addresses in Lambert-93, by bureau id (``register.parquet``).
    voters: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        b = self.bureaux
        n = len(b)
        self.lon = np.array([np.nan if x.lon is None else x.lon for x in b], dtype=float)
        self.lat = np.array([np.nan if x.lat is None else x.lat for x in b], dtype=float)
        self.has_point = ~np.isnan(self.lon) & ~np.isnan(self.lat)
        self.in_range = self.has_point & (np.abs(self.lon) <= 180) & (np.abs(self.lat) <= 90)
        x, y = to_metric_anywhere(np.where(self.in_range, self.lon, np.nan), np.where(self.in_range, self.lat, np.nan))
        self.x = np.where(self.in_range, np.asarray(x, dtype=float), np.nan)
        self.y = np.where(self.in_range, np.asarray(y, dtype=float), np.nan)
        self.in_range &= np.isfinite(self.x) & np.isfinite(self.y)
        self.located = np.full(n, NO_COMMUNE, dtype=np.int64)
        if self.in_range.any():
            self.located[self.in_range] = self.index.locate(self.x[self.in_range], self.y[self.in_range])
        self.declared = np.array([self.index.by_code.get(x.code_insee, NO_COMMUNE) for x in b], dtype=np.int64)
        self.outside_m = np.full(n, np.nan)
        known = self.in_range & (self.declared != NO_COMMUNE)
        self.outside_m[known] = 0.0
        away = known & (self.located != self.declared)
        if away.any():
            pts = shapely.points(self.x[away], self.y[away])
            self.outside_m[away] = shapely.distance(pts, self.index.geoms[self.declared[away]])
        self.by_code: dict[str, list[int]] = defaultdict(list)
        self.serving: dict[str, list[int]] = defaultdict(list)
        for i, bureau in enumerate(b):
            self.by_code[bureau.code_insee].append(i)
            for code in dict.fromkeys(bureau.communes_served):
                self.serving[code].append(i)
        self.at_mairie = [says_at_mairie(x.name, x.address) for x in b]
        self.public_building = [names_public_building(x.name, x.address) for x in b]
        #: Commune indexes by postcode (a postcode typed as code_insee is a common confusion).
        self.by_postcode: dict[str, list[int]] = defaultdict(list)
        for k, c in enumerate(self.index.communes):
            for postcode in c.codes_postaux:
                self.by_postcode[postcode].append(k)
        # each outline's centroid (NaN for a commune published without an outline)
        centroids = shapely.centroid(np.asarray(self.index.geoms, dtype=object))
        self.centroids = np.full((len(centroids), 2), np.nan)
        present = ~shapely.is_missing(centroids)
        self.centroids[present] = shapely.get_coordinates(centroids[present])
        self.departements = {c.departement for c in self.index.communes}
        #: Set by the runner: False once a geometry check found the point unusable.
        self.usable = np.ones(n, dtype=bool)
        #: Set by the runner: False once a commune check found the declared commune wrong.
        self.commune_known = np.ones(n, dtype=bool)

    # -- small helpers used by the checks ----------------------------------------------------
    def commune(self, idx: int) -> Commune:
        return self.index.communes[idx]

    def name(self, idx: int) -> str:
        c = self.index.communes[idx]
        return f"{c.nom} ({c.code})"

    def distance(self, i: int, x: float, y: float) -> float:
        return float(np.hypot(self.x[i] - x, self.y[i] - y))

    def locate_lonlat(self, lon: float, lat: float) -> tuple[int, float, float]:
        """Commune index (or NO_COMMUNE) of a lon/lat pair, and its Lambert-93 x, y."""
        x, y = to_metric_anywhere(lon, lat)
        if not (np.isfinite(x) and np.isfinite(y)):
            return NO_COMMUNE, float("nan"), float("nan")
        return int(self.index.locate(x, y)[0]), float(x), float(y)


    def reference(self, i: int) -> Reference | None:
        return self.references.get(self.bureaux[i].code_insee)


def project_areas(bureau_ids, geometries_wgs84) -> dict[str, list]:
    """Area polygons in Lambert-93 grouped by bureau id."""
    out: dict[str, list] = defaultdict(list)
    if len(bureau_ids):
        geoms = geometry_to_metric(np.asarray(list(geometries_wgs84), dtype=object))
        for bid, geom in zip(bureau_ids, geoms, strict=True):
            out[bid].append(geom)
    return dict(out)


def voters_by_bureau(register) -> dict[str, np.ndarray]:
    """Lambert-93 positions of each bureau's precisely geocoded voters' addresses."""
    if register is None or len(register) == 0:
        return {}
    from ..data.register import usable

    keep = usable(register.geo_type, register.geo_score)
    x, y = to_metric_anywhere(register.lon[keep], register.lat[keep])
    xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    ids = register.bureau_id[keep]
    out: dict[str, list] = defaultdict(list)
    for i, bid in enumerate(ids.tolist()):
        out[bid].append(i)
    return {bid: xy[rows] for bid, rows in out.items()}
