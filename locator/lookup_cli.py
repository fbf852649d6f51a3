"""`locator lookup`: one point, one address, or a batch file (one query per line)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from .config import Settings
from .errors import DataError, InvalidQuery, LocatorError
from .service import Locator, error_result

_POINT_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$")


def register(sub) -> None:
    p = sub.add_parser("lookup", help="find the bureau for a point, an address or a batch file")
    p.add_argument("text", nargs="?", help="an address or commune name (needs the geocoder)")
    p.add_argument("--lon", type=str)
    p.add_argument("--lat", type=str)
    p.add_argument("--batch", type=Path, help="a file with one query per line ('lon,lat' or an address); - for stdin")
    p.add_argument("--json", action="store_true", help="print JSON (one object per line with --batch)")
    p.add_argument("--data", type=Path, help="data folder (default: $LOCATOR_DATA_DIR or data/)")
    p.set_defaults(func=cmd_lookup)


def make_locator(args) -> Locator:
    settings = Settings.from_env(data_dir=args.data)
    locator = Locator.from_data_dir(settings.data_dir, settings=settings)
    if getattr(args, "text", None) is not None or getattr(args, "batch", None) is not None:
        # Text lookups need the geocoder; it opens on the first address (point lines never
        # start it). cmd_lookup closes it, which stops the embedded redis-server.
        from .geocoding import attach_default_geocoder

        attach_default_geocoder(locator, eager=False)
    return locator


def run_query(locator: Locator, line: str):
    """One batch line → a result; never raises for bad input."""
    m = _POINT_LINE.match(line)
    if m:
        return locator.lookup_point(m.group(1), m.group(2), query=line)
    lookup = getattr(locator, "lookup", None)
    if lookup is None:
        return error_result(InvalidQuery("not lon,lat", public_message="Ligne illisible : attendu « longitude,latitude »."), line)
    try:
        return lookup(line)
    except LocatorError as err:
        return error_result(err, line)


def cmd_lookup(args) -> int:
    if args.batch is None and args.text is None and (args.lon is None or args.lat is None):
        raise DataError("give --lon and --lat, an address, or --batch FILE")
    locator = make_locator(args)
    try:
        if args.batch is not None:
            return _batch(locator, args)
        if args.text is not None:
            result = run_query(locator, args.text)
        else:
            result = locator.lookup_point(args.lon, args.lat)
        _print(result, args.json)
        return 0 if result.status in ("ok", "ambiguous") else 1
    finally:
        if locator.geocoder is not None:
            locator.geocoder.close()  # stops the embedded redis-server now, not at exit


def _batch(locator: Locator, args) -> int:
    try:
        stream = sys.stdin if str(args.batch) == "-" else open(args.batch, encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read: {err}", path=str(args.batch)) from err
    with stream:
        for raw in stream:
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            _print(run_query(locator, line), args.json)
    return 0


def _print(result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), ensure_ascii=False), flush=False)
        return
    d = result.to_dict()
    print(d["message"])
    if d["bureau"]:
        b = d["bureau"]
        dist = f" — {d['distance_m']:.0f} m" if d["distance_m"] is not None else ""
        print(f"  bureau {b['id']} ({d['method']}){dist}")
    for w in d["warnings"]:
        print(f"  ! {w['message']}")
