"""Overload shedding: a bounded number of requests at work per worker, a fast 503 for the rest.

On election day the page is shared at 8:00 and at 18:00: more requests arrive than two cores
can answer. Without a bound they wait in gunicorn's queue until the voter's browser gives up,
and every voter waits. With it, each worker runs at most ``limit`` requests at once (the
rest are answered at once with ``503`` and ``Retry-After``), so the requests that are served
keep their quiet-day latency and the others know to retry in a second.

The bound is an in-flight counter wrapped around the WSGI app, before Flask builds its
request context: refusing costs a counter check and a small constant response. The health
probe (``/healthz``) is never refused, so an orchestrator does not kill a busy but healthy
worker. ``locator serve`` runs gthread workers with more threads than ``limit``, so a refused
request reaches the counter instead of queueing for a thread.
"""

from __future__ import annotations

import threading

#: The refusal, in French like every public message (the API's ``status``/``message`` shape).
BODY = ('{"status":"overloaded","message":"Le service est très sollicité en ce moment : '
        'réessayez dans quelques secondes."}').encode()
RETRY_AFTER_S = 1
EXEMPT_PATHS = frozenset({"/healthz"})


class LoadShedder:
    """WSGI middleware: at most ``limit`` requests inside ``app`` at once, 503 for the others.

    Parameters
    ----------
    app
        the WSGI app (``flask_app.wsgi_app``).
    limit
        requests at work at once in this process; ``0`` turns shedding off.
    """

    def __init__(self, app, limit: int):
        self.app = app
        self.limit = max(int(limit), 0)
        self.in_flight = 0
        self.shed = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not self.limit or environ.get("PATH_INFO") in EXEMPT_PATHS:
            return self.app(environ, start_response)
        with self._lock:
            if self.in_flight >= self.limit:
                self.shed += 1
                refused = True
            else:
                self.in_flight += 1
                refused = False
        if refused:
            start_response("503 Service Unavailable", [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(BODY))),
                ("Retry-After", str(RETRY_AFTER_S)),
                ("Cache-Control", "no-store"),
                ("X-Content-Type-Options", "nosniff"),
                ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
            ])
            return [BODY]
        try:
            return self.app(environ, start_response)
        finally:
            # Flask builds the whole body before returning (no streamed responses here), so the
            # work is done when the app returns.
            with self._lock:
                self.in_flight -= 1
