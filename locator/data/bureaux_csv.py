"""Convert an organiser's CSV (id, name, address, code_insee, communes_served, lon, lat) into
the bureaux GeoJSON format. ``communes_served`` separates codes with ``;``, ``|``, ``,`` or
spaces; empty lon/lat means "not yet placed" (null geometry).

Every bad row is reported at once, by its line: one ``DataError`` lists them all, so an
organiser fixes the whole file in one pass. Against the data folder's communes, a row whose
``code_insee`` or ``communes_served`` names no commune is bad (the service would refuse the
file), and so is a row whose lon/lat, read the other way round, fall in its commune
(swapped columns). The rows are read into ``Bureau`` objects by the loader's own rules
(``loader.parse_bureau``) and written by the one bureau writer (``geojson.bureau_feature``).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import shapely

from ..errors import DataError
from ..models import Bureau, Commune
from .csvio import read_csv_rows
from .geojson import bureau_feature, dumps_collection, feature
from .loader import RecordError, parse_bureau
from .points import parse_coordinate, point_problem

REQUIRED = ("id", "name", "address", "code_insee", "communes_served", "lon", "lat")
OPTIONAL = ("location_source", "geocode_type", "geocode_score", "opening_hours", "accessibility", "notes")


def import_csv(path: Path | str, communes: list[Commune] | None = None, geometries: list | None = None) -> list[Bureau]:
    """The bureaux of an organiser's CSV, sorted by id.

    Parameters
    ----------
    communes, geometries
        The data folder's communes and their WGS84 outlines (same order; an outline may be
        None). When given, the codes are checked against them and swapped lon/lat detected.

    Raises
    ------
    DataError
        The file cannot be read, a column is missing, or rows are bad: the message lists
        every bad row with its line.
    """
    rows, problems = _read_rows(path)
    if communes is not None:
        problems += commune_problems(rows, communes, geometries or [None] * len(communes))
    if problems:
        problems.sort()
        first = problems[0][0]
        listing = "\n  ".join(f"line {line}: {message}" for line, message in problems)
        raise DataError(f"{len(problems)} bad row{'s' if len(problems) > 1 else ''}, nothing written:\n  {listing}",
                        path=str(path), record=f"line {first}")
    return sorted((b for _, b in rows), key=lambda b: b.id)


def dumps_bureaux(bureaux: list[Bureau]) -> str:
    """The bureaux file's text (``data/bureaux.geojson`` format)."""
    return dumps_collection([bureau_feature(b) for b in bureaux])


def _read_rows(path) -> tuple[list[tuple[int, Bureau]], list[tuple[int, str]]]:
    rows: list[tuple[int, Bureau]] = []
    problems: list[tuple[int, str]] = []
    for line, row in read_csv_rows(path, REQUIRED):
        try:
            rows.append((line, row_to_bureau(row)))
        except RecordError as err:
            problems.append((line, str(err)))
    counts = Counter(b.id for _, b in rows)
    for line, b in rows:
        if counts[b.id] > 1:
            others = [str(other) for other, o in rows if o.id == b.id and other != line]
            problems.append((line, f"duplicate bureau id {b.id!r} (also line {', '.join(others)})"))
    return rows, problems


def row_to_bureau(row: dict) -> Bureau:
    """One CSV row as a ``Bureau``; ``RecordError`` says everything wrong with the row."""
    wrong: list[str] = []
    lon_s, lat_s = row["lon"], row["lat"]
    geometry = None
    if bool(lon_s) != bool(lat_s):
        wrong.append("lon and lat must both be given or both empty")
    elif lon_s:
        try:
            lon, lat = parse_coordinate(lon_s), parse_coordinate(lat_s)
        except ValueError:
            wrong.append(f"lon/lat are not numbers: {lon_s!r}, {lat_s!r}")
        else:
            bad = point_problem(lon, lat)
            if bad:
                wrong.append(bad)
            else:
                geometry = {"type": "Point", "coordinates": [lon, lat]}
    served = [c for c in re.split(r"[;|,\s]+", row["communes_served"]) if c]
    if not served:
        wrong.append("communes_served is empty (list the INSEE codes whose voters vote here, "
                     "at least the bureau's own commune)")
    props = {
        "id": row["id"],
        "name": row["name"],
        "address": row["address"],
        "code_insee": row["code_insee"],
        "communes_served": served,
        "location_source": row.get("location_source") or ("manual" if geometry else None),
        "geocode_type": row.get("geocode_type") or None,
        "geocode_score": row.get("geocode_score") or None,
        **{key: row[key] for key in ("opening_hours", "accessibility", "notes") if row.get(key)},
    }
    try:
        bureau = parse_bureau(feature(props, geometry))  # the same rules as the loader
    except RecordError as err:
        wrong.append(str(err))
    if wrong:
        raise RecordError("; ".join(wrong))
    return bureau


def commune_problems(rows: list[tuple[int, Bureau]], communes: list[Commune], geometries: list) -> list[tuple[int, str]]:
    """``(line, message)`` for rows naming an unknown commune or with lon/lat swapped."""
    by_code = {c.code: k for k, c in enumerate(communes)}
    by_postcode: dict[str, list[Commune]] = {}
    for c in communes:
        for postcode in c.codes_postaux:
            by_postcode.setdefault(postcode, []).append(c)
    out: list[tuple[int, str]] = []
    for line, b in rows:
        wrong = []
        if b.code_insee not in by_code:
            wrong.append(f"code_insee {b.code_insee} is not a commune of the data folder{_postcode_hint(b.code_insee, by_postcode)}")
        unknown = [c for c in dict.fromkeys(b.communes_served) if c not in by_code]
        if unknown:
            wrong.append(f"communes_served has code(s) that are not communes of the data folder: {', '.join(unknown)}"
                         + "".join(_postcode_hint(c, by_postcode) for c in unknown))
        k = by_code.get(b.code_insee)
        if k is not None and b.has_point and geometries[k] is not None:
            swapped = _swapped(b.lon, b.lat, geometries[k])
            if swapped:
                c = communes[k]
                wrong.append(f"lon/lat look swapped: ({b.lon}, {b.lat}) is not in {c.nom} ({c.code}) but "
                             f"({b.lat}, {b.lon}) is: swap the two values (longitude first)")
        if wrong:
            out.append((line, "; ".join(wrong)))
    return out


def _swapped(lon: float, lat: float, geometry) -> bool:
    """True when the point is outside the commune and the swapped point inside it."""
    if not (-90 <= lon <= 90):
        return False
    return (not shapely.intersects(geometry, shapely.Point(lon, lat))
            and bool(shapely.intersects(geometry, shapely.Point(lat, lon))))


def _postcode_hint(code: str, by_postcode: dict[str, list[Commune]]) -> str:
    named = by_postcode.get(code)
    if not named:
        return ""
    return f" ({code} is the postcode of {', '.join(f'{c.nom} ({c.code})' for c in named)}: use the INSEE code)"
