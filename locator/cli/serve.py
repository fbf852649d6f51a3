"""`locator serve`: the web service under gunicorn (production) or Flask's server (``--dev``).

The data and the geocoder are loaded once in the gunicorn master before it forks its
workers (``preload_app``): workers share the loaded data, the embedded index is built (if
missing) before the port opens, and the embedded Redis server belongs to the master, which
stops it when it exits.

Neither server writes an access log line with a query string: gunicorn's access log stays
off and Flask's request log is silenced; the app's own ``locator.web.access`` log records
status, latency and query length only.
"""

from __future__ import annotations

import logging
import os
import sys

from gunicorn.app.base import BaseApplication

from ..web.accesslog import BatchedStreamHandler, access_log
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
    p.add_argument("--threads", type=int, default=1, help="threads per worker (default 1)")
    p.add_argument("--dev", action="store_true", help="Flask's debug server instead of gunicorn (development only)")
    add_data_argument(p)
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from ..web import create_app, load_locator

    _log_to_stderr()
    settings = settings_from(args)
    locator = load_locator(settings)
    try:
        app = create_app(settings, locator=locator)
        if args.dev:
            _run_dev(app, args.host, args.port)
        else:
            workers = args.workers if args.workers is not None else default_workers()
            GunicornServer(app, {
                "bind": f"{args.host}:{args.port}",
                "workers": max(1, workers),
                "threads": max(1, args.threads),
            }, on_exit=locator.close).run()
    finally:
        locator.close()
    return 0


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
    """gunicorn running an app object that is already built (so the data is preloaded)."""

    def __init__(self, app, options: dict, *, on_exit=None):
        self.application = app
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
        on_exit = self._on_exit

        def when_ready(server):
            host, port = server.LISTENERS[0].sock.getsockname()[:2] if server.LISTENERS else ("?", "?")
            log.info("serving on http://%s:%s with %d worker(s)", host, port, server.num_workers)

        def exit_hook(server):
            if on_exit is not None:
                on_exit()

        self.cfg.set("when_ready", when_ready)
        self.cfg.set("on_exit", exit_hook)

    def load(self):
        return self.application
