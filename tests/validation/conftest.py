"""Fixtures of the validator tests: seven hand-made square communes (tests/fixtures/validation)
and a clean organisation of bureaux over them, which each test then breaks in one way."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from locator.data.loader import load_communes
from locator.geocoding.fake import FakeGeocoder
from locator.models import Bureau
from locator.projection import to_l93, to_wgs84
from locator.validation import validate

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "validation"
COMMUNES_FILE = DATA / "communes.geojson"

# The hand-made communes (all 57, squares of ~2.9 x 3.3 km):
#   Delta   57994 | Epsilon 57995 | Eta   57997      ... Zeta 57996, 50 km east
#   Alpha   57991 | Beta    57992 | Gamma 57993
# Gamma's official mairie point lies in Beta (wrong); Eta's is a copy of Epsilon's; Delta has none.
MAIRIES = {"57991": (6.0150, 49.0200), "57992": (6.0550, 49.0180), "57995": (6.0560, 49.0450),
           "57996": (6.7150, 49.0200)}
GAMMA_REAL_MAIRIE = (6.1000, 49.0200)
SCHOOL_BETA = (6.0650, 49.0100)


def shift(point, east_m: float = 0.0, north_m: float = 0.0) -> tuple[float, float]:
    """``point`` moved by metres (in Lambert-93)."""
    x, y = to_l93(*point)
    lon, lat = to_wgs84(x + east_m, y + north_m)
    return round(float(lon), 7), round(float(lat), 7)


def bureau(bid: str, code: str, point, *, name: str = "Salle des fêtes", address: str | None = None,
           served=None, **kw) -> Bureau:
    lon, lat = (None, None) if point is None else point
    return Bureau(id=bid, name=name, address=address if address is not None else f"1 rue de la Salle, {code}",
                  code_insee=code, communes_served=tuple(served or (code,)), lon=lon, lat=lat, **kw)


def clean_bureaux() -> list[Bureau]:
    """An organisation with nothing wrong in it (the references of Gamma and Eta are wrong)."""
    return [
        bureau("A1", "57991", MAIRIES["57991"], name="Mairie d'Alpha", address="1 place de la Mairie, 57991 Alpha",
               served=("57991", "57994"), location_source="mairie-annuaire"),
        bureau("B1", "57992", MAIRIES["57992"], name="Mairie de Beta", address="3 rue de l'Église, 57992 Beta"),
        bureau("B2", "57992", SCHOOL_BETA, name="École Jules Ferry (bureau 2)", address="8 rue des Écoles, 57992 Beta",
               location_source="geocoded", geocode_type="housenumber", geocode_score=0.93),
        bureau("B3", "57992", SCHOOL_BETA, name="École Jules Ferry (bureau 3)", address="8 rue des Écoles, 57992 Beta",
               location_source="geocoded", geocode_type="housenumber", geocode_score=0.93),
        bureau("G1", "57993", GAMMA_REAL_MAIRIE, name="Mairie de Gamma", address="5 Grand-Rue, 57993 Gamma",
               location_source="manual"),
        bureau("E1", "57995", shift(MAIRIES["57995"], 20, 10), name="Hôtel de ville", address="7 rue des Écoles, 57995 Epsilon",
               served=("57995", "57997")),
        bureau("Z1", "57996", MAIRIES["57996"], name="Mairie de Zeta", address="9 rue de la Gare, 57996 Zeta"),
    ]


@pytest.fixture(scope="session")
def hand_communes():
    loaded = load_communes([COMMUNES_FILE])
    return loaded.communes, loaded.geometries


@pytest.fixture
def run(hand_communes):
    """``run(bureaux, **validate_kwargs)`` over the hand-made communes."""
    communes, geoms = hand_communes

    def _run(bureaux, **kw):
        return validate(bureaux, communes, geoms, **kw)

    return _run


def replace(bureaux: list[Bureau], bid: str, **changes) -> list[Bureau]:
    return [dataclasses.replace(b, **changes) if b.id == bid else b for b in bureaux]


def found(result, *, bureau_id=None, check=None, severity=None):
    return [f for f in result.findings
            if (bureau_id is None or f.bureau_id == bureau_id) and (check is None or f.check == check)
            and (severity is None or f.severity == severity)]


def address_geocoder(answers: dict, *, fail_after: int | None = None) -> FakeGeocoder:
    """A geocoder that knows a few addresses: the first key found in the query answers."""
    return FakeGeocoder(answers, match="contains", fail_after=fail_after)


def write_bureaux(path: Path, bureaux: list[Bureau]) -> Path:
    """The bureaux as a GeoJSON file like data/bureaux.geojson."""
    from locator.data.geojson import dumps_collection, feature

    feats = []
    for b in bureaux:
        props = {"id": b.id, "name": b.name, "address": b.address, "code_insee": b.code_insee,
                 "communes_served": list(b.communes_served), "location_source": b.location_source,
                 "geocode_type": b.geocode_type, "geocode_score": b.geocode_score, "notes": b.notes}
        geom = None if b.lon is None else {"type": "Point", "coordinates": [b.lon, b.lat]}
        feats.append(feature(props, geom))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_collection(feats), encoding="utf-8")
    return path
