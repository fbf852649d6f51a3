"""Validation as a whole: load (leniently) → apply corrections → (re-geocode) → choose the
mairie references → run the checks → a ``ValidationResult`` the reports render."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..communes import CommuneIndex
from ..config import Settings
from ..data.corrections import Applied, Correction, apply_corrections
from ..data.datadir import DataDir, Dataset
from ..errors import DataError
from ..models import Bureau, Commune, Finding
from ..projection import to_metric_anywhere
from .checks import CHECK_NAMES, CHECKS, run_checks
from .context import ValidationContext, project_areas, voters_by_bureau
from .flag import INFO, SEVERITIES, SEVERITY_RANK, WARNING, metres
from .reference import Reference, choose_references
from .regeocode import DEFAULT_RATE_PER_S, RegeocodeResult, evidence_lookup, regeocode
from .thresholds import Thresholds

#: Findings made while loading, not by a check of ``CHECKS``.
LOAD_CHECKS = ("correction_applied", "correction_unknown_bureau", "regeocode_unavailable")


@dataclass
class ValidationResult:
    findings: list[Finding]
    bureaux: list[Bureau]
    communes: list[Commune]
    commune_geometries: list  # shapely, WGS84, same order as ``communes``
    references: dict[str, Reference]
    applied: list[Applied] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    regeocode: RegeocodeResult | None = None

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def exit_code(self) -> int:
        """0: no error; 1: errors found (2, unusable input, is raised as ``DataError``)."""
        return self.status()

    def status(self, *, strict: bool = False) -> int:
        """The exit code: 1 when errors were found, or, ``strict``, warnings (organisers who
        gate publication on the validator); else 0."""
        if self.count("error") or (strict and self.count("warning")):
            return 1
        return 0

    def to_check(self) -> dict[str, int]:
        """What needs a human: the bureaux with an error or a warning (``bureaux``, of which
        ``bureaux_with_errors``), the communes whose mairie reference has one
        (``references``), and the other findings on the data as a whole (``other``)."""
        bureaux: dict[str, str] = {}
        references, other = set(), 0
        for f in self.findings:
            if f.severity not in ("error", "warning"):
                continue
            if f.bureau_id is not None:
                if bureaux.get(f.bureau_id) != "error":
                    bureaux[f.bureau_id] = f.severity
            elif f.extra.get("commune"):
                references.add(f.extra["commune"])
            else:
                other += 1
        return {"bureaux": len(bureaux), "bureaux_with_errors": sum(1 for s in bureaux.values() if s == "error"),
                "references": len(references), "other": other}

    def by_check(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for f in self.findings:
            out.setdefault(f.check, dict.fromkeys(SEVERITIES, 0))[f.severity] += 1
        order = {name: k for k, name in enumerate((*CHECK_NAMES, *LOAD_CHECKS))}
        return dict(sorted(out.items(), key=lambda kv: (order.get(kv[0], -1), kv[0])))

    def summary(self) -> dict:
        detail = self.by_check()
        return {
            "bureaux": len(self.bureaux),
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "infos": self.count("info"),
            "by_check": {name: sum(sev.values()) for name, sev in detail.items()},
            "by_check_severity": detail,
            "communes": len(self.communes),
            "references": dict(Counter(self.references[b.code_insee].kind for b in self.bureaux
                                       if b.code_insee in self.references)),
            "corrections_applied": len(self.applied),
            "to_check": self.to_check(),
        }

    def flagged_ids(self, severities=("error", "warning")) -> set[str]:
        return {f.bureau_id for f in self.findings if f.bureau_id is not None and f.severity in severities}


def validate(bureaux: list[Bureau], communes: list[Commune], commune_geometries: list, *,
             settings: Settings | None = None, thresholds: Thresholds | None = None,
             area_bureau_ids=(), area_geometries=(), corrections: list[Correction] = (),
             geocoder=None, geocoder_error: str | None = None, rate_per_s: float = DEFAULT_RATE_PER_S,
             progress: bool = False, index: CommuneIndex | None = None, checks=CHECKS,
             inputs: dict | None = None, register=None) -> ValidationResult:
    """Validate bureaux already loaded; never raises for a bad bureau (it becomes a finding).

    Parameters
    ----------
    geocoder
        With ``search(text, *, citycode=None, postcode=None, limit=5)``: re-geocode every
        bureau address and the mairie addresses (``--regeocode``). None: no geocoding.
    index
        A ``CommuneIndex`` of ``communes`` already built (benchmarks, repeated runs).
    geocoder_error
        Re-geocoding was asked for but the geocoder could not start: reported as a finding.
    """
    fixed, applied, unknown = apply_corrections(list(bureaux), list(corrections))
    return _validate_fixed(fixed, applied, unknown, communes, commune_geometries, settings=settings,
                           thresholds=thresholds, area_bureau_ids=area_bureau_ids, area_geometries=area_geometries,
                           geocoder=geocoder, geocoder_error=geocoder_error, rate_per_s=rate_per_s,
                           progress=progress, index=index, checks=checks, inputs=inputs, register=register)


#: Checks about where a bureau stands: a warning of one of these is a doubt a voter must hear.
POSITION_CHECKS = ("lonlat_swapped", "null_island", "projected_coordinates", "outside_france",
                   "outside_declared_commune", "mairie_named_far", "single_bureau_far_from_mairie",
                   "geocode_imprecise", "geocode_low_score", "centroid_like_point", "geocode_citycode_mismatch",
                   "regeocode_far", "outside_own_area", "far_from_own_voters", "shared_point_across_communes")


def doubtful_bureaux(result: ValidationResult) -> dict[str, str]:
    """Bureaux whose position the service must not present as certain (id → ``error`` or
    ``warning``): an error of any check (the point is not shown), or a warning of a check
    about the position (shown, said to be checked)."""
    out: dict[str, str] = {}
    for f in result.findings:
        if f.bureau_id is None:
            continue
        if f.severity == "error":
            out[f.bureau_id] = "error"
        elif f.severity == "warning" and f.check in POSITION_CHECKS:
            out.setdefault(f.bureau_id, "warning")
    return out


def validate_dataset(dataset: Dataset, *, settings: Settings | None = None, **options) -> ValidationResult:
    """Validate a loaded data folder (its corrections are already applied by the load)."""
    if options.get("geocoder") is not None:  # re-geocoding with the lookups' evidence rules
        options["lookup"] = evidence_lookup(dataset, options["geocoder"], settings)
    return _validate_fixed(list(dataset.bureaux), list(dataset.applied), list(dataset.unknown_corrections),
                           list(dataset.communes), list(dataset.commune_geoms), settings=settings,
                           area_bureau_ids=dataset.area_bureau_ids, area_geometries=dataset.area_geoms,
                           inputs=dataset.paths, register=dataset.register, **options)


def _validate_fixed(fixed: list[Bureau], applied: list[Applied], unknown: list[Correction], communes, commune_geometries,
                    *, settings: Settings | None = None, thresholds: Thresholds | None = None,
                    area_bureau_ids=(), area_geometries=(), geocoder=None, geocoder_error: str | None = None,
                    rate_per_s: float = DEFAULT_RATE_PER_S, progress: bool = False,
                    index: CommuneIndex | None = None, checks=CHECKS, inputs: dict | None = None,
                    register=None, lookup=None) -> ValidationResult:
    settings = settings or Settings()
    thresholds = thresholds or Thresholds.from_settings(settings)
    index = index or CommuneIndex(communes, commune_geometries)
    hosts = [b.code_insee for b in fixed if b.code_insee in index.by_code]
    reg = None
    if geocoder is not None:
        reg = regeocode(geocoder, fixed, {c.code: c for c in index.communes}, mairie_codes=hosts,
                        rate_per_s=rate_per_s, progress=progress, lookup=lookup)
    elif geocoder_error is not None:
        reg = RegeocodeResult(failure=geocoder_error)
    references, findings = choose_references(index, thresholds, report_codes=hosts,
                                             geocoded_mairies=reg.mairies if reg else None)
    ctx = ValidationContext(fixed, index, thresholds, references,
                            areas=project_areas(list(area_bureau_ids), list(area_geometries)),
                            regeocoded=reg.bureaux if reg else None, voters=voters_by_bureau(register))
    findings += run_checks(ctx, checks)
    findings += _load_findings(applied, unknown, reg)
    order = {c.name: k for k, c in enumerate(checks)}
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.bureau_id is None, f.bureau_id or "",
                                 order.get(f.check, -1), f.message))
    return ValidationResult(findings, fixed, list(index.communes), list(commune_geometries), references,
                            applied, dict(inputs or {}), reg)


def _load_findings(applied: list[Applied], unknown: list[Correction], reg: RegeocodeResult | None) -> list[Finding]:
    out = []
    for a in applied:
        c = a.correction
        what = []
        if c.moves:
            if a.before.lon is not None and a.before.lat is not None and abs(a.before.lat) <= 90 and abs(a.before.lon) <= 180:
                (x0, x1), (y0, y1) = to_metric_anywhere([a.before.lon, c.lon], [a.before.lat, c.lat])
                what.append(f"point déplacé de {metres(math.hypot(x1 - x0, y1 - y0))}")
            else:
                what.append("point remplacé")
        if c.address is not None:
            what.append(f"adresse « {c.address} »")
        when = f", {c.date}" if c.date else ""
        out.append(Finding(c.bureau_id, "correction_applied", INFO,
                           f"Correction appliquée ({', '.join(what)}) : {c.reason} ({c.author}{when}).",
                           lon=a.after.lon, lat=a.after.lat, extra={"correction": c.to_dict()}))
    for c in unknown:
        out.append(Finding(None, "correction_unknown_bureau", WARNING,
                           f"La correction de la ligne {c.line} vise le bureau {c.bureau_id!r}, absent du fichier des "
                           "bureaux : corrigez l'identifiant ou supprimez la ligne.",
                           lon=c.lon, lat=c.lat, extra={"correction": c.to_dict()}))
    if reg is not None and reg.failure:
        out.append(Finding(None, "regeocode_unavailable", WARNING,
                           f"Le géocodeur est indisponible ({reg.failure}) après {reg.queries} requête(s) : les "
                           "adresses restantes n'ont pas été recoupées avec les points. Relancez plus tard.",
                           extra={}))
    return out


def expand_communes_paths(paths) -> list[Path]:
    """Files as given; folders replaced by their ``*.geojson`` files."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.glob("*.geojson"))
            if not found:
                raise DataError("no *.geojson file in this folder", path=str(p))
            out.extend(found)
        else:
            out.append(p)
    return out


