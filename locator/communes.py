"""Commune index: point → commune and the distance to the nearest other commune.

Geometries are held in the metric plane of ``locator.projection`` (Lambert-93 in metropolitan
France, each overseas département's own UTM projection elsewhere, territories 10 000 km
apart), so every distance is in metres of the commune's own territory and a point is never
compared with a commune of another territory. Lookups are vectorised over numpy arrays of
coordinates (one GEOS call for a million points).

A commune published without a polygon (``geometry`` None) is kept: it has its names,
postcodes and mairie, no point is ever *inside* it, and ``without_outline_near`` offers it
for a point that falls in no commune near its mairie (the hole it leaves in the map).
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import itertools
import math
import threading
from functools import cached_property

import numpy as np
import shapely

from .errors import DataError
from .grid import BOUNDARY, GRID_FORMAT, TerritoryGrids, TerritoryPointGrids
from .models import Commune
from .projection import geometry_to_metric, projection_key, to_metric

NO_COMMUNE = -1
#: A point in no commune within this distance of the mairie of a commune without an outline
#: is offered to that commune (with a warning): the largest of them, Orée d'Anjou, is about
#: 180 km², its farthest point some 10 km from its mairie.
NO_OUTLINE_RADIUS_M = 15_000.0


def point_l93(x: float, y: float):
    """One shapely point (cheaper than ``shapely.Point(x, y)``, same geometry)."""
    return shapely.points(np.array((x, y), dtype=float))

#: Below this many points the exact test alone is faster than building the grid once.
GRID_MIN_POINTS = 20_000


class NeighbourBlocks:
    """For one point at a time: the communes that may lie within ``margin_m`` of it, read
    from square blocks instead of an STRtree query.

    Each ``block_m`` block lists every commune within ``margin_m`` of some point of the
    block (of its centre, plus half its diagonal), in the order the commune tree reports
    them, so ties between equal distances come out as the tree query's. Exact distances to
    those few (two on average in the Moselle) then decide. In a web request the STRtree
    query's wrapper (numpy shape handling around one GEOS call) cost more than the distances.

    Without a ``table`` (below), a block is filled the first time a point falls in it (one
    tree query, then kept): every block of all of France would be millions of tree queries,
    most of them for blocks no lookup ever reaches (the sea, the deep inside of communes,
    where no neighbour is asked). Filling is idempotent, so threads racing on one block
    store the same list.

    At most ``max_blocks`` blocks are kept (about 100 bytes each, plus the shared lists):
    past that, the oldest filled blocks are dropped, a tenth at a time, and filled again if
    asked. A server answering points from everywhere keeps a bounded table; the blocks of
    the busy places are the ones refilled first.

    ``table``: the blocks filled in advance (``neighbour_table``: every block where a warm
    lookup inside a commune can ask, the same lists as a tree query each), read first, so
    that the first lookup in a block costs a binary search instead of a tree query (70 µs
    in a web request, the tail of the lookups). Blocks off it (the sea, off every
    territory) are filled on first use as above.
    """

    def __init__(self, tree, margin_m: float, *, block_m: float = 500.0, max_blocks: int = 200_000,
                 table: dict[str, np.ndarray] | None = None):
        self.margin_m = margin_m
        self.block_m = block_m
        self.max_blocks = max_blocks
        self._tree = tree
        self._reach = block_reach(margin_m, block_m)
        self._blocks: dict[int, tuple[int, ...]] = {}
        self._lists: dict[tuple[int, ...], tuple[int, ...]] = {}
        self._evict_lock = threading.Lock()
        self._columns: dict[int, tuple[int, int]] = {}
        if table is not None:
            if table["blocks"].tolist() != [margin_m, block_m]:
                raise ValueError("a neighbour table of another margin or block size")
            # column x of blocks → the range of its blocks in ``by`` (sorted by y within it)
            cols, starts = table["columns"].tolist(), table["column_starts"].tolist()
            self._columns = {bx: (lo, hi) for bx, lo, hi in zip(cols, starts[:-1], starts[1:], strict=True)}
            # memoryviews: a Python int per read, no numpy call in a web request
            self._by = memoryview(table["by"])
            self._starts = memoryview(table["starts"])
            self._communes = memoryview(table["communes"])
        self.table_size = len(table["by"]) if table is not None else 0

    def __len__(self) -> int:
        return len(self._blocks)

    @property
    def table_nbytes(self) -> int:
        """The bytes of the table filled in advance (0 without one)."""
        if not self.table_size:
            return 0
        return sum(v.nbytes for v in (self._by, self._starts, self._communes))

    def candidates(self, x: float, y: float) -> tuple[int, ...] | None:
        """The communes that may be within the margin of the point (tree order), or ``None``
        for a point off every territory (NaN, infinite)."""
        try:
            bx, by = math.floor(x / self.block_m), math.floor(y / self.block_m)
        except (ValueError, OverflowError):
            return None
        column = self._columns.get(bx)
        if column is not None:
            i = bisect.bisect_left(self._by, by, *column)
            if i < column[1] and self._by[i] == by:
                return tuple(self._communes[self._starts[i]:self._starts[i + 1]])
        key = bx * 0x1_0000_0000 + by
        found = self._blocks.get(key)
        if found is None:
            centre = point_l93((bx + 0.5) * self.block_m, (by + 0.5) * self.block_m)
            near = tuple(self._tree.query(centre, predicate="dwithin", distance=self._reach).tolist())
            if len(self._blocks) >= self.max_blocks:
                self._evict()
            # blocks inside one commune share one tuple
            found = self._blocks.setdefault(key, self._lists.setdefault(near, near))
        return found

    def _evict(self) -> None:
        """Drop the oldest tenth of the blocks (dicts keep insertion order), and the lists no
        block uses any more. One thread at a time; readers meanwhile see a block or refill it."""
        if not self._evict_lock.acquire(blocking=False):
            return  # another thread is making room
        try:
            drop = max(1, self.max_blocks // 10)
            for key in list(itertools.islice(self._blocks, drop)):
                self._blocks.pop(key, None)
            used = {id(v) for v in list(self._blocks.values())}
            self._lists = {k: v for k, v in list(self._lists.items()) if id(v) in used}
        finally:
            self._evict_lock.release()


#: Bump whenever what ``neighbour_table`` holds or how it is made changes: tables cached on
#: disk are keyed by it (and by the GEOS version, whose tree gives the order of ties).
NEIGHBOURS_FORMAT = "1"


def block_reach(margin_m: float, block_m: float) -> float:
    """How far from a block's centre a commune may be and still lie within ``margin_m`` of
    some point of the block: the margin plus half the block's diagonal (+1 m against rounding)."""
    return margin_m + block_m * math.sqrt(2) / 2 + 1.0


