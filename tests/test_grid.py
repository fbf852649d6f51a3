"""The sparse cell grid (``locator.grid``): its labels are the exact test's wherever it gives
one, its deep cells are farther than the margin from every boundary, and it stores only the
blocks a boundary passes near."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from locator import Locator, Settings
from locator.grid import BLOCK, BOUNDARY, CHUNK, OUTSIDE, PointGrid, TileGrid, cell_size

PROJECT_DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def index():
    return Locator.from_data_dir(PROJECT_DATA, settings=Settings(data_dir=PROJECT_DATA)).index


@pytest.fixture(scope="module")
def grid(index):
    return TileGrid(index.geoms, index._cover_exact, margin_m=300.0)


def _points(index, rng, n):
    """Uniform over the box and a strip around it, plus points within 150 m of a boundary."""
    minx, miny, maxx, maxy = shapely.total_bounds(index.geoms)
    ux, uy = rng.uniform(minx - 3000, maxx + 3000, n), rng.uniform(miny - 3000, maxy + 3000, n)
    lines = index.boundaries[rng.integers(len(index.boundaries), size=n)]
    on = shapely.line_interpolate_point(lines, rng.uniform(0, 1, n), normalized=True)
    angle, r = rng.uniform(0, 2 * np.pi, n), rng.uniform(0, 150, n)
    bx, by = shapely.get_x(on) + r * np.cos(angle), shapely.get_y(on) + r * np.sin(angle)
    return np.concatenate([ux, bx]), np.concatenate([uy, by])


def test_the_moselle_spans_several_chunks(grid):
    assert grid.ncx > 1 and grid.ncy > 1 and grid.cell == 50.0


def test_labels_are_the_exact_commune_wherever_the_grid_gives_one(index, grid):
    x, y = _points(index, np.random.default_rng(1), 40_000)
    labels = grid.lookup(x, y)
    exact, count = index._cover_exact(x, y)
    known = labels != BOUNDARY
    assert known.mean() > 0.5  # most points need no exact test
    assert np.array_equal(labels[known], exact[known])
    assert (count[known] <= 1).all()
    assert (labels == OUTSIDE).any()


def test_a_marked_cell_is_every_cell_a_boundary_crosses(index, grid):
    """Points on the boundaries themselves all fall in cells left to the exact test."""
    pts = shapely.get_coordinates(shapely.segmentize(index.boundaries, 7.0))
    assert (grid.lookup(pts[:, 0], pts[:, 1]) == BOUNDARY).all()


def test_deep_points_are_farther_than_the_margin_from_every_boundary(index, grid):
    x, y = _points(index, np.random.default_rng(2), 20_000)
    deep = grid.deep(x, y)
    assert 0.2 < deep.mean() < 0.9
    pts = shapely.points(x[deep], y[deep])
    lines_tree = shapely.STRtree(index.boundaries)
    _, to_line = lines_tree.query_nearest(pts, return_distance=True, all_matches=False)
    assert (to_line > 300.0).all()


def test_one_point_reads_the_same_tables(index, grid):
    x, y = _points(index, np.random.default_rng(3), 5000)
    one = PointGrid(grid)
    got = [one.lookup(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    assert [g[0] for g in got] == grid.lookup(x, y).tolist()
    assert [bool(g[1]) for g in got] == grid.deep(x, y).tolist()
    assert one.lookup(float("nan"), 0.0) == (OUTSIDE, False)


def test_only_blocks_near_a_boundary_keep_their_cells(grid):
    stored = len(grid.starts) - 1
    blocks = grid.nbx * grid.nby
    assert 0 < stored < blocks / 2
    assert len(grid.cells) == stored * BLOCK * BLOCK
    assert grid.nbytes < grid.nx * grid.ny / 3  # a third of a byte per cell of the box (dense: 5)
    assert grid.nx == grid.ncx * BLOCK * CHUNK


def test_a_grid_without_margin_has_no_deep_cell(index):
    bare = TileGrid(index.geoms, index._cover_exact)
    x, y = _points(index, np.random.default_rng(4), 5000)
    assert not bare.deep(x, y).any()
    assert np.array_equal(bare.lookup(x, y), TileGrid(index.geoms, index._cover_exact, margin_m=300.0).lookup(x, y))


def test_cells_grow_with_the_communes_area_not_their_box():
    assert cell_size(6.2e9) == 50.0  # a département
    assert 90 < cell_size(5.5e11) < 100  # metropolitan France


def test_neighbour_blocks_are_filled_by_the_first_lookup_in_each_and_hold_every_near_commune(index):
    from locator.communes import NeighbourBlocks

    blocks = NeighbourBlocks(index.tree, 300.0)
    assert not blocks._blocks  # nothing built up front
    x, y = _points(index, np.random.default_rng(5), 1500)
    for a, b in zip(x.tolist(), y.tolist(), strict=True):
        found = blocks.candidates(a, b)
        near = index.tree.query(shapely.Point(a, b), predicate="dwithin", distance=300.0).tolist()
        assert set(near) <= set(found)
    filled = len(blocks._blocks)
    assert 0 < filled < 3000
    blocks.candidates(x[0] + 1e-3, y[0])  # the same block again: no new entry
    assert len(blocks._blocks) == filled
    assert blocks.candidates(float("nan"), 0.0) is None
