"""Bureau-de-vote locator: address → geocode → commune check → bureau."""

from .config import Settings
from .data.datadir import DataDir, Dataset
from .errors import DataError, GeocoderUnavailable, InvalidQuery, LocatorError
from .lookup.outcome import LookupResult, Status
from .models import Bureau, Commune, Finding, GeocodedPoint
from .service import Locator

__all__ = [
    "Bureau",
    "Commune",
    "DataDir",
    "DataError",
    "Dataset",
    "Finding",
    "GeocodedPoint",
    "GeocoderUnavailable",
    "InvalidQuery",
    "Locator",
    "LocatorError",
    "LookupResult",
    "Settings",
    "Status",
]
