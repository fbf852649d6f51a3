"""What a lon/lat pair must be, written once: for the files (``point_problem``), for the
voter's input (``check_lonlat``) and for text typed by people (``parse_coordinate``).

Coordinates are WGS84 lon/lat floats or ``None``: test them with ``is None`` (longitude 0
crosses France, a falsy test would drop real points).
"""

from __future__ import annotations

import math

from ..errors import InvalidQuery


def in_range(lon: float, lat: float) -> bool:
    """Finite and within the lon/lat ranges."""
    return math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90


def point_problem(lon: float | None, lat: float | None) -> str | None:
    """Why a lon/lat pair read from a file cannot be a place, or None. Missing (None) is not a
    problem here: a bureau may be "not yet placed"."""
    if lon is None or lat is None:
        return None
    if lon == 0 and lat == 0:
        return "point is (0, 0), a placeholder, not a place"
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return f"point ({lon}, {lat}) is out of the lon/lat range (projected coordinates?)"
    return None


def parse_coordinate(text: str) -> float:
    """A number as people type it in a spreadsheet or a form: ``6.17`` or ``6,17``.

    Raises ``ValueError`` for anything else (the caller names the file or the field)."""
    return float(str(text).strip().replace(",", "."))


def check_lonlat(lon, lat) -> tuple[float, float]:
    """Two finite numbers in range, or ``InvalidQuery`` with the sentence for the voter."""
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError) as err:
        raise InvalidQuery("lon/lat are not numbers",
                           public_message="Les coordonnées doivent être des nombres (longitude, latitude).") from err
    if not (math.isfinite(lon_f) and math.isfinite(lat_f)):
        raise InvalidQuery("lon/lat not finite", public_message="Les coordonnées doivent être des nombres finis.")
    if not (-180 <= lon_f <= 180 and -90 <= lat_f <= 90):
        raise InvalidQuery("lon/lat out of range",
                           public_message="Coordonnées hors limites : longitude entre -180 et 180, latitude entre -90 et 90.")
    return lon_f, lat_f
