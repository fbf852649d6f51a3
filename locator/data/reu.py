"""Streaming readers of INSEE's « Bureaux de vote et adresses de leurs électeurs » (REU extract).

Two tables, as INSEE publishes them on data.gouv.fr, in CSV (``,`` or ``;``, UTF-8 with or
without BOM; a cp1252 or UTF-16 export from a spreadsheet is read too) or Parquet:

* addresses (``table-adresses-reu``): one row per geocoded address, with the bureau its
  voters are registered in (``id_brut_bv_reu``), ``code_commune_ref``, ``longitude``,
  ``latitude``, ``geo_type``, ``geo_score``, ``geo_adresse``, ``nb_adresses``...;
* bureaux (``table-bv-reu``): one row per bureau (``id_brut_reu``, ``code_commune``,
  ``code``, ``libelle_reu``, ``num_voie_reu``, ``voie_reu``, ``cp_reu``, ``commune_reu``...),
  without coordinates.

Both are read in record batches (pyarrow's streaming CSV reader, Parquet ``iter_batches``)
and filtered to the wanted communes batch by batch, so the national files (about 18 million
addresses) go through in bounded memory. Missing required columns raise ``DataError``
naming the file and the column (the CLI exits 2).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import DataError

#: Rows per batch: a few MB of Arrow memory per batch whatever the file's size.
BATCH_ROWS = 262_144
#: How much of a CSV file is read to find its encoding and delimiter.
SNIFF_BYTES = 1 << 16

#: Both tables name the bureau; INSEE uses either spelling depending on the table.
BUREAU_ID_COLUMNS = ("id_brut_bv_reu", "id_brut_reu")


@dataclass(frozen=True)
class Layout:
    """The columns of one INSEE table: required (one of each tuple), optional, and their type."""

    name: str
    #: Each entry: the accepted spellings of one required column, the first is the canonical name.
    required: tuple[tuple[str, ...], ...]
    optional: tuple[str, ...]
    floats: tuple[str, ...] = ()
    ints: tuple[str, ...] = ()
    #: The column holding the INSEE commune code (filtering by commune / département).
    commune: str = "code_commune"


ADDRESSES = Layout(
    name="adresses",
    required=(BUREAU_ID_COLUMNS, ("code_commune_ref",), ("longitude",), ("latitude",), ("geo_type",),
              ("geo_score",)),
    optional=("geo_adresse", "nb_adresses", "id", "reconstitution_code_commune", "nb_bv_commune", "api_line"),
    floats=("longitude", "latitude", "geo_score"),
    ints=("nb_adresses", "nb_bv_commune"),
    commune="code_commune_ref",
)

BUREAUX = Layout(
    name="bureaux",
    required=(BUREAU_ID_COLUMNS, ("code_commune",)),
    optional=("code", "libelle_reu", "num_voie_reu", "voie_reu", "cp_reu", "commune_reu", "nb_adresses",
              "nb_electeurs", "id_bv"),
    ints=("nb_adresses", "nb_electeurs"),
    commune="code_commune",
)


def canonical_columns(layout: Layout, present: Iterable[str], path: Path) -> dict[str, str]:
    """{column in the file: canonical name} for the columns the layout uses.

    Raises
    ------
    DataError
        naming the file and the first missing required column.
    """
    present = [c.strip().lstrip("\ufeff") for c in present]
    lowered = {c.lower(): c for c in present}
    out: dict[str, str] = {}
    for spellings in layout.required:
        found = next((lowered[s] for s in spellings if s in lowered), None)
        if found is None:
            raise DataError(f"the {layout.name} table has no column {' or '.join(spellings)} "
                            f"(columns: {', '.join(present[:20])})", path=str(path), record="header")
        out[found] = spellings[0]
    for name in layout.optional:
        if name in lowered and lowered[name] not in out:
            out[lowered[name]] = name
    return out


# -- CSV dialect ---------------------------------------------------------------------------------

def sniff_csv(path: Path) -> tuple[str, str, list[str]]:
    """(Python codec, delimiter, header columns) of a CSV file, from its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as err:
        raise DataError(f"cannot read: {err}", path=str(path)) from err
    if not head.strip():
        raise DataError("empty file", path=str(path))
    encoding = _encoding(head)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(head)
    header = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    delimiter = max(counts, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        raise DataError("not a CSV table: no ',', ';' or tab in the header line", path=str(path), record="header")
    columns = [c.strip().strip('"') for c in header.split(delimiter)]
    return encoding, delimiter, columns


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:  # not just a character cut at the end of the sample
            return "cp1252"  # a spreadsheet's "CSV (séparateur : point-virgule)" export
    return "utf-8"


# -- readers -------------------------------------------------------------------------------------

def is_parquet(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError as err:
        raise DataError(f"cannot read: {err}", path=str(path)) from err


def read_table(path: Path | str, layout: Layout, *, keep: Callable[[pa.Array], pa.Array] | None = None,
               progress: Callable[[int], None] | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[pa.Table]:
    """Batches of one INSEE table with canonical column names and types.

    Parameters
    ----------
    keep
        given the commune code column (strings, 5 characters), a boolean mask of the rows
        to keep; every row when omitted.
    progress
        called with the number of rows read after each batch (filtered or not).

    Raises
    ------
    DataError
        the file cannot be read, lacks a required column, or a value cannot be converted.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", path=str(path))
    batches = _parquet_batches(path, layout, batch_rows) if is_parquet(path) else _csv_batches(path, layout, batch_rows)
    try:
        for names, batch in batches:
            table = pa.Table.from_batches([batch]).rename_columns([names[c] for c in batch.schema.names])
            table = _normalise(table, layout, path)
            if progress is not None:
                progress(table.num_rows)
            if keep is not None:
                table = table.filter(keep(table.column(layout.commune)))
            if table.num_rows:
                yield table
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, OSError) as err:
        raise DataError(f"unreadable {layout.name} table: {err}", path=str(path)) from err


def _parquet_batches(path: Path, layout: Layout, batch_rows: int):
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"not a readable Parquet file: {err}", path=str(path)) from err
    names = canonical_columns(layout, pf.schema_arrow.names, path)
    for batch in pf.iter_batches(batch_size=batch_rows, columns=list(names)):
        yield names, batch


def _csv_batches(path: Path, layout: Layout, batch_rows: int):
    import pyarrow.csv as pacsv

    encoding, delimiter, header = sniff_csv(path)
    names = canonical_columns(layout, header, path)
    header_clean = [c.strip().lstrip("\ufeff") for c in header]
    # Everything as text first: codes keep their leading zeros ("01001"), and numbers written
    # with a decimal comma (a ';' export) are converted in ``_normalise``.
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
                                       column_names=header_clean, skip_rows=1, block_size=1 << 22),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(include_columns=list(names),
                                             column_types={c: pa.string() for c in names},
                                             strings_can_be_null=False),
    )
    for batch in reader:
        yield names, batch


def _normalise(table: pa.Table, layout: Layout, path: Path) -> pa.Table:
    """Strings stripped, codes as 5-character text, numbers as float64/int64 (null when empty)."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if name in layout.floats:
            col = _to_number(col, pa.float64(), name, path)
        elif name in layout.ints:
            col = _to_number(col, pa.int64(), name, path)
        else:
            if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
                col = pc.cast(col, pa.string())
            col = pc.utf8_trim_whitespace(col)
            if name == layout.commune:
                # a spreadsheet may have dropped the leading zero of 01001 (Ain)
                col = pc.utf8_lpad(col, width=5, padding="0")
        cols[name] = col
    return pa.table(cols)


def _to_number(col, kind, name: str, path: Path):
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        text = pc.replace_substring(pc.utf8_trim_whitespace(col), ",", ".")
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        try:
            return pc.cast(pc.cast(text, pa.float64()), kind, safe=False) if kind == pa.int64() else pc.cast(text, kind)
        except pa.ArrowInvalid as err:
            raise DataError(f"column {name}: a value is not a number ({err})", path=str(path)) from err
    return pc.cast(col, kind, safe=False)


# -- filters -------------------------------------------------------------------------------------

def commune_filter(codes: Iterable[str] | None = None, departements: Iterable[str] | None = None):
    """A ``keep`` function for ``read_table``: rows whose commune is one of ``codes`` and, when
    ``departements`` is given, in one of them (2A/2B, 971... are 3-character prefixes)."""
    value_set = None if codes is None else pa.array(sorted(set(codes)), pa.string())
    deps = None if departements is None else sorted({str(d).strip().upper() for d in departements})

    def keep(column):
        mask = None
        if value_set is not None:
            mask = pc.is_in(column, value_set=value_set)
        if deps is not None:
            dep_mask = None
            for d in deps:
                m = pc.starts_with(column, d)
                dep_mask = m if dep_mask is None else pc.or_(dep_mask, m)
            mask = dep_mask if mask is None else pc.and_(mask, dep_mask)
        return pc.fill_null(mask, False) if mask is not None else pa.array([True] * len(column))

    return keep
