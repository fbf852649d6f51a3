"""JSON API v1 (``/api/v1``) and the health probes. Views parse the request, call the core,
serialise; every error goes through the app's single error handler."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from ..errors import InvalidQuery, LocatorError
from ..geocoding.chain import LRUCache
from ..lookup.outcome import error_result
from ..lookup.scope import probe, suggest
from . import params
from .errors import NotReady
from .openapi import GEOJSON, openapi_document
from .sandbox import sandbox_lookup
from .security import note_query_length

api = Blueprint("api", __name__, url_prefix="/api/v1")
health = Blueprint("health", __name__)

AUTOCOMPLETE_MAX = 10


def _data():
    return current_app.extensions["locator"]


def _cached(response, seconds: int):
    response.headers["Cache-Control"] = f"public, max-age={seconds}"
    return response


def _geojson(document):
    response = jsonify(document)
    response.mimetype = GEOJSON
    return response


def _private(response):
    # A lookup response holds the voter's address: no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/lookup")
def lookup():
    args = request.args
    # ``MultiDict.get`` raises and catches a KeyError for a missing key: test first.
    result = params.lookup(_data().locator, q=args.get("q") if "q" in args else None,
                           lon=args.get("lon") if "lon" in args else None,
                           lat=args.get("lat") if "lat" in args else None,
                           departement=args.get("departement") if "departement" in args else None)
    return _private(jsonify(result.to_dict())), result.http_status


@api.get("/sandbox/lookup", endpoint="sandbox_lookup")
def sandbox_lookup_view():
    q = request.args.get("q", "")
    note_query_length(len(q))
    try:
        if q.strip():
            params.check_text(q)
        result = sandbox_lookup(q)
    except InvalidQuery as err:
        result = error_result(err, None)
    response = _private(jsonify(result.to_dict()))
    response.headers["X-Sandbox"] = "fake answers, see /api/v1/openapi.json"
    return response, result.http_status


@api.get("/autocomplete")
def autocomplete():
    """Suggestions from the embedded geocoder while the voter types."""
    raw = request.args.get("q", "")
    note_query_length(len(raw))
    dep = params.check_departement(request.args.get("departement"))
    limit = _int_arg("limit", default=5, low=1, high=AUTOCOMPLETE_MAX)
    text = params.check_text(raw) if raw.strip() else ""
    key = (text, limit, dep)
    cache = current_app.extensions["locator_suggestions"]
    results = cache.get(key)
    if results is None:
        results = [s.to_dict() for s in suggest(_data().locator, text, limit=limit, departement=dep)]
        cache.put(key, results)
    return _private(jsonify({"query": text, "results": results}))


#: Suggestions kept per worker by (text, limit, département): voters type the same few
#: communes' first letters all day. An answer depends only on the data and the geocoder,
#: which an app never changes (a reload builds a new app, with an empty cache).
SUGGESTIONS_CACHE_SIZE = 4096


def suggestions_cache() -> LRUCache:
    return LRUCache(SUGGESTIONS_CACHE_SIZE)


@api.get("/bureaux")
def bureaux():
    commune = request.args.get("commune")
    return _cached(_geojson(_data().bureaux_collection(commune)), 300)


@api.get("/bureaux/<bureau_id>")
def bureau(bureau_id):
    return _cached(_geojson(_data().bureau(bureau_id)), 300)


@api.get("/communes/<code>")
def commune(code):
    return _cached(_geojson(_data().commune_feature(code)), 3600)


@api.get("/openapi.json")
def openapi():
    return _cached(jsonify(openapi_document()), 3600)


@health.get("/healthz")
def healthz():
    """Liveness: the process answers; ``data_version`` digests the data files it serves (it
    changes when ``locator reload`` has switched to new data)."""
    dataset = getattr(_data().locator, "dataset", None)
    return _private(jsonify({"status": "ok", "data_version": getattr(dataset, "version", None)}))


@health.get("/readyz")
def readyz():
    """Readiness: data loaded and the geocoder answers a search."""
    data = _data()
    if data.locator.geocoder is None:
        raise NotReady("no geocoder", public_message="Aucun géocodeur n'est configuré : seules les "
                                                     "recherches par coordonnées fonctionnent.")
    try:
        probe(data.locator)
    except LocatorError as err:
        raise NotReady(f"geocoder check failed: {type(err).__name__}") from err
    return _private(jsonify({"status": "ready", "communes": len(data.locator.communes),
                             "bureaux": len(data.locator.bureaux)}))


def _int_arg(name: str, *, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise InvalidQuery(f"{name} not an integer", public_message=f"Le paramètre {name} doit être un entier.") from err
    if not low <= value <= high:
        raise InvalidQuery(f"{name} out of range",
                           public_message=f"Le paramètre {name} doit être compris entre {low} et {high}.")
    return value
