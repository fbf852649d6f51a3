"""Commune index: point → commune and the distance to the nearest other commune.

Geometries are held in Lambert-93 so every distance is in metres. Lookups are vectorised
over numpy arrays of coordinates (one GEOS call for a million points).
"""

from __future__ import annotations

import numpy as np
import shapely

from .models import Commune
from .projection import geometry_to_l93

NO_COMMUNE = -1


class CommuneIndex:
    def __init__(self, communes: list[Commune], geometries_wgs84: list):
        self.communes = list(communes)
        self.codes = np.array([c.code for c in communes], dtype=object)
        self.by_code = {c.code: i for i, c in enumerate(communes)}
        self.geoms = geometry_to_l93(np.asarray(geometries_wgs84, dtype=object))
        # Prepared polygons make the repeated point-in-polygon tests several times faster.
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        self.boundaries = shapely.boundary(self.geoms)

    def __len__(self) -> int:
        return len(self.communes)

    def locate(self, x, y) -> np.ndarray:
        """Index of the commune containing each Lambert-93 point, ``NO_COMMUNE`` if none.

        A point exactly on a shared boundary belongs to the first commune in file order.
        """
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        out = np.full(x.shape, NO_COMMUNE, dtype=np.int64)
        points = shapely.points(x, y)
        pt_idx, geom_idx = self.tree.query(points, predicate="intersects")
        # Reverse so that, for a point on two communes, the first one written wins.
        out[pt_idx[::-1]] = geom_idx[::-1]
        return out

    def neighbours_within(self, x: float, y: float, idx: int, distance_m: float) -> list[tuple[int, float]]:
        """Other communes closer than ``distance_m`` to the point, nearest first."""
        point = shapely.Point(x, y)
        near = self.tree.query(point, predicate="dwithin", distance=distance_m)
        pairs = [(int(j), float(shapely.distance(point, self.geoms[j]))) for j in near if j != idx]
        return sorted(pairs, key=lambda p: p[1])

    def distance_to_boundary(self, x: float, y: float, idx: int) -> float:
        return float(shapely.distance(shapely.Point(x, y), self.boundaries[idx]))

    def nearest(self, x: float, y: float, max_distance_m: float) -> tuple[int, float] | None:
        """The commune nearest to a point outside every commune, within ``max_distance_m``."""
        point = shapely.Point(x, y)
        idx, dist = self.tree.query_nearest(point, max_distance=max_distance_m, return_distance=True)
        idx = np.atleast_1d(idx)
        if idx.size == 0:
            return None
        return int(idx.ravel()[-1] if idx.ndim == 1 else idx[1][0]), float(np.atleast_1d(dist)[0])
