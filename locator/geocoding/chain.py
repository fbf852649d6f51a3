"""The configured geocoder: backends in order, fallbacks, and an LRU cache of queries.

``LOCATOR_GEOCODERS`` lists the backends in the order they are asked (default ``embedded``;
e.g. ``embedded,remote`` or ``remote,embedded``). The chain:

1. normalises the text once (``normalize.normalize_query``; invalid input → ``InvalidQuery``);
2. answers from the LRU cache when it can (key: the folded query and the filters), then
   from the answers shared by the machine's workers (``shared.SharedAnswers``) when given;
3. asks each backend in turn and stops at the first *sufficient* answer: a confident match
   (score ≥ ``SUFFICIENT_SCORE``) that is a house number whenever the query has one. An
   embedded index without BAN data answers "12 rue X, Metz" with the street or the commune;
   a remote next in line may find the number;
4. otherwise returns the most precise answer it got; a backend that fails is skipped, so a
   remote that is down, slow, rate-limited or talking garbage never turns into an error while
   another backend answers. Only when *every* backend failed does it raise
   ``GeocoderUnavailable``.

Answers obtained while a backend was failing are not cached: they are retried later.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from ..config import Settings
from ..errors import GeocoderUnavailable
from ..models import GEOCODE_TYPES, GeocodedPoint
from .normalize import cache_key, fold, normalize_query
from .protocol import GeocoderBase
from .words import HOUSENUMBER, STREET_TYPES_RE

log = logging.getLogger(__name__)

SUFFICIENT_SCORE = 0.5
BACKENDS = ("embedded", "remote")

_HOUSENUMBER_RE = re.compile(rf"^\s*{HOUSENUMBER}\b(?!\s*\d)")
_NUMBER_BEFORE_TYPE_RE = re.compile(rf"\b{HOUSENUMBER}\s+(?:{STREET_TYPES_RE})\b")


def has_housenumber(query: str) -> bool:
    """'12 rue X' or 'Résidence Y, 3 bis rue Z' name a house number; 'Metz 57000' does not."""
    folded = fold(query)
    return bool(_HOUSENUMBER_RE.match(folded) or _NUMBER_BEFORE_TYPE_RE.search(folded))


def precision_rank(point: GeocodedPoint) -> int:
    """0 for a house number … 3 for a commune (unknown types rank last)."""
    return GEOCODE_TYPES.index(point.type) if point.type in GEOCODE_TYPES else len(GEOCODE_TYPES)


def is_sufficient(points: list[GeocodedPoint], query: str) -> bool:
    if not points:
        return False
    top = points[0]
    if top.score is not None and top.score < SUFFICIENT_SCORE:
        return False
    return top.type == "housenumber" or not has_housenumber(query)


def _better(a: list[GeocodedPoint], b: list[GeocodedPoint]) -> bool:
    """Is answer ``a`` better than ``b``: more precise first, then higher score."""
    ka = (precision_rank(a[0]), -(a[0].score or 0.0))
    kb = (precision_rank(b[0]), -(b[0].score or 0.0))
    return ka < kb


class LRUCache:
    """A small thread-safe LRU map (``maxsize`` 0 disables it)."""

    def __init__(self, maxsize: int):
        self.maxsize = max(int(maxsize), 0)
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self._lock:
            try:
                value = self._data.pop(key)
            except KeyError:
                self.misses += 1
                return None
            self._data[key] = value
            self.hits += 1
            return value

    def put(self, key, value) -> None:
        if not self.maxsize:
            return
        with self._lock:
            self._data.pop(key, None)
            self._data[key] = value
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class GeocoderChain(GeocoderBase):
    """Backends asked in order, with fallbacks and a cache. See the module docstring."""

    name = "chain"

    def __init__(self, geocoders, *, cache_size: int = 10_000, shared=None):
        if not geocoders:
            raise ValueError("a geocoder chain needs at least one geocoder")
        self.geocoders = list(geocoders)
        self.cache = LRUCache(cache_size)
        #: a second level behind ``cache`` (``get(key)``, ``put(key, points)``), or None
        self.shared = shared if self.cache.maxsize > 0 else None

    def open(self) -> GeocoderChain:
        """Open every backend that has something to open (the embedded index)."""
        for g in self.geocoders:
            opener = getattr(g, "open", None)
            if opener is not None:
                opener()
        return self

    def close(self) -> None:
        for g in self.geocoders:
            try:
                g.close()
            except Exception as err:  # closing one backend must not leave the others open
                log.warning("closing %s: %s", getattr(g, "name", g), err)

    def backend(self, name: str):
        return next((g for g in self.geocoders if getattr(g, "name", None) == name), None)

    def search(self, text: str, *, citycode: str | None = None, postcode: str | None = None,
               limit: int = 5, autocomplete: bool = False) -> list[GeocodedPoint]:
        """Best answers for ``text``, most likely first; ``[]`` when nothing matches.

        Raises
        ------
        InvalidQuery
            empty, too long, or only punctuation.
        GeocoderUnavailable
            every backend failed.
        """
        return self.search_normalised(normalize_query(text), citycode=citycode, postcode=postcode, limit=limit,
                                      autocomplete=autocomplete)

    def search_normalised(self, query: str, *, citycode: str | None = None, postcode: str | None = None,
                          limit: int = 5, autocomplete: bool = False) -> list[GeocodedPoint]:
        """``search`` for a text already through ``normalize_query`` (the address lookup has
        normalised it for its own checks: no need to validate and normalise it again)."""
        caching = self.cache.maxsize > 0
        if caching:  # no key to fold when the cache is off
            key = (cache_key(query), citycode, postcode, int(limit), bool(autocomplete))
            cached = self.cache.get(key)
            if cached is None and self.shared is not None:
                cached = self.shared.get(key)
                if cached is not None:
                    self.cache.put(key, cached)
            if cached is not None:
                return list(cached)
        best: list[GeocodedPoint] | None = None
        failures: list[GeocoderUnavailable] = []
        for g in self.geocoders:
            try:
                points = g.search(query, citycode=citycode, postcode=postcode, limit=limit,
                                  autocomplete=autocomplete)
            except GeocoderUnavailable as err:
                log.warning("%s failed: %s", getattr(g, "name", g), err)
                failures.append(err)
                continue
            if is_sufficient(points, query):
                best = points
                break
            if points and (not best or _better(points, best)):
                best = points
            elif best is None:
                best = points
        if best is None:
            raise GeocoderUnavailable("every geocoder failed") from failures[-1]
        if caching and not failures:
            self.cache.put(key, tuple(best))
            if self.shared is not None:
                self.shared.put(key, best)
        return list(best)

    def reverse(self, lon: float, lat: float) -> list[GeocodedPoint]:
        failures = []
        answered = False
        for g in self.geocoders:
            try:
                points = g.reverse(lon, lat)
            except GeocoderUnavailable as err:
                failures.append(err)
                continue
            answered = True
            if points:
                return points
        if not answered:
            raise GeocoderUnavailable("every geocoder failed") from failures[-1]
        return []


def build_geocoder(settings: Settings, *, dataset=None, communes=None, batch: bool = False,
                   adapter_factory=None) -> GeocoderChain:
    """The chain configured by ``settings.geocoders`` (see the module docstring).

    Nothing is started here: the embedded index opens (and builds itself if needed) on first
    use or on ``open()``. Use it as a context manager, or ``close()`` it, to stop the
    embedded Redis.

    Parameters
    ----------
    settings
        ``geocoders``, ``remote_*``, ``redis_url``, ``data_dir``/``index_dir``,
        ``geocode_cache_size``.
    dataset, communes
        the loaded data (``Locator.dataset``) and its ``CommuneIndex`` (``Locator.index``),
        indexed if the embedded index must be built; read from ``data_dir`` when omitted.
    batch
        rate-limit the remote backend for bulk work.
    adapter_factory
        geopy transport for the remote backend (tests).
    """
    backends = []
    shared = None
    for name in settings.geocoders:  # each engine imported when configured (geopy: 0.1 s for nothing)
        if name == "embedded":
            from .embedded import EmbeddedGeocoder

            backends.append(EmbeddedGeocoder(settings, dataset=dataset, communes=communes))
            if settings.geocode_shared_cache and not batch and settings.redis_url is None:
                from .shared import SharedAnswers

                shared = SharedAnswers(backends[-1])
        elif name == "remote":
            from .remote import RemoteGeocoder

            backends.append(RemoteGeocoder(settings, batch=batch, adapter_factory=adapter_factory))
        else:
            raise ValueError(f"unknown geocoder {name!r} in LOCATOR_GEOCODERS (known: {', '.join(BACKENDS)})")
    return GeocoderChain(backends, cache_size=settings.geocode_cache_size, shared=shared)
