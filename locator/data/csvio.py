"""Reading the CSV files organisers write by hand (bureaux lists, corrections).

Spreadsheets save with ``,``, ``;`` (French locale) or tabs, often with a BOM: the separator
is the one the header line uses most. Errors name the file, and the line of the record.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError


def read_csv_rows(path: Path | str, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    """``(line, row)`` for every non-blank record, keys and values stripped.

    Raises ``DataError`` when the file cannot be read or a required column is missing.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read: {err}", path=str(path)) from err
    first = text.splitlines()[0] if text.strip() else ""
    reader = csv.DictReader(io.StringIO(text), delimiter=max((",", ";", "\t"), key=first.count))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)} (expected {', '.join(required)})",
                        path=str(path), record="header")
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if any(row.values()):
            yield reader.line_num, row
