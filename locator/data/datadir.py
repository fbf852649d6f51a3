"""The data folder, opened once: ``DataDir(path).load(strict=...)`` → a frozen ``Dataset``.

One class knows the folder's files::

    <data>/communes/<dep>.geojson           the communes (polygon, names, postcodes, mairie)
    <data>/communes/<dep>.anciennes.json    their former, delegated and associated communes
    <data>/bureaux.geojson                  the bureaux
    <data>/bureaux_areas.geojson            official areas of bureaux (optional)
    <data>/corrections.csv                  corrections of bureaux (optional)
    <data>/register.parquet                 the electoral register's addresses (``locator reu import``)
    <data>/index/                           the embedded geocoder's index (built, git-ignored)
    <data>/cache/                           binary copies of parsed files and warm tables (built,
                                            git-ignored; ``locator.data.cache``)

The ``Dataset`` is what the engine, the geocoder, the validator and the web layer share:
read once per process, never mutated (a reload builds a new one and swaps it).

* **strict** (the engine, ``locator serve``): the first bad record raises ``DataError``
  naming the file and the record; nothing is half-loaded.
* **lenient** (the validator): bad records become ``problems``; bureaux with implausible
  positions are kept as they are so the checks can say what is wrong with them.

Corrections are applied here, in both modes, so every reader sees the corrected bureaux;
``applied`` lists what they changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import DataError
from ..models import Bureau, Commune
from .anciennes import SUFFIX as ANCIENNES_SUFFIX
from .anciennes import Ancienne, CodeHistory, read_anciennes
from .cache import CACHE_DIR, ArrayCache
from .corrections import Applied, Correction, apply_corrections, load_corrections
from .gazetteer import FILE_NAME as NAMES_FILE
from .gazetteer import FranceNames, read_names
from .loader import DataProblem, gc_paused, load_areas, load_bureaux, load_communes
from .register import FILENAME as REGISTER
from .register import RegisterData, read_register

COMMUNES_DIR = "communes"
BUREAUX = "bureaux.geojson"
AREAS = "bureaux_areas.geojson"
CORRECTIONS = "corrections.csv"
INDEX_DIR = "index"


class DataDir:
    """A data folder and the names of its files (nothing is read until ``load``)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"DataDir({str(self.path)!r})"

    @property
    def communes_dir(self) -> Path:
        return self.path / COMMUNES_DIR

    @property
    def bureaux_path(self) -> Path:
        return self.path / BUREAUX

    @property
    def areas_path(self) -> Path:
        return self.path / AREAS

    @property
    def corrections_path(self) -> Path:
        return self.path / CORRECTIONS

    @property
    def register_path(self) -> Path:
        return self.path / REGISTER

    @property
    def index_dir(self) -> Path:
        return self.path / INDEX_DIR

    @property
    def cache(self) -> ArrayCache:
        """``<data>/cache/``: parsed files and the engine's tables as arrays, keyed by the
        bytes they were computed from (``locator.data.cache``)."""
        return ArrayCache(self.path / CACHE_DIR)

    @property
    def names_path(self) -> Path:
        """``communes/france.names.json``: every commune of France by name (``gazetteer``)."""
        return self.communes_dir / NAMES_FILE

    def communes_paths(self) -> list[Path]:
        """Every ``communes/*.geojson`` file, sorted; ``DataError`` saying how to point at
        them when there is none."""
        if not self.path.is_dir():
            raise DataError("data folder not found: give --data DIR or set LOCATOR_DATA_DIR",
                            path=str(self.path))
        paths = sorted(self.communes_dir.glob("*.geojson"))
        if not paths:
            raise DataError("no communes/*.geojson file: give --data DIR (a folder holding communes/) "
                            "or set LOCATOR_DATA_DIR, or build one with `locator data build -d NN`",
                            path=str(self.communes_dir))
        return paths

    def anciennes_paths(self) -> list[Path]:
        return sorted(self.communes_dir.glob(f"*{ANCIENNES_SUFFIX}"))

    def source_paths(self) -> list[Path]:
        """Every file a load reads, in a fixed order (what ``Dataset.version`` digests)."""
        optional = [p for p in (self.bureaux_path, self.areas_path, self.corrections_path, self.register_path)
                    if p.is_file()]
        return [*self.communes_paths(), *self.anciennes_paths(), *optional]

    def load(self, *, strict: bool = True, bureaux_path: Path | str | None = None,
             communes_paths: list[Path] | None = None, areas_path: Path | str | None = None,
             corrections_path: Path | str | None = None, use_areas: bool = True,
             use_corrections: bool = True, require_bureaux: bool = True) -> Dataset:
        """Read the folder once.

        The other files of the validator's command line (a bureaux file elsewhere, its areas
        and corrections next to it) are given as overrides; by default the folder's own files
        are read. ``require_bureaux=False`` allows a folder without ``bureaux.geojson``
        (building the geocoder's index, importing bureaux).

        Raises
        ------
        DataError
            strict: the first bad record; lenient: a file that cannot be read at all.
        """
        # One pause of the cyclic collector for the whole load (each file's reader pauses it
        # too): a collection triggered by the records made so far walks all of them, many
        # times over for all of France, and none of them is garbage.
        with gc_paused():
            return self._load(strict, bureaux_path, communes_paths, areas_path, corrections_path, use_areas,
                              use_corrections, require_bureaux)

    def _load(self, strict, bureaux_path, communes_paths, areas_path, corrections_path, use_areas,
              use_corrections, require_bureaux) -> Dataset:
        c_paths = list(communes_paths) if communes_paths else self.communes_paths()
        b_path = Path(bureaux_path) if bureaux_path is not None else self.bureaux_path
        if areas_path is None and use_areas and (b_path.parent / AREAS).is_file():
            areas_path = b_path.parent / AREAS
        if corrections_path is None and use_corrections and (b_path.parent / CORRECTIONS).is_file():
            corrections_path = b_path.parent / CORRECTIONS

        cache = self.cache
        communes = load_communes(c_paths, strict=strict, cache=cache)
        if not communes.communes:
            raise DataError("no commune loaded", path=str(c_paths[0]))
        known = {c.code for c in communes.communes}
        problems = list(communes.problems)
        bureaux: list[Bureau] = []
        if b_path.is_file() or require_bureaux:
            if not b_path.is_file():
                raise DataError(f"{BUREAUX} is missing", path=str(b_path))
            loaded = load_bureaux(b_path, known if strict else None, strict=strict, cache=cache)
            bureaux, problems = loaded.bureaux, problems + loaded.problems
        area_ids: list[str] = []
        area_geoms: list = []
        if areas_path is not None:
            areas = load_areas(areas_path, {b.id for b in bureaux} if strict else None, strict=strict)
            area_ids, area_geoms, problems = areas.bureau_ids, areas.geometries, problems + areas.problems
        corrections = load_corrections(corrections_path) if corrections_path is not None else []
        fixed, applied, unknown = apply_corrections(bureaux, corrections)
        anciennes = tuple(read_anciennes(self.anciennes_paths()))
        # the register next to the bureaux file (the REU import writes them together)
        register_path = b_path.parent / REGISTER
        register = read_register(register_path) if register_path.is_file() else None
        return Dataset(
            data_dir=self, communes=tuple(communes.communes), commune_geoms=tuple(communes.geometries),
            bureaux=tuple(fixed), area_bureau_ids=tuple(area_ids), area_geoms=tuple(area_geoms),
            corrections=tuple(corrections), applied=tuple(applied), unknown_corrections=tuple(unknown),
            anciennes=anciennes, register=register, problems=tuple(problems), communes_digest=communes.digest,
            paths={"bureaux": str(b_path), "communes": [str(p) for p in c_paths],
                   "areas": None if areas_path is None else str(areas_path),
                   "corrections": None if corrections_path is None else str(corrections_path)})


