"""Plain immutable records shared by the engine, the geocoders, the validator and the web.

Coordinates are WGS84 lon/lat floats, or ``None`` when unknown: always test them with
``is None`` (longitude 0 crosses France, so a falsy test would drop real points).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

#: Precision levels of a BAN/addok answer, best first.
GEOCODE_TYPES = ("housenumber", "street", "locality", "municipality")
LOCATION_SOURCES = ("mairie-annuaire", "geocoded", "manual", "corrected")


@dataclass(frozen=True)
class GeocodedPoint:
    """One geocoder answer, with its provenance and precision."""

    label: str
    lon: float
    lat: float
    type: str
    score: float | None
    citycode: str | None
    postcode: str | None = None
    source: str = ""

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "lon": self.lon,
            "lat": self.lat,
            "type": self.type,
            "score": self.score,
            "citycode": self.citycode,
            "source": self.source,
        }


@dataclass(frozen=True)
class Commune:
    code: str
    nom: str
    departement: str
    codes_postaux: tuple[str, ...] = ()
    population: int | None = None
    canton: str | None = None
    mairie_lon: float | None = None
    mairie_lat: float | None = None
    mairie_adresse: str | None = None
    mairie_telephone: str | None = None
    mairie_email: str | None = None
    mairie_horaires: str | None = None
    mairie_accessibilite: str | None = None

    @property
    def has_mairie_point(self) -> bool:
        return self.mairie_lon is not None and self.mairie_lat is not None

    def mairie_contact(self) -> dict:
        return {
            "adresse": self.mairie_adresse,
            "telephone": self.mairie_telephone,
            "horaires": self.mairie_horaires,
        }


@dataclass(frozen=True)
class Bureau:
    id: str
    name: str
    address: str
    code_insee: str
    communes_served: tuple[str, ...]
    lon: float | None
    lat: float | None
    location_source: str | None = None
    geocode_type: str | None = None
    geocode_score: float | None = None
    opening_hours: str | None = None
    accessibility: str | None = None
    notes: str | None = None

    @property
    def has_point(self) -> bool:
        return self.lon is not None and self.lat is not None

    def summary(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "code_insee": self.code_insee,
            "lon": self.lon,
            "lat": self.lat,
        }


@dataclass(frozen=True)
class Finding:
    """One problem the validator found; checks return these and never raise for bad records."""

    bureau_id: str | None
    check: str
    severity: str  # "error" | "warning" | "info"
    message: str
    lon: float | None = None
    lat: float | None = None
    distance_m: float | None = None
    suggestion: dict | None = None
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        if self.distance_m is not None:
            d["distance_m"] = round(self.distance_m, 1)
        return d
