"""The one interface every geocoder implements, and what its answers mean.

``search(text, *, citycode=None, postcode=None, limit=5, autocomplete=False)`` and ``reverse(lon, lat)`` return
lists of ``GeocodedPoint`` (label, lon, lat, type, score, citycode, postcode, source), best
first; ``autocomplete=True`` also matches the last word as the start of a longer one (a
voter still typing: "Thionv"). ``type`` is one of ``GEOCODE_TYPES`` (housenumber | street | locality | municipality).
Nothing found is ``[]``; a backend that fails (down, timeout, rate limit, garbage) raises
``GeocoderUnavailable`` from the cause. ``close()`` releases what the geocoder holds (the
embedded Redis server, HTTP connections); every geocoder is a context manager.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..models import GEOCODE_TYPES, GeocodedPoint

__all__ = ["GEOCODE_TYPES", "Geocoder", "GeocoderBase", "GeocodedPoint"]


@runtime_checkable
class Geocoder(Protocol):
    def search(self, text: str, *, citycode: str | None = None, postcode: str | None = None,
               limit: int = 5, autocomplete: bool = False) -> list[GeocodedPoint]: ...

    def reverse(self, lon: float, lat: float) -> list[GeocodedPoint]: ...

    def close(self) -> None: ...


class GeocoderBase:
    """Context-manager plumbing shared by the backends."""

    name = "geocoder"

    def open(self):
        return self

    def close(self) -> None:
        pass

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
