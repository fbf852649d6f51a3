"""The national address API (or any addok) over HTTP, through geopy's ``BANFrance``.

The host is a setting (``LOCATOR_REMOTE_URL``): the legacy ``https://api-adresse.data.gouv.fr``,
the IGN Géoplateforme ``https://data.geopf.fr/geocodage`` (default), or a self-hosted addok.
Off by default: the default chain is offline.

Failures never leak geopy types: timeouts, HTTP errors, rate limits and answers that are not
GeoCodeJSON become ``GeocoderUnavailable`` (raised from the cause), and a circuit breaker
stops calling a host that keeps failing, so a dead remote costs the chain nothing but one
check per query until its cooldown ends. Batch work (``batch=True``) goes through geopy's
``RateLimiter`` to stay under the API's 50 requests/s per IP.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import partial
from urllib.parse import urlencode, urlsplit

from geopy.adapters import RequestsAdapter
from geopy.exc import GeocoderParseError, GeocoderQueryError, GeocoderRateLimited, GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import BANFrance
from geopy.geocoders.base import DEFAULT_SENTINEL

from ..config import Settings
from ..data.points import in_range
from ..errors import GeocoderUnavailable
from ..models import GEOCODE_TYPES, GeocodedPoint
from .protocol import GeocoderBase

log = logging.getLogger(__name__)

USER_AGENT = "bureau-locator/0.1 (polling-station finder; geopy)"


class BANSearch(BANFrance):
    """geopy's ``BANFrance`` plus the API's ``citycode``/``postcode``/``type`` filters, every
    feature returned (not geopy ``Location`` objects), and strict GeoCodeJSON parsing: an answer
    without a ``features`` list is garbage (``GeocoderParseError``), not "nothing found"."""

    def search(self, query: str, *, limit: int = 5, citycode=None, postcode=None, type=None,
               autocomplete: bool = False, timeout=DEFAULT_SENTINEL) -> list[dict]:
        params = {"q": query, "limit": int(limit)}
        if autocomplete:  # the address lookups keep the API's own default, as before
            params["autocomplete"] = 1
        for key, value in (("citycode", citycode), ("postcode", postcode), ("type", type)):
            if value is not None:
                params[key] = value
        url = "?".join((self.geocode_api, urlencode(params)))
        return self._call_geocoder(url, self._features, timeout=timeout)

    def reverse_features(self, lon: float, lat: float, *, timeout=DEFAULT_SENTINEL) -> list[dict]:
        url = "?".join((self.reverse_api, urlencode({"lon": lon, "lat": lat})))
        return self._call_geocoder(url, self._features, timeout=timeout)

    @staticmethod
    def _features(response) -> list[dict]:
        if not isinstance(response, dict) or not isinstance(response.get("features"), list):
            raise GeocoderParseError("not a GeoCodeJSON answer (no features list)")
        return response["features"]


class CircuitBreaker:
    """Closed → (``failures`` failures in a row) → open for ``cooldown_s`` → one trial call.

    >>> b = CircuitBreaker(failures=2, cooldown_s=10, clock=lambda: 0.0)
    >>> b.record_failure(); b.allow()
    True
    >>> b.record_failure(); b.allow()
    False
    """

    def __init__(self, *, failures: int = 3, cooldown_s: float = 30.0, clock=time.monotonic):
        self.threshold = failures
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.failures = 0
        self.open_until: float | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        if self.open_until is None:
            return "closed"
        return "open" if self.clock() < self.open_until else "half-open"

    def allow(self) -> bool:
        with self._lock:
            if self.open_until is None:
                return True
            if self.clock() >= self.open_until:
                # half-open: let one call through; a failure re-opens at once
                self.open_until = self.clock() + self.cooldown_s
                self.failures = self.threshold - 1
                return True
            return False

    def record_success(self) -> None:
        with self._lock:
            self.failures = 0
            self.open_until = None

    def record_failure(self, *, retry_after: float | None = None) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold or retry_after is not None:
                wait = max(self.cooldown_s, retry_after or 0.0)
                self.open_until = self.clock() + wait
                log.warning("remote geocoder failing: not called for %.0f s", wait)


def split_url(url: str) -> tuple[str, str]:
    """'https://data.geopf.fr/geocodage' → ('https', 'data.geopf.fr/geocodage')."""
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"remote_url must be an http(s) URL, not {url!r}")
    return parts.scheme, parts.netloc + parts.path.rstrip("/")


class RemoteGeocoder(GeocoderBase):
    """The BAN / Géoplateforme search API as a geocoder.

    Parameters
    ----------
    settings
        ``remote_url``, ``remote_timeout_s``, ``remote_max_rps``.
    adapter_factory
        geopy's transport seam (tests pass a fake that replays recorded GeoCodeJSON).
    batch
        rate-limit calls with geopy's ``RateLimiter`` (``remote_max_rps``), with retries.
    breaker
        a ``CircuitBreaker`` (default: 3 failures → 30 s pause).
    """

    name = "remote"

    def __init__(self, settings: Settings, *, adapter_factory=None, batch: bool = False,
                 breaker: CircuitBreaker | None = None):
        scheme, domain = split_url(settings.remote_url)
        self.url = f"{scheme}://{domain}"
        if adapter_factory is None and not batch:
            # A voter waits on this call: no transport retries (geopy's default retries twice,
            # sleeping a 429's Retry-After each time: minutes). One try within
            # ``remote_timeout_s``; the breaker, not a retry, handles a failing host.
            adapter_factory = partial(RequestsAdapter, max_retries=0)
        self.api = BANSearch(domain=domain, scheme=scheme, timeout=settings.remote_timeout_s,
                             user_agent=USER_AGENT, adapter_factory=adapter_factory)
        self.breaker = breaker or CircuitBreaker()
        self._search = self.api.search
        if batch:
            self._search = RateLimiter(self.api.search, min_delay_seconds=1.0 / max(settings.remote_max_rps, 0.1),
                                       max_retries=2, error_wait_seconds=2.0, swallow_exceptions=False)

    def search(self, text: str, *, citycode=None, postcode=None, limit: int = 5,
               autocomplete: bool = False) -> list[GeocodedPoint]:
        return self._call(partial(self._search, text, limit=limit, citycode=citycode, postcode=postcode,
                                  autocomplete=autocomplete))

    def reverse(self, lon: float, lat: float) -> list[GeocodedPoint]:
        return self._call(partial(self.api.reverse_features, float(lon), float(lat)))

    def _call(self, request) -> list[GeocodedPoint]:
        if not self.breaker.allow():
            raise GeocoderUnavailable(f"remote geocoder {self.url} paused after repeated failures")
        try:
            features = request()
        except GeocoderQueryError:
            # The API refuses some texts (too short, no letter first): nothing found, not an outage.
            self.breaker.record_success()
            return []
        except GeocoderRateLimited as err:
            self.breaker.record_failure(retry_after=err.retry_after)
            raise GeocoderUnavailable(f"remote geocoder {self.url} rate-limited us: {err}") from err
        except (GeopyError, OSError, ValueError) as err:
            self.breaker.record_failure()
            raise GeocoderUnavailable(f"remote geocoder {self.url}: {err}") from err
        try:
            points = [self._point(f) for f in features]
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:
            self.breaker.record_failure()
            raise GeocoderUnavailable(f"remote geocoder {self.url} sent a malformed feature: {err}") from err
        self.breaker.record_success()
        return points

    def _point(self, feature: dict) -> GeocodedPoint:
        lon, lat = feature["geometry"]["coordinates"][:2]
        lon, lat = float(lon), float(lat)
        if not in_range(lon, lat):
            raise ValueError(f"coordinates out of range: {lon}, {lat}")
        props = feature.get("properties") or {}
        label = props.get("label")
        if not isinstance(label, str) or not label:
            raise ValueError("feature without a label")
        kind = props.get("type")
        score = props.get("score")
        return GeocodedPoint(
            label=label,
            lon=lon,
            lat=lat,
            type=kind if kind in GEOCODE_TYPES else "locality",
            score=None if score is None else round(float(score), 4),
            citycode=props.get("citycode") or None,
            postcode=props.get("postcode") or None,
            source=self.name,
        )

    def close(self) -> None:
        adapter = getattr(self.api, "adapter", None)
        if adapter is not None and hasattr(adapter, "__exit__"):
            adapter.__exit__(None, None, None)
