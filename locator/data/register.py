"""The register's addresses in the data folder: ``register.parquet``, written by
``locator reu import`` and read by the engine (``Locator.from_data_dir``) and the validator.

One row per indexed REU address: ``code_insee``, ``bureau_id``, ``lon``, ``lat``,
``geo_type``, ``geo_score``, ``nb_adresses`` and the normalised address ``geo_adresse``
(empty when the table had no text).

Why Parquet: a département holds 10^5–10^6 addresses; as GeoJSON that is 100+ MB of text
parsed at every start, while Parquet keeps typed columns (float64 positions, dictionary-encoded
codes and bureau ids, zstd-compressed text): about 12 bytes an address, read in a few tens
of milliseconds straight into numpy. pyarrow already reads INSEE's own Parquet files, so
it costs no new dependency; the file is written with fixed options and sorted rows, so the
same input gives the same bytes (for one pyarrow version).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

FILENAME = "register.parquet"
COLUMNS = ("code_insee", "bureau_id", "lon", "lat", "geo_type", "geo_score", "nb_adresses", "geo_adresse")
#: A position in the file is rounded like every GeoJSON coordinate of the data folder (~0.1 m).
COORD_DECIMALS = 6


#: Geocodes precise enough to build areas from (mapvotr keeps the same three).
AREA_GEO_TYPES = ("housenumber", "interpolation", "locality")
#: BAN score below which a geocode is doubtful (validation thresholds: p1 of REU housenumbers
#: is 0.73; 0.03 % of them score under 0.5).
MIN_SCORE = 0.5


def usable(geo_type: np.ndarray, geo_score: np.ndarray, *, min_score: float = MIN_SCORE) -> np.ndarray:
    """Rows precise enough to build areas from (and to answer a point from)."""
    score = np.asarray(geo_score, dtype=float)
    return np.isin(np.asarray(geo_type, dtype=object), AREA_GEO_TYPES) & ~(score < min_score)


@dataclass(frozen=True)
class RegisterData:
    """Columns of the register file as numpy arrays (text columns as ``object`` arrays)."""

    code_insee: np.ndarray
    bureau_id: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    geo_type: np.ndarray
    geo_score: np.ndarray
    nb_adresses: np.ndarray
    geo_adresse: np.ndarray

    def __len__(self) -> int:
        return len(self.lon)

    def take(self, idx) -> RegisterData:
        return RegisterData(**{c: getattr(self, c)[idx] for c in COLUMNS})

    @classmethod
    def from_columns(cls, **cols) -> RegisterData:
        n = len(cols["lon"])
        text = lambda c: np.asarray(cols.get(c, [""] * n), dtype=object)  # noqa: E731
        return cls(code_insee=text("code_insee"), bureau_id=text("bureau_id"),
                   lon=np.asarray(cols["lon"], dtype=float), lat=np.asarray(cols["lat"], dtype=float),
                   geo_type=text("geo_type"),
                   geo_score=np.asarray(cols.get("geo_score", np.full(n, np.nan)), dtype=float),
                   nb_adresses=np.asarray(cols.get("nb_adresses", np.ones(n)), dtype=np.int64),
                   geo_adresse=text("geo_adresse"))


def sorted_register(data: RegisterData) -> RegisterData:
    """Rows in a fixed order (commune, bureau, lon, lat, address): reproducible files."""
    order = np.lexsort((data.geo_adresse.astype(str), data.lat, data.lon, data.bureau_id.astype(str),
                        data.code_insee.astype(str)))
    return data.take(order)


def write_register(path: Path | str, data: RegisterData) -> None:
    """Write the register file atomically (a reader never sees half of it)."""
    import pyarrow as pa  # imported here: a lookup without a register never pays for it
    import pyarrow.parquet as pq

    path = Path(path)
    data = sorted_register(data)
    table = pa.table({
        "code_insee": pa.array(data.code_insee.astype(str), pa.string()).dictionary_encode(),
        "bureau_id": pa.array(data.bureau_id.astype(str), pa.string()).dictionary_encode(),
        "lon": pa.array(np.round(data.lon, COORD_DECIMALS), pa.float64()),
        "lat": pa.array(np.round(data.lat, COORD_DECIMALS), pa.float64()),
        "geo_type": pa.array(data.geo_type.astype(str), pa.string()).dictionary_encode(),
        "geo_score": pa.array(data.geo_score, pa.float64(), from_pandas=True),
        "nb_adresses": pa.array(data.nb_adresses, pa.int64()),
        "geo_adresse": pa.array(data.geo_adresse.astype(str), pa.string()),
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=True, write_statistics=False,
                       store_schema=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_register(path: Path | str) -> RegisterData:
    """Read a register file written by ``write_register``.

    Raises
    ------
    DataError
        naming the file when it is unreadable or lacks a column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        table = pq.read_table(path)
    except FileNotFoundError as err:
        raise DataError("file not found", path=str(path)) from err
    except (pa.ArrowInvalid, OSError) as err:
        raise DataError(f"not a readable register file: {err}", path=str(path)) from err
    missing = [c for c in COLUMNS if c not in table.column_names]
    if missing:
        raise DataError(f"register file has no column {missing[0]}", path=str(path), record="header")
    cols = {c: table.column(c).to_numpy(zero_copy_only=False) for c in COLUMNS}
    data = RegisterData.from_columns(**cols)
    bad = ~(np.isfinite(data.lon) & np.isfinite(data.lat))
    if bad.any():
        raise DataError("a row has no position", path=str(path), record=f"row {int(np.argmax(bad))}")
    return data
