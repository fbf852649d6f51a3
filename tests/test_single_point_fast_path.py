"""One-point lookups through the warm cell grid (``Locator.warm``) give exactly the answers
of the exact STRtree path: everywhere, near boundaries, and on either side of the margin."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import shapely
from scipy import ndimage

from locator import Locator, Settings
from locator.grid import BOUNDARY, within_radius
from locator.projection import to_l93, to_wgs84

PROJECT_DATA = Path(__file__).resolve().parent.parent / "data"


def _moselle(**settings) -> Locator:
    return Locator.from_data_dir(PROJECT_DATA, settings=Settings(data_dir=PROJECT_DATA, **settings))


@pytest.fixture(scope="module")
def exact() -> Locator:
    return _moselle()


@pytest.fixture(scope="module")
def warm() -> Locator:
    return _moselle().warm()


def _uniform(index, rng, n, pad_m=5000.0):
    """Lambert-93 points over the communes' bounding box and a strip outside it."""
    minx, miny, maxx, maxy = shapely.total_bounds(index.geoms)
    return rng.uniform(minx - pad_m, maxx + pad_m, n), rng.uniform(miny - pad_m, maxy + pad_m, n)


def _around_boundaries(index, rng, n, lo, hi):
    """Points ``lo``–``hi`` m from a random point of a random commune boundary, in a random
    direction (so at most that far from the boundary)."""
    lines = index.boundaries[rng.integers(len(index.boundaries), size=n)]
    on = shapely.line_interpolate_point(lines, rng.uniform(0, 1, n), normalized=True)
    angle, r = rng.uniform(0, 2 * np.pi, n), rng.uniform(lo, hi, n)
    return shapely.get_x(on) + r * np.cos(angle), shapely.get_y(on) + r * np.sin(angle)


def _across_boundaries(index, rng, n, lo, hi):
    """Points ``lo``–``hi`` m from a random boundary point along the boundary's normal there,
    on either side: that far from the boundary wherever it runs straight."""
    lines = index.boundaries[rng.integers(len(index.boundaries), size=n)]
    length = shapely.length(lines)
    at = rng.uniform(0, 1, n) * length
    a = shapely.line_interpolate_point(lines, at)
    b = shapely.line_interpolate_point(lines, np.minimum(at + 0.01, length))
    tx, ty = shapely.get_x(b) - shapely.get_x(a), shapely.get_y(b) - shapely.get_y(a)
    norm = np.hypot(tx, ty)
    norm[norm == 0] = 1.0
    r = rng.uniform(lo, hi, n) * rng.choice([-1.0, 1.0], n)
    return shapely.get_x(a) - ty / norm * r, shapely.get_y(a) + tx / norm * r


def _differences(exact, warm, x, y) -> list:
    lons, lats = to_wgs84(np.asarray(x), np.asarray(y))
    return [(lon, lat) for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True)
            if exact.lookup_point(lon, lat).to_dict() != warm.lookup_point(lon, lat).to_dict()]


def test_warm_lookups_equal_the_exact_ones_all_over_moselle(exact, warm):
    rng = np.random.default_rng(57)
    index = exact.index
    parts = [_uniform(index, rng, 6000), _around_boundaries(index, rng, 8000, 0, 400),
             _across_boundaries(index, rng, 6000, 299, 301)]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    assert _differences(exact, warm, x, y) == []


def test_points_either_side_of_the_margin_are_tested_both_ways(exact, warm):
    """The 299–301 m points straddle the margin: some get the warning, some do not."""
    x, y = _across_boundaries(exact.index, np.random.default_rng(300), 400, 299, 301)
    lons, lats = to_wgs84(x, y)
    warned = [bool(warm.lookup_point(lon, lat).warnings) for lon, lat in zip(lons, lats, strict=True)]
    assert 0 < sum(warned) < len(warned)


def test_most_points_of_the_moselle_box_are_answered_from_the_grid_alone(warm):
    x, y = _uniform(warm.index, np.random.default_rng(1), 4000, pad_m=0)
    deep = [warm.index.locate_cell(a, b, 300.0)[1] for a, b in zip(x.tolist(), y.tolist(), strict=True)]
    assert 0.5 < np.mean(deep) < 0.9


