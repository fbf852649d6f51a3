"""The OpenAPI 3.1 description of API v1, served at ``/api/v1/openapi.json``.

Schemas are JSON Schema 2020-12 (OpenAPI 3.1). The tests validate this document with
openapi-spec-validator and check real responses of every route against its schemas, so
the document cannot drift from the code silently.
"""

from __future__ import annotations

from functools import lru_cache

from ..assign import METHOD_NAMES
from ..lookup.outcome import CANDIDATE_TYPES, Status

#: How a bureau is chosen, first tried first (the register comes before the assigner's).
METHODS = ["register", *(m for m in METHOD_NAMES.values() if m not in (None, "register"))]

GEOJSON = "application/geo+json"
_NULLABLE_STR = {"type": ["string", "null"]}
_NULLABLE_NUM = {"type": ["number", "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema_name: str, description: str, *, headers: dict | None = None,
          media_type: str = "application/json") -> dict:
    out = {"description": description, "content": {media_type: {"schema": _ref(schema_name)}}}
    if headers:
        out["headers"] = headers
    return out


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.",
                                "schema": {"type": "integer", "minimum": 0}}}

def _candidate_name(cls) -> str:
    return f"{cls.kind.capitalize()}Candidate"


_SCHEMAS = {
    # every kind of candidate, from the classes the engine builds its answers with
    **{_candidate_name(c): c.json_schema() for c in CANDIDATE_TYPES},
    "Error": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {
            "status": {"type": "string", "description": "Machine-readable code (invalid, not_found, "
                                                        "rate_limited, geocoder_unavailable, ...)."},
            "message": {"type": "string", "description": "French sentence safe to show to a voter."},
        },
    },
    "CommuneRef": {
        "type": ["object", "null"],
        "required": ["code", "nom"],
        "properties": {"code": {"type": "string"}, "nom": {"type": "string"}},
    },
    "BureauSummary": {
        "type": "object",
        "required": ["id", "name", "address", "code_insee", "lon", "lat"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "address": {"type": "string"},
            "code_insee": {"type": "string"},
            "lon": _NULLABLE_NUM,
            "lat": _NULLABLE_NUM,
        },
    },
    "Geocode": {
        "type": ["object", "null"],
        "required": ["label", "lon", "lat", "type"],
        "properties": {
            "label": {"type": "string"},
            "lon": {"type": "number"},
            "lat": {"type": "number"},
            "type": {"type": "string", "enum": ["housenumber", "street", "locality", "municipality"]},
            "score": _NULLABLE_NUM,
            "citycode": _NULLABLE_STR,
            "source": {"type": "string"},
        },
    },
    "Mairie": {
        "type": ["object", "null"],
        "properties": {"adresse": _NULLABLE_STR, "telephone": _NULLABLE_STR, "horaires": _NULLABLE_STR},
    },
    "LookupResult": {
        "type": "object",
        "description": "The answer to one lookup; the same shape for every status.",
        "required": ["status", "query", "commune", "bureau", "distance_m", "method", "geocode", "candidates",
                     "warnings", "mairie", "message"],
        "properties": {
            "status": {"type": "string", "enum": [str(s) for s in Status if s.http_status < 500]},
            "query": {"description": "The text searched, or {lon, lat}; null when the input was refused.",
                      "type": ["string", "object", "null"]},
            "commune": _ref("CommuneRef"),
            "bureau": {"oneOf": [_ref("BureauSummary"), {"type": "null"}]},
            "distance_m": {"type": ["number", "null"], "description": "Straight-line metres to the bureau."},
            "method": {"type": ["string", "null"], "enum": [*METHODS, None],
                       "description": "How the bureau was chosen (register: the electoral register's "
                                      "address; area: a bureau area); nearest_in_commune is only the nearest "
                                      "bureau of the commune (say so to the voter)."},
            "geocode": _ref("Geocode"),
            "candidates": {"type": "array", "items": {"oneOf": [_ref(_candidate_name(c)) for c in CANDIDATE_TYPES]},
                           "description": "When ambiguous: the choices, each with its kind "
                                          f"({', '.join(c.kind for c in CANDIDATE_TYPES)})."},
            "warnings": {"type": "array", "items": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}},
            "mairie": _ref("Mairie"),
            "message": {"type": "string", "description": "French sentence for the voter."},
        },
    },
    "Point": {
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {"type": {"const": "Point"},
                       "coordinates": {"type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "number"}}},
    },
    "BureauFeature": {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "string"},
            "geometry": {"oneOf": [_ref("Point"), {"type": "null"}]},
            "properties": {
                "type": "object",
                "required": ["id", "name", "address", "code_insee", "communes_served"],
                "properties": {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "address": {"type": "string"},
                    "code_insee": {"type": "string"},
                    "communes_served": {"type": "array", "items": {"type": "string"}},
                    "location_source": _NULLABLE_STR,
                    "geocode_type": _NULLABLE_STR,
                    "geocode_score": _NULLABLE_NUM,
                    "opening_hours": _NULLABLE_STR,
                    "accessibility": _NULLABLE_STR,
                    "notes": _NULLABLE_STR,
                },
            },
        },
    },
    "BureauCollection": {
        "type": "object",
        "required": ["type", "features"],
        "properties": {"type": {"const": "FeatureCollection"},
                       "features": {"type": "array", "items": _ref("BureauFeature")}},
    },
    "CommuneFeature": {
        "type": "object",
        "required": ["type", "id", "geometry", "properties"],
        "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "string"},
            "geometry": {
                "type": "object", "required": ["type", "coordinates"],
                "properties": {"type": {"enum": ["Polygon", "MultiPolygon"]}, "coordinates": {"type": "array"}},
            },
            "properties": {
                "type": "object",
                "required": ["code", "nom", "departement", "codes_postaux", "mairie", "bureaux"],
                "properties": {
                    "code": {"type": "string"},
                    "nom": {"type": "string"},
                    "departement": {"type": "string"},
                    "codes_postaux": {"type": "array", "items": {"type": "string"}},
                    "population": {"type": ["integer", "null"]},
                    "mairie": {
                        "type": "object",
                        "required": ["adresse", "telephone", "email", "horaires", "accessibilite", "lon", "lat"],
                        "properties": {
                            "adresse": _NULLABLE_STR, "telephone": _NULLABLE_STR, "email": _NULLABLE_STR,
                            "horaires": _NULLABLE_STR, "accessibilite": _NULLABLE_STR,
                            "lon": _NULLABLE_NUM, "lat": _NULLABLE_NUM,
                        },
                    },
                    "bureaux": {"type": "array", "items": _ref("BureauSummary")},
                },
            },
        },
    },
    "Autocomplete": {
        "type": "object",
        "required": ["query", "results"],
        "properties": {
            "query": {"type": "string"},
            "results": {"type": "array", "items": {
                "type": "object",
                "required": ["label", "lon", "lat", "type", "citycode"],
                "properties": {
                    "label": {"type": "string"}, "lon": {"type": "number"}, "lat": {"type": "number"},
                    "type": {"type": "string"}, "citycode": _NULLABLE_STR, "postcode": _NULLABLE_STR,
                    "score": _NULLABLE_NUM,
                }}},
        },
    },
    "Health": {"type": "object", "required": ["status"],
               "properties": {"status": {"const": "ok"},
                              "data_version": {"type": ["string", "null"],
                                               "description": "Digest of the data files served."}}},
    "Ready": {
        "type": "object",
        "required": ["status", "communes", "bureaux"],
        "properties": {"status": {"const": "ready"}, "communes": {"type": "integer"}, "bureaux": {"type": "integer"}},
    },
}

