"""A raster shortcut for point → commune over many points.

Most random points lie far from any commune boundary, where a point-in-polygon test is
wasted work. We lay a square grid over the communes (Lambert-93 metres) and mark every cell
a boundary passes through, plus its 8 neighbours (a boundary may clip a cell's corner
between two samples). The unmarked cells form connected regions that no boundary crosses,
so each region lies inside exactly one commune (or outside all of them): one exact test on
one cell centre per region labels the whole region. Points in unmarked cells are answered
by an array read; only points in marked cells go to the exact STRtree test. The answers
are identical to the exact test: the grid only decides who needs it.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import ndimage

BOUNDARY = -2  # needs the exact test
OUTSIDE = -1


class CellGrid:
    def __init__(self, geoms_l93, locate_exact, *, cell_m: float = 50.0, max_cells: int = 40_000_000):
        """``locate_exact(x, y)`` is the exact point → commune index function."""
        minx, miny, maxx, maxy = shapely.total_bounds(geoms_l93)
        # Enlarge the cell for very large areas (all of France) to bound memory.
        span = max(maxx - minx, 1.0) * max(maxy - miny, 1.0)
        cell = max(cell_m, float(np.sqrt(span / max_cells)))
        self.cell = cell
        self.x0, self.y0 = minx - cell, miny - cell
        self.nx = int(np.ceil((maxx - self.x0) / cell)) + 2
        self.ny = int(np.ceil((maxy - self.y0) / cell)) + 2

        marked = np.zeros((self.ny, self.nx), dtype=bool)
        lines = shapely.segmentize(shapely.boundary(geoms_l93), cell / 2)
        coords = shapely.get_coordinates(lines)
        ix, iy = self._cells(coords[:, 0], coords[:, 1])
        marked[iy, ix] = True
        marked = ndimage.binary_dilation(marked, structure=np.ones((3, 3), dtype=bool))

        labels, n = ndimage.label(~marked)  # 4-connected regions no boundary crosses
        values = np.full(n + 1, BOUNDARY, dtype=np.int32)
        if n:
            # one cell per region: its first cell in row-major order
            flat = labels.ravel()
            order = np.argsort(flat, kind="stable")
            firsts = order[np.searchsorted(flat[order], np.arange(1, n + 1))]
            cy, cx = np.divmod(firsts, self.nx)
            values[1:] = locate_exact(self.x0 + (cx + 0.5) * cell, self.y0 + (cy + 0.5) * cell)
        self.grid = values[labels]  # label 0 = marked cells → BOUNDARY
        self.grid[marked] = BOUNDARY

    def _cells(self, x, y):
        ix = np.floor((np.asarray(x) - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((np.asarray(y) - self.y0) / self.cell).astype(np.int64)
        return ix, iy

    def lookup(self, x, y) -> np.ndarray:
        """Commune index, ``OUTSIDE``, or ``BOUNDARY`` (= ask the exact test) per point."""
        ix, iy = self._cells(x, y)
        inside = (ix >= 0) & (ix < self.nx) & (iy >= 0) & (iy < self.ny)
        out = np.full(ix.shape, OUTSIDE, dtype=np.int64)
        out[inside] = self.grid[iy[inside], ix[inside]]
        # NaN coordinates land "outside" through the bounds test (NaN comparisons are False)
        return out
