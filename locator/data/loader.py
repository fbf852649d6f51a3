"""One loader for the communes, bureaux and areas files, used two ways.

* strict (the lookup engine): the first bad record raises ``DataError`` naming the file and
  the record; nothing is half-loaded.
* lenient (the validator): every bad record becomes a ``DataProblem`` and loading goes on;
  bureaux whose *position* is implausible (0,0, out of range, swapped...) are kept as they are
  so the validator's checks can say what is wrong with them.

Structural problems (not a Feature, missing id, wrong geometry type) drop the record in
lenient mode; position problems never do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import shapely

from ..errors import DataError
from ..models import LOCATION_SOURCES, Bureau, Commune
from .cache import ArrayCache, combined_digest, file_digest, pack_bytes, unpack_bytes
from .points import point_problem


@dataclass(frozen=True)
class DataProblem:
    path: str
    record: str
    message: str

    def to_error(self) -> DataError:
        return DataError(self.message, path=self.path, record=self.record)

    def __str__(self) -> str:
        return f"{self.path}, record {self.record}: {self.message}"


class _Collector:
    """Either raises at the first problem (strict) or keeps them all."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.problems: list[DataProblem] = []

    def add(self, path, record, message):
        problem = DataProblem(str(path), str(record), message)
        if self.strict:
            raise problem.to_error()
        self.problems.append(problem)


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector off while a file's records are read: parsed JSON has
    no reference cycles, and a collection every few hundred new lists, each walking all the
    objects made so far, made reading all of France's outlines six times slower."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class RecordError(ValueError):
    """A record cannot be used at all (raised inside parsers, turned into a problem)."""


def read_feature_collection(path: Path | str) -> list[dict]:
    """The features of a GeoJSON FeatureCollection; DataError names the file otherwise."""
    path = Path(path)
    return parse_feature_collection(read_source(path), path)


def read_source(path: Path) -> bytes:
    """A data file's bytes; DataError naming it when it is missing."""
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise DataError("file not found", path=str(path)) from err


def parse_feature_collection(raw: bytes, path: Path) -> list[dict]:
    """``read_feature_collection`` of bytes already read from ``path``."""
    try:
        # orjson: three times the standard library's speed on the 35 000 outlines of France
        doc = orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"not valid JSON: {err}", path=str(path)) from err
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise DataError("not a GeoJSON FeatureCollection", path=str(path))
    return doc["features"]


def _label(i: int, feat) -> str:
    key = None
    if isinstance(feat, dict) and isinstance(feat.get("properties"), dict):
        props = feat["properties"]
        key = props.get("id", props.get("code", props.get("bureau_id")))
    return f"#{i}" + (f" ({key})" if key is not None else "")


def _props(feat) -> dict:
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise RecordError("not a GeoJSON Feature")
    props = feat.get("properties")
    if not isinstance(props, dict):
        raise RecordError("no properties object")
    return props


def _required_str(props: dict, key: str) -> str:
    value = props.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RecordError(f"missing or empty property {key!r}")
    return value.strip()


def _optional_str(props: dict, key: str) -> str | None:
    value = props.get(key)
    if value is None:
        return None
    return str(value)


def _optional_float(props: dict, key: str) -> float | None:
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RecordError(f"property {key!r} is not a number")
    try:
        out = float(value)
    except ValueError as err:
        raise RecordError(f"property {key!r} is not a number: {value!r}") from err
    if not math.isfinite(out):
        raise RecordError(f"property {key!r} is not finite")
    return out


# -- communes -----------------------------------------------------------------------------

@dataclass
class LoadedCommunes:
    communes: list[Commune] = field(default_factory=list)
    #: shapely, WGS84; None for a commune published without an outline (``"geometry": null``)
    geometries: list = field(default_factory=list)
    problems: list[DataProblem] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    #: SHA-256 keys of the files read, in order (``cache.file_digest``)
    digests: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """One key for every communes file read, in order: what the engine's cached tables
        were computed from."""
        return combined_digest(self.digests)


_READ = object()


