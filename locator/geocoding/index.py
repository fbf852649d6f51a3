"""What the embedded addok index holds, and how it is (re)built.

Documents (addok's format: ``type``, ``name`` (first value is the label, others are aliases),
``postcode``, ``citycode``, ``city``, ``lon``/``lat``, ``importance``, ``housenumbers``):

* one ``municipality`` per commune of the data, named with and without its article
  ("Le Ban-Saint-Martin" / "Ban-Saint-Martin"), with its German spelling when it has umlauts,
  and with the names of its former and delegated communes (``<dep>.anciennes.json``, plus the
  ``nom_ancienne_commune`` of any BAN file); placed at the official mairie when that point is
  in the commune, else at a point inside the polygon;
* one ``street`` per mairie address, the mairie's number as a ``housenumber`` (DILA annuaire);
* every BAN file given: ``adresses-NN.csv(.gz)`` as published by adresse.data.gouv.fr (one
  street per commune and FANTOIR id or name, every number as a housenumber, whatever the
  order of the rows; rows of Paris, Lyon and Marseille filed under the city's code go to their
  arrondissement) or addok ndjson, streamed.

Beside addok's keys, every street document with house numbers is filed for the exact-address
fast path (``exact.ExactWriter``: one hash per commune, street → document).

The index is rebuilt when its inputs change: a fingerprint of the communes files, the side
files, the BAN files, the addok pipeline and the package versions is stored in the index
(``locator|manifest``) and next to it (``manifest.json``).

Building is addok's batch pipeline run in-process, in chunks (``prepare_housenumbers``,
``store_documents``, ``index_documents``, with edge n-grams off), then addok's n-gram step.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import shapely

from ..data.anciennes import Ancienne
from ..data.anciennes import former_names as anciennes_names
from ..errors import DataError
from ..projection import to_lonlat, to_metric
from . import addok_config
from .normalize import german_spelling, without_article
from .words import NUMBER_SUFFIXES, SUFFIXES_RE

log = logging.getLogger(__name__)

#: Bump when the documents or their fields change: every index is then rebuilt.
INDEX_VERSION = 4  # 4: streets ending in "France" filed under their whole name (exact.street_key)
MANIFEST_KEY = "locator|manifest"
CHUNK = 1000
#: Above this size a BAN file is fingerprinted by size and date, not by content.
HASH_LIMIT = 64 * 1024 * 1024

BAN_COLUMNS = ("numero", "nom_voie", "code_insee", "lon", "lat")

_NUMBER_LINE = re.compile(rf"^(?P<num>\d{{1,4}})\s*(?P<rep>{SUFFIXES_RE}|[a-z])?\b[\s,]*(?P<street>.+)$",
                          re.IGNORECASE)
_POSTCODE_LINE = re.compile(r"^(?P<cp>\d{5})\s+(?P<city>.+)$")
_NOT_A_STREET = re.compile(r"^(b\.?p\.?|cs|tsa|cedex|mairie|h[ôo]tel de ville)\b", re.IGNORECASE)
_LOWER_WORDS = {"de", "du", "des", "la", "le", "les", "l", "d", "et", "en", "sur", "sous", "aux", "au", "à", "lès"}


# -- sources and fingerprint ----------------------------------------------------------------

@dataclass
class IndexSources:
    communes_files: list[Path] = field(default_factory=list)
    anciennes_files: list[Path] = field(default_factory=list)
    ban_files: list[Path] = field(default_factory=list)
    #: the electoral register's addresses (``register.parquet``), indexed as streets
    register_files: list[Path] = field(default_factory=list)

    def describe(self) -> list[dict]:
        return [_file_fingerprint(p, kind) for kind, paths in
                (("communes", self.communes_files), ("anciennes", self.anciennes_files), ("ban", self.ban_files),
                 ("register", self.register_files))
                for p in paths]


def _file_fingerprint(path: Path, kind: str) -> dict:
    path = Path(path)
    try:
        st = path.stat()
    except OSError as err:
        raise DataError(f"cannot read index source: {err}", path=str(path)) from err
    entry = {"kind": kind, "path": str(path.resolve()), "size": st.st_size}
    if st.st_size <= HASH_LIMIT:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        entry["sha256"] = h.hexdigest()
    else:
        entry["mtime_ns"] = st.st_mtime_ns
    return entry


def _versions() -> dict:
    out = {}
    for name in ("addok", "addok-fr", "addok-france"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover
            out[name] = None
    return out


def fingerprint(sources: IndexSources) -> tuple[str, dict]:
    """A hash of everything the index is made of, and the readable record behind it."""
    pipeline = addok_config.render(addok_config.redis_settings())  # without the live socket
    record = {
        "index_version": INDEX_VERSION,
        "packages": _versions(),
        "pipeline_sha256": hashlib.sha256(pipeline.encode()).hexdigest(),
        "sources": sources.describe(),
    }
    # Paths are recorded but not hashed: moving the data folder keeps the index.
    hashed = {**record, "sources": [{k: v for k, v in s.items() if k != "path"} | {"name": Path(s["path"]).name}
                                    for s in record["sources"]]}
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()
    return digest, record


# -- positions --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Placed:
    """Where a commune's municipality document goes (a point inside its polygon), and whether
    its mairie point can carry the mairie's address."""

    lon: float | None
    lat: float | None
    mairie_ok: bool


