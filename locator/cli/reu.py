"""`locator reu import`: the electoral register's bureaux, areas and addresses (docs/reu.md)."""

from __future__ import annotations

from pathlib import Path

from ..data.datadir import DataDir
from .common import add_data_argument, progress_bar, settings_from


def register(sub) -> None:
    reu = sub.add_parser("reu", help="import INSEE's electoral register extract (REU)")
    reu_sub = reu.add_subparsers(dest="reu_command", metavar="ACTION")
    reu_sub.required = True
    imp = reu_sub.add_parser(
        "import", help="bureaux, bureau areas and register addresses from the two INSEE tables",
        description="Lit les deux tables INSEE « Bureaux de vote et adresses de leurs électeurs » (CSV ou "
                    "Parquet) et écrit bureaux.geojson, bureaux_areas.geojson et register.parquet dans le "
                    "dossier de données, puis lance locator validate. Sortie 2 : fichier ou colonne illisible.")
    imp.add_argument("--adresses", required=True, type=Path, metavar="FILE",
                     help="the address table (table-adresses-reu, CSV or Parquet)")
    imp.add_argument("--bureaux", required=True, type=Path, metavar="FILE",
                     help="the bureau table (table-bv-reu, CSV or Parquet)")
    add_data_argument(imp)
    imp.add_argument("--departement", "-d", nargs="+", metavar="NN",
                     help="only these départements (default: those of the data folder)")
    imp.add_argument("--no-geocode", action="store_true",
                     help="do not geocode the bureaux (all unplaced; areas and register still written)")
    imp.add_argument("--no-validate", action="store_true", help="do not run the validator afterwards")
    imp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_reu_import)


def cmd_reu_import(args) -> int:
    from ..geocoding import build_geocoder
    from ..register.importer import import_reu
    from ..validation.checks import label
    from ..validation.report import headline
    from ..validation.run import validate_files

    settings = settings_from(args)
    data_dir = DataDir(settings.data_dir)
    # batch: a remote geocoder paces itself under the national API's rate limit
    geocoder = None if args.no_geocode else build_geocoder(settings, batch=True)
    bar = progress_bar("adresses REU", unit=" lignes", disable=args.quiet)
    try:
        with bar:
            rep = import_reu(data_dir.path, args.adresses, args.bureaux, departements=args.departement,
                             geocoder=geocoder, progress=bar.update)
    finally:
        if geocoder is not None:
            geocoder.close()
    print(f"{data_dir.path}: {rep.rows_kept} adresses REU lues dans les communes du dossier "
          f"(sur {rep.rows_read}), {rep.rows_indexed} indexées ; {rep.bureaux} bureaux, {rep.placed} placés "
          f"({rep.corrected} par corrections.csv), {len(rep.unplaced)} non placés ; {rep.areas} périmètres "
          f"estimés dans {rep.communes_multi} communes à plusieurs bureaux"
          + (f" (qualité min {rep.quality_min:.3f}, moyenne {rep.quality_mean:.3f})" if rep.quality_min is not None
             else "") + f" en {rep.seconds:.1f} s")
    for bid, why in rep.unplaced[:50]:
        print(f"  non placé {bid} : {why}")
    if len(rep.unplaced) > 50:
        print(f"  … et {len(rep.unplaced) - 50} autres (reu_import.json)")
    if args.no_validate:
        return 0
    result = validate_files(data_dir.bureaux_path, settings=settings)
    print(f"locator validate : {headline(result)}")
    for check, n in result.summary()["by_check"].items():
        print(f"  {label(check)} ({check}) : {n}")
    return 0
