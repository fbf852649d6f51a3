"""`locator` command line: one package, one module per family of commands, explicit imports.

Exit codes: 0 success, 1 a run that found problems (validator errors, lookups that failed),
2 unusable input (a data file or argument that cannot be read; the message names it).
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import DataError, LocatorError
from . import data, geocode, lookup, reu, serve, validate

#: Each module has a ``register(subparsers)``; adding a family of commands is adding it here.
COMMANDS = (data, reu, lookup, validate, geocode, serve)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="locator", description="Trouver son bureau de vote (bureau-de-vote locator).")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
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