def parse_commune(feat, *, outline=_READ) -> tuple[Commune, object]:
    """The commune of a Feature and its outline (``outline``: the outline already read by
    ``_outlines``, a geometry or the ``RecordError`` to raise)."""
    props = _props(feat)
    code = _required_str(props, "code")
    nom = _required_str(props, "nom")
    # A commune the source publishes without a polygon still exists (names, postcodes,
    # mairie): the engine says its outline is unknown instead of dropping it.
    if "geometry" in feat and feat["geometry"] is None:
        geom = None
    elif outline is _READ:
        geom = _polygon(feat)
    elif isinstance(outline, RecordError):
        raise outline
    else:
        geom = outline
    mlon = _optional_float(props, "mairie_lon")
    mlat = _optional_float(props, "mairie_lat")
    if (mlon is None) != (mlat is None):
        raise RecordError("mairie_lon and mairie_lat must both be set or both null")
    bad = point_problem(mlon, mlat)
    if bad:
        raise RecordError(f"mairie {bad}")
    cps = props.get("codes_postaux") or []
    if not isinstance(cps, list):
        raise RecordError("codes_postaux is not a list")
    pop = props.get("population")
    commune = Commune(
        code=code,
        nom=nom,
        departement=str(props.get("departement") or code[:3 if code.startswith("97") else 2]),
        codes_postaux=tuple(str(c) for c in cps),
        population=None if pop is None else int(pop),
        canton=_optional_str(props, "canton"),
        mairie_lon=mlon,
        mairie_lat=mlat,
        mairie_adresse=_optional_str(props, "mairie_adresse"),
        mairie_telephone=_optional_str(props, "mairie_telephone"),
        mairie_email=_optional_str(props, "mairie_email"),
        mairie_horaires=_optional_str(props, "mairie_horaires"),
        mairie_accessibilite=_optional_str(props, "mairie_accessibilite"),
    )
    return commune, geom


def _polygon(feat):
    raw = feat.get("geometry")
    if not isinstance(raw, dict) or raw.get("type") not in ("Polygon", "MultiPolygon"):
        raise RecordError("geometry must be a Polygon or MultiPolygon")
    try:
        geom = _polygonal(raw["type"], raw.get("coordinates"))
    except Exception as err:  # numpy and shapely raise several types for broken coordinates
        raise RecordError(f"unreadable geometry: {err}") from err
    problem = _geometry_problem(geom.is_empty, geom.is_valid, geom.bounds, geom)
    if problem:
        raise RecordError(problem)
    return geom


def _geometry_problem(empty, valid, bounds, geom) -> str | None:
    if empty:
        return "empty geometry"
    if not valid:
        return f"invalid geometry: {shapely.is_valid_reason(geom)}"
    minx, miny, maxx, maxy = bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return "geometry is not in lon/lat degrees (projected coordinates?)"
    return None


def _outlines(raws: list) -> list:
    """The outlines of many GeoJSON Polygon/MultiPolygon geometries at once: one numpy array
    of every coordinate and one shapely call (``from_ragged_array``), then validity and
    bounds for all of them in one GEOS call each. Each item is the geometry or the
    ``RecordError`` of its record, exactly as ``_polygon`` would say it; a file whose
    coordinates do not nest as GeoJSON's is read outline by outline instead."""
    try:
        if not all(isinstance(r, dict) and r.get("type") in ("Polygon", "MultiPolygon") for r in raws):
            raise ValueError("not all polygonal")
        polygons = [[r["coordinates"]] if r["type"] == "Polygon" else r["coordinates"] for r in raws]
        rings = [ring for polys in polygons for rings in polys for ring in rings]
        if not rings or not all(polys and all(rings for rings in polys) for polys in polygons):
            raise ValueError("an empty polygon")
        coords = np.array([xy for ring in rings for xy in ring], dtype=float)
        if coords.ndim != 2 or coords.shape[1] != 2:
            raise ValueError("positions are not all lon, lat pairs")
        ring_ends = np.cumsum([len(ring) for ring in rings])
        poly_ends = np.cumsum([len(r) for polys in polygons for r in polys])
        geom_ends = np.cumsum([len(polys) for polys in polygons])
        offsets = tuple(np.concatenate(([0], ends)) for ends in (ring_ends, poly_ends, geom_ends))
        geoms = shapely.from_ragged_array(shapely.GeometryType.MULTIPOLYGON, coords, offsets)
    except (ValueError, TypeError, KeyError, shapely.errors.ShapelyError):
        out = []
        for raw in raws:
            try:
                out.append(_polygon({"geometry": raw}))
            except RecordError as err:
                out.append(err)
        return out
    single = np.array([r["type"] == "Polygon" for r in raws])
    if single.any():
        geoms[single] = shapely.get_geometry(geoms[single], 0)
    problems = zip(shapely.is_empty(geoms).tolist(), shapely.is_valid(geoms).tolist(),
                   shapely.bounds(geoms).tolist(), geoms, strict=True)
    return [RecordError(p) if (p := _geometry_problem(*args)) else args[3] for args in problems]