def neighbour_table(grids: TerritoryGrids, tree, margin_m: float, block_m: float = 500.0, *,
                    chunk: int = 100_000) -> dict[str, np.ndarray]:
    """The neighbour blocks a warm lookup inside a commune can ask for, filled at once.

    A warm lookup asks for the communes near it only where its cell is not deep and lies in
    a commune (``TileGrid.shallow_cells``); every ``block_m`` block such a cell touches is
    listed, with the communes the tree reports within ``block_reach`` of the block's centre,
    in the tree's order: the same tree query as ``NeighbourBlocks.candidates`` makes for one
    block, made for all of them in one vectorised call per chunk of blocks.

    Returns the arrays ``NeighbourBlocks(table=...)`` reads and ``locator.data.cache``
    stores: ``columns`` (the blocks' x indices, sorted) and ``column_starts`` (where each
    column's blocks start in ``by``), ``by`` (the blocks' y indices, sorted within a
    column), ``starts`` and ``communes`` (block ``i``'s communes are
    ``communes[starts[i]:starts[i + 1]]``; ``starts`` is int32, int64 only past 2^31 - 1
    entries), ``blocks`` (the margin and the block size).
    """
    bxs, bys = [], []
    for grid in grids.grids.values():
        bx, by = _blocks_touched(grid, block_m)
        bxs.append(bx)
        bys.append(by)
    bx = np.concatenate(bxs) if bxs else np.zeros(0, dtype=np.int64)
    by = np.concatenate(bys) if bys else np.zeros(0, dtype=np.int64)
    order = np.lexsort((by, bx))
    bx, by = bx[order], by[order]
    reach = block_reach(margin_m, block_m)
    # each block's count, then (summed in place) where its list starts: int32 while the lists
    # fit (all of France: 3.4 M entries for 1.5 M blocks, the bound is 2^31 - 1), 6 MB less
    starts, communes = np.zeros(len(bx) + 1, dtype=np.int32), []
    for start in range(0, len(bx), chunk):
        # the block centres as the one-block query computes them, float for float
        centres = shapely.points((bx[start:start + chunk] + 0.5) * block_m, (by[start:start + chunk] + 0.5) * block_m)
        which, near = tree.query(centres, predicate="dwithin", distance=reach)
        keep = np.argsort(which, kind="stable")  # by block; each block's communes in the tree's order
        communes.append(near[keep].astype(np.int32))
        starts[start + 1:start + 1 + len(centres)] = np.bincount(which, minlength=len(centres))
    if sum(len(c) for c in communes) > np.iinfo(np.int32).max:
        starts = starts.astype(np.int64)
    np.cumsum(starts, out=starts)
    columns, column_starts = np.unique(bx, return_index=True)
    return {
        "columns": columns.astype(np.int64),
        "column_starts": np.append(column_starts, len(bx)).astype(np.int64),
        "by": by.astype(np.int32),
        "starts": starts,
        "communes": np.concatenate(communes) if communes else np.zeros(0, dtype=np.int32),
        "blocks": np.array([margin_m, block_m], dtype=float),
    }


