"""A realistic bureaux organisation built from the real Moselle data, with 2017-like faults.

Used by the acceptance evaluation (tests/validation/test_evaluation.py) and by
bench/bench_validate.py. Everything is generated from the real communes (polygons,
population, cantons, official mairie points and addresses) with a seeded RNG, so a seed
gives the same scenario every time; nothing derived from shared data is committed.

How organisers place bureaux (the "correct" ones):

* host communes: every commune of 1,000 inhabitants or more, plus 35 % of the smaller
  ones; ``ceil(population / 1000)`` bureaux each, at most 10; every other Moselle commune
  is served by the nearest host of its canton (a primary-style commune table);
* one or two bureaux in the mairie ("Mairie de X", "Hôtel de ville", "Salle du conseil"...),
  at the mairie's address, either exactly on the official point (``mairie-annuaire``) or
  geocoded at up to 40 m from it (another entrance, the parcel's centre);
* the others in schools, salles des fêtes, gymnases... inside the commune, 1 to 3 bureaux
  per building (same address and point; 30 % placed separately, within 10 m);
* where the official mairie point is wrong (more than 60 m outside its commune, the
  largest distance that the finer IGN outline still puts inside, or recopied from another
  commune), the real mairie is unknown: it is put at a random place inside the commune.

Faults mixed in (``FAULTS``), each replacing a correct bureau: the 2017 private house
(100–400 m from the mairie, still named "Mairie"), swapped lon/lat, Lambert-93 and Web
Mercator metres in lon/lat, a point in a neighbouring commune, a municipality-level geocode,
(0,0), a point copied from another commune's bureau, no point, a street-level geocode, a
homonym street in a commune 5–40 km away, one bureau of a shared building moved away, a
point outside the covered départements, and a neighbour's code_insee.

Misplaced references (``REFERENCE_FAULTS``) change the official mairie point of some host
communes whose bureaux stay correct: moved into a neighbouring commune, recopied from a
neighbour, removed, or moved 300–1,000 m *inside* the commune (undetectable by the
reference checks).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from locator.communes import CommuneIndex
from locator.models import Bureau, Commune
from locator.projection import to_l93, to_wgs84

MAIRIE_NAMES = ("Mairie de {nom}", "Mairie", "Hôtel de ville", "Mairie - salle du conseil municipal",
                "Salle des mariages de la mairie")
BUILDINGS = ("École élémentaire {x}", "Groupe scolaire {x}", "Salle des fêtes", "Salle polyvalente",
             "Gymnase {x}", "Foyer socio-culturel", "Maison des associations", "Centre culturel {x}",
             "École maternelle {x}", "Espace {x}")
PEOPLE = ("Jules Ferry", "Pasteur", "Victor Hugo", "Jean Moulin", "Les Tilleuls", "Louis Pergaud",
          "Robert Schuman", "Paul Verlaine", "Les Peupliers", "Jean Macé")
STREETS = ("des Écoles", "de la Gare", "du Stade", "des Jardins", "Principale", "de l'Église", "du Moulin",
           "des Vergers", "du Général-de-Gaulle", "Jeanne-d'Arc", "des Prés", "de Metz")

#: Official point more than this outside its own polygon: wrong (see the module docstring).
OFFICIAL_OK_M = 60.0


@dataclass
class Scenario:
    bureaux: list[Bureau]
    communes: list[Commune]  # with the misplaced references applied
    geometries: list  # WGS84, same order
    truth: dict[str, str]  # bureau id → "correct" or the fault name
    reference_faults: dict[str, str] = field(default_factory=dict)  # INSEE code → kind
    #: Where each bureau really is (before any fault), and each host's real mairie (lon, lat).
    true_points: dict[str, tuple[float, float]] = field(default_factory=dict)
    true_mairies: dict[str, tuple[float, float]] = field(default_factory=dict)

    def ids(self, label: str | None = None) -> set[str]:
        return {k for k, v in self.truth.items() if label is None or v == label}

    @property
    def misplaced(self) -> set[str]:
        return {k for k, v in self.truth.items() if v != "correct"}

    @property
    def correct(self) -> set[str]:
        return self.ids("correct")

    def correct_in_misplaced_reference_communes(self) -> set[str]:
        by_id = {b.id: b for b in self.bureaux}
        return {k for k in self.correct if by_id[k].code_insee in self.reference_faults}


class _World:
    """The real communes in Lambert-93 with helpers to draw realistic random places."""

    def __init__(self, communes: list[Commune], geometries: list, rng: np.random.Generator):
        self.communes = communes
        self.index = CommuneIndex(communes, geometries)
        self.geoms = self.index.geoms
        self.rng = rng
        self.pos = self.index.by_code
        self._inset: dict[tuple[int, float], object] = {}

    def inset(self, k: int, metres: float):
        key = (k, metres)
        if key not in self._inset:
            g = shapely.buffer(self.geoms[k], -metres)
            g = self.geoms[k] if g.is_empty else g
            shapely.prepare(g)
            self._inset[key] = g
        return self._inset[key]

    def random_inside(self, k: int, *, inset: float = 20.0, near=None, dmin: float = 0.0, dmax: float = math.inf):
        """A random point inside commune ``k`` (``inset`` m from its edge when possible),
        ``dmin``–``dmax`` m from ``near`` when given; None if none found."""
        for margin in (inset, inset / 2, 0.0):
            poly = self.inset(k, margin) if margin else self.geoms[k]
            minx, miny, maxx, maxy = poly.bounds
            for _ in range(8):
                if near is None:
                    xs = self.rng.uniform(minx, maxx, 256)
                    ys = self.rng.uniform(miny, maxy, 256)
                else:
                    hi = min(dmax, math.hypot(maxx - minx, maxy - miny) + dmin)
                    r = self.rng.uniform(dmin, max(hi, dmin + 1), 256)
                    a = self.rng.uniform(0, 2 * math.pi, 256)
                    xs, ys = near[0] + r * np.cos(a), near[1] + r * np.sin(a)
                ok = shapely.contains_xy(poly, xs, ys)
                if ok.any():
                    j = int(np.argmax(ok))
                    return float(xs[j]), float(ys[j])
        return None

    def neighbours(self, k: int) -> list[int]:
        near = self.index.tree.query(self.geoms[k], predicate="intersects")
        return sorted(int(j) for j in near if j != k)

    def official_xy(self, k: int):
        c = self.communes[k]
        if not c.has_mairie_point:
            return None
        x, y = to_l93(c.mairie_lon, c.mairie_lat)
        return float(x), float(y)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = to_wgs84(x, y)
    return round(float(lon), 7), round(float(lat), 7)


def _true_mairies(world: _World, codes: list[str]) -> tuple[dict[str, tuple[float, float]], set[str]]:
    """Where each commune's mairie really is, and the communes whose official point is right."""
    pts: dict[str, tuple[float, float]] = {}
    ok: set[str] = set()
    seen: dict[tuple[int, int], list[int]] = {}
    for code in codes:
        xy = world.official_xy(world.pos[code])
        if xy is not None:
            seen.setdefault((round(xy[0]), round(xy[1])), []).append(world.pos[code])
    for code in codes:
        k = world.pos[code]
        xy = world.official_xy(k)
        if xy is not None:
            dist = float(shapely.distance(shapely.Point(*xy), world.geoms[k]))
            shared = len(seen[(round(xy[0]), round(xy[1]))]) > 1
            if dist <= OFFICIAL_OK_M and not (shared and dist > 0):
                pts[code] = xy
                ok.add(code)
                continue
        pts[code] = world.random_inside(k, inset=200.0)
    return pts, ok