def _polygonal(kind: str, coordinates):
    """A GeoJSON Polygon or MultiPolygon's coordinates as a shapely geometry: each ring one
    numpy array (shapely's ``shape`` walks every coordinate pair in Python, a third of the
    time to load all of France)."""
    if not isinstance(coordinates, list):
        raise ValueError("coordinates is not a list")
    polygons = [coordinates] if kind == "Polygon" else coordinates
    if not polygons or not polygons[0]:
        return shapely.Polygon()
    parts = []
    for rings in polygons:
        if not isinstance(rings, list) or not rings:
            raise ValueError("a polygon without rings")
        arrays = [np.asarray(ring, dtype=float) for ring in rings]
        if any(a.ndim != 2 or a.shape[1] < 2 for a in arrays):
            raise ValueError("a ring is not a list of positions")
        shell = shapely.linearrings(arrays[0][:, :2])
        holes = [shapely.linearrings(a[:, :2]) for a in arrays[1:]]
        parts.append(shapely.polygons(shell, holes or None))
    return parts[0] if kind == "Polygon" else shapely.multipolygons(parts)


def load_communes(paths, *, strict: bool = True, cache: ArrayCache | None = None) -> LoadedCommunes:
    """Read every communes GeoJSON in ``paths`` (codes must be unique across files).

    ``cache``: where the records of a file read without any problem are kept as arrays
    (``locator.data.cache``), keyed by the file's bytes; the next load of the same bytes
    reads them back (same communes, same outlines to the bit) instead of parsing the JSON.
    """
    with gc_paused():
        return _load_communes(paths, strict, cache)


#: Bump when what a cached communes or bureaux file holds changes meaning.
CACHE_FORMAT = "1"


def _load_communes(paths, strict: bool, cache: ArrayCache | None) -> LoadedCommunes:
    out = LoadedCommunes()
    collect = _Collector(strict)
    seen: dict[str, str] = {}
    for path in paths:
        path = Path(path)
        out.paths.append(path)
        raw = read_source(path)
        key = CACHE_FORMAT + file_digest(raw)
        out.digests.append(key)
        name = _cache_name("communes", path)
        cached = None if cache is None else _cached_communes(cache.get(name, key))
        if cached is not None:
            for i, (commune, geom) in enumerate(zip(*cached, strict=True)):
                if commune.code in seen:  # a clean file, but read with another one this time
                    collect.add(path, f"#{i} ({commune.code})",
                                f"duplicate commune code {commune.code} (also in {seen[commune.code]})")
                    continue
                seen[commune.code] = str(path)
                out.communes.append(commune)
                out.geometries.append(geom)
            continue
        feats = parse_feature_collection(raw, path)
        del raw
        # the outlines first, all at once; each record's problems are then said in file order
        raws = [(i, f["geometry"]) for i, f in enumerate(feats)
                if isinstance(f, dict) and isinstance(f.get("geometry"), dict)]
        outlines = dict(zip((i for i, _ in raws), _outlines([r for _, r in raws]), strict=True))
        n_problems, start = len(collect.problems), len(out.communes)
        for i, feat in enumerate(feats):
            label = _label(i, feat)
            try:
                commune, geom = parse_commune(feat, outline=outlines.get(i, _READ))
            except (RecordError, TypeError, ValueError) as err:
                collect.add(path, label, str(err))
                continue
            if commune.code in seen:
                collect.add(path, label, f"duplicate commune code {commune.code} (also in {seen[commune.code]})")
                continue
            seen[commune.code] = str(path)
            out.communes.append(commune)
            out.geometries.append(geom)
        if cache is not None and len(collect.problems) == n_problems:  # only files read whole
            with contextlib.suppress(TypeError, ValueError):  # a value JSON cannot hold: no cache
                cache.put(name, _communes_arrays(out.communes[start:], out.geometries[start:]), key)
    out.problems = collect.problems
    return out