@dataclass(frozen=True, eq=False)
class Dataset:
    """Everything read from one data folder, built once and shared (never mutated)."""

    data_dir: DataDir
    communes: tuple[Commune, ...]
    commune_geoms: tuple  # shapely, WGS84, same order as ``communes``
    bureaux: tuple[Bureau, ...]  # corrections applied
    area_bureau_ids: tuple[str, ...] = ()
    area_geoms: tuple = ()  # shapely, WGS84
    corrections: tuple[Correction, ...] = ()
    applied: tuple[Applied, ...] = ()
    unknown_corrections: tuple[Correction, ...] = ()
    anciennes: tuple[Ancienne, ...] = ()
    register: RegisterData | None = None  # the REU's addresses and their bureaux
    problems: tuple[DataProblem, ...] = ()  # lenient loads only
    paths: dict = field(default_factory=dict)
    #: the key of the communes files read (``LoadedCommunes.digest``); "" when not read from files
    communes_digest: str = ""

    @property
    def engine_cache(self) -> ArrayCache:
        """Where the engine keeps what it computes from these communes only (its metric
        outlines, its warm grid): the folder's cache scoped by ``communes_digest``; a cache
        that never hits for a dataset not read from files."""
        if not self.communes_digest:
            return ArrayCache(None)
        return self.data_dir.cache.scoped(self.communes_digest)

    @cached_property
    def history(self) -> CodeHistory:
        """Former INSEE codes → today's."""
        return CodeHistory(self.anciennes)

    @cached_property
    def version(self) -> str:
        """A short digest of every file read: what ``/healthz`` says is served."""
        digest = hashlib.sha256()
        for p in self.data_dir.source_paths():
            digest.update(p.name.encode())
            digest.update(p.read_bytes())
        return digest.hexdigest()[:12]

    @property
    def departements(self) -> tuple[str, ...]:
        return tuple(sorted({c.departement for c in self.communes}))

    @cached_property
    def france_names(self) -> FranceNames | None:
        """Every commune of France by name (``communes/france.names.json``), None without it."""
        path = self.data_dir.names_path
        return read_names(path) if path.is_file() else None

    @property
    def departement_names(self) -> dict[str, str]:
        """The covered départements with their article ('57' → 'la Moselle'); the code alone
        when the folder has no names file."""
        names = self.france_names
        return {d: (names.departement_with_article(d) if names else None) or d for d in self.departements}

    def raise_problems(self) -> None:
        """``DataError`` listing every problem of a lenient load (none: nothing happens)."""
        problems = self.problems
        if not problems:
            return
        if len(problems) == 1:
            raise problems[0].to_error()
        first = problems[0]
        listing = "\n  ".join(str(p) for p in problems)
        raise DataError(f"{len(problems)} unusable records:\n  {listing}", path=first.path, record=first.record)
