"""The mairie reference: where each commune's mairie stands, and whether it may be trusted.

The official point (DILA « Annuaire de l'administration », carried in the communes file as
``mairie_lon``/``mairie_lat``) is wrong for some communes: in 57/54/67/88, 108 of 2,332
points fall outside their own commune (up to 3,000 km away), five points are shared by two
communes, and Faulquemont (57209) and Fontoy (57226) have none. So the official point first
goes through its own checks (``REFERENCE_CHECKS``, run by one loop); a bureau is only ever
judged against a reference that passed them. Fallback order:

1. ``mairie-annuaire``: the official point, when no check rejects it;
2. ``geocoded-mairie``: the mairie's postal address geocoded (``--regeocode`` only),
   accepted at housenumber precision, with a fair score, inside the commune;
3. ``commune-interior``: a point surely inside the commune polygon. It is not the mairie,
   so distance-to-mairie checks are skipped (and say so) with this reference.

A reference is *corroborated* when two independent sources agree (the official point and
the geocoded address within ``mairie_warning_m``, but not on the very same coordinates: the
embedded geocoder indexes the annuaire's own points, which proves nothing). Only a corroborated reference can turn a
distance into an error; the checks also count other bureaux of the commune at the mairie.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely

from ..communes import NO_COMMUNE, CommuneIndex
from ..models import Commune, Finding, GeocodedPoint
from ..projection import to_lonlat, to_metric_anywhere
from .flag import INFO, WARNING, Flag, metres, suggestion
from .thresholds import Thresholds

OFFICIAL, GEOCODED, INTERIOR = "mairie-annuaire", "geocoded-mairie", "commune-interior"
REFERENCE_LABELS = {
    OFFICIAL: "point officiel de la mairie (Annuaire de l'administration)",
    GEOCODED: "adresse de la mairie géocodée",
    INTERIOR: "un point intérieur de la commune, faute de position fiable de la mairie",
}


@dataclass(frozen=True)
class OfficialPoint:
    """Facts about one commune's official mairie point, computed for all communes at once."""

    commune: Commune
    index: int
    x: float | None
    y: float | None
    falls_in: int  # commune index containing the point, NO_COMMUNE if none
    outside_m: float  # 0 inside its own polygon; nan when there is no point
    shared_with: tuple[int, ...]  # other communes whose official point is the same

    @property
    def present(self) -> bool:
        return self.x is not None


@dataclass(frozen=True)
class Reference:
    """The point a commune's bureaux are compared with, and where it comes from."""

    code: str
    kind: str
    lon: float
    lat: float
    x: float
    y: float
    corroborated: bool = False
    rejected_by: tuple[str, ...] = ()  # reference checks that rejected the official point

    @property
    def precise(self) -> bool:
        """True when the point is the mairie building itself (not just inside the commune)."""
        return self.kind != INTERIOR

    @property
    def label(self) -> str:
        return REFERENCE_LABELS[self.kind]

    def to_dict(self) -> dict:
        return {"code": self.code, "kind": self.kind, "lon": round(self.lon, 7), "lat": round(self.lat, 7),
                "corroborated": self.corroborated, "rejected_by": list(self.rejected_by)}


@dataclass
class ReferenceContext:
    index: CommuneIndex
    thresholds: Thresholds
    geocoded: dict[str, GeocodedPoint | None]  # mairie address geocodes, by INSEE code

    def name(self, idx: int) -> str:
        c = self.index.communes[idx]
        return f"{c.nom} ({c.code})"


# -- the checks on the official point ---------------------------------------------------------

def reference_missing(p: OfficialPoint, ctx: ReferenceContext) -> Flag | None:
    if p.present:
        return None
    return Flag(INFO, f"L'Annuaire de l'administration ne donne pas de position pour la mairie de "
                      f"{p.commune.nom} ({p.commune.code}).", rejects=True)


def reference_outside_commune(p: OfficialPoint, ctx: ReferenceContext) -> Flag | None:
    if not p.present or p.outside_m <= ctx.thresholds.boundary_noise_m:
        return None
    where = ("dans " + ctx.name(p.falls_in)) if p.falls_in != NO_COMMUNE else "hors de toute commune chargée"
    return Flag(WARNING, f"Le point officiel de la mairie de {p.commune.nom} ({p.commune.code}) est à "
                         f"{metres(p.outside_m)} hors de la commune, {where} : il est faux.",
                distance_m=p.outside_m, rejects=True)


