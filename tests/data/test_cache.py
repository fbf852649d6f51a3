"""The binary cache next to the data (``locator.data.cache``): a load from it gives the same
records and outlines as a load from the GeoJSON, a changed source is never read from a stale
copy, and a cache that cannot be read or written only means the slow path."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import shapely

from locator import Locator, Settings
from locator.data.cache import ArrayCache
from locator.data.datadir import DataDir

from ..conftest import make_data_dir


@pytest.fixture
def data(tmp_path):
    return make_data_dir(tmp_path / "data")


def _same_dataset(a, b) -> bool:
    wkb = [shapely.to_wkb(np.asarray(d.commune_geoms, dtype=object)).tolist() for d in (a, b)]
    return a.communes == b.communes and a.bureaux == b.bureaux and wkb[0] == wkb[1]


def test_a_second_load_reads_the_cache_and_gives_the_same_dataset(data, monkeypatch):
    first = DataDir(data).load(strict=True)
    names = sorted(p.name.split(".")[0] for p in (data / "cache").glob("*.npz"))
    assert names == ["bureaux-bureaux", "communes-57"]

    import locator.data.loader as loader

    def no_parsing(*args, **kwargs):
        raise AssertionError("the GeoJSON was parsed again")

    monkeypatch.setattr(loader, "parse_feature_collection", no_parsing)
    second = DataDir(data).load(strict=True)
    assert _same_dataset(first, second)
    assert second.communes_digest == first.communes_digest != ""


def test_a_changed_communes_file_is_read_again_and_its_old_copy_removed(data):
    DataDir(data).load(strict=True)
    old = sorted((data / "cache").glob("communes-57.*.npz"))
    path = data / "communes" / "57.geojson"
    path.write_text(path.read_text(encoding="utf-8").replace('"nom":"Metz"', '"nom":"Metz-Ville"'),
                    encoding="utf-8")
    dataset = DataDir(data).load(strict=True)
    assert any(c.nom == "Metz-Ville" for c in dataset.communes)
    new = sorted((data / "cache").glob("communes-57.*.npz"))
    assert len(new) == 1 and new != old


def test_a_damaged_cache_file_is_ignored_and_rewritten(data):
    first = DataDir(data).load(strict=True)
    for path in (data / "cache").glob("*.npz"):
        path.write_bytes(path.read_bytes()[:100])
    second = DataDir(data).load(strict=True)
    assert _same_dataset(first, second)
    again = DataDir(data).load(strict=True)
    assert _same_dataset(first, again)


def test_a_file_with_a_bad_record_is_never_cached(data):
    path = data / "communes" / "57.geojson"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"nom":"Metz"', '"nom":""'), encoding="utf-8")
    lenient = DataDir(data).load(strict=False)
    assert lenient.problems
    assert not list((data / "cache").glob("communes-57.*.npz"))


def test_the_engine_reads_its_projected_outlines_and_warm_grid_back_identical(data):
    settings = Settings(data_dir=data)
    built = Locator.from_data_dir(data, settings=settings).warm()
    assert {p.name.split(".")[0] for p in (data / "cache").glob("*.npz")} >= {"metric", "grid-warm"}
    cached = Locator.from_data_dir(data, settings=settings).warm()
    assert shapely.to_wkb(built.index.geoms).tolist() == shapely.to_wkb(cached.index.geoms).tolist()
    a, b = built.index.grid().to_arrays(), cached.index.grid().to_arrays()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = shapely.total_bounds(built.index.geoms)
    xs, ys = rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)
    for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
        assert built.index.locate_cell(x, y, 300.0) == cached.index.locate_cell(x, y, 300.0)
    lon, lat = cached.index.communes[0].mairie_lon, cached.index.communes[0].mairie_lat
    assert built.lookup_point(lon, lat).to_dict() == cached.lookup_point(lon, lat).to_dict()


def test_a_folder_that_cannot_hold_a_cache_loads_as_without_one(tmp_path, data):
    (data / "cache").write_text("not a folder", encoding="utf-8")  # mkdir and writes fail
    first = DataDir(data).load(strict=True)
    second = DataDir(data).load(strict=True)
    assert _same_dataset(first, second)
    assert not ArrayCache(None).put("x", {"a": np.zeros(1)})
    assert ArrayCache(None).get("x") is None


def test_a_copied_data_folder_uses_the_copied_cache(tmp_path, data):
    first = DataDir(data).load(strict=True)
    copy = tmp_path / "copy"
    shutil.copytree(data, copy)
    assert _same_dataset(first, DataDir(copy).load(strict=True))


def test_no_cache_is_written_for_a_data_folder_that_does_not_exist(tmp_path):
    cache = ArrayCache(tmp_path / "nowhere" / "cache")
    assert not cache.put("x", {"a": np.zeros(1)})
    assert not (tmp_path / "nowhere").exists()


def test_a_batch_on_a_fresh_locator_reads_the_warm_grid_kept_by_a_server(data):
    settings = Settings(data_dir=data)
    Locator.from_data_dir(data, settings=settings).warm()
    assert not list((data / "cache").glob("grid-labels.*"))
    fresh = Locator.from_data_dir(data, settings=settings)
    assert fresh.index.grid().margin_m == 300.0  # read, not built without a margin
    rng = np.random.default_rng(2)
    minx, miny, maxx, maxy = shapely.total_bounds(fresh.index.geoms)
    x, y = rng.uniform(minx, maxx, 30_000), rng.uniform(miny, maxy, 30_000)
    assert np.array_equal(fresh.index.locate(x, y), fresh.index._locate_exact(x, y))


def test_the_neighbour_table_is_kept_and_read_back_by_the_next_warm_start(data, monkeypatch):
    settings = Settings(data_dir=data)
    built = Locator.from_data_dir(data, settings=settings).warm()
    assert list((data / "cache").glob("neighbours.*.npz"))

    import locator.communes as communes

    def no_table(*args, **kwargs):
        raise AssertionError("the neighbour table was built again")

    monkeypatch.setattr(communes, "neighbour_table", no_table)
    cached = Locator.from_data_dir(data, settings=settings).warm()
    a, b = built.index._blocks, cached.index._blocks
    assert a.table_size == b.table_size > 0
    rng = np.random.default_rng(6)
    minx, miny, maxx, maxy = shapely.total_bounds(built.index.geoms)
    for x, y in zip(rng.uniform(minx, maxx, 3000).tolist(), rng.uniform(miny, maxy, 3000).tolist(), strict=True):
        assert a.candidates(x, y) == b.candidates(x, y)


def test_a_neighbour_table_kept_with_int64_starts_is_read_back_as_int32(data, monkeypatch):
    settings = Settings(data_dir=data)
    built = Locator.from_data_dir(data, settings=settings).warm()
    (path,) = (data / "cache").glob("neighbours.*.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert arrays["starts"].dtype == np.int32
    arrays["starts"] = arrays["starts"].astype(np.int64)  # as the previous version kept it
    np.savez(path, **arrays)

    import locator.communes as communes

    def no_table(*args, **kwargs):
        raise AssertionError("the neighbour table was built again")

    monkeypatch.setattr(communes, "neighbour_table", no_table)
    again = Locator.from_data_dir(data, settings=settings).warm()
    assert again.index.neighbours_nbytes == built.index.neighbours_nbytes
    assert again.index._blocks._starts.format == built.index._blocks._starts.format == "i"


def test_a_neighbour_table_of_another_layout_in_the_cache_is_built_again(data):
    settings = Settings(data_dir=data)
    built = Locator.from_data_dir(data, settings=settings).warm()
    (path,) = (data / "cache").glob("neighbours.*.npz")
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["starts"] = arrays["starts"][:-5]  # a table cut short
    np.savez(path, **arrays)
    again = Locator.from_data_dir(data, settings=settings).warm()
    assert again.index._blocks.table_size == built.index._blocks.table_size
    with np.load(path) as npz:
        assert len(npz["starts"]) == len(npz["by"]) + 1  # written again, whole
