"""Metric work happens in each territory's official projected CRS; files stay WGS84 lon/lat
(RFC 7946).

Lambert-93 (EPSG:2154) covers metropolitan France and Corsica only: measured there, a metre
in La Réunion would be 1.88 m. Each overseas département is measured in its own official
projection (IGN's RGAF09, RGFG95, RGR92, RGM04 UTM zones), which keeps distances within a
few parts per thousand of the geodesic everywhere (UTM's scale factor is 0.9996 on its
central meridian, 1.0016 at the western edge of Guyane).

The engine works in one plane, the *metric plane*: each territory's projected coordinates
shifted east by ``x_offset`` (10 000 km per territory), so territories never meet and a
point is only ever compared with communes of its own territory. Metropolitan France has
offset 0: its metric coordinates are exactly Lambert-93. Distances inside a territory are
distances in its CRS. ``to_metric``/``to_lonlat`` convert both ways; a lon/lat outside every
territory becomes NaN (outside coverage).

One cached transformer per territory and direction, ``always_xy=True`` so the axis order
is always lon, lat.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyproj
import shapely
from pyproj import Transformer

WGS84 = "EPSG:4326"
LAMBERT93 = "EPSG:2154"

#: Territories are this far apart in the metric plane (more than any territory is wide).
BAND_M = 10_000_000.0


@dataclass(frozen=True)
class Territory:
    """One projected CRS and where it applies.

    ``bounds``: (lon_min, lat_min, lon_max, lat_max), the CRS's published area of use (Guyane
    widened to its western border); the boxes are thousands of kilometres apart.
    """

    code: str
    name: str
    epsg: int
    bounds: tuple[float, float, float, float]
    departements: tuple[str, ...]
    band: int  # x_offset = band * BAND_M

    @property
    def x_offset(self) -> float:
        return self.band * BAND_M


TERRITORIES: tuple[Territory, ...] = (
    Territory("FX", "France métropolitaine et Corse", 2154, (-9.86, 41.15, 10.38, 51.56), (), 0),
    # Guadeloupe and Martinique share RGAF09 / UTM zone 20N.
    Territory("ANT", "Antilles (Guadeloupe, Martinique)", 5490, (-63.66, 14.08, -60.0, 18.31), ("971", "972"), 1),
    Territory("973", "Guyane", 2972, (-54.8, 2.0, -49.45, 8.88), ("973",), 2),  # RGFG95 / UTM 22N
    Territory("974", "La Réunion", 2975, (54.0, -24.72, 58.24, -18.28), ("974",), 3),  # RGR92 / UTM 40S
    Territory("976", "Mayotte", 4471, (43.68, -14.49, 46.7, -11.33), ("976",), 4),  # RGM04 / UTM 38S
)
METROPOLE = TERRITORIES[0]
_BY_DEPARTEMENT = {d: t for t in TERRITORIES for d in t.departements}
_BY_BAND = {t.band: t for t in TERRITORIES}


_BOXES = tuple((t, *t.bounds) for t in TERRITORIES)


def territory_of(lon: float, lat: float) -> Territory | None:
    """The territory whose box holds the point, or None (outside every one)."""
    for t, lon0, lat0, lon1, lat1 in _BOXES:  # flat: one lookup may ask it for every point
        if lon0 <= lon <= lon1 and lat0 <= lat <= lat1:
            return t
    return None


def territory_of_metric(x: float) -> Territory | None:
    """The territory of a point of the metric plane, by its x band."""
    if not math.isfinite(x):
        return None
    return _BY_BAND.get(int(round(x / BAND_M)))


#: Bump when a territory's projection changes: projected outlines cached on disk
#: (``locator.communes``) are keyed by it, and by the pyproj and PROJ versions.
PROJECTION_FORMAT = "1"


@cache
def projection_key() -> str:
    """What projected coordinates depend on besides the data: the territories and the
    library versions (a new PROJ may compute the last bit differently)."""
    parts = [PROJECTION_FORMAT, pyproj.__version__, pyproj.proj_version_str,
             repr([(t.epsg, t.bounds, t.band) for t in TERRITORIES])]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


@cache
def _forward(epsg: int) -> Transformer:
    return Transformer.from_crs(WGS84, f"EPSG:{epsg}", always_xy=True)


@cache
def _inverse(epsg: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{epsg}", WGS84, always_xy=True)


def warm() -> None:
    """Make every territory's transformers now (PROJ takes milliseconds for each): a server
    does it once before forking, instead of each worker on its first point of each territory."""
    for t in TERRITORIES:
        _forward(t.epsg)
        _inverse(t.epsg)


def to_metric(lon, lat):
    """lon/lat (scalars or arrays) → the metric plane (metres; NaN outside every territory)."""
    if isinstance(lon, float) and isinstance(lat, float):  # one point: no arrays
        lon0, lat0, lon1, lat1 = _MAINLAND_BOUNDS
        if lon0 <= lon <= lon1 and lat0 <= lat <= lat1:  # most points: no search, no offset
            return _MAINLAND_FORWARD.transform(lon, lat)
        t = territory_of(lon, lat)
        if t is None:
            return math.nan, math.nan
        x, y = _forward(t.epsg).transform(lon, lat)
        return x + t.x_offset, y
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.ndim == 0:
        return to_metric(float(lon), float(lat))
    x = np.full(lon.shape, np.nan)
    y = np.full(lon.shape, np.nan)
    todo = np.ones(lon.shape, dtype=bool)
    for t in TERRITORIES:
        lon0, lat0, lon1, lat1 = t.bounds
        sel = todo & (lon >= lon0) & (lon <= lon1) & (lat >= lat0) & (lat <= lat1)
        if not sel.any():
            continue
        todo &= ~sel
        if sel.all():  # the usual case: every point in one territory, no copies
            x, y = _forward(t.epsg).transform(lon, lat)
            x = np.asarray(x, dtype=float)
            return (x + t.x_offset if t.x_offset else x), np.asarray(y, dtype=float)
        tx, ty = _forward(t.epsg).transform(lon[sel], lat[sel])
        x[sel] = np.asarray(tx) + t.x_offset
        y[sel] = ty
    return x, y


def to_metric_anywhere(lon, lat):
    """``to_metric``, and Lambert-93 for a point outside every territory instead of NaN: far
    from every commune, so the validator can still say "outside France" and measure it."""
    x, y = to_metric(lon, lat)
    if np.ndim(x) == 0:
        if math.isfinite(x):
            return x, y
        return to_l93(lon, lat)
    bad = ~np.isfinite(x)
    if bad.any():
        lx, ly = to_l93(np.asarray(lon, dtype=float)[bad], np.asarray(lat, dtype=float)[bad])
        x, y = x.copy(), y.copy()
        x[bad], y[bad] = lx, ly
    return x, y


_MAINLAND_BOUNDS = METROPOLE.bounds
_MAINLAND_FORWARD = _forward(METROPOLE.epsg)
assert METROPOLE.x_offset == 0


def to_lonlat(x, y):
    """The metric plane back to lon/lat (scalars or arrays)."""
    if isinstance(x, float) and isinstance(y, float):
        t = territory_of_metric(x)
        if t is None:
            return math.nan, math.nan
        return _inverse(t.epsg).transform(x - t.x_offset, y)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim == 0:
        return to_lonlat(float(x), float(y))
    band = np.round(x / BAND_M)
    lon = np.full(x.shape, np.nan)
    lat = np.full(x.shape, np.nan)
    for t in TERRITORIES:
        sel = band == t.band
        if not sel.any():
            continue
        if sel.all():
            lon, lat = _inverse(t.epsg).transform(x - t.x_offset, y)
            return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        lon[sel], lat[sel] = _inverse(t.epsg).transform(x[sel] - t.x_offset, y[sel])
    return lon, lat


def geometry_to_metric(geom):
    """A shapely geometry (or an array of them; None stays None) into the metric plane.
    A coordinate outside every territory becomes NaN (see ``locator.communes``)."""
    return shapely.transform(geom, _project_coords_metric)


def _project_coords_metric(coords: np.ndarray) -> np.ndarray:
    x, y = to_metric(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _project_coords_lonlat(coords: np.ndarray) -> np.ndarray:
    lon, lat = to_lonlat(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


# -- Lambert-93 only (metropolitan France and Corsica) ----------------------------------------
# Kept for the code that measures metropolitan data only (the validator, the example bureaux);
# in metropolitan France they give exactly what ``to_metric`` gives.

@cache
def _to_l93() -> Transformer:
    return _forward(2154)


@cache
def _to_wgs84() -> Transformer:
    return _inverse(2154)


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