def reference_shared(p: OfficialPoint, ctx: ReferenceContext) -> Flag | None:
    if not p.present or not p.shared_with:
        return None
    others = ", ".join(ctx.name(j) for j in p.shared_with)
    if p.falls_in == p.index:
        return Flag(INFO, f"Le point officiel de la mairie de {p.commune.nom} est aussi celui de {others} ; "
                          f"il est gardé pour {p.commune.nom}, dans laquelle il se trouve.")
    return Flag(WARNING, f"Le point officiel de la mairie de {p.commune.nom} ({p.commune.code}) est aussi celui "
                         f"de {others} et ne se trouve pas dans {p.commune.nom} : il a été recopié.",
                rejects=True)


def reference_geocode_disagrees(p: OfficialPoint, ctx: ReferenceContext) -> Flag | None:
    """With ``--regeocode``: the geocoded mairie address is far from the official point."""
    if not p.present or p.outside_m > ctx.thresholds.boundary_noise_m:
        return None  # already rejected as outside its commune
    g = _accepted_geocode(ctx.geocoded.get(p.commune.code), p.index, ctx)
    if g is None:
        return None
    d = _dist(g[0], g[1], p.x, p.y)
    if d <= ctx.thresholds.mairie_warning_m:
        return None
    return Flag(WARNING, f"L'adresse de la mairie de {p.commune.nom} géocodée est à {metres(d)} du point "
                         "officiel : l'un des deux est faux. Les bureaux ne sont jugés que par des "
                         "avertissements sur ce point.", distance_m=d)


#: Run in this order by ``choose_references``; a flag with ``rejects`` discards the point.
REFERENCE_CHECKS = (reference_missing, reference_outside_commune, reference_shared, reference_geocode_disagrees)


# -- building the references ------------------------------------------------------------------

def official_points(index: CommuneIndex, thresholds: Thresholds) -> list[OfficialPoint]:
    """The facts on every commune's official point (one vectorised pass)."""
    communes = index.communes
    has = np.array([c.has_mairie_point for c in communes], dtype=bool)
    lon = np.array([c.mairie_lon if c.has_mairie_point else np.nan for c in communes], dtype=float)
    lat = np.array([c.mairie_lat if c.has_mairie_point else np.nan for c in communes], dtype=float)
    x, y = (np.asarray(a, dtype=float) for a in to_metric_anywhere(lon, lat))
    falls = np.full(len(communes), NO_COMMUNE, dtype=np.int64)
    if has.any():
        falls[has] = index.locate(x[has], y[has])
    own = np.arange(len(communes))
    outside = np.where(has, 0.0, np.nan)
    away = has & (falls != own)
    if away.any():
        outside[away] = shapely.distance(shapely.points(x[away], y[away]), index.geoms[away])
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    grid = max(thresholds.same_point_m, 1e-3)
    for i in np.nonzero(has)[0]:
        groups[(round(x[i] / grid), round(y[i] / grid))].append(int(i))
    shared = {i: tuple(j for j in g if j != i) for g in groups.values() if len(g) > 1 for i in g}
    return [OfficialPoint(c, i, float(x[i]) if has[i] else None, float(y[i]) if has[i] else None,
                          int(falls[i]), float(outside[i]), shared.get(i, ()))
            for i, c in enumerate(communes)]


