"""What a lookup answers: a ``Status`` (with its HTTP meaning), warnings, typed candidates and
the ``LookupResult`` whose ``to_dict()`` is the public JSON contract.

The OpenAPI document and the sandbox are built from these classes (``json_schema()``), so
the documented shapes and the served ones cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, NamedTuple

from ..models import Bureau, Commune, GeocodedPoint
from .messages import say


class Status(StrEnum):
    """The status of a lookup; equal to its string (``Status.OK == "ok"``)."""

    OK = "ok"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "not_found"
    OUTSIDE_COVERAGE = "outside_coverage"
    INVALID = "invalid"
    #: every geocoder failed (the API answers it as an error; a batch line carries it)
    GEOCODER_UNAVAILABLE = "geocoder_unavailable"

    @property
    def http_status(self) -> int:
        """An ambiguous answer is one the voter acts on (picks a candidate): 200."""
        return _HTTP[self]


_HTTP = {Status.OK: 200, Status.AMBIGUOUS: 200, Status.NOT_FOUND: 404, Status.OUTSIDE_COVERAGE: 404,
         Status.INVALID: 400, Status.GEOCODER_UNAVAILABLE: 503}


@dataclass(frozen=True)
class ResultWarning:
    """A doubt about the answer: a stable ``code``, the French sentence, and the values the
    sentence was made from (so another language can say it too)."""

    code: str
    message: str
    params: tuple = ()

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def warning(code: str, key: str | None = None, **params) -> ResultWarning:
    """A warning with its sentence (``messages``: ``warning.<code>`` unless ``key``)."""
    return ResultWarning(code, say(key or f"warning.{code}", **params), tuple(params.items()))


# -- candidates ---------------------------------------------------------------------------------

_JSON_TYPES = {"str": "string", "float": "number", "int": "integer", "list": "array"}


def _schema_of(cls) -> dict:
    props = {"kind": {"type": "string", "const": cls.kind}}
    required = ["kind"]
    for f in dataclasses.fields(cls):
        kinds = [k.strip() for k in str(f.type).split("|")]
        types = [_JSON_TYPES[k.split("[")[0]] for k in kinds if k != "None"]
        schema: dict = {"type": types[0] if len(types) == 1 else types}
        if "None" in kinds:
            schema = {"type": [*([schema["type"]] if isinstance(schema["type"], str) else schema["type"]), "null"]}
        if types == ["array"]:
            schema["items"] = {"type": "string"}
        props[f.name] = schema
        required.append(f.name)
    return {"type": "object", "required": required, "additionalProperties": False, "properties": props}


class Candidate:
    """One of the choices offered with an ``ambiguous`` answer."""

    kind: ClassVar[str]

    def to_dict(self) -> dict:
        return {"kind": self.kind, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}}

    @classmethod
    def json_schema(cls) -> dict:
        return _schema_of(cls)


@dataclass(frozen=True)
class BureauCandidate(Candidate):
    """A bureau of the voter's commune (the voter card says which)."""

    kind: ClassVar[str] = "bureau"
    id: str
    name: str
    address: str
    code_insee: str
    lon: float | None
    lat: float | None
    distance_m: float | None

    @classmethod
    def of(cls, bureau: Bureau, distance_m: float | None) -> BureauCandidate:
        return cls(bureau.id, bureau.name, bureau.address, bureau.code_insee, bureau.lon, bureau.lat,
                   None if distance_m is None else round(distance_m, 1))


@dataclass(frozen=True)
class PlaceCandidate(Candidate):
    """A place the geocoder found (an address, a street, a locality or a commune)."""

    kind: ClassVar[str] = "place"
    label: str
    type: str
    score: float | None
    lon: float
    lat: float
    citycode: str | None
    commune: str | None

    @classmethod
    def of(cls, point: GeocodedPoint, citycode: str | None, commune: Commune | None) -> PlaceCandidate:
        return cls(point.label, point.type, point.score, point.lon, point.lat, citycode,
                   None if commune is None else commune.nom)


@dataclass(frozen=True)
class CommuneCandidate(Candidate):
    """A commune (a postcode shared by several, a name shared by several)."""

    kind: ClassVar[str] = "commune"
    code: str
    nom: str
    codes_postaux: list

    @classmethod
    def of(cls, commune: Commune) -> CommuneCandidate:
        return cls(commune.code, commune.nom, list(commune.codes_postaux))


CANDIDATE_TYPES: tuple[type[Candidate], ...] = (BureauCandidate, PlaceCandidate, CommuneCandidate)


# -- the result ---------------------------------------------------------------------------------

class LookupResult(NamedTuple):
    """The answer to one query; ``to_dict()`` is the public JSON contract. Immutable (a named
    tuple: made on every lookup, it must be cheap to make; ``_replace`` derives another)."""

    status: Status
    query: object
    message: str
    commune: Commune | None = None
    bureau: Bureau | None = None
    distance_m: float | None = None
    method: str | None = None
    geocode: GeocodedPoint | None = None
    candidates: tuple[Candidate, ...] = ()
    warnings: tuple[ResultWarning, ...] = ()
    mairie: dict | None = None
    #: the sentence's key and values in ``locator.lookup.messages`` (other languages)
    message_key: str | None = None
    message_params: tuple = ()

    @property
    def http_status(self) -> int:
        return Status(self.status).http_status

    def to_dict(self) -> dict:
        return {
            "status": str(self.status),
            "query": self.query,
            "commune": None if self.commune is None else {"code": self.commune.code, "nom": self.commune.nom},
            "bureau": None if self.bureau is None else self.bureau.summary(),
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
            "method": self.method,
            "geocode": None if self.geocode is None else self.geocode.to_dict(),
            "candidates": [c.to_dict() for c in self.candidates],
            "warnings": [w.to_dict() for w in self.warnings],
            "mairie": self.mairie,
            "message": self.message,
        }


def error_result(err, query) -> LookupResult:
    """A ``LocatorError`` with a lookup status (``InvalidQuery``) as a result."""
    return LookupResult(status=Status(err.code), query=query, message=err.public_message,
                        message_key=f"error.{err.code}")
