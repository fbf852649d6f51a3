"""Commune index: point → commune and the distance to the nearest other commune.

Geometries are held in Lambert-93 so every distance is in metres. Lookups are vectorised
over numpy arrays of coordinates (one GEOS call for a million points).
"""

from __future__ import annotations

import threading

import numpy as np
import shapely

from .grid import BOUNDARY, CellGrid, PointGrid
from .models import Commune
from .projection import geometry_to_l93

NO_COMMUNE = -1


def point_l93(x: float, y: float):
    """One shapely point (cheaper than ``shapely.Point(x, y)``, same geometry)."""
    return shapely.points(np.array((x, y), dtype=float))

#: Below this many points the exact test alone is faster than building the grid once.
GRID_MIN_POINTS = 20_000


class NeighbourBlocks:
    """For one point at a time: the communes that may lie within ``margin_m`` of it, read
    from a table of square blocks instead of an STRtree query.

    Each ``block_m`` block lists every commune within ``margin_m`` of some point of the
    block (of its centre, plus half its diagonal), in the order the commune tree reports
    them, so ties between equal distances come out as the tree query's. Exact distances to
    those few (two on average in the Moselle) then decide. In a web request the STRtree
    query's wrapper (numpy shape handling around one GEOS call) cost more than the distances.
    """

    def __init__(self, tree, geoms, margin_m: float, *, block_m: float = 500.0):
        self.margin_m = margin_m
        self.block_m = block_m
        minx, miny, maxx, maxy = shapely.total_bounds(geoms)
        # one block of slack all round: points a margin away from every commune still land
        self.x0, self.y0 = minx - block_m, miny - block_m
        self.nx = int(np.ceil((maxx - self.x0) / block_m)) + 1
        self.ny = int(np.ceil((maxy - self.y0) / block_m)) + 1
        cx = self.x0 + (np.arange(self.nx) + 0.5) * block_m
        cy = self.y0 + (np.arange(self.ny) + 0.5) * block_m
        gx, gy = np.meshgrid(cx, cy)
        reach = margin_m + block_m * np.sqrt(2) / 2 + 1.0  # +1 m against rounding
        block_idx, commune_idx = tree.query(shapely.points(gx.ravel(), gy.ravel()), predicate="dwithin",
                                            distance=reach)
        order = np.argsort(block_idx, kind="stable")  # keeps the tree's order within a block
        block_idx, commune_idx = block_idx[order], commune_idx[order]
        bounds = np.searchsorted(block_idx, np.arange(self.nx * self.ny + 1))
        empty = ((), geoms[:0])
        self.blocks = [empty] * (self.nx * self.ny)
        for b in np.unique(block_idx).tolist():
            found = commune_idx[bounds[b]:bounds[b + 1]]
            self.blocks[b] = (found.tolist(), geoms[found])

    def candidates(self, x: float, y: float):
        """(commune indices, their geometries) that may be within the margin of the point,
        or ``None`` off the table."""
        fx = (x - self.x0) / self.block_m
        fy = (y - self.y0) / self.block_m
        if not (0.0 <= fx < self.nx and 0.0 <= fy < self.ny):  # NaN comparisons are False
            return None
        return self.blocks[int(fy) * self.nx + int(fx)]


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
        self._grid: CellGrid | None = None
        self._point_grid: PointGrid | None = None
        self._blocks: NeighbourBlocks | None = None
        self._grid_lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.communes)

    def locate(self, x, y) -> np.ndarray:
        """Index of the commune containing each Lambert-93 point, ``NO_COMMUNE`` if none.

        A point exactly on a shared boundary belongs to the first commune in file order.
        Large batches go through the cell grid first (same answers, see ``locator.grid``).
        """
        if type(x) is float and type(y) is float:  # one point (a lookup): no arrays to build
            return np.array([self.locate_one(point_l93(x, y))], dtype=np.int64)
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        if x.size < GRID_MIN_POINTS or len(self.geoms) == 0:
            return self._locate_exact(x, y)
        out = self.grid().lookup(x, y)
        need = out == BOUNDARY
        out[need] = self._locate_exact(x[need], y[need])
        return out

    def locate_one(self, point) -> int:
        """``locate`` for one shapely point: the first commune the tree reports, as the
        vectorised query writes it (same STRtree query, same order)."""
        hits = self.tree.query(point, predicate="intersects")
        return int(hits[0]) if len(hits) else NO_COMMUNE

    def grid(self) -> CellGrid:
        """The cell grid, built on first use (about 0.3 s for a département)."""
        if self._grid is None:
            with self._grid_lock:
                if self._grid is None:
                    self._grid = CellGrid(self.geoms, self._cover_exact)
        return self._grid

    def warm(self, margin_m: float) -> None:
        """Build now, for ``margin_m``, the tables one-point lookups read: the cell grid with
        its deep cells (``locate_cell``) and the neighbour blocks (``neighbours_within``).

        Idempotent and thread-safe; a new margin rebuilds them. Never called implicitly: a
        single lookup from the command line should not pay for it.
        """
        if len(self.geoms) == 0:
            return
        with self._grid_lock:
            if self._point_grid is None or self._point_grid.margin_m != margin_m:
                self._point_grid = PointGrid(self.grid(), margin_m)
                self._blocks = NeighbourBlocks(self.tree, self.geoms, margin_m)

    def locate_cell(self, x: float, y: float, margin_m: float) -> tuple[int, bool]:
        """What the warm grid says of one Lambert-93 point: (commune index, ``NO_COMMUNE``,
        or ``BOUNDARY`` when only the exact test can tell; whether every commune boundary is
        farther than ``margin_m``). ``(BOUNDARY, False)`` until ``warm``."""
        point_grid = self._point_grid
        if point_grid is None:
            return BOUNDARY, False
        ci, deep = point_grid.lookup(x, y)
        # deep for a wider margin is deep for a narrower one; not the other way round
        return ci, deep and margin_m <= point_grid.margin_m

    def locate_point(self, x: float, y: float, margin_m: float):
        """(commune index or ``NO_COMMUNE``, the point as a shapely geometry) for one
        Lambert-93 point. The geometry is ``None`` when the warm grid says every commune
        boundary is farther than ``margin_m``: then no GEOS test is left to run on it."""
        ci, deep = self.locate_cell(x, y, margin_m)
        if deep:
            return ci, None
        point = point_l93(x, y)  # one geometry for every test still to run on this point
        return (self.locate_one(point) if ci == BOUNDARY else ci), point

    def _locate_exact(self, x, y) -> np.ndarray:
        return self._cover_exact(x, y)[0]

    def _cover_exact(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """The commune containing each point (``NO_COMMUNE`` if none) and how many do."""
        out = np.full(x.shape, NO_COMMUNE, dtype=np.int64)
        points = shapely.points(x, y)
        pt_idx, geom_idx = self.tree.query(points, predicate="intersects")
        # Reverse so that, for a point on two communes, the first one written wins.
        out[pt_idx[::-1]] = geom_idx[::-1]
        return out, np.bincount(pt_idx, minlength=len(x))

    def neighbours_within(self, x: float, y: float, idx: int, distance_m: float, *,
                          point=None) -> list[tuple[int, float]]:
        """Other communes closer than ``distance_m`` to the point, nearest first.

        ``point``: the same point as a shapely geometry, when the caller already has it."""
        if point is None:
            point = shapely.Point(x, y)
        blocks = self._blocks
        found = blocks.candidates(x, y) if blocks is not None and distance_m <= blocks.margin_m else None
        if found is not None:  # warm: the block's few communes, no tree query
            cands, geoms = found
            if not cands:
                return []
            near = [(j, d) for j, d in zip(cands, shapely.distance(point, geoms).tolist(), strict=True)
                    if j != idx and d <= distance_m]
            return sorted(near, key=lambda p: p[1])
        # Python lists rather than numpy arrays: for the one or two communes found, each
        # numpy call costs more than the loop it replaces.
        others = [j for j in self.tree.query(point, predicate="dwithin", distance=distance_m).tolist() if j != idx]
        if not others:
            return []
        dists = shapely.distance(point, self.geoms[others]).tolist()
        return sorted(zip(others, dists, strict=True), key=lambda p: p[1])

    def distance_to_boundary(self, x: float, y: float, idx: int, *, point=None) -> float:
        return float(shapely.distance(shapely.Point(x, y) if point is None else point, self.boundaries[idx]))

    def nearest(self, x: float, y: float, max_distance_m: float, *, point=None) -> tuple[int, float] | None:
        """The commune nearest to a point outside every commune, within ``max_distance_m``."""
        if point is None:
            point = shapely.Point(x, y)
        idx, dist = self.tree.query_nearest(point, max_distance=max_distance_m, return_distance=True)
        idx = np.atleast_1d(idx)
        if idx.size == 0:
            return None
        return int(idx.ravel()[-1] if idx.ndim == 1 else idx[1][0]), float(np.atleast_1d(dist)[0])
