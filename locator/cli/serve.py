"""`locator serve`: the web service under gunicorn (production) or Flask's server (``--dev``).

The data and the geocoder are loaded once in the gunicorn master before it forks its
workers (``preload_app``): workers share the loaded data, the embedded index is built (if
missing) before the port opens, and the embedded Redis server belongs to the master, which
stops it when it exits.

Reload without downtime: ``SIGHUP`` to the master (``locator reload --pid-file F`` sends it)
loads the data folder again with the strict loader and builds a new app in the master; only
when that succeeded are the workers replaced (new ones forked on the new app first, the old
ones stopped gracefully), and the old data's geocoder is closed once its last worker has
exited. Data that fails strict loading is refused: the log names the file and the record,
the old app keeps serving, ``/healthz`` still shows the old ``data_version``.

Overload: gthread workers, each with at most ``--max-in-flight`` requests at work and as many
threads; the next requests wait for a thread while the queue moves (its oldest has waited less
than ``--max-wait-ms``); the accepting thread answers the excess itself with a fast 503 and ``Retry-After``
(``locator.web.shedding``). Before forking, the master answers a sample of every kind of
request (``warm_up``) so that what they build lazily is shared by the workers.

Neither server writes an access log line with a query string: gunicorn's access log stays
off and Flask's request log is silenced; the app's own ``locator.web.access`` log records
status, latency and query length only.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from gunicorn.app.base import BaseApplication

from ..errors import LocatorError
from ..web.accesslog import BatchedStreamHandler, access_log
from ..web.shedding import LoadShedder, shedding_worker
from .common import add_data_argument, settings_from

log = logging.getLogger("locator.web")


def default_workers() -> int:
    """Lookups are CPU-bound (polygons, addok scoring) next to one Redis: a worker per core."""
    return max(2, os.cpu_count() or 1)


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the voter page, the widget and the JSON API")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--workers", type=int, default=None,
                   help=f"gunicorn worker processes (default: one per core, at least 2; here {default_workers()})")
    p.add_argument("--threads", type=int, default=None,
                   help="threads per worker (default: --max-in-flight, or 16 without shedding); the "
                        "accepting thread refuses the excess itself, so no spare thread is needed")
    p.add_argument("--max-in-flight", type=int, default=DEFAULT_MAX_IN_FLIGHT,
                   help=f"requests at work at once per worker; the others get a fast 503 with Retry-After "
                        f"(default {DEFAULT_MAX_IN_FLIGHT}; 0: no shedding)")
    p.add_argument("--max-wait-ms", type=float, default=DEFAULT_MAX_WAIT_MS,
                   help="with every thread at work, a request may still wait for one while the oldest "
                        f"waiting request has waited less than this (default {DEFAULT_MAX_WAIT_MS:g}; 0: "
                        "refuse as soon as --max-in-flight are at work)")
    p.add_argument("--pid-file", default=None,
                   help="write the master's PID here (for locator reload --pid-file)")
    p.add_argument("--dev", action="store_true", help="Flask's debug server instead of gunicorn (development only)")
    add_data_argument(p)
    p.set_defaults(func=cmd_serve)

    r = sub.add_parser("reload", help="make a running locator serve load its data folder again (SIGHUP)")
    who = r.add_mutually_exclusive_group(required=True)
    who.add_argument("--pid-file", help="the file given to locator serve --pid-file")
    who.add_argument("--pid", type=int, help="the gunicorn master's PID")
    r.set_defaults(func=cmd_reload)


#: A few requests at work per worker, the rest refused at once by the accepting thread; lookups
#: are CPU-bound under one interpreter lock, so more at once only makes each one slower.
DEFAULT_MAX_IN_FLIGHT = 4
#: A wait for a thread that a voter hardly notices (a phone's round trip or two), long enough to
#: ride out a worker's short stalls (a full garbage collection, the CPU taken by another process,
#: a rare text's first search): an answer a little late serves a voter better than a 503. Chosen
#: from the runs of BENCHMARKS.md "Election day" (100 ms still refused in such stalls).
DEFAULT_MAX_WAIT_MS = 200.0
#: Threads per worker when shedding is off.
UNSHED_THREADS = 16


def cmd_serve(args) -> int:
    _log_to_stderr()
    settings = settings_from(args)
    max_in_flight = max(0, args.max_in_flight)

    def build():
        """(app, locator) on the data folder as it is now; raises before anything is swapped."""
        from ..web import create_app, load_locator

        gc.unfreeze()  # a reload: the data served until now may be collected once replaced
        locator = load_locator(settings)
        try:
            app = create_app(settings, locator=locator)
        except BaseException:
            locator.close()
            raise
        if not args.dev:
            warm_up(app, locator)
        if max_in_flight and not args.dev:
            app.wsgi_app = LoadShedder(app.wsgi_app, max_in_flight)
        if not args.dev:
            freeze_heap()
        return app, locator

    app, locator = build()
    if args.dev:
        try:
            _run_dev(app, args.host, args.port)
        finally:
            flush_rate_limits(app)
            locator.close()
        return 0
    workers = args.workers if args.workers is not None else default_workers()
    threads = args.threads if args.threads is not None else (max_in_flight or UNSHED_THREADS)
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": max(1, workers),
        "threads": max(1, threads),
        "pidfile": args.pid_file,
    }
    if max_in_flight:
        options["worker_class"] = shedding_worker(max_in_flight, max(args.max_wait_ms, 0.0) / 1000,
                                                  thread_warm_paths(locator))
    server = GunicornServer(app, options, locator=locator, build=build)
    try:
        server.run()
    finally:
        server.close_all()
    return 0


def cmd_reload(args) -> int:
    """Send SIGHUP to the master named by ``--pid`` or ``--pid-file``."""
    if args.pid is not None:
        pid = args.pid
    else:
        try:
            pid = int(Path(args.pid_file).read_text().strip())
        except (OSError, ValueError) as err:
            raise LocatorError(f"cannot read a PID from {args.pid_file}: {err}",
                               public_message=f"Impossible de lire le PID du serveur dans {args.pid_file}.") from err
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError as err:
        raise LocatorError(f"no process {pid}", public_message=f"Aucun serveur ne tourne sous le PID {pid}.") from err
    print(f"reload asked of locator serve (pid {pid}); its log says when the new data serves")
    return 0


#: How many of the most populous communes the warm-up asks for (names, mairie addresses,
#: autocomplete prefixes), and the side of the lattice of points over the data's extent. (A
#: 150 × 150 lattice saved no more memory in the workers than this one: what the first points
#: cost a worker is per thread, see ``SheddingThreadWorker.warm_threads``.)
WARM_UP_COMMUNES = 200
WARM_UP_LATTICE = 20


def flush_rate_limits(app) -> None:
    """Add the hits a process still counts on its own to the shared counters, while their
    Redis runs: the embedded one stops with the locator, and a flush at exit would then only
    wait on a Redis that is gone (``web/ratelimit.py``)."""
    limits = app.extensions.get("locator_limiter")
    if limits is not None:
        limits.close()


def freeze_heap() -> None:
    """Collect, then put every object the master holds (the data, the indexes, what the
    warm-up built) out of the garbage collector's reach before the workers fork
    (``gc.freeze``). A worker's full collection then scans only what the worker made itself
    (a far shorter pause in the middle of traffic: BENCHMARKS.md, "Election day"), and never
    writes into the shared objects' headers, so their pages stay shared. ``build``
    unfreezes first: on a reload the data served until then becomes collectable."""
    gc.collect()
    gc.freeze()


def warm_up(app, locator) -> None:
    """Answer a sample of every kind of request once in the master, before the fork.

    What the first requests of each kind build lazily (the geocoder's and the text
    pipeline's tables and memoised steps, the commune index's blocks, compiled templates)
    is then built once and shared by every worker through the fork, instead of being built
    again in each worker during its first seconds of traffic (measured: +60 MB resident per
    worker, BENCHMARKS.md "Election day"). Rate limits and the access log are off meanwhile;
    answers are not changed by it. A failure is logged and the server starts anyway.
    """
    limiter = app.extensions.get("locator_limiter")
    was_enabled = limiter.enabled if limiter is not None else None
    access = access_log.logger
    was_disabled = access.disabled
    paths = ["/", "/widget", "/embed.js", "/integration", "/healthz"]
    # the files every page links: read into memory once, in the master (``web.files``)
    paths += [f"/static/{name}" for name in ("locator.css", "locator.js", "favicon.svg")]
    paths += [f"/vendor/leaflet/{name}" for name in ("leaflet.css", "leaflet.js")]
    communes = _most_populous(locator, WARM_UP_COMMUNES)
    for c in communes:
        paths.append("/api/v1/lookup?" + urlencode({"q": c.nom}))
        if c.mairie_adresse:
            paths.append("/api/v1/lookup?" + urlencode({"q": c.mairie_adresse.replace("\n", " ")}))
        for n in (3, 6):
            paths.append("/api/v1/autocomplete?" + urlencode({"q": c.nom[:n].lower()}))
    paths += ["/api/v1/lookup?" + urlencode({"lon": f"{lon:.5f}", "lat": f"{lat:.5f}"})
              for lon, lat in _lattice(locator, WARM_UP_LATTICE)]
    started = time.perf_counter()
    try:
        if limiter is not None:
            limiter.enabled = False
        access.disabled = True
        locator.text.warm()
        client = app.test_client()
        for path in paths:
            client.get(path)
    except Exception as err:  # noqa: BLE001 - a warm-up must never stop the server from starting
        log.warning("warm-up stopped: %s", err)
    finally:
        access.disabled = was_disabled
        if limiter is not None:
            limiter.enabled = was_enabled
    log.info("warm-up: %d requests answered in %.1f s before forking the workers", len(paths),
             time.perf_counter() - started)


def thread_warm_paths(locator) -> list[str]:
    """What each worker thread answers once before the worker accepts: a point, a commune name
    and an autocomplete prefix (``SheddingThreadWorker.warm_threads``)."""
    paths = []
    points = [(b.lon, b.lat) for b in locator.bureaux if b.lon is not None and b.lat is not None]
    if points:
        paths.append("/api/v1/lookup?" + urlencode({"lon": f"{points[0][0]:.5f}", "lat": f"{points[0][1]:.5f}"}))
    for c in _most_populous(locator, 1):
        paths += ["/api/v1/lookup?" + urlencode({"q": c.nom}), "/api/v1/autocomplete?" + urlencode({"q": c.nom[:4]})]
    return paths


def _most_populous(locator, n: int) -> list:
    """The ``n`` most populous communes of the data, most populous first."""
    return sorted(locator.dataset.communes, key=lambda c: -(c.population or 0))[:n]


def _lattice(locator, k: int) -> list[tuple[float, float]]:
    """``k`` × ``k`` points (lon, lat) evenly over the extent of the bureaux' points."""
    points = [(b.lon, b.lat) for b in locator.bureaux if b.lon is not None and b.lat is not None]
    if not points or k < 2:
        return []
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    (w, e), (s, n) = (min(lons), max(lons)), (min(lats), max(lats))
    return [(w + (e - w) * i / (k - 1), s + (n - s) * j / (k - 1)) for i in range(k) for j in range(k)]


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _log_to_stderr() -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    logging.getLogger("locator").setLevel(logging.INFO)
    logger = access_log.logger
    if not logger.handlers:
        # One line per request, with its time, to stderr; records made and written in batches
        # (locator.web.accesslog), so that logging costs a lookup little.
        handler = BatchedStreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
        logger.propagate = False
        access_log.defer()


