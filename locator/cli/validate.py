"""`locator validate`: check the bureaux before publishing them.

Exit codes: 0 no error, 1 errors found (with ``--strict``: errors or warnings), 2 input
unusable (the message names the file and the record). ``scripts/validate_bureaux.py`` runs
exactly this command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Settings
from ..data.corrections import write_fixed
from ..data.datadir import DataDir
from ..data.geojson import write_atomic
from ..errors import DataError, LocatorError
from ..validation.regeocode import DEFAULT_RATE_PER_S
from ..validation.report import FORMATS, headline, render
from ..validation.run import validate_files
from .common import add_data_argument, settings_from


def register(sub) -> None:
    p = sub.add_parser(
        "validate", help="check the bureaux file before publishing it",
        description="Contrôle les bureaux de vote : positions impossibles, commune, mairie, géocodage, "
                    "cohérence. Sortie 0 : aucune erreur ; 1 : erreurs (avec --strict : erreurs ou "
                    "avertissements) ; 2 : données illisibles.")
    add_arguments(p)
    p.set_defaults(func=cmd_validate)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("bureaux", nargs="?", type=Path, metavar="BUREAUX",
                   help="bureaux GeoJSON (default: <data dir>/bureaux.geojson)")
    p.add_argument("--communes", nargs="+", action="extend", type=Path, metavar="PATH",
                   help="communes GeoJSON file(s) or folder(s) (default: <data dir>/communes/*.geojson)")
    p.add_argument("--areas", type=Path, metavar="FILE",
                   help="official bureau areas (polygons with bureau_id; default: bureaux_areas.geojson next "
                        "to BUREAUX when it exists)")
    p.add_argument("--corrections", type=Path, metavar="FILE",
                   help="corrections CSV (default: corrections.csv next to BUREAUX when it exists)")
    p.add_argument("--no-corrections", action="store_true", help="do not apply any corrections file")
    p.add_argument("--format", choices=FORMATS, default="text", help="report format (default: text)")
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report here (default: stdout)")
    p.add_argument("--regeocode", action="store_true",
                   help="geocode every bureau address (and the mairie addresses) and compare with the stored points")
    p.add_argument("--rate", type=float, metavar="N",
                   help=f"--regeocode: at most N requests per second (0: no limit; default: {DEFAULT_RATE_PER_S:g} "
                        "when a remote geocoder is configured, no limit for the embedded one)")
    p.add_argument("--write-fixed", type=Path, metavar="FILE",
                   help="write the bureaux with the corrections applied to FILE (atomically; the input is never modified)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 on warnings too (to gate publication: every warning checked by a person)")
    add_data_argument(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary line on stderr")


def cmd_validate(args) -> int:
    settings = settings_from(args)
    bureaux_path = args.bureaux if args.bureaux is not None else DataDir(settings.data_dir).bureaux_path
    if args.write_fixed is not None and args.write_fixed.resolve() == bureaux_path.resolve():
        raise DataError("--write-fixed must not overwrite the input bureaux file", path=str(args.write_fixed))
    geocoder, geocoder_error = _geocoder(settings) if args.regeocode else (None, None)
    try:
        result = validate_files(
            bureaux_path, args.communes, areas_path=args.areas,
            corrections_path=None if args.no_corrections else args.corrections,
            default_corrections=not args.no_corrections, settings=settings, geocoder=geocoder,
            geocoder_error=geocoder_error, rate_per_s=_rate(args.rate, settings), progress=not args.quiet)
    finally:
        if geocoder is not None:
            geocoder.close()
    text = render(result, args.format, settings=settings)
    if args.output is not None:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if args.write_fixed is not None:
        write_fixed(bureaux_path, args.write_fixed, result.applied)
    if not args.quiet and (args.output is not None or args.format != "text"):
        where = f" → {args.output}" if args.output is not None else ""
        print(f"{result.summary()['bureaux']} bureaux contrôlés. {headline(result)}{where}", file=sys.stderr)
    return result.status(strict=args.strict)


def _rate(requested: float | None, settings: Settings) -> float:
    """Requests per second for --regeocode: as asked, else polite for a remote service and
    unlimited for the embedded geocoder (it runs on this machine)."""
    if requested is not None:
        return requested
    return DEFAULT_RATE_PER_S if "remote" in settings.geocoders else 0.0


def _geocoder(settings: Settings):
    """``(geocoder, None)``, or ``(None, why)`` when it cannot start: the validation still
    runs without re-geocoding and the report says so (``regeocode_unavailable``)."""
    from ..geocoding import build_geocoder

    try:
        # batch: the remote backend paces itself for bulk work
        return build_geocoder(settings, batch=True), None
    except LocatorError as err:
        why = str(err)
    print(f"warning: --regeocode: {why}", file=sys.stderr)
    return None, why


def main(argv=None) -> int:
    """Entry point of scripts/validate_bureaux.py: ``locator validate`` with the same options."""
    from ..cli import main as locator_main

    return locator_main(["validate", *(sys.argv[1:] if argv is None else argv)])