def place_communes(index, margin_m: float) -> list[Placed]:
    """For each commune of a ``CommuneIndex``: the municipality goes at the mairie when that
    point is inside the commune's polygon, else at a point on the polygon's surface (so a
    commune-level match always falls in its own commune). The mairie address is indexed when
    the mairie is in the commune or within ``margin_m`` of it (the polygons are simplified);
    a mairie published farther out is a data error the validator reports, and indexing it
    would send voters to the neighbour."""
    out = []
    for i, c in enumerate(index.communes):
        inside = mairie_ok = False
        if c.has_mairie_point:
            x, y = to_metric(c.mairie_lon, c.mairie_lat)
            inside = int(index.locate(x, y)[0]) == i
            mairie_ok = inside or index.holds(x, y, i, margin_m)
            if not mairie_ok:  # counted in the build report (mairies_left_out), one line in all
                log.debug("mairie point of %s %s is outside the commune: its address is not indexed", c.code, c.nom)
        if inside:
            out.append(Placed(c.mairie_lon, c.mairie_lat, True))
            continue
        if index.geoms[i] is None:  # no outline: the mairie is all we know of where it is
            out.append(Placed(c.mairie_lon, c.mairie_lat, True) if c.has_mairie_point else Placed(None, None, False))
            continue
        p = shapely.point_on_surface(index.geoms[i])
        lon, lat = to_lonlat(p.x, p.y)
        out.append(Placed(round(float(lon), 7), round(float(lat), 7), mairie_ok))
    return out


# -- documents --------------------------------------------------------------------------------

def importance(population: int | None) -> float:
    """0..1 from the population (log scale, 1 at a million), like the BAN's municipalities."""
    if population is None or population <= 0:
        return 0.0
    return round(min(1.0, math.log10(population + 1) / 6.0), 4)


def _unique(names: Iterable[str | None]) -> list[str]:
    seen, out = set(), []
    for n in names:
        if n and n.strip() and n.casefold() not in seen:
            seen.add(n.casefold())
            out.append(n.strip())
    return out


#: A hyphenated name with one of these is one name ('Val-de-Bride', 'Saint-Avold'), not a merger.
_LINK_WORDS = {"saint", "sainte", "st", "ste", "sur", "sous", "lès", "les", "lez", "la", "le", "de", "du", "des",
               "en", "aux", "au", "et", "l", "d"}
#: Parts too generic to stand for a former commune on their own ('Château-Voué').
_GENERIC_PARTS = {"château", "chateau", "val", "mont", "grand", "grande", "petit", "petite", "haut", "haute", "bas",
                  "basse", "vieux", "vieille", "neuf", "neuve", "moselle", "ville"}


