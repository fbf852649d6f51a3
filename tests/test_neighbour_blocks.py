"""The neighbour blocks of the point path: the table filled at warm time lists, for every
block a warm lookup inside a commune can ask for, what the block's own tree query lists, in
the same order; blocks off it are filled on demand, a bounded number of them, and a block
dropped and filled again lists the same communes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from locator.communes import NO_COMMUNE, NeighbourBlocks, _blocks_touched, neighbour_table
from locator.grid import BOUNDARY, OUTSIDE, TerritoryGrids, TerritoryPointGrids


def test_the_neighbour_blocks_stay_bounded_and_answer_as_an_unbounded_table(moselle):
    index = moselle.index
    bounded = NeighbourBlocks(index.tree, 300.0, max_blocks=40)
    unbounded = NeighbourBlocks(index.tree, 300.0, max_blocks=10**9)
    rng = np.random.default_rng(8)
    minx, miny, maxx, maxy = shapely.total_bounds(index.geoms)
    xs, ys = rng.uniform(minx, maxx, 2000), rng.uniform(miny, maxy, 2000)
    for x, y in zip(np.concatenate([xs, xs[:300]]).tolist(), np.concatenate([ys, ys[:300]]).tolist(), strict=True):
        assert bounded.candidates(x, y) == unbounded.candidates(x, y)
        assert len(bounded) <= 40
    assert len(unbounded) > 40


def test_a_point_off_every_territory_has_no_block(moselle):
    blocks = NeighbourBlocks(moselle.index.tree, 300.0)
    assert blocks.candidates(float("nan"), 0.0) is None
    assert len(blocks) == 0


@pytest.fixture(scope="module", params=[50.0, 250.0])
def table(moselle, request):
    """The Moselle's warm grids and neighbour table, with the département's 50 m cells and
    with cells larger than those of all of France (96 m), so that a block of cells spans
    several 500 m blocks."""
    index = moselle.index
    grids = TerritoryGrids(index.geoms, index._cover_exact, margin_m=300.0, cell_m=request.param)
    return grids, neighbour_table(grids, index.tree, 300.0)


def test_the_filled_table_lists_for_each_block_what_its_own_tree_query_lists(moselle, table):
    _, arrays = table
    filled = NeighbourBlocks(moselle.index.tree, 300.0, table=arrays)
    lazy = NeighbourBlocks(moselle.index.tree, 300.0, max_blocks=10**9)
    columns = np.repeat(arrays["columns"], np.diff(arrays["column_starts"]))
    assert len(columns) == len(arrays["by"]) > 1000
    for bx, by in zip(columns.tolist(), arrays["by"].tolist(), strict=True):
        x, y = (bx + 0.5) * 500.0, (by + 0.5) * 500.0
        assert filled.candidates(x, y) == lazy.candidates(x, y)  # same communes, same (tree) order
    assert len(filled) == 0  # every one read from the table, none filled on demand


def test_the_table_s_list_starts_are_int32_from_zero_to_the_lists_end(table):
    _, arrays = table
    starts = arrays["starts"]
    assert starts.dtype == np.int32
    assert starts[0] == 0 and starts[-1] == len(arrays["communes"]) and np.all(np.diff(starts) >= 0)
    assert len(starts) == len(arrays["by"]) + 1


def test_every_point_a_warm_lookup_asks_neighbours_for_finds_its_block_in_the_table(moselle, table):
    grids, arrays = table
    index = moselle.index
    point_grids = TerritoryPointGrids(grids)
    filled = NeighbourBlocks(index.tree, 300.0, table=arrays)
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = shapely.total_bounds(index.geoms)
    xs, ys = rng.uniform(minx, maxx, 20_000), rng.uniform(miny, maxy, 20_000)
    # and points on the blocks' edges and corners, where rounding decides the block
    edge_x = np.round(xs[:2000] / 500.0) * 500.0
    edge_y = np.round(ys[:2000] / 500.0) * 500.0
    xs = np.concatenate([xs, edge_x, xs[2000:4000], edge_x])
    ys = np.concatenate([ys, ys[:2000], edge_y[:2000], edge_y])
    asked = 0
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        ci, deep = point_grids.lookup(x, y)
        if deep or ci == OUTSIDE or (ci == BOUNDARY and index.locate_one(shapely.Point(x, y)) == NO_COMMUNE):
            continue  # deep: no neighbour asked; outside every commune: no boundary warning
        asked += 1
        filled.candidates(x, y)
        assert len(filled) == 0, (x, y)  # found in the table, not filled on demand
    assert asked > 5000


def test_a_table_of_another_margin_is_refused(moselle, table):
    _, arrays = table
    with pytest.raises(ValueError):
        NeighbourBlocks(moselle.index.tree, 200.0, table=arrays)


def test_a_block_off_the_table_is_still_filled_on_first_use(moselle, table):
    _, arrays = table
    filled = NeighbourBlocks(moselle.index.tree, 300.0, table=arrays)
    lazy = NeighbourBlocks(moselle.index.tree, 300.0)
    far = (float(arrays["columns"][0]) - 40.0) * 500.0, float(arrays["by"][0]) * 500.0  # 20 km west of the first column
    assert filled.candidates(*far) == lazy.candidates(*far)
    assert len(filled) == 1


class _OneSquare:
    """A grid's extent and one square of shallow cells (``TileGrid.shallow_cells``)."""

    def __init__(self, x0, y0, cell, ix, iy, n):
        self.x0, self.y0, self.cell, self.nx, self.ny = x0, y0, cell, 64, 64
        self._square = (np.array([ix]), np.array([iy]), n)

    def shallow_cells(self):
        yield self._square


@pytest.mark.parametrize(("cell", "n"), [(50.0, 1), (50.0, 8), (96.0, 8), (120.0, 8), (250.0, 8), (499.0, 1)])
def test_a_square_of_shallow_cells_marks_every_block_it_overlaps_and_no_other(cell, n):
    x0, y0 = 1_000_123.4, 6_000_321.9
    grid = _OneSquare(x0, y0, cell, 3, 5, n)
    bx, by = _blocks_touched(grid, 500.0)
    lo_x, lo_y = x0 + 3 * cell, y0 + 5 * cell
    expected = {(c, r) for c in range(math.floor(lo_x / 500.0), math.floor((lo_x + n * cell) / 500.0) + 1)
                for r in range(math.floor(lo_y / 500.0), math.floor((lo_y + n * cell) / 500.0) + 1)}
    assert set(zip(bx.tolist(), by.tolist(), strict=True)) == expected
