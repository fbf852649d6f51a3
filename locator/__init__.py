"""Bureau-de-vote locator: address → geocode → commune check → bureau."""

from .config import Settings
from .errors import (
    AddressNotFound,
    AmbiguousAddress,
    DataError,
    GeocoderUnavailable,
    InvalidQuery,
    LocatorError,
    OutsideCoverage,
)
from .models import Bureau, Commune, Finding, GeocodedPoint, LookupResult
from .service import Locator

__all__ = [
    "AddressNotFound",
    "AmbiguousAddress",
    "Bureau",
    "Commune",
    "DataError",
    "Finding",
    "GeocodedPoint",
    "GeocoderUnavailable",
    "InvalidQuery",
    "Locator",
    "LocatorError",
    "LookupResult",
    "OutsideCoverage",
    "Settings",
]