def merged_parts(nom: str) -> list[str]:
    """'Manderen-Ritzing' → ['Manderen', 'Ritzing']: the names a commune nouvelle was made of.

    Only for plain proper names joined by hyphens; used for communes that absorbed a commune
    the COG lists by code only (57585 Ritzing has no name in any table we read).

    >>> merged_parts("Ogy-Montoy-Flanville"), merged_parts("Saint-Avold"), merged_parts("Château-Voué")
    (['Ogy', 'Montoy', 'Flanville'], [], ['Voué'])
    """
    parts = nom.split("-")
    if len(parts) < 2 or any(not p or not p[0].isupper() or p.casefold() in _LINK_WORDS for p in parts):
        return []
    return [p for p in parts if len(p) > 2 and p.casefold() not in _GENERIC_PARTS]


def commune_names(nom: str, former: Iterable[str] = (), *, merged: bool = False) -> list[str]:
    """Label first, then aliases: without article, German spelling, former names, and (for a
    merged commune) the parts of its name."""
    names = [nom, without_article(nom), german_spelling(nom)]
    for old in [*former, *(merged_parts(nom) if merged else ())]:
        names += [old, without_article(old), german_spelling(old)]
    return _unique(names)


def municipality_docs(index, placed: list[Placed], anciennes: Iterable[Ancienne] = (),
                      former_names: dict[str, set[str]] | None = None) -> Iterator[dict]:
    former, merged = anciennes_names(anciennes)
    for code, names in (former_names or {}).items():
        former.setdefault(code, []).extend(sorted(names))
    for c, p in zip(index.communes, placed, strict=True):
        if p.lon is None:  # neither outline nor mairie: nowhere to put it
            continue
        yield {
            "_id": f"mun_{c.code}",
            "type": "municipality",
            "name": commune_names(c.nom, former.get(c.code, ()), merged=c.code in merged),
            "postcode": list(c.codes_postaux),
            "citycode": c.code,
            "city": c.nom,
            "lon": p.lon,
            "lat": p.lat,
            "importance": importance(c.population),
            "source": "communes",
        }


def parse_mairie_address(address: str | None) -> tuple[str | None, str | None, str | None, str | None] | None:
    """'40 rue Principale, 57920 Aboncourt' → ('40', 'Rue Principale', '57920', 'Aboncourt').

    The number is None for an address without one ('Place de la Mairie, 57515 Alsting').
    None when no street line can be told apart (PO box only, no postcode line).
    """
    if not address:
        return None
    parts = [p.strip() for p in address.split(",") if p.strip()]
    for i in range(len(parts) - 1, 0, -1):
        m = _POSTCODE_LINE.match(parts[i])
        if not m:
            continue
        for line in reversed(parts[:i]):
            if _NOT_A_STREET.match(line):
                continue
            n = _NUMBER_LINE.match(line)
            if n:
                rep = n.group("rep")
                number = n.group("num") + (f" {rep.lower()}" if rep else "")
                return number, pretty_street(n.group("street")), m.group("cp"), m.group("city")
            if re.search(r"[^\W\d_]", line):
                return None, pretty_street(line), m.group("cp"), m.group("city")
        return None
    return None


def pretty_street(name: str) -> str:
    """'grande rue' → 'Grande Rue', 'RUE DE LA GARE' → 'Rue de la Gare'; mixed case is kept."""
    name = " ".join(name.split())
    if name != name.lower() and name != name.upper():
        return name[0].upper() + name[1:]
    words = re.split(r"(\s+|-|')", name.lower())
    out = []
    for i, w in enumerate(words):
        out.append(w if (w in _LOWER_WORDS and i > 0) or not w.strip(" -'") else w[0].upper() + w[1:])
    return "".join(out)


def mairie_docs(index, placed: list[Placed]) -> Iterator[dict]:
    """One street document per usable mairie address; its number is a housenumber."""
    for c, p in zip(index.communes, placed, strict=True):
        if not p.mairie_ok:
            continue
        parsed = parse_mairie_address(c.mairie_adresse)
        if parsed is None:
            continue
        number, street, postcode, _city = parsed
        doc = {
            "_id": f"mairie_{c.code}",
            "type": "street",
            "name": street,
            "postcode": postcode if postcode in c.codes_postaux or not c.codes_postaux else c.codes_postaux[0],
            "citycode": c.code,
            "city": c.nom,
            "lon": c.mairie_lon,
            "lat": c.mairie_lat,
            "importance": importance(c.population) * 0.5,
            "source": "mairie",
        }
        if number is not None:
            doc["housenumbers"] = {number: {"lon": c.mairie_lon, "lat": c.mairie_lat, "source": "mairie"}}
        yield doc