def _blocks_touched(grid, block_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The x and y indices of the ``block_m`` blocks that the shallow cells of one
    territory's grid touch (``TileGrid.shallow_cells``), each once: a raster of one byte per
    block over the grid's extent (6 MB for metropolitan France) marked through tables of
    the block column and row of every cell edge."""
    slack = 1e-3  # a millimetre either side: a point rounded onto a cell's edge finds its block
    bx0 = math.floor((grid.x0 - 1.0) / block_m)
    by0 = math.floor((grid.y0 - 1.0) / block_m)
    # block column (row) of each cell edge, a millimetre before and after it
    edge_x = grid.x0 + np.arange(grid.nx + 1) * grid.cell
    edge_y = grid.y0 + np.arange(grid.ny + 1) * grid.cell
    col_lo, col_hi = (np.floor((edge_x + d) / block_m).astype(np.int64) - bx0 for d in (-slack, slack))
    row_lo, row_hi = (np.floor((edge_y + d) / block_m).astype(np.int64) - by0 for d in (-slack, slack))
    touched = np.zeros((int(row_hi[-1]) + 1, int(col_hi[-1]) + 1), dtype=bool)
    # edges this many cells apart, a millimetre more either side, are less than a block apart
    step = max(1, math.floor(block_m / grid.cell) - 1)
    for ix, iy, n in grid.shallow_cells():
        # the square's first edge (before it), edges at most a block apart, its last edge
        # (after it): every block the square overlaps holds one of them
        offsets = sorted({*range(0, n, step), n})
        cols = [(col_lo if k == 0 else col_hi)[ix + k] for k in offsets]
        rows = [(row_lo if k == 0 else row_hi)[iy + k] for k in offsets]
        # most squares lie in one block: mark a pair only where its column or row is new
        new_col = [None] + [cols[j] != cols[j - 1] for j in range(1, len(cols))]
        new_row = [None] + [rows[i] != rows[i - 1] for i in range(1, len(rows))]
        for i, r in enumerate(rows):
            for j, c in enumerate(cols):
                if i == 0 and j == 0:
                    touched[r, c] = True
                    continue
                keep = new_col[j] if i == 0 else new_row[i] if j == 0 else new_row[i] & new_col[j]
                touched[r[keep], c[keep]] = True
    col, row = np.nonzero(touched.T)  # x first
    return col + bx0, row + by0


class CommuneIndex:
    """Point → commune over the communes' outlines in the metric plane.

    ``cache``: where to keep what is computed from these outlines alone (an
    ``locator.data.cache.ArrayCache`` scoped by the communes files' digest, or anything with
    its ``get(name, key)`` / ``put(name, arrays, key)``): the projected coordinates, the
    warm grids and the neighbour table, read back bit for bit by the next process instead of
    computed again (projecting all of France takes a second, its warm grid ten, its
    neighbour table fifteen more). ``None``: nothing kept.
    """

    def __init__(self, communes: list[Commune], geometries_wgs84: list, *, cache=None):
        was = gc.isenabled()
        gc.disable()  # tens of thousands of new geometries, no cycle among them (see data.loader)
        try:
            self._build(communes, geometries_wgs84, cache)
        finally:
            if was:
                gc.enable()

    def _build(self, communes, geometries_wgs84, cache) -> None:
        self.communes = list(communes)
        self.codes = np.array([c.code for c in communes], dtype=object)
        self.by_code = {c.code: i for i, c in enumerate(communes)}
        self._cache = cache
        self.geoms = self._to_metric(np.asarray(geometries_wgs84, dtype=object).reshape(-1))
        self.has_outline = [g is not None for g in self.geoms]
        _check_in_a_territory(self.communes, self.geoms)
        # Prepared polygons make the repeated point-in-polygon tests several times faster.
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        # Each commune's outline as lines, made the first time a point asks for it, or all at
        # once by ``warm`` (all of France: 0.1 s, 36 MB), so that a server's first lookup near
        # the edge of each commune does not make it; a single lookup never pays for all.
        self._boundaries: list = [None] * len(self.geoms)
        # Communes without an outline, by their mairie point (metric plane).
        self._no_outline = [(i, *to_metric(float(c.mairie_lon), float(c.mairie_lat)))
                            for i, c in enumerate(self.communes)
                            if not self.has_outline[i] and c.has_mairie_point]
        self._grid: TerritoryGrids | None = None
        self._point_grid: TerritoryPointGrids | None = None
        self._blocks: NeighbourBlocks | None = None
        self._grid_lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.communes)

    def _to_metric(self, wgs84: np.ndarray) -> np.ndarray:
        """``geometry_to_metric`` of the outlines, or the same coordinates read from the cache
        (set into copies of the outlines, as ``shapely.transform`` does)."""
        if self._cache is None:
            return geometry_to_metric(wgs84)
        key = projection_key()
        cached = self._cache.get("metric", key)
        if cached is not None and cached.get("xy") is not None:
            xy = cached["xy"]
            if xy.shape == (int(shapely.get_num_coordinates(wgs84).sum()), 2) and xy.dtype == np.float64:
                return shapely.set_coordinates(np.array(wgs84, dtype=object), xy)
        geoms = geometry_to_metric(wgs84)
        self._cache.put("metric", {"xy": shapely.get_coordinates(geoms)}, key)
        return geoms

    def _cached_grids(self, margin_m: float | None, build) -> TerritoryGrids:
        """``build()``, or the grids the cache holds for this margin (same arrays)."""
        if self._cache is None:
            return build()
        # One warm grid is kept (its margin is checked when read); a batch, which needs the
        # labels only, reads it too when no labels-only grid was stored: the same labels.
        name = "grid-labels" if margin_m is None else "grid-warm"
        key = _digest([GRID_FORMAT, projection_key()])
        for arrays in (self._cache.get(name, key), self._cache.get("grid-warm", key) if margin_m is None else None):
            if arrays is None:
                continue
            try:
                grids = TerritoryGrids.from_arrays(arrays)
            except (KeyError, ValueError, TypeError):
                continue  # another layout: build it again
            if margin_m is None or grids.margin_m == margin_m:
                return grids
        grids = build()
        self._cache.put(name, grids.to_arrays(), key)
        return grids

    def locate(self, x, y) -> np.ndarray:
        """Index of the commune containing each metric-plane point, ``NO_COMMUNE`` if none.

        A point exactly on a shared boundary belongs to the first commune in file order.
        Large batches go through the cell grid first (same answers, see ``locator.grid``).
        """
        if type(x) is float and type(y) is float:  # one point (a lookup): no arrays to build
            return np.array([self.locate_one(point_l93(x, y))], dtype=np.int64)
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        if x.size < GRID_MIN_POINTS or not any(self.has_outline):
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

    def grid(self) -> TerritoryGrids:
        """The cell grids (one per territory), built on first use (about 0.3 s for a
        département, seconds for all of France); ``warm`` builds them with the deep flag."""
        if self._grid is None:
            with self._grid_lock:
                if self._grid is None:
                    self._grid = self._cached_grids(None, lambda: TerritoryGrids(self.geoms, self._cover_exact))
        return self._grid

    def warm(self, margin_m: float) -> None:
        """Build now, for ``margin_m``, what one-point lookups read: the cell grid with its
        deep cells (``locate_cell``), and the neighbour blocks (``neighbours_within``): every
        block a lookup in a commune off the deep cells can ask for, filled at once
        (``neighbour_table``, 1.5 M blocks for all of France, read back from the cache by
        the next start); other blocks are filled by the first lookup that needs one. And
        every commune's outline as lines (``boundary``).

        Idempotent and thread-safe; a new margin rebuilds them. Never called implicitly: a
        single lookup from the command line should not pay for it.
        """
        if not any(self.has_outline):
            return
        with self._grid_lock:
            if self._point_grid is None or self._point_grid.margin_m != margin_m:
                grids = self._cached_grids(
                    margin_m, lambda: TerritoryGrids(self.geoms, self._cover_exact, margin_m=margin_m))
                self._grid = grids  # the same labels, whatever the margin
                self._point_grid = TerritoryPointGrids(grids)
                self._blocks = NeighbourBlocks(self.tree, margin_m, table=self._cached_neighbours(grids, margin_m))
                self._boundaries = list(shapely.boundary(self.geoms))  # None where no outline

    def _cached_neighbours(self, grids: TerritoryGrids, margin_m: float, block_m: float = 500.0) -> dict:
        """``neighbour_table`` of the warm grids, or the same arrays read from the cache."""
        def build():
            return neighbour_table(grids, self.tree, margin_m, block_m)

        if self._cache is None:
            return build()
        # the tree's order of ties depends on how GEOS builds and walks it
        key = _digest([NEIGHBOURS_FORMAT, GRID_FORMAT, projection_key(), shapely.__version__,
                       shapely.geos_version_string, repr(float(margin_m)), repr(float(block_m))])
        arrays = self._cache.get("neighbours", key)
        if arrays is not None and _table_fits(arrays, margin_m, block_m, len(self.geoms)):
            if arrays["starts"].dtype == np.int64 and int(arrays["starts"][-1]) <= np.iinfo(np.int32).max:
                arrays["starts"] = arrays["starts"].astype(np.int32)  # kept by an older version
            return arrays
        arrays = build()
        self._cache.put("neighbours", arrays, key)
        return arrays

    @property
    def neighbours_nbytes(self) -> int:
        """The bytes of the neighbour blocks filled by ``warm`` (0 before it)."""
        return 0 if self._blocks is None else self._blocks.table_nbytes

    def locate_cell(self, x: float, y: float, margin_m: float) -> tuple[int, bool]:
        """What the warm grid says of one metric-plane point: (commune index, ``NO_COMMUNE``,
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
        metric-plane point. The geometry is ``None`` when the warm grid says every commune
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
            others = [j for j in found if j != idx]
            if not others:  # only the point's own commune near its block: no GEOS call
                return []
            near = [(j, d) for j, d in zip(others, shapely.distance(point, self.geoms[others]).tolist(), strict=True)
                    if d <= distance_m]
            return sorted(near, key=lambda p: p[1])
        # Python lists rather than numpy arrays: for the one or two communes found, each
        # numpy call costs more than the loop it replaces.
        others = [j for j in self.tree.query(point, predicate="dwithin", distance=distance_m).tolist() if j != idx]
        if not others:
            return []
        dists = shapely.distance(point, self.geoms[others]).tolist()
        return sorted(zip(others, dists, strict=True), key=lambda p: p[1])

    @cached_property
    def boundaries(self) -> np.ndarray:
        """Every outline as lines at once (tests, batch tools); ``boundary`` for one."""
        return shapely.boundary(self.geoms)

    def boundary(self, idx: int):
        """The outline of commune ``idx`` as lines (``None`` without an outline)."""
        line = self._boundaries[idx]
        if line is None and self.geoms[idx] is not None:
            # idempotent: threads racing here store equal geometries
            line = self._boundaries[idx] = shapely.boundary(self.geoms[idx])
        return line

    def distance_to_boundary(self, x: float, y: float, idx: int, *, point=None) -> float:
        line = self.boundary(idx)
        if line is None:  # no outline: no edge to be near
            return math.inf
        return float(shapely.distance(shapely.Point(x, y) if point is None else point, line))

    def holds(self, x: float, y: float, idx: int, margin_m: float) -> bool:
        """Is the point in commune ``idx`` or within ``margin_m`` of its outline? The outlines
        are simplified, so a place a little outside may still be the commune's. A commune
        without an outline holds nothing for certain: False (its mairie is all we know)."""
        geom = self.geoms[idx]
        if geom is None or not (math.isfinite(x) and math.isfinite(y)):  # no outline; outside every territory
            return False
        point = shapely.Point(x, y)
        return int(self.locate_one(point)) == idx or float(shapely.distance(point, geom)) <= margin_m

    def without_outline_near(self, x: float, y: float, max_distance_m: float) -> tuple[int, float] | None:
        """For a point in no commune: the commune without an outline whose mairie is nearest,
        within ``max_distance_m`` (index, distance to the mairie), or None.

        The source's communes tile the territory without gaps, so a point inland in no
        commune is most likely in the hole a commune without a polygon leaves."""
        best = None
        for i, mx, my in self._no_outline:
            d = abs(complex(mx - x, my - y))
            if d <= max_distance_m and (best is None or d < best[1]):
                best = (i, d)
        return best

    def nearest(self, x: float, y: float, max_distance_m: float, *, point=None) -> tuple[int, float] | None:
        """The commune nearest to a point outside every commune, within ``max_distance_m``."""
        if not (math.isfinite(x) and math.isfinite(y)):  # outside every territory
            return None
        if point is None:
            point = shapely.Point(x, y)
        idx, dist = self.tree.query_nearest(point, max_distance=max_distance_m, return_distance=True)
        idx = np.atleast_1d(idx)
        if idx.size == 0:
            return None
        return int(idx.ravel()[-1] if idx.ndim == 1 else idx[1][0]), float(np.atleast_1d(dist)[0])


def _check_in_a_territory(communes, geoms) -> None:
    """A commune outside every territory of ``locator.projection`` would be measured in no
    projection: refuse the data rather than compute with NaN coordinates."""
    present = [i for i, g in enumerate(geoms) if g is not None]
    if not present:
        return
    bounds = shapely.bounds(geoms[present])
    bad = np.nonzero(~np.isfinite(bounds).all(axis=1))[0]
    if len(bad):
        c = communes[present[int(bad[0])]]
        raise DataError(f"commune {c.code} {c.nom} lies outside every territory the engine can measure "
                        "(metropolitan France, Corsica, 971–974, 976)", record=c.code)


def _table_fits(arrays: dict, margin_m: float, block_m: float, n_communes: int) -> bool:
    """Whether cached arrays are a ``neighbour_table`` for this margin and these communes
    (another layout, or a damaged file, is built again)."""
    try:
        starts, by, communes = arrays["starts"], arrays["by"], arrays["communes"]
        return (arrays["blocks"].tolist() == [margin_m, block_m] and by.dtype == np.int32
                and communes.dtype == np.int32 and starts.dtype in (np.int32, np.int64)
                and len(starts) == len(by) + 1 and int(starts[-1]) == len(communes)
                and arrays["column_starts"][-1] == len(by) and len(arrays["columns"]) + 1 == len(arrays["column_starts"])
                and (len(communes) == 0 or 0 <= int(communes.min()) and int(communes.max()) < n_communes))
    except (KeyError, IndexError, AttributeError):
        return False


def _digest(parts) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