def _mairie_address(c: Commune) -> str:
    if c.mairie_adresse:
        return c.mairie_adresse.replace(" | ", ", ")
    cp = c.codes_postaux[0] if c.codes_postaux else ""
    return f"Mairie, {cp} {c.nom}".strip()


def build_scenario(communes: list[Commune], geometries: list, *, seed: int = 2017,
                   fault_share: float = 0.2, reference_fault_share: float = 0.12,
                   faults=None, mairie_noise_m: float = 40.0) -> Scenario:
    """The scenario for ``seed``; ``faults`` (default ``FAULTS``) are the fault kinds used;
    ``mairie_noise_m`` is how far from the real mairie a correct mairie bureau may be placed."""
    faults = FAULTS if faults is None else faults
    rng = np.random.default_rng(seed)
    world = _World(communes, geometries, rng)
    moselle = sorted(c.code for c in communes if c.departement == "57")
    mairies, official_ok = _true_mairies(world, moselle)

    hosts = [code for code in moselle
             if (communes[world.pos[code]].population or 0) >= 1000 or rng.random() < 0.35]
    bureaux: list[Bureau] = []
    building_of: dict[str, tuple[str, int]] = {}  # bureau id → (building key, size)
    for code in hosts:
        k = world.pos[code]
        c = communes[k]
        n = int(min(10, max(1, math.ceil((c.population or 0) / 1000))))
        cp = c.codes_postaux[0] if c.codes_postaux else "57000"
        in_mairie = 1 if n <= 2 else 2
        sizes = [in_mairie]
        while sum(sizes) < n:
            sizes.append(int(min(n - sum(sizes), rng.integers(1, 4))))
        number = 0
        used_addresses = {_mairie_address(c)}
        for b_i, size in enumerate(sizes):
            if b_i == 0:
                name = rng.choice(MAIRIE_NAMES).format(nom=c.nom)
                address = _mairie_address(c)
                base = mairies[code]
                exact = code in official_ok and rng.random() < 0.5
                if not exact:
                    r, a = rng.uniform(0, mairie_noise_m), rng.uniform(0, 2 * math.pi)
                    base = (base[0] + r * math.cos(a), base[1] + r * math.sin(a))
                    if not shapely.contains_xy(world.geoms[k], *base):
                        base = mairies[code]
                source = "mairie-annuaire" if exact else "geocoded"
            else:
                name = rng.choice(BUILDINGS).format(x=rng.choice(PEOPLE))
                address = _mairie_address(c)
                while address in used_addresses:  # two buildings never share an address
                    address = f"{rng.integers(1, 60)} rue {rng.choice(STREETS)}, {cp} {c.nom}"
                base = world.random_inside(k, inset=20.0, near=mairies[code], dmin=100.0, dmax=3000.0)
                source = "geocoded"
            used_addresses.add(address)
            for s in range(size):
                number += 1
                xy = base
                if s > 0 and rng.random() < 0.3:
                    for _ in range(10):
                        r, a = rng.uniform(0, 10), rng.uniform(0, 2 * math.pi)
                        cand = (base[0] + r * math.cos(a), base[1] + r * math.sin(a))
                        if shapely.contains_xy(world.geoms[k], *cand):
                            xy = cand
                            break
                lon, lat = _lonlat(*xy)
                bid = f"{code}_{number}"
                bureaux.append(Bureau(
                    id=bid, name=name if size == 1 else f"{name} (bureau {number})", address=address,
                    code_insee=code, communes_served=(code,), lon=lon, lat=lat, location_source=source,
                    geocode_type="housenumber" if source == "geocoded" else None,
                    geocode_score=round(float(rng.uniform(0.72, 0.98)), 2) if source == "geocoded" else None))
                building_of[bid] = (f"{code}/{b_i}", size)

    # A primary's commune table: every other commune to the nearest host of its canton.
    interior = shapely.get_coordinates(shapely.point_on_surface(world.geoms))
    first = {}
    for i, b in enumerate(bureaux):
        first.setdefault(b.code_insee, i)
    extra: dict[str, list[str]] = {h: [] for h in hosts}
    host_arr = np.array(hosts, dtype=object)
    host_xy = interior[[world.pos[h] for h in hosts]]
    host_canton = np.array([communes[world.pos[h]].canton for h in hosts], dtype=object)
    for code in moselle:
        if code in extra:
            continue
        k = world.pos[code]
        same = host_canton == communes[k].canton
        if not same.any():
            same = np.ones(len(hosts), dtype=bool)
        d = np.hypot(*(host_xy[same] - interior[k]).T)
        extra[host_arr[same][int(np.argmin(d))]].append(code)
    for h, served in extra.items():
        i = first[h]
        bureaux[i] = dataclasses.replace(bureaux[i], communes_served=(h, *served))

    truth = {b.id: "correct" for b in bureaux}
    true_points = {b.id: (b.lon, b.lat) for b in bureaux}
    communes_out = list(communes)

    # Misplaced references: the bureaux of these communes stay where they are (correct).
    candidates = [h for h in hosts if h in official_ok]
    n_ref = int(round(reference_fault_share * len(candidates)))
    ref_faulty = sorted(rng.choice(candidates, size=n_ref, replace=False).tolist())
    reference_faults = {}
    for j, code in enumerate(ref_faulty):
        kind = REFERENCE_FAULTS[j % len(REFERENCE_FAULTS)]
        new = _misplace_reference(kind, code, world, mairies)
        if new is None:
            continue
        k = world.pos[code]
        lonlat = (None, None) if new == "missing" else _lonlat(*new)
        communes_out[k] = dataclasses.replace(communes_out[k], mairie_lon=lonlat[0], mairie_lat=lonlat[1])
        reference_faults[code] = kind

    # Faults on bureaux, never in the communes whose reference was misplaced. The 2017
    # private house and the split building get more cases: they are the subtle ones.
    free = [i for i, b in enumerate(bureaux) if b.code_insee not in reference_faults]
    n_faults = int(round(fault_share * len(bureaux)))
    weights = np.array([FAULT_WEIGHTS.get(name, 1.0) for name, _ in faults])
    quotas = np.floor(n_faults * weights / weights.sum()).astype(int)
    taken: set[int] = set()
    locked: set[str] = set()
    for (name, fault), quota in zip(faults, quotas, strict=True):
        made = 0
        for i in rng.permutation(free):
            if made >= quota:
                break
            i = int(i)
            if i in taken or building_of[bureaux[i].id][0] in locked:
                continue
            new = fault(bureaux[i], _FaultContext(world, mairies, official_ok, bureaux, building_of, truth, i, rng))
            if new is not None:
                bureaux[i] = new
                truth[new.id] = name
                taken.add(i)
                made += 1
                if name == "building_split":  # keep the rest of the building as it was
                    locked.add(building_of[new.id][0])
    return Scenario(bureaux, communes_out, list(geometries), truth, reference_faults, true_points,
                    {code: _lonlat(*mairies[code]) for code in hosts})