def _cache_name(kind: str, path: Path) -> str:
    return f"{kind}-" + "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in path.stem)


def _rows(objects, cls) -> np.ndarray:
    """Dataclass records as one orjson document (a list of field lists), as bytes."""
    names = [f.name for f in dataclasses.fields(cls)]
    doc = orjson.dumps([[getattr(o, n) for n in names] for o in objects])
    return np.frombuffer(doc, dtype=np.uint8)


def _objects(rows: np.ndarray, cls) -> list:
    """``_rows`` read back. The records were made by ``cls(...)`` when the file was parsed;
    their fields are set here as ``cls.__init__`` sets them (a frozen dataclass's own
    ``__init__`` costs one ``object.__setattr__`` per field, a third of a cached load)."""
    fields = dataclasses.fields(cls)
    if any(f.init is False for f in fields) or hasattr(cls, "__post_init__") or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__} is not a plain dataclass")
    names = [f.name for f in fields]
    tuples = [i for i, f in enumerate(fields) if str(f.type).startswith("tuple")]
    new = object.__new__
    out = []
    for row in orjson.loads(rows.tobytes()):
        if len(row) != len(names):
            raise ValueError("a cached record of another layout")
        for i in tuples:
            row[i] = tuple(row[i])
        obj = new(cls)
        obj.__dict__.update(zip(names, row, strict=True))
        out.append(obj)
    return out


def _communes_arrays(communes, geometries) -> dict:
    wkb = shapely.to_wkb(np.asarray(geometries, dtype=object).reshape(-1))
    packed = pack_bytes(list(wkb))
    return {"rows": _rows(communes, Commune), "wkb": packed["blob"], "wkb_lengths": packed["lengths"]}


def _cached_communes(arrays):
    """(communes, outlines) from ``_communes_arrays``, or None."""
    if arrays is None:
        return None
    try:
        communes = _objects(arrays["rows"], Commune)
        wkb = np.array(unpack_bytes(arrays["wkb"], arrays["wkb_lengths"]), dtype=object)
        geoms = shapely.from_wkb(wkb).tolist()
    except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError):
        return None  # a file of another layout: read the source
    if len(communes) != len(geoms):
        return None
    return communes, geoms


# -- bureaux ------------------------------------------------------------------------------

@dataclass
class LoadedBureaux:
    bureaux: list[Bureau] = field(default_factory=list)
    problems: list[DataProblem] = field(default_factory=list)
    path: Path | None = None


def parse_bureau(feat) -> Bureau:
    props = _props(feat)
    bid = _required_str(props, "id")
    served = props.get("communes_served")
    if isinstance(served, str):
        served = [s for s in served.replace(";", ",").split(",") if s.strip()]
    if not isinstance(served, list) or not all(isinstance(s, (str, int)) for s in served):
        raise RecordError("communes_served must be a list of INSEE codes")
    lon = lat = None
    geom = feat.get("geometry")
    if geom is not None:
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            raise RecordError("geometry must be a Point or null")
        coords = geom.get("coordinates")
        if (not isinstance(coords, list) or len(coords) < 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords[:2])
                or not all(math.isfinite(c) for c in coords[:2])):
            raise RecordError("Point coordinates must be two finite numbers")
        lon, lat = float(coords[0]), float(coords[1])
    source = _optional_str(props, "location_source")
    if source is not None and source not in LOCATION_SOURCES:
        raise RecordError(f"location_source {source!r} is not one of {', '.join(LOCATION_SOURCES)}")
    return Bureau(
        id=bid,
        name=_optional_str(props, "name") or "",
        address=_optional_str(props, "address") or "",
        code_insee=_required_str(props, "code_insee"),
        communes_served=tuple(str(s).strip() for s in served),
        lon=lon,
        lat=lat,
        location_source=source,
        geocode_type=_optional_str(props, "geocode_type"),
        geocode_score=_optional_float(props, "geocode_score"),
        opening_hours=_optional_str(props, "opening_hours"),
        accessibility=_optional_str(props, "accessibility"),
        notes=_optional_str(props, "notes"),
    )