def _open_text(path: Path):
    path = Path(path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


#: The columns kept of a BAN row (in this order, as a tuple: a dict per row would triple the
#: memory of a grouped commune).
_KEPT = ("code_insee", "id_fantoir", "nom_voie", "numero", "rep", "code_postal", "nom_commune",
         "nom_ancienne_commune", "lon", "lat")
_CODE, _FANTOIR, _VOIE, _NUMERO, _REP, _CP, _COMMUNE, _ANCIENNE, _LON, _LAT = range(len(_KEPT))
#: Rows held in memory before grouping goes through buckets on disk (~0.66 KB a row grouped,
#: measured: BENCHMARKS.md). Bigger files go through buckets by commune, at least
#: ``SPILL_BUCKETS``, more for a bigger file so that a bucket holds about ``BUCKET_ROWS`` rows
#: (the national file, 26 M rows: 260 buckets of ~100,000 rows, ~70 MB grouped at a time).
GROUP_IN_MEMORY = 200_000
SPILL_BUCKETS = 64
BUCKET_ROWS = 100_000
MAX_BUCKETS = 512

#: The BAN writes some addresses of Paris, Lyon and Marseille under the city's code; the data
#: (and the bureaux) are per arrondissement municipal. City code → its arrondissements' prefix.
PLM = {"75056": "751", "69123": "6938", "13055": "132"}


class Recoder:
    """BAN ``code_insee`` → the commune of the data: an arrondissement for a row of 75056,
    69123 or 13055 (by its postcode when one arrondissement has it, else by its point).
    Other codes are kept."""

    def __init__(self, index):
        self.index = index
        self.by_postcode: dict[tuple[str, str], str | None] = {}
        for c in index.communes:
            for city, prefix in PLM.items():
                if c.code.startswith(prefix):
                    for cp in c.codes_postaux:
                        key = (city, cp)
                        self.by_postcode[key] = c.code if key not in self.by_postcode else None
        self.cities = {city for city, _cp in self.by_postcode}

    def __call__(self, code: str, postcode: str, lon: float, lat: float) -> str:
        if code not in self.cities:
            return code
        found = self.by_postcode.get((code, postcode))
        if found is not None:
            return found
        x, y = to_metric(lon, lat)
        ci = int(self.index.locate(x, y)[0])
        if ci >= 0 and self.index.communes[ci].code.startswith(PLM[code]):
            return self.index.communes[ci].code
        return code


def _ban_rows(path: Path, former_names, recode) -> Iterator[tuple]:
    with _open_text(path) as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader, [])
        missing = [c for c in BAN_COLUMNS if c not in header]
        if missing:
            raise DataError(f"not a BAN adresses CSV: missing column(s) {', '.join(missing)}", path=str(path))
        where = [header.index(c) if c in header else None for c in _KEPT]
        for row in reader:
            t = tuple("" if i is None or i >= len(row) else row[i] for i in where)
            try:
                lon, lat = float(t[_LON]), float(t[_LAT])
            except ValueError:
                continue
            if not (math.isfinite(lon) and math.isfinite(lat)):
                continue
            if not t[_REP]:
                t = _suffix_out_of_the_name(t)
            if recode is not None:
                code = recode(t[_CODE], t[_CP], lon, lat)
                if code != t[_CODE]:
                    t = (code, *t[1:])
            old = t[_ANCIENNE].strip()
            if old and former_names is not None:
                former_names.setdefault(t[_CODE], set()).add(old)
            yield t


def _suffix_out_of_the_name(t: tuple) -> tuple:
    """'39' + 'Bis Rue Poliveau' (some rows carry the suffix in the street name) → '39 bis'
    + 'Rue Poliveau'."""
    first, _, rest = t[_VOIE].partition(" ")
    if rest and first.lower() in NUMBER_SUFFIXES:
        return (*t[:_VOIE], rest, t[_NUMERO], first.lower(), *t[_REP + 1:])
    return t


