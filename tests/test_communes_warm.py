"""What ``CommuneIndex.warm`` makes up front so that a server's first lookup in a place costs
what the next ones cost: the outlines as lines, the same as those made on first use."""

from __future__ import annotations

import shapely

from locator import Locator, Settings

from .conftest import PROJECT_DATA


def test_warm_makes_every_outline_as_lines_as_a_first_lookup_would():
    cold = Locator.from_data_dir(PROJECT_DATA, settings=Settings(data_dir=PROJECT_DATA))
    warm = Locator.from_data_dir(PROJECT_DATA, settings=Settings(data_dir=PROJECT_DATA)).warm()
    assert all(line is None for line in cold.index._boundaries)  # nothing made before it is asked
    made = warm.index._boundaries
    assert len(made) == len(warm.index.geoms) and all(line is not None for line in made)
    for i in range(len(made)):
        assert shapely.to_wkb(made[i]) == shapely.to_wkb(cold.index.boundary(i))
