"""Metric work happens in Lambert-93 (EPSG:2154); files stay WGS84 lon/lat (RFC 7946).

One cached transformer each way, ``always_xy=True`` so the axis order is always lon, lat.
Lambert-93 is valid for metropolitan France and Corsica only: the overseas départements
(971–976) need their own projected CRS (e.g. EPSG:5490 Antilles, 2975 La Réunion); the
data builder refuses them rather than measuring metres in the wrong projection.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import shapely
from pyproj import Transformer

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"


@cache
def _to_l93() -> Transformer:
    return Transformer.from_crs(WGS84, LAMBERT93, always_xy=True)


@cache
def _to_wgs84() -> Transformer:
    return Transformer.from_crs(LAMBERT93, WGS84, always_xy=True)


def to_l93(lon, lat):
    """Project lon/lat (scalars or arrays) to Lambert-93 metres."""
    return _to_l93().transform(lon, lat)


def to_wgs84(x, y):
    """Lambert-93 metres back to lon/lat."""
    return _to_wgs84().transform(x, y)


def geometry_to_l93(geom):
    """Project a shapely geometry (or an array of them) to Lambert-93."""
    return shapely.transform(geom, _project_coords_l93)


def _project_coords_l93(coords: np.ndarray) -> np.ndarray:
    x, y = _to_l93().transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])