def test_a_deep_point_is_answered_without_any_geos_call(exact, warm, monkeypatch):
    x, y = _uniform(warm.index, np.random.default_rng(2), 200, pad_m=0)
    deep = [(a, b) for a, b in zip(x.tolist(), y.tolist(), strict=True) if warm.index.locate_cell(a, b, 300.0)[1]]
    lons, lats = to_wgs84(*np.array(deep).T)
    expected = [exact.lookup_point(lon, lat).to_dict() for lon, lat in zip(lons, lats, strict=True)]

    def no_geos(*args, **kwargs):
        raise AssertionError("a GEOS call for a deep point")

    for name in ("points", "Point", "distance"):
        monkeypatch.setattr(shapely, name, no_geos)
    monkeypatch.setattr(type(warm.index.tree), "query", no_geos)
    monkeypatch.setattr(type(warm.index.tree), "query_nearest", no_geos)
    assert [warm.lookup_point(lon, lat).to_dict() for lon, lat in zip(lons, lats, strict=True)] == expected


@pytest.mark.parametrize("margin", [100.0, 500.0])
def test_deep_cells_follow_the_configured_margin(margin):
    rng = np.random.default_rng(int(margin))
    exact, warm = _moselle(boundary_margin_m=margin), _moselle(boundary_margin_m=margin).warm()
    x, y = _across_boundaries(exact.index, rng, 2000, margin - 1, margin + 1)
    x2, y2 = _around_boundaries(exact.index, rng, 1000, 0, margin + 200)
    assert _differences(exact, warm, np.concatenate([x, x2]), np.concatenate([y, y2])) == []


def test_a_grid_warmed_for_a_narrower_margin_is_not_trusted_for_a_wider_one():
    index = _moselle().index
    index.warm(300.0)
    x, y = _uniform(index, np.random.default_rng(3), 2000, pad_m=0)
    pts = list(zip(x.tolist(), y.tolist(), strict=True))
    deep = sum(index.locate_cell(a, b, 300.0)[1] for a, b in pts)
    assert deep > 0
    assert sum(index.locate_cell(a, b, 200.0)[1] for a, b in pts) == deep
    assert not any(index.locate_cell(a, b, 5000.0)[1] for a, b in pts)
    index.warm(5000.0)  # a new margin rebuilds the deep cells
    assert 0 < sum(index.locate_cell(a, b, 5000.0)[1] for a, b in pts) < deep


def test_warm_paris_lookups_with_bureau_areas_equal_the_exact_ones(paris_dir):
    exact = Locator.from_data_dir(paris_dir, settings=Settings(data_dir=paris_dir))
    warm = Locator.from_data_dir(paris_dir, settings=Settings(data_dir=paris_dir)).warm()
    rng = np.random.default_rng(75)
    parts = [_uniform(exact.index, rng, 2000, pad_m=1000), _around_boundaries(exact.index, rng, 2000, 0, 400),
             _across_boundaries(exact.index, rng, 1000, 299, 301)]
    x, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    assert _differences(exact, warm, x, y) == []


@pytest.mark.parametrize("lon, lat", [(-180, -90), (180, 90), (0, 0), (-180, 90), (6.5, -90), (6.5, 90)])
def test_points_far_off_the_grid_get_the_exact_answer(exact, warm, lon, lat):
    assert warm.lookup_point(lon, lat).to_dict() == exact.lookup_point(lon, lat).to_dict()


def test_a_single_lookup_does_not_build_the_grid():
    loc = _moselle()
    loc.lookup_point(6.1757, 49.1196)
    assert loc.index.locate_cell(*to_l93(6.1757, 49.1196), 300.0) == (BOUNDARY, False)


def test_warm_is_idempotent_and_safe_from_several_threads():
    loc = _moselle()
    threads = [threading.Thread(target=loc.warm) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    grid = loc.index._point_grid
    assert grid is not None and loc.warm().index._point_grid is grid


def test_within_radius_is_the_euclidean_distance_transform():
    rng = np.random.default_rng(4)
    for density in (0.001, 0.02, 0.3):
        mask = rng.uniform(size=(60, 90)) < density
        for radius in (0.5, 1.0, 2.9, 7.66, 12.0):
            assert np.array_equal(within_radius(mask, radius), ndimage.distance_transform_edt(~mask) <= radius)


def test_bureau_distance_is_numpys_hypot_to_the_bit(exact):
    assigner = exact.assigner
    rng = np.random.default_rng(5)
    x, y = _uniform(exact.index, rng, 5000, pad_m=0)
    for a, b, bi in zip(x.tolist(), y.tolist(), rng.integers(len(exact.bureaux), size=len(x)).tolist(), strict=True):
        assert assigner.distance(a, b, bi) == float(np.hypot(assigner.x[bi] - a, assigner.y[bi] - b))