# -- misplaced references -----------------------------------------------------------------------

REFERENCE_FAULTS = ("outside", "shared", "missing", "inside_wrong")


def _misplace_reference(kind: str, code: str, world: _World, mairies):
    k = world.pos[code]
    if kind == "missing":
        return "missing"
    if kind == "inside_wrong":
        return world.random_inside(k, inset=50.0, near=mairies[code], dmin=300.0, dmax=1000.0)
    neighbours = world.neighbours(k)
    if not neighbours:
        return None
    j = neighbours[int(world.rng.integers(len(neighbours)))]
    if kind == "shared":
        xy = world.official_xy(j)
        if xy is not None and float(shapely.distance(shapely.Point(*xy), world.geoms[k])) > 0:
            return xy
    return world.random_inside(j, inset=200.0)


# -- faults on bureaux --------------------------------------------------------------------------

@dataclass
class _FaultContext:
    world: _World
    mairies: dict
    official_ok: set
    bureaux: list[Bureau]
    building_of: dict
    truth: dict
    i: int
    rng: np.random.Generator

    @property
    def k(self) -> int:
        return self.world.pos[self.bureaux[self.i].code_insee]


def _moved(b: Bureau, xy, **changes) -> Bureau:
    lon, lat = _lonlat(*xy)
    return dataclasses.replace(b, lon=lon, lat=lat, **changes)