def validate_files(bureaux_path: Path | str | None = None, communes: list | None = None, *,
                   areas_path: Path | str | None = None, corrections_path: Path | str | None = None,
                   default_areas: bool = True, default_corrections: bool = True,
                   settings: Settings | None = None,
                   thresholds: Thresholds | None = None, geocoder=None, geocoder_error: str | None = None,
                   rate_per_s: float = DEFAULT_RATE_PER_S, progress: bool = False) -> ValidationResult:
    """Load the files and validate them.

    Defaults: ``<data_dir>/bureaux.geojson`` and ``<data_dir>/communes/*.geojson``; the areas
    (``bureaux_areas.geojson``) and corrections (``corrections.csv``) next to the bureaux
    file are used when they exist, unless ``default_areas``/``default_corrections`` is false.

    Raises
    ------
    DataError
        A file cannot be read, or records are structurally unusable (the message names the
        file and every bad record). Bad *positions* are not raised: they are findings.
    """
    settings = settings or Settings.from_env()
    dataset = DataDir(settings.data_dir).load(
        strict=False, bureaux_path=bureaux_path, communes_paths=expand_communes_paths(communes) if communes else None,
        areas_path=areas_path, corrections_path=corrections_path, use_areas=default_areas,
        use_corrections=default_corrections)
    dataset.raise_problems()
    return validate_dataset(dataset, settings=settings, thresholds=thresholds, geocoder=geocoder,
                            geocoder_error=geocoder_error, rate_per_s=rate_per_s, progress=progress)
