"""`locator lookup`: one point, one address, or a batch file (one query per line).

A batch gives exactly one output line per input line, in order, so outputs join back to
inputs by line number: a blank line is ``invalid``, never skipped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from ..errors import DataError, InvalidQuery, LocatorError
from ..lookup.outcome import LookupResult, error_result
from ..service import Locator
from .common import add_data_argument, settings_from

#: "lon,lat", "lon;lat" or "lon lat": two numbers. Written as numbers but not finite ("nan",
#: "inf", "1e999") they are still a point, which ``check_lonlat`` refuses (``invalid``), never
#: a text to geocode.
_NUMBER = r"([-+]?(?:\d+(?:\.\d+)?(?:e[-+]?\d+)?|nan|inf(?:inity)?))"
_POINT_LINE = re.compile(rf"^\s*{_NUMBER}\s*[,;\s]\s*{_NUMBER}\s*$", re.IGNORECASE)


def register(sub) -> None:
    p = sub.add_parser("lookup", help="find the bureau for a point, an address or a batch file")
    p.add_argument("text", nargs="?", help="an address or commune name (needs the geocoder)")
    p.add_argument("--lon", type=str)
    p.add_argument("--lat", type=str)
    p.add_argument("--batch", type=Path, help="a file with one query per line ('lon,lat' or an address); - for stdin")
    p.add_argument("--json", action="store_true", help="print JSON (one object per line with --batch)")
    add_data_argument(p)
    p.set_defaults(func=cmd_lookup)


def run_query(locator: Locator, line: str) -> LookupResult:
    """One batch line → a result; never raises for bad input."""
    m = _POINT_LINE.match(line)
    if m:
        return locator.lookup_point(m.group(1), m.group(2), query=line)
    try:
        return locator.lookup(line)
    except LocatorError as err:
        return error_result(err, line)


def cmd_lookup(args) -> int:
    if args.batch is None and args.text is None and (args.lon is None or args.lat is None):
        raise DataError("give --lon and --lat, an address, or --batch FILE")
    settings = settings_from(args)
    # Point lookups never start the geocoder; the first address does. ``with`` stops the
    # embedded redis-server now, not at exit.
    with Locator.from_data_dir(settings.data_dir, settings=settings) as locator:
        if args.batch is not None:
            return _batch(locator, args)
        if args.text is not None:
            result = run_query(locator, args.text)
        else:
            result = locator.lookup_point(args.lon, args.lat)
        _print(result, args.json)
        return 0 if result.status in ("ok", "ambiguous") else 1


def _batch(locator: Locator, args) -> int:
    try:
        stream = sys.stdin if str(args.batch) == "-" else open(args.batch, encoding="utf-8")
    except OSError as err:
        raise DataError(f"cannot read: {err}", path=str(args.batch)) from err
    with stream:
        for raw in stream:
            line = raw.rstrip("\r\n")
            if not line.strip():
                _print(error_result(InvalidQuery("empty line"), line), args.json)
                continue
            _print(run_query(locator, line), args.json)
    return 0


def _print(result: LookupResult, as_json: bool) -> None:
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