def fault_private_house(b, f):
    """2017: the bureau is placed on a private house ~100 m+ from the mairie, still named mairie."""
    from locator.validation.text import says_at_mairie

    if not says_at_mairie(b.name, b.address) or b.code_insee not in f.official_ok:
        return None
    xy = f.world.random_inside(f.k, inset=10.0, near=f.mairies[b.code_insee], dmin=100.0, dmax=400.0)
    if xy is None or math.dist(xy, f.mairies[b.code_insee]) < 100:
        return None
    return _moved(b, xy, location_source="geocoded", geocode_type="housenumber", geocode_score=0.91)


def fault_swapped(b, f):
    return dataclasses.replace(b, lon=b.lat, lat=b.lon)


def fault_lambert93(b, f):
    x, y = to_l93(b.lon, b.lat)
    return dataclasses.replace(b, lon=round(float(x), 2), lat=round(float(y), 2))


def fault_web_mercator(b, f):
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(b.lon, b.lat)
    return dataclasses.replace(b, lon=round(float(x), 2), lat=round(float(y), 2))


def fault_neighbour_commune(b, f):
    """Placed in the next village: its mairie, or one of its buildings."""
    neighbours = [j for j in f.world.neighbours(f.k) if f.world.communes[j].departement in ("57", "54", "67")]
    if not neighbours:
        return None
    j = neighbours[int(f.rng.integers(len(neighbours)))]
    code = f.world.communes[j].code
    xy = f.mairies.get(code) if code in f.official_ok else None
    if xy is None:
        xy = f.world.random_inside(j, inset=200.0)
    return None if xy is None else _moved(b, xy)


