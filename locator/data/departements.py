"""Département codes, written once: ``57``, ``2A``/``2B`` (Corsica), ``971``–``976`` (overseas)."""

from __future__ import annotations

import re

from ..errors import DataError, InvalidQuery

#: A département code as INSEE writes it.
DEPARTEMENT_RE = re.compile(r"^(\d{2}|2A|2B|97\d)$")
#: A commune's INSEE code (Corsica's start with 2A/2B).
COMMUNE_CODE_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


def normalise_departement(raw) -> str:
    """``"5"`` → ``"05"``, ``"2a"`` → ``"2A"``; ``DataError`` for what cannot be one."""
    code = str(raw).strip().upper()
    if code.isdigit() and len(code) == 1:
        code = code.zfill(2)
    if not DEPARTEMENT_RE.match(code):
        raise DataError(f"not a département code: {raw!r}")
    return code


def check_departement(raw) -> str | None:
    """A département code from a request (None when absent), or ``InvalidQuery``."""
    if raw is None or raw == "":
        return None
    code = str(raw).strip().upper()
    if not DEPARTEMENT_RE.match(code):
        raise InvalidQuery("bad departement", public_message="Le code de département n'est pas valide (ex. 57).")
    return code


def departement_of(code_insee: str) -> str:
    """The département of a commune code: ``57463`` → ``57``, ``97411`` → ``974``."""
    return code_insee[:3] if code_insee.startswith("97") else code_insee[:2]
