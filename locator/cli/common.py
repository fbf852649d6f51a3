"""What every command shares: the ``--data`` option, settings from the arguments, progress bars."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Settings


def add_data_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, metavar="DIR", help="data folder (default: $LOCATOR_DATA_DIR or data/)")


def settings_from(args, **overrides) -> Settings:
    """Defaults → ``LOCATOR_*`` environment → this command's options (``--data``, ...)."""
    return Settings.from_env(data_dir=getattr(args, "data", None), **overrides)


def progress_bar(desc: str, *, disable: bool = False, unit: str = "doc", total: int | None = None):
    """A tqdm bar on stderr, shown only on a terminal (large counts as 1.2M)."""
    from tqdm import tqdm

    return tqdm(desc=desc, unit=unit, total=total, file=sys.stderr, disable=disable or not sys.stderr.isatty(),
                leave=False, unit_scale=True)