def _group_key(t: tuple) -> tuple[str, str]:
    return t[_CODE], t[_FANTOIR] or t[_VOIE]


def ban_csv_docs(path: Path | str, former_names: dict[str, set[str]] | None = None, *,
                 recode: Callable[[str, str, float, float], str] | None = None,
                 in_memory: int | None = None) -> Iterator[dict]:
    """Street documents from a BAN ``adresses-NN.csv(.gz)``, whatever the order of its rows.

    Every row of a street (same commune, same FANTOIR id or name) goes into one document with
    all its house numbers, even when the file is not sorted. Up to ``in_memory`` rows are
    grouped in memory; a bigger file is streamed into temporary buckets by commune (64 or
    more, ~``BUCKET_ROWS`` rows each), then grouped one bucket at a time (memory bounded by a
    bucket). ``recode`` maps a row's ``code_insee`` to the data's commune (``Recoder``);
    ``former_names`` collects ``nom_ancienne_commune`` per current code for the municipalities.
    """
    path = Path(path)
    in_memory = GROUP_IN_MEMORY if in_memory is None else in_memory
    rows = _ban_rows(path, former_names, recode)
    groups: dict[tuple[str, str], list[tuple]] = {}
    held = 0
    for t in rows:
        groups.setdefault(_group_key(t), []).append(t)
        held += 1
        if held >= in_memory:
            yield from _spilled(path, groups, rows)
            return
    for group in groups.values():
        doc = _street_doc(group)
        if doc:
            yield doc


