"""Binary copies of what a load computes, kept next to the data in ``<data>/cache/``.

Reading all of France's communes from GeoJSON (35 000 outlines, 80 MB of text) and building
the engine's warm tables take tens of seconds; reading the same results back as numpy
arrays takes a fraction of one. Each cache file is named by what it was computed from: the
SHA-256 of the source file's bytes (or of the communes files, for the engine's tables) and
a format number, so a changed source, or a new version of the code that computes it, simply
misses and writes a new file; nothing is ever read from a stale one.

Only ``.npz`` files of plain arrays are written and they are read with
``allow_pickle=False``: a cache file can hold numbers and bytes, never code. Files are
written atomically (``geojson.write_atomic``: temporary file, then ``os.replace``), so a reader never sees half of
one, and two processes writing the same key write the same bytes. A folder that cannot be
written (a read-only deployment) only means no cache: loads work as without it.

The folder is git-ignored and can be deleted at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import zipfile
from pathlib import Path

import numpy as np

from .geojson import write_atomic

log = logging.getLogger(__name__)

CACHE_DIR = "cache"


def file_digest(data: bytes) -> str:
    """The key of a source file: SHA-256 of its bytes (hex, 24 characters)."""
    return hashlib.sha256(data).hexdigest()[:24]


def combined_digest(parts) -> str:
    """One key for several ordered keys (the communes files of a load)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


class ArrayCache:
    """A folder of ``<name>-<key>.npz`` files (``folder`` None: a cache that never hits).

    ``scoped(key)`` gives the same folder with every name suffixed by ``key``: the engine
    gets a cache scoped by the digest of the communes it was built from.
    """

    def __init__(self, folder: Path | str | None, scope: str = ""):
        self.folder = None if folder is None else Path(folder)
        self.scope = scope

    def __repr__(self) -> str:
        return f"ArrayCache({str(self.folder)!r}, scope={self.scope!r})"

    def scoped(self, key: str) -> ArrayCache:
        return ArrayCache(self.folder, f"{self.scope}-{key}" if self.scope else key)

    def path(self, name: str, key: str = "") -> Path | None:
        """``<folder>/<name>.<key>-<scope>.npz`` (names hold no dot, keys are hex)."""
        if self.folder is None:
            return None
        if "." in name:
            raise ValueError(f"cache names hold no dot: {name!r}")
        suffix = "-".join(k for k in (key, self.scope) if k) or "0"
        return self.folder / f"{name}.{suffix}.npz"

    def get(self, name: str, key: str = "") -> dict[str, np.ndarray] | None:
        """The arrays stored under ``name`` (and ``key``), or None (absent, unreadable)."""
        path = self.path(name, key)
        if path is None:
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:  # truncated by hand, disk error
            log.warning("cache file %s unreadable (%s): rebuilt", path, err)
            return None

    def put(self, name: str, arrays: dict[str, np.ndarray], key: str = "") -> bool:
        """Store ``arrays`` atomically; False (and nothing written) when the folder is not
        writable. Older files of the same name, other keys, are removed."""
        path = self.path(name, key)
        if path is None or not path.parent.parent.is_dir():  # never make the data folder itself
            return False
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        try:
            write_atomic(path, buffer.getbuffer())
        except OSError as err:
            log.info("no cache written in %s (%s)", path.parent, err)
            return False
        self._prune(name, path)
        return True

    def _prune(self, name: str, keep: Path) -> None:
        """Remove this name's files for other sources (a rebuilt département, new code)."""
        for old in keep.parent.glob(f"{name}.*.npz"):
            if old != keep:
                with contextlib.suppress(OSError):
                    old.unlink()


def pack_bytes(items: list[bytes | None]) -> dict[str, np.ndarray]:
    """Many byte strings (or None) as two arrays: the bytes end to end and each one's end
    (-1 for None)."""
    lengths = np.array([-1 if b is None else len(b) for b in items], dtype=np.int64)
    blob = b"".join(b for b in items if b is not None)
    return {"blob": np.frombuffer(blob, dtype=np.uint8), "lengths": lengths}


def unpack_bytes(blob: np.ndarray, lengths: np.ndarray) -> list[bytes | None]:
    data = blob.tobytes()
    ends = np.cumsum(np.maximum(lengths, 0)).tolist()
    out: list[bytes | None] = []
    start = 0
    for n, end in zip(lengths.tolist(), ends, strict=True):
        out.append(None if n < 0 else data[start:end])
        start = end
    return out