def _run_dev(app, host: str, port: int) -> None:
    from werkzeug.serving import WSGIRequestHandler

    class QuietHandler(WSGIRequestHandler):
        """Werkzeug logs every request line with its query string: the voter's address."""

        def log_request(self, code="-", size="-"):
            pass

    # No reloader: it would load the data and start the embedded Redis twice.
    app.run(host=host, port=port, debug=True, use_reloader=False, request_handler=QuietHandler)


class GunicornServer(BaseApplication):
    """gunicorn running an app object that is already built (so the data is preloaded).

    Parameters
    ----------
    app
        the WSGI app the workers serve.
    options
        gunicorn settings.
    locator
        the app's ``Locator``: closed when the server exits, or once the last worker serving
        it has exited after a reload.
    build
        ``() -> (app, locator)`` on the data as it is now, called in the master on SIGHUP;
        when it raises, the old app keeps serving.
    on_exit
        called once when the master exits.
    """

    def __init__(self, app, options: dict, *, locator=None, build=None, on_exit=None):
        self.application = app
        self.locator = locator
        self._build = build
        #: locators replaced by a reload, each with the PIDs of the workers still serving it
        self._retired: list[tuple[object, set[int]]] = []
        self._pending_retire = None
        self.options = {
            "preload_app": True,
            "worker_class": "gthread" if options.get("threads", 1) > 1 else "sync",
            "accesslog": None,          # request lines would carry the voter's address
            "errorlog": "-",
            "loglevel": "info",
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            "limit_request_line": 4094,
            "limit_request_fields": 50,
            "limit_request_field_size": 8190,
            "proc_name": "locator-web",
            "control_socket_disable": True,  # gunicorn ≥ 25 would share one socket in $HOME
            **options,
        }
        self._on_exit = on_exit
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

        def when_ready(server):
            host, port = server.LISTENERS[0].sock.getsockname()[:2] if server.LISTENERS else ("?", "?")
            log.info("serving on http://%s:%s with %d worker(s)%s", host, port, server.num_workers,
                     _version_note(self.locator))

        def exit_hook(server):
            self.close_all()

        def on_reload(server):
            # Called by the arbiter after ``reload()`` and before it forks the new workers: the
            # workers alive now serve the old app.
            if self._pending_retire is not None:
                self._retired.append((self._pending_retire, set(server.WORKERS)))
                self._pending_retire = None
                self._close_retired()

        def child_exit(server, worker):
            for _locator, pids in self._retired:
                pids.discard(worker.pid)
            self._close_retired()

        self.cfg.set("when_ready", when_ready)
        self.cfg.set("on_exit", exit_hook)
        self.cfg.set("on_reload", on_reload)
        self.cfg.set("child_exit", child_exit)

    def load(self):
        return self.application

    def reload(self):
        """SIGHUP in the master: gunicorn's config reload, then the data (see the module doc)."""
        super().reload()
        if self._build is None:
            return
        log.info("reload: loading the data folder again")
        try:
            app, locator = self._build()
        except (LocatorError, OSError, ValueError) as err:
            # DataError names the file and the record; the old app keeps serving.
            log.error("reload refused, still serving the previous data%s: %s", _version_note(self.locator), err)
            return
        except Exception:  # noqa: BLE001 - an unexpected failure must not stop the master
            log.exception("reload failed, still serving the previous data%s", _version_note(self.locator))
            return
        self._pending_retire, self.locator = self.locator, locator
        self.application = self.callable = app
        log.info("reload: new data loaded%s; replacing the workers", _version_note(locator))

    def _close_retired(self) -> None:
        keep = []
        for locator, pids in self._retired:
            if pids:
                keep.append((locator, pids))
            else:
                _close(locator)
        self._retired = keep

    def close_all(self) -> None:
        """Close every locator this server holds (idempotent); then ``on_exit``."""
        retired, self._retired = self._retired, []
        for locator, _pids in retired:
            _close(locator)
        for locator in (self._pending_retire, self.locator):
            _close(locator)
        self._pending_retire = None
        on_exit, self._on_exit = self._on_exit, None
        if on_exit is not None:
            on_exit()


def _close(locator) -> None:
    if locator is None:
        return
    try:
        locator.close()
    except Exception as err:  # noqa: BLE001 - closing one must not leave the others open
        log.warning("closing the locator: %s", err)


def _version_note(locator) -> str:
    dataset = getattr(locator, "dataset", None)
    return f" (data_version {dataset.version})" if dataset is not None else ""