def fault_municipality_geocode(b, f):
    """The geocoder fell back to the commune: its centre, or the chef-lieu near the mairie."""
    k = f.k
    if f.rng.random() < 0.5:
        c = shapely.centroid(f.world.geoms[k])
        xy = (c.x, c.y) if shapely.contains_xy(f.world.geoms[k], c.x, c.y) else None
        if xy is None:
            p = shapely.point_on_surface(f.world.geoms[k])
            xy = (p.x, p.y)
    else:
        xy = f.world.random_inside(k, near=f.mairies[b.code_insee], dmin=0.0, dmax=300.0)
    return _moved(b, xy, location_source="geocoded", geocode_type="municipality",
                  geocode_score=round(float(f.rng.uniform(0.3, 0.9)), 2))


def fault_null_island(b, f):
    return dataclasses.replace(b, lon=0.0, lat=0.0)


def fault_copied_point(b, f):
    """The row's point was copied from a bureau of another commune."""
    others = [o for o in f.bureaux if o.code_insee != b.code_insee and o.lon is not None and abs(o.lon) < 20
              and f.world.pos[o.code_insee] in f.world.neighbours(f.k)]
    if not others:
        others = [o for o in f.bureaux if o.code_insee != b.code_insee and o.lon is not None and abs(o.lon) < 20]
    o = others[int(f.rng.integers(len(others)))]
    return dataclasses.replace(b, lon=o.lon, lat=o.lat)


def fault_missing_point(b, f):
    return dataclasses.replace(b, lon=None, lat=None)


def fault_street_geocode(b, f):
    xy = f.world.random_inside(f.k, inset=10.0, near=(f.world.geoms[f.k].centroid.x, f.world.geoms[f.k].centroid.y),
                               dmin=100.0, dmax=700.0)
    if xy is None:
        return None
    return _moved(b, xy, location_source="geocoded", geocode_type="street",
                  geocode_score=round(float(f.rng.uniform(0.5, 0.8)), 2))


def fault_homonym_street(b, f):
    """The same street name exists in a commune 5–40 km away; the geocoder chose that one."""
    x0, y0 = to_l93(b.lon, b.lat)
    for _ in range(50):
        r, a = f.rng.uniform(5000, 40000), f.rng.uniform(0, 2 * math.pi)
        j = f.world.index.locate(x0 + r * math.cos(a), y0 + r * math.sin(a))[0]
        if j >= 0 and j != f.k:
            xy = f.world.random_inside(int(j), inset=100.0)
            if xy is not None:
                return _moved(b, xy, geocode_type="housenumber", geocode_score=round(float(f.rng.uniform(0.6, 0.9)), 2),
                              location_source="geocoded")
    return None


def fault_building_split(b, f):
    """One of several bureaux of a building got a point 100–500 m away."""
    key, size = f.building_of.get(b.id, (None, 1))
    mates = [o for o in f.bureaux if o.id != b.id and f.building_of.get(o.id, (None,))[0] == key]
    if size < 2 or any(f.truth[o.id] != "correct" for o in mates):
        return None  # the others of the building must still stand where it is
    x0, y0 = to_l93(b.lon, b.lat)
    xy = f.world.random_inside(f.k, inset=10.0, near=(float(x0), float(y0)), dmin=100.0, dmax=500.0)
    return None if xy is None else _moved(b, xy)


def fault_outside_departements(b, f):
    """A homonym commune far away (outside 57/54/67/88): e.g. an address found in the Paris basin."""
    lon, lat = float(f.rng.uniform(1.0, 4.5)), float(f.rng.uniform(45.5, 48.8))
    return dataclasses.replace(b, lon=round(lon, 6), lat=round(lat, 6), geocode_type="housenumber",
                               location_source="geocoded", geocode_score=0.7)


def fault_wrong_code(b, f):
    """code_insee of the next commune (a typo, or the neighbour's code copied)."""
    neighbours = [j for j in f.world.neighbours(f.k) if f.world.communes[j].departement == "57"]
    if not neighbours:
        return None
    j = neighbours[int(f.rng.integers(len(neighbours)))]
    code = f.world.communes[j].code
    served = tuple(dict.fromkeys((code, *b.communes_served[1:])))
    return dataclasses.replace(b, code_insee=code, communes_served=served)


