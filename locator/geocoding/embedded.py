"""The default geocoder: addok (with addok-france and addok-fr) on an embedded Redis.

Offline, fast (no HTTP, no rate limit) and built from the project's own data, so it answers
on election day when the national API is saturated. ``LOCATOR_REDIS_URL`` points it at any
Redis instead of the private ``redis-server`` (a shared index for several web workers).

Lifecycle: ``open()`` starts the server (loading ``<index_dir>/addok.rdb``), checks the index
fingerprint and (re)builds the index when the data changed or it is missing, under a file lock
so concurrent processes do not build twice; ``close()`` stops the server by its PID. A
geocoder used without ``open()`` opens itself on first use.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import redis

from ..communes import CommuneIndex
from ..config import Settings
from ..data.anciennes import CodeHistory
from ..data.datadir import DataDir, Dataset
from ..data.geojson import write_atomic
from ..errors import DataError, GeocoderUnavailable
from ..models import GeocodedPoint
from . import addok_config
from .exact import ExactAddresses
from .index import IndexSources, build, fingerprint, read_manifest
from .protocol import GeocoderBase
from .redis_server import EmbeddedRedis

log = logging.getLogger(__name__)

RDB_NAME = "addok.rdb"
CONFIG_NAME = "addok_config.py"
MANIFEST_NAME = "manifest.json"


def index_dir_for(settings: Settings) -> Path:
    """``Settings.index_dir``, else ``<data_dir>/index`` (git-ignored)."""
    return Path(settings.index_dir) if settings.index_dir else DataDir(settings.data_dir).index_dir


class DataCodes:
    """Former INSEE codes → today's, never away from a code of the data: an arrondissement
    of Paris, Lyon or Marseille (a commune of the data) is not folded into its city (which the
    data does not have), whatever ``<dep>.anciennes.json`` lists."""

    def __init__(self, history: CodeHistory, known: set[str]):
        self.history = history
        self.known = frozenset(known)

    def today(self, code: str | None) -> str | None:
        return code if code in self.known else self.history.today(code)


class HeldConnections:
    """A Redis client per thread that holds one connection of a pool, for the fast path's one
    command a lookup.

    A command through the pool takes a connection and gives it back (a lock each way, and a
    system call that checks the socket for stale data; its cost is in BENCHMARKS.md, the fast
    path over HTTP). A connection held by its
    thread is not shared, so it needs none of this; redis-py drops it on any error in a
    command (a server that died), and the next command connects again. A client made before
    a fork (gunicorn's master warms the app up) is not used in the child: ``client`` makes a
    new one in each process, and a thread's client gives its connection back to the pool
    when the thread ends.
    """

    def __init__(self):
        self._local = threading.local()

    def client(self, shared: redis.Redis) -> redis.Redis:
        """This thread's client over the pool of ``shared`` (which it replaces when ``shared``
        is another client, such as after a restart of the embedded server)."""
        local = self._local
        held = getattr(local, "client", None)
        pid = os.getpid()
        if held is None or local.pid != pid or held.connection_pool is not shared.connection_pool:
            local.client = None  # a client of another pool or process is dropped first
            held = redis.Redis(connection_pool=shared.connection_pool, single_connection_client=True)
            local.client, local.pid = held, pid
        return held


class EmbeddedGeocoder(GeocoderBase):
    """addok search and reverse over the index of ``settings.data_dir``.

    Parameters
    ----------
    settings
        ``data_dir``, ``index_dir``, ``redis_url``, ``boundary_margin_m`` are used.
    dataset
        the loaded data folder (``Locator.dataset``); read from ``data_dir`` when omitted.
    communes
        the ``CommuneIndex`` of that data (``Locator.index``) to index when a build is needed;
        built from the dataset when omitted.
    ban_files
        BAN files to index; None keeps the ones the current index was built with.
    """

    name = "embedded"

    def __init__(self, settings: Settings, *, dataset: Dataset | None = None, communes: CommuneIndex | None = None,
                 ban_files=None, progress: Callable[[int], None] | None = None):
        self.settings = settings
        self.index_dir = index_dir_for(settings)
        self._dataset = dataset
        self._communes = communes
        self._ban_files = None if ban_files is None else [Path(p) for p in ban_files]
        self._progress = progress
        self._server: EmbeddedRedis | None = None
        self._client: redis.Redis | None = None
        self._redis_settings: dict | None = None
        self._open_lock = threading.Lock()
        self.manifest: dict | None = None
        self.history = CodeHistory()
        self.last_build = None
        self._replica = False
        self.exact: ExactAddresses | None = None
        self._held = HeldConnections()

    # -- lifecycle --------------------------------------------------------------------------

    def is_open(self) -> bool:
        return self._client is not None

    def open(self, *, rebuild: bool = False) -> EmbeddedGeocoder:
        """Start (or connect to) Redis and make sure the index is current.

        Raises
        ------
        GeocoderUnavailable
            Redis cannot be started or reached.
        DataError
            the data to index is unreadable.
        """
        with self._open_lock:
            if self._client is not None and not rebuild:
                return self
            try:
                self._open(rebuild)
            except (OSError, redis.RedisError) as err:
                self._stop_server()
                raise GeocoderUnavailable(f"embedded geocoder: {err}") from err
            except BaseException:
                self._stop_server()
                raise
        return self

    def _open(self, rebuild: bool) -> None:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        if self.settings.redis_url:
            client = redis.Redis.from_url(self.settings.redis_url)
            client.ping()
            # a replica (an API node of a cluster) serves what its primary holds: never built here
            self._replica = client.info("replication").get("role") == "slave"
            self._redis_settings = addok_config.redis_settings(url=self.settings.redis_url)
        else:
            if self._server is None or not self._server.running:
                self._server = EmbeddedRedis(self.index_dir, RDB_NAME).start()
            client = self._server.client()
            self._redis_settings = addok_config.redis_settings(unix_socket_path=self._server.socket_path)
        config_path = addok_config.write(self.index_dir / CONFIG_NAME, self._redis_settings)
        addok_config.load(config_path)
        with addok_config.lock():
            addok_config.bind(client, self._redis_settings)
        self._client = client
        dataset = self.dataset
        self.history = DataCodes(dataset.history, {c.code for c in dataset.communes})
        self.exact = ExactAddresses(dataset.communes) if self.settings.exact_fastpath else None
        with self._build_lock():
            current = read_manifest(client)
            ban_files = self._ban_files
            if ban_files is None:
                ban_files = [Path(s["path"]) for s in (current or {}).get("sources", []) if s["kind"] == "ban"]
                gone = [p for p in ban_files if not p.is_file()]
                if gone:
                    log.warning("BAN file(s) of the index are gone, rebuilding without: %s",
                                ", ".join(map(str, gone)))
                    ban_files = [p for p in ban_files if p.is_file()]
            register_path = dataset.data_dir.register_path
            sources = IndexSources(communes_files=dataset.data_dir.communes_paths(),
                                   anciennes_files=dataset.data_dir.anciennes_paths(), ban_files=ban_files,
                                   register_files=[register_path] if dataset.register is not None else [])
            digest, record = fingerprint(sources)
            stale = current is None or current.get("fingerprint") != digest
            if stale and not rebuild and self._server is not None and self._saved_fingerprint() == digest:
                # Another process built and saved it while our server was starting: reload.
                self._server.stop()
                self._server.start()
                client = self._server.client()
                self._redis_settings = addok_config.redis_settings(unix_socket_path=self._server.socket_path)
                with addok_config.lock():
                    addok_config.bind(client, self._redis_settings)
                self._client = client
                current = read_manifest(client)
                stale = current is None or current.get("fingerprint") != digest
            if (rebuild or stale) and self._replica:
                log.warning("the index in the Redis replica %s is %s: build it on the primary "
                            "(LOCATOR_REDIS_URL=<primary> locator index build); serving it as it is",
                            self.settings.redis_url, "missing" if current is None else "not of this data")
            elif rebuild or stale:
                log.info("building the geocoding index in %s", self.index_dir)
                manifest = {"fingerprint": digest, **record}
                with addok_config.lock():
                    addok_config.bind(client, self._redis_settings)
                    self.last_build = build(client, self._index(), anciennes=list(dataset.anciennes), ban_files=ban_files,
                                            margin_m=self.settings.boundary_margin_m, manifest=manifest,
                                            progress=self._progress, register=dataset.register)
                current = read_manifest(client)
                try:
                    if self._server is not None:
                        self._server.save()
                    write_atomic(self.index_dir / MANIFEST_NAME, json.dumps(current, ensure_ascii=False, indent=1))
                except OSError as err:
                    # Disk full or read-only: the previous index files are untouched (both are
                    # written to a temporary file renamed over the old one). Exit 2, one line.
                    raise DataError(f"cannot write the geocoding index: {err}", path=str(self.index_dir)) from err
            self.manifest = current

    def _saved_fingerprint(self) -> str | None:
        try:
            return json.loads((self.index_dir / MANIFEST_NAME).read_text(encoding="utf-8")).get("fingerprint")
        except (OSError, ValueError, AttributeError):
            return None

    @contextlib.contextmanager
    def _build_lock(self):
        with open(self.index_dir / ".build.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @property
    def dataset(self) -> Dataset:
        """The data folder, read once (given, or loaded on first need)."""
        if self._dataset is None:
            self._dataset = DataDir(self.settings.data_dir).load(strict=True, require_bureaux=False)
        return self._dataset

    def _index(self) -> CommuneIndex:
        if self._communes is None:
            self._communes = CommuneIndex(list(self.dataset.communes), list(self.dataset.commune_geoms))
        return self._communes

    def close(self) -> None:
        with self._open_lock:
            self._client = None
            self._stop_server()

    def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    @property
    def server_pid(self) -> int | None:
        return None if self._server is None else self._server.pid

    @property
    def redis_socket_path(self) -> str | None:
        """The unix socket of the running embedded redis-server (None with ``redis_url`` or
        when not open): the web service keeps its rate-limit counters there too."""
        server = self._server
        return server.socket_path if server is not None and server.running else None

    # -- queries ----------------------------------------------------------------------------
    def _ready(self) -> redis.Redis:
        if self._client is None:
            self.open()
        elif self._server is not None and not self._server.running:
            log.warning("embedded redis-server died; restarting it")
            self._client = None
            self.open()
        return self._client

    def search(self, text: str, *, citycode=None, postcode=None, limit: int = 5,
               autocomplete: bool = False) -> list[GeocodedPoint]:
        client = self._ready()
        from addok.core import search  # imported once addok's configuration is loaded
        filters = {}
        if citycode is not None:
            filters["citycode"] = self.history.today(str(citycode))
        if postcode is not None:
            filters["postcode"] = str(postcode)
        exact = self.exact if not autocomplete else None
        try:
            with addok_config.searching(client, self._redis_settings):
                found = None if exact is None else exact.search(self._held.client(client), text, **filters)
                results = found if found is not None else search(text, limit=limit, autocomplete=autocomplete,
                                                                   **filters)
            point = self._point
            return [point(r, text) for r in results]
        except redis.RedisError as err:
            raise GeocoderUnavailable(f"embedded geocoder: {err}") from err
        except ValueError as err:  # addok's EntityTooLarge and friends
            raise GeocoderUnavailable(f"embedded geocoder refused the query: {err}") from err

    def reverse(self, lon: float, lat: float) -> list[GeocodedPoint]:
        from addok.core import reverse

        client = self._ready()
        try:
            with addok_config.searching(client, self._redis_settings):
                results = reverse(lat=float(lat), lon=float(lon), limit=1)
                return [self._point(r, "") for r in results]
        except redis.RedisError as err:
            raise GeocoderUnavailable(f"embedded geocoder: {err}") from err

    def _point(self, result, text: str) -> GeocodedPoint:
        postcode = None
        for p in result._rawattr("postcode"):
            if p:
                if p in text:
                    postcode = p
                    break
                if postcode is None:
                    postcode = p
        citycode = result._rawattr("citycode")[0] or None
        return GeocodedPoint(
            label=str(result),
            lon=float(result.lon),
            lat=float(result.lat),
            type=str(result.type),
            score=round(float(result.score), 4),
            citycode=self.history.today(citycode),
            postcode=postcode,
            source=self.name,
        )
