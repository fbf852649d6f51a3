"""``locator reu import``: INSEE's register extract (REU) → bureaux, areas and register addresses.

read (streamed, filtered to the data folder's communes) → bureaux from the bureau table →
geocode each bureau's postal address → trust gates (a list of small named checks; an
untrusted geocode leaves the bureau unplaced, and listed) → corrections.csv positions win →
areas per multi-bureau commune (``areas``) → write ``bureaux.geojson``,
``bureaux_areas.geojson``, ``register.parquet`` and ``reu_import.json`` → the caller runs
the validator on the result.

Every file is staged next to its target first and the four are swapped in one go at the
end: an import that fails half-way leaves the previous one untouched.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import shapely

from ..communes import NO_COMMUNE, CommuneIndex
from ..data import reu
from ..data.corrections import apply_corrections, load_corrections
from ..data.datadir import DataDir
from ..data.geojson import dumps_collection, feature, geometry_to_geojson
from ..data.register import FILENAME as REGISTER_FILENAME
from ..data.register import RegisterData, usable, write_register
from ..errors import DataError, GeocoderUnavailable
from ..models import Bureau, GeocodedPoint
from ..projection import to_lonlat, to_metric
from .areas import Area, commune_areas

SUMMARY_FILENAME = "reu_import.json"
#: A geocode under this score is not trusted (validation thresholds: ``low_score``).
MIN_GEOCODE_SCORE = 0.5
#: Outside its commune by more than this: not the simplification of the outline (``boundary_noise_m``).
OUTSIDE_COMMUNE_M = 100.0
#: A bureau further than this from every one of its own voters' addresses is somewhere else.
#: Voters walk to their bureau: in the Finistère sample, every bureau has voters within a few
#: hundred metres of the middle of its area.
VOTERS_FAR_M = 1_500.0


# -- the bureaux -------------------------------------------------------------------------------

@dataclass
class BureauRecord:
    """One bureau of the register, before and after geocoding."""

    id: str
    code_insee: str
    code: str | None = None
    libelle: str | None = None
    num_voie: str | None = None
    voie: str | None = None
    cp: str | None = None
    commune: str | None = None
    in_table: bool = False
    nb_adresses: int = 0  # rows of the address table naming it
    nb_indexed: int = 0  # of which indexed (text and position)
    geocode: GeocodedPoint | None = None
    unplaced: str | None = None  # why it is placed nowhere

    @property
    def address(self) -> str:
        street = " ".join(p for p in (self.num_voie, self.voie) if p)
        town = " ".join(p for p in (self.cp, self.commune) if p)
        return ", ".join(p for p in (street, town) if p)

    @property
    def name(self) -> str:
        return self.libelle or f"Bureau {self.code or self.id.rsplit('_', 1)[-1]}"


@dataclass
class GateContext:
    """What the trust gates read about one bureau."""

    record: BureauRecord
    index: CommuneIndex
    #: Lambert-93 positions of the bureau's own voters' addresses (may be empty).
    voters_xy: np.ndarray


def gate_found(point: GeocodedPoint | None, ctx: GateContext) -> str | None:
    return "adresse introuvable" if point is None else None


def gate_precise(point, ctx) -> str | None:
    if point.type == "municipality":
        return "seule la commune a été trouvée (géocodage au niveau commune)"
    return None


def gate_score(point, ctx) -> str | None:
    if point.score is not None and point.score < MIN_GEOCODE_SCORE:
        return f"score de géocodage trop faible ({point.score:.2f})"
    return None


def gate_in_commune(point, ctx) -> str | None:
    ci = ctx.index.by_code.get(ctx.record.code_insee)
    if ci is None:
        return None
    if ctx.index.geoms[ci] is None:  # a commune without an outline: nothing to measure against
        return None
    x, y = (float(v) for v in to_metric(point.lon, point.lat))
    d = float(shapely.distance(shapely.Point(x, y), ctx.index.geoms[ci]))
    if d > OUTSIDE_COMMUNE_M:
        return f"géocodé à {d:.0f} m hors de sa commune"
    return None


def gate_near_voters(point, ctx) -> str | None:
    if len(ctx.voters_xy) == 0:
        return None
    x, y = (float(v) for v in to_metric(point.lon, point.lat))
    d = float(np.min(np.hypot(ctx.voters_xy[:, 0] - x, ctx.voters_xy[:, 1] - y)))
    if d > VOTERS_FAR_M:
        return f"géocodé à {d:.0f} m de l'adresse la plus proche de ses électeurs"
    return None


#: Run in order; the first that objects leaves the bureau unplaced with its reason.
GATES: tuple[Callable, ...] = (gate_found, gate_precise, gate_score, gate_in_commune, gate_near_voters)


def judge(point: GeocodedPoint | None, ctx: GateContext) -> str | None:
    """Why a geocode cannot place this bureau, or None when it can."""
    for gate in GATES:
        why = gate(point, ctx)
        if why is not None:
            return why
    return None


# -- reading -----------------------------------------------------------------------------------

@dataclass
class Addresses:
    """The address table's rows in the data folder's communes, as numpy columns."""

    bureau_id: np.ndarray
    code: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    geo_type: np.ndarray
    geo_score: np.ndarray
    nb_adresses: np.ndarray
    geo_adresse: np.ndarray | None  # None: the table has no such column
    rows_read: int = 0


def read_addresses(path: Path, keep, *, progress=None) -> Addresses:
    chunks: dict[str, list] = defaultdict(list)
    has_text = None
    counter = {"rows": 0}

    def count(n):
        counter["rows"] += n
        if progress is not None:
            progress(n)

    for table in reu.read_table(path, reu.ADDRESSES, keep=keep, progress=count):
        if has_text is None:
            has_text = "geo_adresse" in table.column_names
        for name in ("id_brut_bv_reu", "code_commune_ref", "geo_type", "geo_adresse"):
            if name in table.column_names:
                chunks[name].append(np.asarray(table.column(name).to_pylist(), dtype=object))
        for name in ("longitude", "latitude", "geo_score"):
            chunks[name].append(table.column(name).to_numpy(zero_copy_only=False).astype(float))
        nb = table.column("nb_adresses") if "nb_adresses" in table.column_names else pa.array([1] * table.num_rows)
        chunks["nb_adresses"].append(np.asarray(nb.fill_null(1).to_numpy(zero_copy_only=False), dtype=np.int64))

    def cat(name, dtype):
        return np.concatenate(chunks[name]) if chunks[name] else np.array([], dtype=dtype)

    return Addresses(bureau_id=cat("id_brut_bv_reu", object), code=cat("code_commune_ref", object),
                     lon=cat("longitude", float), lat=cat("latitude", float), geo_type=cat("geo_type", object),
                     geo_score=cat("geo_score", float), nb_adresses=cat("nb_adresses", np.int64),
                     geo_adresse=cat("geo_adresse", object) if has_text else None, rows_read=counter["rows"])


def read_bureaux(path: Path, keep) -> dict[str, BureauRecord]:
    out: dict[str, BureauRecord] = {}
    for table in reu.read_table(path, reu.BUREAUX, keep=keep):
        cols = {name: table.column(name).to_pylist() for name in table.column_names}
        for k in range(table.num_rows):
            bid = cols["id_brut_bv_reu"][k]
            if not bid:
                raise DataError("a bureau has an empty id_brut_reu", path=str(path), record=f"commune {cols['code_commune'][k]}")
            if bid in out:
                raise DataError(f"duplicate bureau id {bid!r}", path=str(path), record=bid)

            def get(name, k=k, cols=cols):
                value = cols[name][k] if name in cols else None
                return None if value in (None, "") else str(value)

            out[bid] = BureauRecord(id=bid, code_insee=cols["code_commune"][k], code=get("code"),
                                    libelle=get("libelle_reu"), num_voie=get("num_voie_reu"),
                                    voie=get("voie_reu"), cp=get("cp_reu"), commune=get("commune_reu"),
                                    in_table=True)
    return out


# -- the import ----------------------------------------------------------------------------------

@dataclass
class ImportReport:
    rows_read: int = 0
    rows_kept: int = 0
    rows_indexed: int = 0
    bureaux: int = 0
    placed: int = 0
    corrected: int = 0
    unplaced: list[tuple[str, str]] = field(default_factory=list)
    areas: int = 0
    communes_multi: int = 0
    quality_min: float | None = None
    quality_mean: float | None = None
    not_in_table: list[str] = field(default_factory=list)
    seconds: float = 0.0
    written: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["unplaced"] = [{"bureau_id": b, "reason": r} for b, r in self.unplaced]
        d.pop("seconds")
        return d


def import_reu(data_dir: Path | str, adresses: Path | str, bureaux: Path | str, *, departements=None,
               geocoder=None, progress=None, corrections_path: Path | str | None = None) -> ImportReport:
    """Import the register's two tables into ``data_dir`` (see the module docstring).

    Parameters
    ----------
    departements
        only these départements (default: those of the data folder's communes).
    geocoder
        anything with ``search(text, *, citycode=None, postcode=None, limit=5)``; None
        leaves every bureau unplaced (reason given).
    progress
        called with the number of address rows read after each batch.

    Raises
    ------
    DataError
        a file or column is unusable (nothing is written).
    """
    started = time.perf_counter()
    data_dir = Path(data_dir)
    dataset = DataDir(data_dir).load(strict=True, require_bureaux=False, use_areas=False, use_corrections=False)
    index = CommuneIndex(list(dataset.communes), list(dataset.commune_geoms))
    codes = [c.code for c in dataset.communes]
    keep = reu.commune_filter(codes, departements)
    rep = ImportReport()

    addr = read_addresses(Path(adresses), keep, progress=progress)
    rep.rows_read, rep.rows_kept = addr.rows_read, len(addr.lon)
    records = read_bureaux(Path(bureaux), keep)
    # A bureau named by addresses but absent from the bureau table is still a bureau.
    for bid, code in sorted(set(zip(addr.bureau_id.tolist(), addr.code.tolist(), strict=True))):
        if bid not in records:
            records[bid] = BureauRecord(id=bid, code_insee=code)
            rep.not_in_table.append(bid)
    for bid, code in zip(addr.bureau_id.tolist(), addr.code.tolist(), strict=True):
        if records[bid].code_insee != code:
            raise DataError(f"bureau {bid} is of commune {records[bid].code_insee} in the bureaux table "
                            f"but has addresses in {code}", path=str(adresses), record=bid)

    has_point = np.isfinite(addr.lon) & np.isfinite(addr.lat)
    indexed = has_point & (np.ones(len(addr.lon), bool) if addr.geo_adresse is None
                           else np.array([bool(t) for t in addr.geo_adresse.tolist()], dtype=bool))
    counts = defaultdict(int)
    for bid in addr.bureau_id.tolist():
        counts[bid] += 1
    counts_idx = defaultdict(int)
    for bid in addr.bureau_id[indexed].tolist():
        counts_idx[bid] += 1
    for bid, r in records.items():
        r.nb_adresses, r.nb_indexed = counts[bid], counts_idx[bid]

    x = np.full(len(addr.lon), np.nan)
    y = np.full(len(addr.lon), np.nan)
    if has_point.any():
        px, py = to_metric(addr.lon[has_point], addr.lat[has_point])
        x[has_point], y[has_point] = px, py
    precise = indexed & usable(addr.geo_type, addr.geo_score)

    _place_bureaux(records, index, addr, x, y, precise, geocoder)
    bureaux_list = [_to_bureau(r) for r in sorted(records.values(), key=lambda r: r.id)]
    bureaux_list, rep.corrected = _apply_corrections(bureaux_list, data_dir, corrections_path)

    areas = _build_areas(index, addr, x, y, precise, records)
    register = RegisterData.from_columns(
        code_insee=addr.code[indexed], bureau_id=addr.bureau_id[indexed], lon=addr.lon[indexed],
        lat=addr.lat[indexed], geo_type=addr.geo_type[indexed], geo_score=addr.geo_score[indexed],
        nb_adresses=addr.nb_adresses[indexed],
        geo_adresse=(addr.geo_adresse[indexed] if addr.geo_adresse is not None
                     else np.full(int(indexed.sum()), "", dtype=object)))

    rep.rows_indexed = int(indexed.sum())
    rep.bureaux = len(bureaux_list)
    rep.placed = sum(1 for b in bureaux_list if b.has_point)
    rep.unplaced = [(b.id, (b.notes or "").removeprefix("non placé : ")) for b in bureaux_list if not b.has_point]
    rep.areas = len(areas)
    rep.communes_multi = len({a.code_insee for a in areas})
    qualities = [a.quality for a in areas if a.quality is not None]
    if qualities:
        rep.quality_min, rep.quality_mean = round(min(qualities), 4), round(float(np.mean(qualities)), 4)

    files = {
        data_dir / "bureaux.geojson": dumps_collection([_bureau_feature(b, records[b.id]) for b in bureaux_list]),
        data_dir / "bureaux_areas.geojson": dumps_collection([_area_feature(a) for a in areas]),
        data_dir / SUMMARY_FILENAME: json.dumps({"inputs": {"adresses": Path(adresses).name,
                                                            "bureaux": Path(bureaux).name},
                                                 **rep.to_dict()}, ensure_ascii=False, indent=1) + "\n",
    }
    _write_all(files, register, data_dir / REGISTER_FILENAME)
    rep.written = sorted(str(p) for p in [*files, data_dir / REGISTER_FILENAME])
    rep.seconds = time.perf_counter() - started
    return rep


def _place_bureaux(records, index, addr, x, y, precise, geocoder) -> None:
    """Geocode each bureau's postal address and keep the answer only when every gate agrees."""
    by_bureau: dict[str, list[int]] = defaultdict(list)
    for k, bid in enumerate(addr.bureau_id.tolist()):
        if precise[k]:
            by_bureau[bid].append(k)
    for bid in sorted(records):
        r = records[bid]
        if not r.address:
            r.unplaced = "pas d'adresse dans la table des bureaux"
            continue
        if geocoder is None:
            r.unplaced = "aucun géocodeur"
            continue
        try:
            found = geocoder.search(r.address, citycode=r.code_insee, postcode=r.cp, limit=1)
        except GeocoderUnavailable as err:
            r.unplaced = f"géocodeur indisponible ({err})"
            continue
        point = found[0] if found else None
        rows = by_bureau.get(bid, [])
        ctx = GateContext(r, index, np.column_stack([x[rows], y[rows]]) if rows else np.empty((0, 2)))
        why = judge(point, ctx)
        if why is None:
            r.geocode = point
        else:
            r.unplaced = why


def _to_bureau(r: BureauRecord) -> Bureau:
    g = r.geocode
    return Bureau(id=r.id, name=r.name, address=r.address, code_insee=r.code_insee, communes_served=(r.code_insee,),
                  lon=None if g is None else round(g.lon, 6), lat=None if g is None else round(g.lat, 6),
                  location_source=None if g is None else "geocoded",
                  geocode_type=None if g is None else g.type, geocode_score=None if g is None else g.score,
                  notes=None if r.unplaced is None else f"non placé : {r.unplaced}")


def _apply_corrections(bureaux: list[Bureau], data_dir: Path, path) -> tuple[list[Bureau], int]:
    path = Path(path) if path is not None else data_dir / "corrections.csv"
    if not path.is_file():
        return bureaux, 0
    out, applied, _unknown = apply_corrections(bureaux, load_corrections(path))
    # a corrected position is a placement: the "unplaced" note no longer holds
    out = [b if not (b.location_source == "corrected" and b.notes and b.notes.startswith("non placé"))
           else dataclasses.replace(b, notes=None) for b in out]
    return out, sum(1 for a in applied if a.correction.moves)


def _build_areas(index: CommuneIndex, addr: Addresses, x, y, precise, records) -> list[Area]:
    out: list[Area] = []
    bureaux_of: dict[str, set] = defaultdict(set)
    for r in records.values():
        bureaux_of[r.code_insee].add(r.id)
    for code in sorted(bureaux_of):
        if len(bureaux_of[code]) < 2:
            continue  # one bureau: the commune is its area (the ``commune`` strategy)
        ci = index.by_code.get(code, NO_COMMUNE)
        rows = np.nonzero(precise & (addr.code == code))[0]
        if ci == NO_COMMUNE or len(rows) == 0:
            continue
        out += commune_areas(code, index.geoms[ci], x[rows], y[rows], addr.bureau_id[rows], addr.nb_adresses[rows])
    return out


def _bureau_feature(b: Bureau, r: BureauRecord) -> dict:
    props = {"id": b.id, "name": b.name, "address": b.address, "code_insee": b.code_insee,
             "communes_served": list(b.communes_served), "location_source": b.location_source,
             "geocode_type": b.geocode_type, "geocode_score": b.geocode_score, "notes": b.notes,
             "reu_code": r.code, "nb_adresses": r.nb_adresses, "nb_adresses_indexed": r.nb_indexed}
    geom = None if not b.has_point else {"type": "Point", "coordinates": [b.lon, b.lat]}
    return feature(props, geom)


def _area_feature(a: Area) -> dict:
    wgs = shapely.transform(a.geometry, _lonlat)
    # snap to the file's 1e-6° grid here, so the written polygon is still valid once rounded
    wgs = shapely.make_valid(shapely.set_precision(wgs, 1e-6))
    props = {"bureau_id": a.bureau_id, "code_insee": a.code_insee, "nb_adresses": a.nb_adresses,
             "quality": None if a.quality is None else round(a.quality, 4), "source": "reu-voronoi"}
    return feature(props, geometry_to_geojson(_only_polygons(wgs)))


def _only_polygons(geom):
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _lonlat(coords: np.ndarray) -> np.ndarray:
    lon, lat = to_lonlat(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def _write_all(texts: dict[Path, str], register: RegisterData, register_path: Path) -> None:
    """Stage every file next to its target, then swap them in: all or nothing."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in texts.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            staged.append((tmp, path))
        fd, tmp = tempfile.mkstemp(prefix=f".{register_path.name}.", suffix=".stage", dir=register_path.parent)
        os.close(fd)
        write_register(tmp, register)  # itself atomic, into the staging name
        staged.append((tmp, register_path))
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    # the register first, the bureaux last: a reader that loads between two swaps fails on an
    # unknown bureau id (DataError) rather than answering from a mix
    for tmp, path in sorted(staged, key=lambda s: s[1].name != REGISTER_FILENAME):
        os.replace(tmp, path)
