"""The geocoder's answers shared by the worker processes of one machine, in the embedded Redis.

Each worker keeps its own answer cache (``chain.LRUCache``): with two workers, a text typed
again on the other worker was searched again, and the searches worth keeping are the slow
ones (a typo's fuzzy pass, a street without its commune, an autocomplete on "17 rue des":
tens of times the cost of an answer from the cache). Behind the worker's own
cache, this second level keeps every answer the chain found without a failure in the
embedded redis-server the workers already share, for ``TTL_S`` seconds:

* in its own database (``DB``), not the index's, under a namespace made of the index's
  fingerprint: a rebuilt index never serves the previous index's answers;
* a key is a digest of the cache key (folded text, commune and postcode filters, limit,
  autocomplete); the value is the answer's fields as JSON (never pickle: what is read from
  Redis is data, not code);
* a miss costs one round trip before the search it precedes; a Redis that fails
  or restarts costs nothing but the shared hits: the answer is searched as without it.

Off for bulk work (one process: its own cache is enough), with a Redis given by
``LOCATOR_REDIS_URL`` (a replica is read-only; a cluster's primary is not for per-request
writes), and with ``LOCATOR_GEOCODE_SHARED_CACHE=0``.
"""

from __future__ import annotations

import hashlib
import logging

import orjson
import redis

from ..models import GeocodedPoint

log = logging.getLogger(__name__)

#: Database of the embedded redis-server for shared answers (0: the index; 1: rate limits).
DB = 2
#: How long a shared answer is kept.
TTL_S = 600


class SharedAnswers:
    """Get and put chain answers in the embedded Redis of ``embedded`` (an EmbeddedGeocoder)."""

    def __init__(self, embedded):
        self._embedded = embedded
        self._client: redis.Redis | None = None
        self._path: str | None = None
        self._failing = False

    def _connection(self) -> tuple[redis.Redis | None, str]:
        """The client for the embedded server as it runs now (a restarted server has a new
        socket), and the namespace of the index it serves."""
        path = self._embedded.redis_socket_path
        manifest = self._embedded.manifest
        if path is None or not manifest:
            return None, ""
        if path != self._path:
            self._client = redis.Redis(unix_socket_path=path, db=DB, socket_timeout=1.0)
            self._path = path
        return self._client, f"locator|answers|{str(manifest.get('fingerprint', ''))[:16]}|"

    @staticmethod
    def _digest(key) -> str:
        return hashlib.blake2b(repr(key).encode("utf-8"), digest_size=16).hexdigest()

    def _failed(self, err: Exception) -> None:
        if not self._failing:
            log.warning("shared geocoder cache unavailable (%s): each worker searches alone", type(err).__name__)
        self._failing = True

    def get(self, key) -> tuple[GeocodedPoint, ...] | None:
        client, namespace = self._connection()
        if client is None:
            return None
        try:
            blob = client.get(namespace + self._digest(key))
        except redis.RedisError as err:
            self._failed(err)
            return None
        self._failing = False
        if blob is None:
            return None
        try:
            return tuple(GeocodedPoint(*fields) for fields in orjson.loads(blob))
        except (orjson.JSONDecodeError, TypeError) as err:
            log.warning("shared geocoder cache: unreadable entry ignored (%s)", err)
            return None

    def put(self, key, points) -> None:
        client, namespace = self._connection()
        if client is None:
            return
        blob = orjson.dumps([(p.label, p.lon, p.lat, p.type, p.score, p.citycode, p.postcode, p.source)
                             for p in points])
        try:
            client.set(namespace + self._digest(key), blob, ex=TTL_S)
        except redis.RedisError as err:
            self._failed(err)
