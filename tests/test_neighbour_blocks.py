"""The neighbour blocks of the point path keep a bounded number of blocks, and a block
dropped and filled again lists the same communes."""

from __future__ import annotations

import numpy as np
import shapely

from locator.communes import NeighbourBlocks


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