_Q = {"name": "q", "in": "query", "required": False,
      "description": "Address or commune name (1–200 characters).", "schema": {"type": "string", "maxLength": 200}}
_DEP = {"name": "departement", "in": "query", "required": False,
        "description": "Only answer for this département (e.g. 57); others are outside_coverage.",
        "schema": {"type": "string", "pattern": "^(\\d{2}|2A|2B|97\\d)$"}}

_ERRORS = {
    "414": {"description": "Request line over 4 kB: refused by the HTTP server (gunicorn) before the "
                           "application, with its own small HTML page.",
            "content": {"text/html": {"schema": {"type": "string"}}}},
    "429": _json("Error", "status rate_limited: too many requests from this IP (by default 600 lookups a "
                          "minute, autocomplete 5 times that, counted for the whole service); wait Retry-After "
                          "seconds. The message is a French sentence for the voter.", headers=_RETRY_AFTER),
}


def _lookup_responses(extra_503: str) -> dict:
    return {
        "200": _json("LookupResult", "status ok (bureau found) or ambiguous (candidates to choose from)."),
        "400": _json("LookupResult", "status invalid: empty, over 200 characters, forbidden characters, "
                                     "bad numbers."),
        "404": _json("LookupResult", "status not_found or outside_coverage."),
        **_ERRORS,
        "503": _json("Error", extra_503, headers=_RETRY_AFTER),
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Bureau de vote locator API",
            "version": "1.0.0",
            "description": ("Find the polling station (bureau de vote) of a French address or point. Messages are "
                            "in French and safe to show to voters. CORS is open; rate-limited per IP.\n\n"
                            "Statuses: 200 ok / ambiguous (candidates of kind bureau, place or commune); "
                            "400 invalid; 404 not_found / outside_coverage; 429 rate_limited (Retry-After); "
                            "503 geocoder_unavailable / not_ready (Retry-After)."),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/v1/lookup": {"get": {
                "operationId": "lookup",
                "summary": "Bureau for an address (q) or a point (lon and lat)",
                "parameters": [
                    _Q,
                    {"name": "lon", "in": "query", "required": False, "description": "WGS84 longitude.",
                     "schema": {"type": "string", "maxLength": 32}},
                    {"name": "lat", "in": "query", "required": False, "description": "WGS84 latitude.",
                     "schema": {"type": "string", "maxLength": 32}},
                    _DEP,
                ],
                "responses": _lookup_responses("Every address geocoder is unavailable."),
            }},
            "/api/v1/sandbox/lookup": {"get": {
                "operationId": "sandboxLookup",
                "summary": "Fixed FAKE answers for client development (fictional commune 99999)",
                "description": ("q selects the answer: ok (default), nearest, ambiguous, not_found, "
                                "outside_coverage, invalid (or empty), unavailable (503)."),
                "parameters": [_Q],
                "responses": _lookup_responses("Simulated outage (q=unavailable)."),
            }},
            "/api/v1/autocomplete": {"get": {
                "operationId": "autocomplete",
                "summary": "Address suggestions from the embedded geocoder (3 characters or more)",
                "description": ("Communes of the data whose name starts with q, then the geocoder's places "
                                "holding every typed word, best first. Empty under 3 characters. The geocoder "
                                "is asked only once q tells where (a postcode, a letter of a name, or a street "
                                "name such as 'rue de la Montée'): before that ('12 rue', '3 r d') only "
                                "communes are offered. A commune named in q keeps its own places only."),
                "parameters": [
                    _Q, _DEP,
                    {"name": "limit", "in": "query", "required": False,
                     "schema": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5}},
                ],
                "responses": {
                    "200": _json("Autocomplete", "Suggestions (empty under 3 characters)."),
                    "400": _json("Error", "Invalid q, limit or departement."),
                    **_ERRORS,
                    "503": _json("Error", "Geocoder unavailable.", headers=_RETRY_AFTER),
                },
            }},
            "/api/v1/bureaux": {"get": {
                "operationId": "listBureaux",
                "summary": "Every bureau as GeoJSON, or those serving one commune",
                "parameters": [{"name": "commune", "in": "query", "required": False,
                                "description": "INSEE code: only bureaux serving this commune.",
                                "schema": {"type": "string"}}],
                "responses": {
                    "200": _json("BureauCollection", "FeatureCollection of bureaux (geometry null when not "
                                                     "placed).", media_type=GEOJSON),
                    "400": _json("Error", "Malformed commune code."),
                    "404": _json("Error", "Unknown commune."),
                },
            }},
            "/api/v1/bureaux/{id}": {"get": {
                "operationId": "getBureau",
                "summary": "One bureau",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("BureauFeature", "The bureau.", media_type=GEOJSON),
                              "400": _json("Error", "Malformed id."),
                              "404": _json("Error", "Unknown bureau.")},
            }},
            "/api/v1/communes/{code}": {"get": {
                "operationId": "getCommune",
                "summary": "A commune's outline (simplified), mairie contact and hours, and its bureaux",
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("CommuneFeature", "The commune.", media_type=GEOJSON),
                              "400": _json("Error", "Malformed INSEE code."),
                              "404": _json("Error", "Unknown commune.")},
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
            "/healthz": {"get": {
                "operationId": "healthz", "summary": "Liveness",
                "responses": {"200": _json("Health", "The process answers.")},
            }},
            "/readyz": {"get": {
                "operationId": "readyz", "summary": "Readiness (data loaded, geocoder answers)",
                "responses": {"200": _json("Ready", "Ready."),
                              "503": _json("Error", "Not ready.", headers=_RETRY_AFTER)},
            }},
        },
        "components": {"schemas": _SCHEMAS},
    }