def load_bureaux(path, known_codes=None, *, strict: bool = True, cache: ArrayCache | None = None) -> LoadedBureaux:
    """Read the bureaux file. ``known_codes`` (INSEE codes of the loaded communes) enables the
    unknown-commune checks. In lenient mode, duplicates and unknown codes are reported but
    the bureaux are kept (the validator reports them as findings)."""
    with gc_paused():
        return _load_bureaux(path, known_codes, strict, cache)


def _load_bureaux(path, known_codes, strict: bool, cache: ArrayCache | None) -> LoadedBureaux:
    path = Path(path)
    out = LoadedBureaux(path=path)
    raw = read_source(path)
    # Strict loads only (the server's): a file that passed every strict check, against the
    # same communes, passes them again.
    cache = cache if strict else None
    key = name = None
    if cache is not None:
        known = combined_digest(sorted(known_codes)) if known_codes is not None else "any"
        key, name = CACHE_FORMAT + combined_digest([file_digest(raw), known]), _cache_name("bureaux", path)
        arrays = cache.get(name, key)
        if arrays is not None:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                out.bureaux = _objects(arrays["rows"], Bureau)
                return out
    collect = _Collector(strict)
    seen: set[str] = set()
    for i, feat in enumerate(parse_feature_collection(raw, path)):
        label = _label(i, feat)
        try:
            bureau = parse_bureau(feat)
        except (RecordError, TypeError, ValueError) as err:
            collect.add(path, label, str(err))
            continue
        if strict:
            bad = point_problem(bureau.lon, bureau.lat)
            if bad:
                collect.add(path, label, bad)
            if bureau.id in seen:
                collect.add(path, label, f"duplicate bureau id {bureau.id!r}")
            if known_codes is not None:
                if bureau.code_insee not in known_codes:
                    collect.add(path, label, f"code_insee {bureau.code_insee} is not a commune of the data")
                unknown = [c for c in bureau.communes_served if c not in known_codes]
                if unknown:
                    collect.add(path, label, f"communes_served has unknown INSEE code(s) {', '.join(unknown)}")
        seen.add(bureau.id)
        out.bureaux.append(bureau)
    out.problems = collect.problems
    if cache is not None and not out.problems:
        with contextlib.suppress(TypeError, ValueError):
            cache.put(name, {"rows": _rows(out.bureaux, Bureau)}, key)
    return out


# -- areas --------------------------------------------------------------------------------

@dataclass
class LoadedAreas:
    bureau_ids: list[str] = field(default_factory=list)
    geometries: list = field(default_factory=list)
    problems: list[DataProblem] = field(default_factory=list)


def load_areas(path, bureau_ids=None, *, strict: bool = True) -> LoadedAreas:
    """Official bureau areas: polygons with property ``bureau_id``."""
    with gc_paused():
        return _load_areas(path, bureau_ids, strict)


def _load_areas(path, bureau_ids, strict: bool) -> LoadedAreas:
    path = Path(path)
    out = LoadedAreas()
    collect = _Collector(strict)
    for i, feat in enumerate(read_feature_collection(path)):
        label = _label(i, feat)
        try:
            props = _props(feat)
            bid = _required_str(props, "bureau_id")
            geom = _polygon(feat)
        except (RecordError, TypeError, ValueError) as err:
            collect.add(path, label, str(err))
            continue
        if bureau_ids is not None and bid not in bureau_ids:
            collect.add(path, label, f"bureau_id {bid!r} is not in the bureaux file")
            continue
        out.bureau_ids.append(bid)
        out.geometries.append(geom)
    out.problems = collect.problems
    return out


def communes_paths(data_dir: Path | str) -> list[Path]:
    folder = Path(data_dir) / "communes"
    paths = sorted(folder.glob("*.geojson"))
    if not paths:
        raise DataError("no communes/*.geojson file", path=str(folder))
    return paths