def fault_silent_move(b, f):
    """A building bureau placed 200–600 m away inside its own commune, with a perfect-looking
    housenumber geocode: nothing in the file betrays it; only re-geocoding the address can."""
    if f.building_of.get(b.id, (None, 1))[1] != 1 or b.location_source != "geocoded" or "Mairie" in b.name:
        return None
    x0, y0 = to_l93(b.lon, b.lat)
    xy = f.world.random_inside(f.k, inset=20.0, near=(float(x0), float(y0)), dmin=200.0, dmax=600.0)
    return None if xy is None else _moved(b, xy)


FAULTS = tuple((fn.__name__.removeprefix("fault_"), fn) for fn in (
    fault_private_house, fault_swapped, fault_lambert93, fault_web_mercator, fault_neighbour_commune,
    fault_municipality_geocode, fault_null_island, fault_copied_point, fault_missing_point,
    fault_street_geocode, fault_homonym_street, fault_building_split, fault_outside_departements,
    fault_wrong_code))


FAULT_WEIGHTS = {"private_house": 3.0, "building_split": 2.0}


def evaluate(scenario: Scenario, result) -> dict:
    """Detection and false-alarm rates of a validation ``result`` on ``scenario``."""
    severities: dict[str, set[str]] = {}
    for f in result.findings:
        if f.bureau_id is not None:
            severities.setdefault(f.bureau_id, set()).add(f.severity)
    misplaced, correct = scenario.misplaced, scenario.correct
    flagged = {k for k in misplaced if severities.get(k, set()) & {"error", "warning"}}
    correct_err = {k for k in correct if "error" in severities.get(k, set())}
    correct_warn = {k for k in correct if "warning" in severities.get(k, set())}
    ref_correct = scenario.correct_in_misplaced_reference_communes()
    per_fault = {}
    for name in sorted(set(scenario.truth.values()) - {"correct"}):
        ids = scenario.ids(name)
        per_fault[name] = (len(ids & flagged), len(ids))
    return {
        "bureaux": len(scenario.bureaux),
        "misplaced": len(misplaced),
        "correct": len(correct),
        "detected": len(flagged),
        "detection_rate": len(flagged) / len(misplaced) if misplaced else 1.0,
        "missed": sorted(misplaced - flagged),
        "correct_with_error": sorted(correct_err),
        "correct_error_rate": len(correct_err) / len(correct) if correct else 0.0,
        "correct_with_warning": sorted(correct_warn),
        "correct_warning_rate": len(correct_warn) / len(correct) if correct else 0.0,
        "reference_faults": dict(sorted(scenario.reference_faults.items())),
        "correct_in_misplaced_reference_communes": len(ref_correct),
        "errors_from_misplaced_references": sorted(ref_correct & correct_err),
        "warnings_from_misplaced_references": sorted(ref_correct & correct_warn),
        "per_fault": per_fault,
    }


def truth_geocoder(scenario: Scenario, *, seed: int = 0):
    """A geocoder that knows where every address of a scenario really is (2 to 15 m off, the
    gap between a BAN housenumber point and a building, never the very same coordinates as
    the annuaire, which it is independent of): answers the bureaux addresses and
    the hosts' mairie addresses, like ``locator.geocoding`` would with complete data.

    A bureau's address is asked without a commune filter, a mairie's with its commune's:
    the same text can be both, so the answers are keyed by (text, filter)."""
    from locator.geocoding.fake import FakeGeocoder
    from locator.models import GeocodedPoint
    from locator.validation.regeocode import bureau_query, mairie_query

    rng = np.random.default_rng(seed)
    by_code = {c.code: c for c in scenario.communes}
    answers: dict[tuple[str, str | None], list] = {}

    def point(lonlat, code, label):
        x, y = to_l93(*lonlat)
        r, a = rng.uniform(2, 15), rng.uniform(0, 2 * math.pi)  # another source: never the same coordinates
        lon, lat = _lonlat(x + r * math.cos(a), y + r * math.sin(a))
        return GeocodedPoint(label=label, lon=lon, lat=lat, type="housenumber", score=0.93, citycode=code)

    for b in scenario.bureaux:
        true = scenario.true_points.get(b.id)
        if true is None or not b.address:
            continue
        home = b.id.split("_")[0]  # ids are <code of the real commune>_<n>
        answers[(bureau_query(b, by_code.get(b.code_insee)), None)] = [point(true, home, b.address)]
    for code, mairie in scenario.true_mairies.items():
        text = mairie_query(by_code[code])
        if text:
            answers[(text, code)] = [point(mairie, code, text)]
    return FakeGeocoder(answers, match="exact", name="truth")
