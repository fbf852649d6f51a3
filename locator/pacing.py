"""Pacing calls to a service, written once: at most one call every ``interval_s``, and the
``Retry-After`` a server asks for. The live fetch, the validator's re-geocoding and the
register import pace themselves with it (the remote geocoder uses geopy's own limiter).

``clock`` and ``sleep`` are injectable so tests neither wait nor depend on time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping


class Pacer:
    """At most one call every ``interval_s`` seconds (0: no limit). Call ``wait()`` before each."""

    def __init__(self, interval_s: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval_s = max(float(interval_s), 0.0)
        self.clock, self.sleep = clock, sleep
        self._next: float | None = None

    @classmethod
    def per_second(cls, rate: float, **kwargs) -> Pacer:
        """At most ``rate`` calls per second (``rate`` <= 0: no limit)."""
        return cls(1.0 / rate if rate > 0 else 0.0, **kwargs)

    def wait(self) -> None:
        now = self.clock()
        if self._next is not None and now < self._next:
            self.sleep(self._next - now)
            now = self.clock()
        self._next = now + self.interval_s


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a server asks to wait (``Retry-After`` in seconds); None when absent or an
    HTTP date (the caller's own backoff applies)."""
    raw = {k.lower(): v for k, v in headers.items()}.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None
