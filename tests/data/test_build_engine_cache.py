"""`locator data build` ends by writing the engine's tables into ``<out>/cache/`` through the
same code as ``locator serve``'s warm-up, so the first start after a build reads them instead of
computing them; ``--no-engine-cache`` leaves that to the first start."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from locator import Locator, Settings
from locator.cli import main
from locator.data.datafrance import WHEEL_NAME

from ..national_wheel import write_one_bureau_per_commune
from .test_datafrance import make_wheel

#: What ``CommuneIndex.warm`` keeps in the cache: projected outlines, warm grid, neighbour table.
ENGINE_NAMES = {"metric", "grid-warm", "neighbours"}


@pytest.fixture
def wheel(tmp_path):
    return make_wheel(tmp_path / WHEEL_NAME)


def build(wheel, out, *extra) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["data", "build", "-d", "57,54", "--out", str(out), "--wheel", str(wheel), *extra]) == 0
    return printed.getvalue()


def cache_files(out) -> dict[str, tuple[int, int]]:
    """Each cache file by name, with what a rewrite (a new file renamed over it) changes."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in sorted((out / "cache").glob("*.npz"))}


def kinds(files) -> set[str]:
    return {name.split(".")[0] for name in files}


def test_the_first_warm_start_after_a_build_reads_the_engine_tables_the_build_wrote(wheel, tmp_path):
    out = tmp_path / "data"
    printed = build(wheel, out)
    assert "the engine's tables for 4 communes" in printed
    written = cache_files(out)
    assert ENGINE_NAMES | {"communes-54", "communes-57"} <= kinds(written)
    write_one_bureau_per_commune(out)

    loc = Locator.from_data_dir(out, settings=Settings(data_dir=out)).warm()

    after = cache_files(out)
    # nothing of the engine computed again: every file the build wrote is still the same file,
    # and the only new one is the parsed bureaux file (the build had none to read)
    assert {n: v for n, v in after.items() if n in written} == written
    assert kinds(after) - kinds(written) == {"bureaux-bureaux"}
    assert loc.index.neighbours_nbytes > 0
    assert loc.lookup_point(6.115, 49.015).to_dict()["commune"]["code"] == "57002"


def test_the_tables_are_the_ones_a_first_start_computes(wheel, tmp_path):
    built, started = tmp_path / "built", tmp_path / "started"
    build(wheel, built)
    build(wheel, started, "--no-engine-cache")
    assert kinds(cache_files(started)) == set()
    for out in (built, started):
        write_one_bureau_per_commune(out)
        Locator.from_data_dir(out, settings=Settings(data_dir=out)).warm()
    assert sorted(cache_files(built)) == sorted(cache_files(started))  # same names, same keys
    for path in sorted((built / "cache").glob("*.npz")):
        with np.load(path) as a, np.load(started / "cache" / path.name) as b:
            assert a.files == b.files
            assert all(np.array_equal(a[k], b[k]) for k in a.files), path.name


def test_a_build_over_the_same_data_rewrites_no_cache_file(wheel, tmp_path):
    out = tmp_path / "data"
    build(wheel, out)
    first = cache_files(out)
    build(wheel, out)
    assert cache_files(out) == first


def test_a_build_of_another_departement_replaces_the_tables_of_the_previous_folder(wheel, tmp_path):
    out = tmp_path / "data"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["data", "build", "-d", "57", "--out", str(out), "--wheel", str(wheel)]) == 0
    before = cache_files(out)
    build(wheel, out)  # 57 and 54: other communes files, other keys
    after = cache_files(out)
    for name in ENGINE_NAMES:  # one file each, for the folder as it is now
        assert len([n for n in after if n.split(".")[0] == name]) == 1
        assert not {n for n in after if n.split(".")[0] == name} & set(before)


def test_a_folder_that_does_not_load_gets_no_engine_tables_and_says_why(wheel, tmp_path, capsys):
    out = tmp_path / "data"
    build(wheel, out, "--no-engine-cache")
    write_one_bureau_per_commune(out)
    (out / "communes" / "54.geojson").unlink()  # a bureau now names a commune the folder lacks
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["data", "build", "-d", "57", "--out", str(out), "--wheel", str(wheel)]) == 0
    assert "engine's tables not written" in capsys.readouterr().err
    assert not ENGINE_NAMES & kinds(cache_files(out))
