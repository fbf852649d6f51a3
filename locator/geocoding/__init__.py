"""Geocoding French addresses: embedded addok (offline, default), remote BAN/Géoplateforme.

>>> from locator.geocoding import build_geocoder          # doctest: +SKIP
>>> with build_geocoder(Settings.from_env()) as g:        # doctest: +SKIP
...     g.search("12 rue Serpenoise 57000 Metz", limit=1)

``Locator.from_data_dir`` builds the configured chain over the data it loaded.
"""

from ..models import GeocodedPoint
from .chain import GeocoderChain, build_geocoder
from .normalize import normalize_query
from .protocol import GEOCODE_TYPES, Geocoder

__all__ = [
    "GEOCODE_TYPES",
    "GeocodedPoint",
    "Geocoder",
    "GeocoderChain",
    "build_geocoder",
    "normalize_query",
]
