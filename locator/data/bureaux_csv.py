"""Convert an organiser's CSV (id, name, address, code_insee, communes_served, lon, lat) into
the bureaux GeoJSON format. ``communes_served`` separates codes with ``;``, ``|`` or spaces;
empty lon/lat means "not yet placed" (null geometry). Every bad row is named by its line."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import DataError
from .csvio import read_csv_rows
from .geojson import feature
from .loader import RecordError, parse_bureau
from .points import parse_coordinate, point_problem

REQUIRED = ("id", "name", "address", "code_insee", "communes_served", "lon", "lat")
OPTIONAL = ("location_source", "geocode_type", "geocode_score", "opening_hours", "accessibility", "notes")


def import_csv(path: Path | str) -> list[dict]:
    out, seen = [], set()
    for line, row in read_csv_rows(path, REQUIRED):
        try:
            out.append(_row_to_feature(row))
        except (RecordError, ValueError) as err:
            raise DataError(str(err), path=str(path), record=f"line {line}") from err
        bid = out[-1]["properties"]["id"]
        if bid in seen:
            raise DataError(f"duplicate bureau id {bid!r}", path=str(path), record=f"line {line}")
        seen.add(bid)
    return sorted(out, key=lambda f: f["properties"]["id"])


def _row_to_feature(row: dict) -> dict:
    lon_s, lat_s = row["lon"], row["lat"]
    if bool(lon_s) != bool(lat_s):
        raise RecordError("lon and lat must both be given or both empty")
    geometry = None
    if lon_s:
        try:
            lon, lat = parse_coordinate(lon_s), parse_coordinate(lat_s)
        except ValueError as err:
            raise RecordError(f"lon/lat are not numbers: {lon_s!r}, {lat_s!r}") from err
        bad = point_problem(lon, lat)
        if bad:
            raise RecordError(bad)
        geometry = {"type": "Point", "coordinates": [lon, lat]}
    props = {
        "id": row["id"],
        "name": row["name"],
        "address": row["address"],
        "code_insee": row["code_insee"],
        "communes_served": [c for c in re.split(r"[;|,\s]+", row["communes_served"]) if c],
        "location_source": row.get("location_source") or ("manual" if geometry else None),
        "geocode_type": row.get("geocode_type") or None,
        "geocode_score": float(row["geocode_score"]) if row.get("geocode_score") else None,
    }
    for key in ("opening_hours", "accessibility", "notes"):
        if row.get(key):
            props[key] = row[key]
    feat = feature(props, geometry)
    parse_bureau(feat)  # the same rules as the loader
    return feat
