"""Corrections are data: ``data/corrections.csv`` (bureau_id, lon, lat, address, reason,
author, date), applied on load and listed in every report, never ``if id == ...`` in code.

A row moves a bureau (lon and lat), changes its address, or both; ``reason`` and
``author`` are required so every change can be traced. The input bureaux file is never
modified; ``write_fixed`` writes a corrected copy atomically.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from ..models import Bureau
from .csvio import read_csv_rows
from .geojson import dumps_collection, write_atomic
from .loader import read_feature_collection
from .points import parse_coordinate, point_problem

FIELDS = ("bureau_id", "lon", "lat", "address", "reason", "author", "date")
HEADER = ",".join(FIELDS) + "\n"


@dataclass(frozen=True)
class Correction:
    bureau_id: str
    lon: float | None
    lat: float | None
    address: str | None
    reason: str
    author: str
    date: str | None
    line: int = 0

    @property
    def moves(self) -> bool:
        return self.lon is not None and self.lat is not None

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("line")
        return d


def load_corrections(path: Path | str) -> list[Correction]:
    """Read a corrections CSV (``,`` or ``;``). Raises ``DataError`` naming the file and line."""
    out = []
    for line, row in read_csv_rows(path, FIELDS):
        try:
            out.append(_parse_row(row, line))
        except ValueError as err:
            raise DataError(str(err), path=str(path), record=f"line {line}") from err
    return out


def _parse_row(row: dict, line: int) -> Correction:
    for key in ("bureau_id", "reason", "author"):
        if not row.get(key):
            raise ValueError(f"{key} is required (every correction says why and who)")
    lon_s, lat_s = row.get("lon", ""), row.get("lat", "")
    if bool(lon_s) != bool(lat_s):
        raise ValueError("lon and lat must both be given or both be empty")
    lon = lat = None
    if lon_s:
        try:
            lon, lat = parse_coordinate(lon_s), parse_coordinate(lat_s)
        except ValueError as err:
            raise ValueError(f"lon/lat are not numbers: {lon_s!r}, {lat_s!r}") from err
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise ValueError("lon/lat must be finite")
        bad = point_problem(lon, lat)
        if bad:
            raise ValueError(bad)
    address = row.get("address") or None
    if lon is None and address is None:
        raise ValueError("a correction needs a new point (lon, lat), a new address, or both")
    date = row.get("date") or None
    if date is not None:
        try:
            dt.date.fromisoformat(date)
        except ValueError as err:
            raise ValueError(f"date {date!r} is not YYYY-MM-DD") from err
    return Correction(row["bureau_id"], lon, lat, address, row["reason"], row["author"], date, line)


@dataclass(frozen=True)
class Applied:
    correction: Correction
    before: Bureau
    after: Bureau


def apply_corrections(bureaux: list[Bureau], corrections: list[Correction]
                      ) -> tuple[list[Bureau], list[Applied], list[Correction]]:
    """Bureaux with the corrections applied (in file order; a later row wins), what was
    applied, and the corrections naming no bureau."""
    out = list(bureaux)
    positions: dict[str, list[int]] = {}
    for i, b in enumerate(out):
        positions.setdefault(b.id, []).append(i)
    applied, unknown = [], []
    for corr in corrections:
        if corr.bureau_id not in positions:
            unknown.append(corr)
            continue
        for i in positions[corr.bureau_id]:
            before = out[i]
            changes: dict = {}
            if corr.moves:
                # the geocode metadata described the old point
                changes.update(lon=corr.lon, lat=corr.lat, location_source="corrected",
                               geocode_type=None, geocode_score=None)
            if corr.address is not None:
                changes["address"] = corr.address
            out[i] = dataclasses.replace(before, **changes)
            applied.append(Applied(corr, before, out[i]))
    return out, applied, unknown


def fixed_collection(source: Path | str, applied: list[Applied]) -> str:
    """The bureaux file ``source`` with the corrections applied, as GeoJSON text: every other
    feature and property is kept as it was, in the same order."""
    features = read_feature_collection(source)
    by_id: dict[str, Applied] = {}
    for a in applied:
        by_id[a.after.id] = a  # the last correction of a bureau wins, as on load
    out = []
    for feat in features:
        props = feat.get("properties") if isinstance(feat, dict) else None
        a = by_id.get(str(props.get("id"))) if isinstance(props, dict) else None
        if a is None:
            out.append(feat)
            continue
        props = dict(props)
        geometry = feat.get("geometry")
        if a.correction.moves:
            geometry = {"type": "Point", "coordinates": [a.after.lon, a.after.lat]}
        props.update(address=a.after.address, location_source=a.after.location_source,
                     geocode_type=a.after.geocode_type, geocode_score=a.after.geocode_score)
        note = f"corrigé : {a.correction.reason} ({a.correction.author}{', ' + a.correction.date if a.correction.date else ''})"
        props["notes"] = f"{props['notes']} | {note}" if props.get("notes") else note
        out.append({**feat, "properties": props, "geometry": geometry})
    return dumps_collection(out)


def write_fixed(source: Path | str, target: Path | str, applied: list[Applied]) -> None:
    """Write the corrected bureaux file atomically; refuses to overwrite the input."""
    source, target = Path(source), Path(target)
    if target.resolve() == source.resolve():
        raise DataError("--write-fixed must not overwrite the input bureaux file", path=str(target))
    write_atomic(target, fixed_collection(source, applied))