def choose_references(index: CommuneIndex, thresholds: Thresholds, *, report_codes=(),
                      geocoded_mairies: dict[str, GeocodedPoint | None] | None = None,
                      checks=REFERENCE_CHECKS) -> tuple[dict[str, Reference], list[Finding]]:
    """One ``Reference`` per commune, and findings on the official points of ``report_codes``.

    Parameters
    ----------
    report_codes
        INSEE codes whose reference problems are reported (the communes hosting bureaux);
        the others get a reference silently.
    geocoded_mairies
        ``code → GeocodedPoint`` of the mairie postal addresses (``--regeocode``), or None.
    """
    ctx = ReferenceContext(index, thresholds, geocoded_mairies or {})
    report_codes = set(report_codes)
    # a point inside each outline (none for a commune published without one)
    surface = shapely.point_on_surface(np.asarray(index.geoms, dtype=object))
    interior = np.full((len(index.communes), 2), np.nan)
    present = ~shapely.is_missing(surface)
    interior[present] = shapely.get_coordinates(surface[present])
    ilon, ilat = to_lonlat(interior[:, 0], interior[:, 1])
    refs: dict[str, Reference] = {}
    findings: list[Finding] = []
    for p in official_points(index, thresholds):
        code = p.commune.code
        flags = [(check.__name__, flag) for check in checks if (flag := check(p, ctx)) is not None]
        rejected = tuple(name for name, flag in flags if flag.rejects)
        geocode = _accepted_geocode(ctx.geocoded.get(code), p.index, ctx)
        if not rejected:
            # An answer on the very same point is the same source served back (the embedded
            # index holds the annuaire's mairie addresses at the annuaire's points): only a
            # nearby but distinct point is a second, independent source.
            corroborated = (geocode is not None
                            and thresholds.same_point_m < _dist(geocode[0], geocode[1], p.x, p.y)
                            <= thresholds.mairie_warning_m)
            ref = Reference(code, OFFICIAL, p.commune.mairie_lon, p.commune.mairie_lat, p.x, p.y, corroborated)
        elif geocode is not None:
            gx, gy, point = geocode
            ref = Reference(code, GEOCODED, point.lon, point.lat, gx, gy, False, rejected)
        else:
            ref = Reference(code, INTERIOR, float(ilon[p.index]), float(ilat[p.index]),
                            float(interior[p.index, 0]), float(interior[p.index, 1]), False, rejected)
        refs[code] = ref
        if code in report_codes:
            findings.extend(_finding(name, flag, p, ref, geocoded=ctx.geocoded if geocoded_mairies is not None else None)
                            for name, flag in flags)
    return refs, findings


def _finding(name: str, flag: Flag, p: OfficialPoint, ref: Reference, *,
             geocoded: dict[str, GeocodedPoint | None] | None = None) -> Finding:
    """``geocoded``: the mairie addresses geocoded by ``--regeocode`` (None: not asked)."""
    c = p.commune
    advice = ""
    if flag.rejects:
        advice = (f" Les bureaux de {c.nom} ne sont pas jugés sur ce point ; référence utilisée : {ref.label}."
                  " Signalez l'erreur à l'Annuaire de l'administration (service-public.fr, « Signaler une "
                  "erreur » sur la fiche de la mairie) et ne recopiez pas ce point pour placer un bureau.")
        if ref.kind == INTERIOR:
            advice += " " + _interior_advice(c, geocoded)
    sugg = None
    if flag.rejects and ref.precise:
        sugg = suggestion(ref.lon, ref.lat, f"position de la mairie retenue ({ref.label})", ref.kind)
    return Finding(bureau_id=None, check=name, severity=flag.severity, message=flag.message + advice,
                   lon=c.mairie_lon, lat=c.mairie_lat, distance_m=flag.distance_m, suggestion=sugg,
                   extra={"commune": c.code, "nom": c.nom, "reference_used": ref.kind})


def _interior_advice(c: Commune, geocoded: dict[str, GeocodedPoint | None] | None) -> str:
    """What to do when no point stands for the mairie: re-geocode, or, when that was done,
    why it did not help."""
    if geocoded is None:
        return "Pour contrôler la distance à la mairie, relancez avec --regeocode."
    if c.code not in geocoded:
        return ("L'adresse de la mairie n'a pas été géocodée (absente de l'Annuaire, ou géocodeur indisponible) : "
                "contrôlez à la main la distance des bureaux à la mairie.")
    g = geocoded[c.code]
    if g is None:
        return ("L'adresse de la mairie n'a pas été trouvée par le géocodeur (--regeocode) : contrôlez à la main "
                "la distance des bureaux à la mairie.")
    return (f"L'adresse de la mairie géocodée (« {g.label} », {g.type}, score {g.score}) n'est pas assez précise "
            "pour servir de référence : contrôlez à la main la distance des bureaux à la mairie.")


def _accepted_geocode(point: GeocodedPoint | None, idx: int, ctx: ReferenceContext):
    """``(x, y, point)`` when a geocoded mairie address is precise enough to stand for the mairie."""
    if point is None or point.type != "housenumber":
        return None
    if point.score is not None and point.score < ctx.thresholds.low_score:
        return None
    if point.citycode and point.citycode != ctx.index.communes[idx].code:
        return None
    x, y = to_metric_anywhere(point.lon, point.lat)
    d = float(shapely.distance(shapely.Point(x, y), ctx.index.geoms[idx]))
    if d > ctx.thresholds.boundary_noise_m:
        return None
    return float(x), float(y), point


def _dist(x1, y1, x2, y2) -> float:
    return math.hypot(x1 - x2, y1 - y2)
