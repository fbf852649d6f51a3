"""Deterministic GeoJSON writing and atomic file replacement.

The same input must give a byte-identical file (reviewable diffs, reproducible builds), so
features are sorted by the caller, coordinates rounded at a fixed precision, keys kept in a
fixed order, and floats printed by ``repr`` (shortest round-trip form, stable across
Python versions).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import shapely
from shapely.geometry import mapping

#: 1e-6 degree is ~0.1 m: far below the precision of any source we read.
COORD_DECIMALS = 6


def round_coords(obj, ndigits: int = COORD_DECIMALS):
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), ndigits) for v in obj]
        return [round_coords(o, ndigits) for o in obj]
    raise TypeError(f"unexpected coordinate value {obj!r}")


def geometry_to_geojson(geom, ndigits: int = COORD_DECIMALS) -> dict | None:
    """A shapely geometry as a GeoJSON dict with rounded coordinates (None stays None)."""
    if geom is None or shapely.is_empty(geom):
        return None
    m = mapping(geom)
    return {"type": m["type"], "coordinates": round_coords(m["coordinates"], ndigits)}


def feature(properties: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def bureau_feature(bureau) -> dict:
    """A ``Bureau`` as the Feature the bureaux file holds and the API serves (``loader.parse_bureau``
    reads it back): every property, ``null`` when unknown; no geometry when not placed."""
    return {
        "type": "Feature",
        "id": bureau.id,
        "geometry": ({"type": "Point", "coordinates": [bureau.lon, bureau.lat]} if bureau.has_point else None),
        "properties": {
            "id": bureau.id,
            "name": bureau.name,
            "address": bureau.address,
            "code_insee": bureau.code_insee,
            "communes_served": list(bureau.communes_served),
            "location_source": bureau.location_source,
            "geocode_type": bureau.geocode_type,
            "geocode_score": bureau.geocode_score,
            "opening_hours": bureau.opening_hours,
            "accessibility": bureau.accessibility,
            "notes": bureau.notes,
        },
    }


def dumps_collection(features: list[dict]) -> str:
    """One feature per line: readable diffs, still valid JSON."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    body = ",\n".join(lines)
    return '{"type":"FeatureCollection","features":[\n' + body + "\n]}\n"


def _target_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: Path | str, text: str | bytes) -> None:
    """Write ``text`` (UTF-8, or ``bytes`` as they are) to ``path`` so a reader never sees a
    half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600): give it the mode a plain open() would, or
        # keep the mode of the file it replaces.
        os.chmod(tmp, _target_mode(path))
        binary = isinstance(text, (bytes, bytearray, memoryview))
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="\n")) as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
