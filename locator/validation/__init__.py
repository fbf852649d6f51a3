"""Bureaux validator: every implausible bureau position, before election day.

>>> from locator.validation import validate_files          # doctest: +SKIP
>>> result = validate_files("data/bureaux.geojson")        # doctest: +SKIP
>>> result.summary()["errors"], result.exit_code           # doctest: +SKIP

Checks are small named functions in ``locator.validation.checks.CHECKS``; the mairie
reference is checked and chosen in ``reference``; corrections are data (``corrections``);
reports are rendered by ``report.render``; ``locator validate`` is the command line.
"""

from ..data.corrections import Correction, apply_corrections, load_corrections, write_fixed
from .checks import CHECK_LABELS, CHECK_NAMES, CHECKS, Check, label, run_checks
from .reference import Reference, choose_references
from .run import ValidationResult, validate, validate_files
from .thresholds import Thresholds

__all__ = [
    "CHECKS",
    "CHECK_LABELS",
    "CHECK_NAMES",
    "Check",
    "Correction",
    "Reference",
    "Thresholds",
    "ValidationResult",
    "apply_corrections",
    "choose_references",
    "label",
    "load_corrections",
    "run_checks",
    "validate",
    "validate_files",
    "write_fixed",
]