def _spilled(path: Path, groups: dict, rows: Iterator[tuple]) -> Iterator[dict]:
    """The rest of a big file through buckets on disk (one commune is in one bucket)."""
    import tempfile
    import zlib

    # rows in the file, roughly (a published row is ~150 bytes, ~4 times less gzipped)
    rows_guess = path.stat().st_size // (40 if path.suffix == ".gz" else 150)
    n = max(SPILL_BUCKETS, min(MAX_BUCKETS, rows_guess // BUCKET_ROWS))
    with tempfile.TemporaryDirectory(prefix="locator-ban-") as tmp:
        files = [open(Path(tmp) / f"{i:03d}.tsv", "w", encoding="utf-8", newline="") for i in range(n)]
        try:
            writers = [csv.writer(f, delimiter="\t", lineterminator="\n") for f in files]

            def spill(t: tuple) -> None:
                writers[zlib.crc32(t[_CODE].encode()) % n].writerow(t)

            for group in groups.values():
                for t in group:
                    spill(t)
            groups.clear()
            for t in rows:
                spill(t)
        finally:
            for f in files:
                f.close()
        for i in range(n):
            bucket: dict[tuple[str, str], list[tuple]] = {}
            with open(Path(tmp) / f"{i:03d}.tsv", encoding="utf-8", newline="") as fh:
                for t in csv.reader(fh, delimiter="\t"):
                    t = tuple(t)
                    bucket.setdefault(_group_key(t), []).append(t)
            for key in sorted(bucket):
                doc = _street_doc(bucket[key])
                if doc:
                    yield doc


def _street_doc(rows: list[tuple]) -> dict:
    first = rows[0]
    housenumbers = {}
    lons, lats = [], []
    for r in rows:
        lon, lat = float(r[_LON]), float(r[_LAT])
        lons.append(lon)
        lats.append(lat)
        number = r[_NUMERO].strip()
        if not number or number in ("0", "99999"):  # the BAN's "no number" placeholders
            continue
        rep = r[_REP].strip().lower()
        key = number if not rep else (f"{number}{rep.upper()}" if len(rep) == 1 else f"{number} {rep}")
        housenumbers[key] = {"lon": lon, "lat": lat}  # "1A", "12 bis" as the BAN writes them
    if not lons:
        return {}
    code = first[_CODE]
    ident = first[_FANTOIR] or hashlib.sha1(first[_VOIE].encode()).hexdigest()[:10]
    postcodes = sorted({r[_CP] for r in rows if r[_CP]})
    doc = {
        "_id": f"ban_{code}_{ident}",
        "type": "street",
        "name": first[_VOIE],
        "postcode": (postcodes if len(postcodes) > 1 else postcodes[0]) if postcodes else None,
        "citycode": code,
        "city": first[_COMMUNE] or None,
        "lon": round(float(np.median(lons)), 7),
        "lat": round(float(np.median(lats)), 7),
        "importance": 0.0,
        "source": "ban",
    }
    old = first[_ANCIENNE].strip()
    if old:
        doc["oldcity"] = old
    if housenumbers:
        doc["housenumbers"] = housenumbers
    return {k: v for k, v in doc.items() if v is not None}


def ndjson_docs(path: Path | str) -> Iterator[dict]:
    """addok documents, one JSON object per line (``id`` becomes addok's ``_id``)."""
    path = Path(path)
    with _open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                doc = json.loads(line)
            except ValueError as err:
                raise DataError(f"not JSON: {err}", path=str(path), record=str(n)) from err
            if not isinstance(doc, dict) or "lat" not in doc or "lon" not in doc or not doc.get("name"):
                raise DataError("an addok document needs name, lon and lat", path=str(path), record=str(n))
            if "_id" not in doc and "id" in doc:
                doc["_id"] = str(doc["id"])
            doc.setdefault("source", "ndjson")
            yield doc


#: A register address as INSEE publishes it (``geo_adresse``): "12 bis Rue X 29900 Concarneau".
_REGISTER_ADDRESS = re.compile(rf"^(?P<num>\d{{1,4}})\s*(?P<rep>{SUFFIXES_RE}|[a-z])?\s+(?P<street>.+?)\s+"
                               r"(?P<cp>\d{5})\s+(?P<city>.+)$", re.IGNORECASE)


def register_docs(register, known_codes) -> Iterator[dict]:
    """Street documents of the electoral register's own addresses (``geo_adresse``, at the
    register's point), for the communes of the data: a voter who types an address of the
    register finds it even without a BAN file, and its point is the register's (its bureau)."""
    from ..data.register import usable

    keep = usable(register.geo_type, register.geo_score)
    streets: dict[tuple[str, str], list[tuple]] = {}
    for i in np.nonzero(keep)[0]:
        code = str(register.code_insee[i])
        text = str(register.geo_adresse[i] or "").strip()
        m = _REGISTER_ADDRESS.match(text) if code in known_codes else None
        if m is None:
            continue
        street = " ".join(m["street"].split())
        streets.setdefault((code, street.casefold()), []).append(
            (m["num"], (m["rep"] or "").lower(), street, m["cp"], " ".join(m["city"].split()),
             float(register.lon[i]), float(register.lat[i])))
    for (code, key), rows in sorted(streets.items()):
        housenumbers = {}
        for num, rep, _street, _cp, _city, lon, lat in rows:
            name = num if not rep else (f"{num}{rep.upper()}" if len(rep) == 1 else f"{num} {rep}")
            housenumbers[name] = {"lon": round(lon, 7), "lat": round(lat, 7)}
        first = rows[0]
        postcodes = sorted({r[3] for r in rows})
        yield {
            "_id": f"reu_{code}_{hashlib.sha1(key.encode()).hexdigest()[:10]}",
            "type": "street",
            "name": first[2],
            "postcode": postcodes if len(postcodes) > 1 else postcodes[0],
            "citycode": code,
            "city": first[4],
            "lon": round(float(np.median([r[5] for r in rows])), 7),
            "lat": round(float(np.median([r[6] for r in rows])), 7),
            "importance": 0.0,
            "source": "register",
            "housenumbers": housenumbers,
        }


def ban_docs(path: Path | str, former_names: dict[str, set[str]] | None = None, *,
             recode: Callable[[str, str, float, float], str] | None = None) -> Iterator[dict]:
    """Documents of one BAN file, by its name: ``.csv``/``.csv.gz`` or ``.ndjson``/``.json(.gz)``."""
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return ban_csv_docs(path, former_names, recode=recode)
    if name.endswith((".ndjson", ".json", ".jsonl")):
        return ndjson_docs(path)
    raise DataError("unknown BAN file type (expected .csv, .csv.gz, .ndjson or .ndjson.gz)", path=str(path))


# -- building -------------------------------------------------------------------------------

@dataclass
class BuildReport:
    documents: int = 0
    municipalities: int = 0
    mairies: int = 0
    ban_streets: int = 0
    register_streets: int = 0
    #: street documents filed for the exact-address fast path (``exact``)
    exact_streets: int = 0
    mairies_left_out: list[str] = field(default_factory=list)
    seconds: float = 0.0
    ngram_seconds: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def import_documents(docs: Iterable[dict], *, on_chunk: Callable[[int], None] | None = None) -> int:
    """Run addok's batch processors on ``docs`` in chunks, in this process; returns the count."""
    from addok.batch import to_json
    from addok.config import config

    processors = [p for p in config.BATCH_PROCESSORS if p is not to_json]
    count = 0
    chunk: list[dict] = []
    for doc in docs:
        if not doc:
            continue
        chunk.append(doc)
        if len(chunk) >= CHUNK:
            count += _flush(chunk, processors, on_chunk)
            chunk = []
    if chunk:
        count += _flush(chunk, processors, on_chunk)
    return count


def _flush(chunk, processors, on_chunk) -> int:
    from addok.helpers import iter_pipe

    for _ in iter_pipe(chunk, processors):
        pass
    if on_chunk is not None:
        on_chunk(len(chunk))
    return len(chunk)


def create_ngrams(client) -> None:
    """addok's n-gram step (``addok ngrams``), in this process: edge n-grams of every token."""
    from addok.autocomplete import index_ngram_keys

    keys = []
    for key in client.scan_iter(match="w|*", count=10000):
        keys.append(key)
        if len(keys) >= 10000:
            index_ngram_keys(*keys)
            keys = []
    if keys:
        index_ngram_keys(*keys)


def build(client, index, *, anciennes: list[Ancienne], ban_files: list[Path], margin_m: float,
          manifest: dict, progress: Callable[[int], None] | None = None, register=None) -> BuildReport:
    """Empty the Redis database and index everything into it (addok must be bound to ``client``)."""
    from addok.config import config
    from addok.helpers import index as addok_index

    from .exact import ExactWriter  # (exact reads evidence, which reads this module)

    started = time.perf_counter()
    report = BuildReport()
    client.flushdb()
    placed = place_communes(index, margin_m)
    report.mairies_left_out = [c.code for c, p in zip(index.communes, placed, strict=True)
                               if c.has_mairie_point and not p.mairie_ok]
    former_names: dict[str, set[str]] = {}
    edge = config.INDEX_EDGE_NGRAMS
    config.INDEX_EDGE_NGRAMS = False  # as `addok batch` does; the n-gram step follows
    exact = ExactWriter(client)  # the fast path's streets, filed as they go to addok
    try:
        recode = Recoder(index)
        for path in ban_files:
            n = import_documents(exact.record(ban_docs(path, former_names, recode=recode)), on_chunk=progress)
            report.ban_streets += n
            log.info("%s: %d streets", path, n)
        if register is not None:
            report.register_streets = import_documents(exact.record(register_docs(register, set(index.by_code))),
                                                       on_chunk=progress)
        report.mairies = import_documents(exact.record(mairie_docs(index, placed)), on_chunk=progress)
        exact.close()
        report.exact_streets = exact.filed
        known = set(index.by_code)
        report.municipalities = import_documents(
            municipality_docs(index, placed, anciennes, {k: v for k, v in former_names.items() if k in known}),
            on_chunk=progress)
    finally:
        config.INDEX_EDGE_NGRAMS = edge
        addok_index._CACHE.clear()  # addok memoises every indexed string
    t = time.perf_counter()
    create_ngrams(client)
    report.ngram_seconds = time.perf_counter() - t
    report.documents = report.municipalities + report.mairies + report.ban_streets + report.register_streets
    report.seconds = time.perf_counter() - started
    client.set(MANIFEST_KEY, json.dumps({**manifest, "report": report.to_dict()}))
    return report


def read_manifest(client) -> dict | None:
    raw = client.get(MANIFEST_KEY)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None

