"""`locator` command line. Each area of the project registers its own subcommands.

Exit codes: 0 success, 1 a run that found problems (validator errors, lookups that failed),
2 unusable input (a data file or argument that cannot be read; the message names it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from .errors import DataError, LocatorError

#: Modules with a ``register(subparsers)`` function; adding a command is adding a line.
COMMAND_MODULES = (
    "locator.data.cli",
    "locator.lookup_cli",
    "locator.validation.cli",
    "locator.geocoding.cli",
    "locator.web.cli",
    "locator.reu_cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="locator", description="Trouver son bureau de vote (bureau-de-vote locator).")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except LocatorError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `locator lookup ... | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
