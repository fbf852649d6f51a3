"""Bureau assignment strategies, tried in this order for a point already in a commune:

0. ``register``: a register (REU) address of the commune within a few metres gives its
   bureau (``locator.register.index``, asked by ``Locator.answer`` first);
1. ``area``: an official bureau area contains the point, and that bureau serves the commune;
2. ``commune``: exactly one bureau serves the commune (a primary's commune → bureau table);
3. ``nearest_in_commune``: several bureaux serve it and no area says which: the nearest of
   *them* (never a bureau of another commune), said plainly to the voter;
4. none: no bureau serves the commune.

Everything is vectorised; the only Python loop is over the (few) multi-bureau communes.
"""

from __future__ import annotations

import gc

import numpy as np
import shapely

from .communes import NO_COMMUNE
from .models import Bureau
from .projection import geometry_to_metric, to_metric

NO_BUREAU = -1
MULTIPLE = -2

METHOD_NONE, METHOD_AREA, METHOD_COMMUNE, METHOD_NEAREST, METHOD_REGISTER = 0, 1, 2, 3, 4
METHOD_NAMES = {METHOD_NONE: None, METHOD_AREA: "area", METHOD_COMMUNE: "commune", METHOD_NEAREST: "nearest_in_commune",
                METHOD_REGISTER: "register"}


class Assigner:
    def __init__(self, bureaux: list[Bureau], commune_codes: list[str], area_bureau_ids=(), area_geoms_wgs84=()):
        was = gc.isenabled()
        gc.disable()  # tables of small tuples and lists, no cycle among them (see data.loader)
        try:
            self._build(bureaux, commune_codes, area_bureau_ids, area_geoms_wgs84)
        finally:
            if was:
                gc.enable()

    def _build(self, bureaux, commune_codes, area_bureau_ids, area_geoms_wgs84) -> None:
        self.bureaux = list(bureaux)
        self.ids = np.array([b.id for b in bureaux], dtype=object)
        self.by_id = {b.id: i for i, b in enumerate(bureaux)}
        n_communes = len(commune_codes)
        commune_pos = {c: i for i, c in enumerate(commune_codes)}

        lon = np.array([np.nan if b.lon is None else b.lon for b in bureaux], dtype=float)
        lat = np.array([np.nan if b.lat is None else b.lat for b in bureaux], dtype=float)
        self.x, self.y = (np.asarray(a, dtype=float) for a in to_metric(lon, lat))
        self.has_point = ~np.isnan(self.x)

        # serving[c] = bureau indices serving commune c.
        self.serving: list[list[int]] = [[] for _ in range(n_communes)]
        for bi, b in enumerate(bureaux):
            for code in b.communes_served:
                ci = commune_pos.get(code)
                if ci is not None and bi not in self.serving[ci]:
                    self.serving[ci].append(bi)
        self.single = np.full(n_communes + 1, NO_BUREAU, dtype=np.int64)  # last slot: no commune
        for ci, lst in enumerate(self.serving):
            if len(lst) == 1:
                self.single[ci] = lst[0]
            elif len(lst) > 1:
                self.single[ci] = MULTIPLE
        n_b = max(len(bureaux), 1)
        self._n_b = n_b
        self._served_keys = np.array(sorted(ci * n_b + bi for ci, lst in enumerate(self.serving) for bi in lst),
                                     dtype=np.int64)

        # The same tables as Python objects, for one point at a time (``assign_one``).
        self._single_list = [int(v) for v in self.single]
        self._served_pairs = {(ci, bi) for ci, lst in enumerate(self.serving) for bi in lst}
        self._xy = [(float(bx), float(by)) if placed else None
                    for bx, by, placed in zip(self.x, self.y, self.has_point, strict=True)]
        self._placed_serving = [[(b, *self._xy[b]) for b in lst if self._xy[b] is not None]
                                for lst in self.serving]

        self.area_bureau = np.array([self.by_id[b] for b in area_bureau_ids], dtype=np.int64)
        self.area_geoms = geometry_to_metric(np.asarray(list(area_geoms_wgs84), dtype=object))
        if len(self.area_geoms):
            shapely.prepare(self.area_geoms)
            self.area_tree = shapely.STRtree(self.area_geoms)
        else:
            self.area_tree = None


    def has_areas(self) -> bool:
        return self.area_tree is not None

    def serves(self, commune_idx, bureau_idx) -> np.ndarray:
        """Whether each bureau serves the matching commune (pairs encoded as sorted int keys)."""
        keys = np.asarray(commune_idx, dtype=np.int64) * self._n_b + np.asarray(bureau_idx, dtype=np.int64)
        if len(self._served_keys) == 0:
            return np.zeros(keys.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self._served_keys, keys), len(self._served_keys) - 1)
        return self._served_keys[pos] == keys

    def assign(self, x: np.ndarray, y: np.ndarray, commune_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Bureau index (``NO_BUREAU`` if none) and method code for each point of the metric plane."""
        n = len(x)
        bureau = np.full(n, NO_BUREAU, dtype=np.int64)
        method = np.full(n, METHOD_NONE, dtype=np.int8)
        in_commune = commune_idx != NO_COMMUNE
        if not in_commune.any():
            return bureau, method

        if self.area_tree is not None:
            idx = np.nonzero(in_commune)[0]
            pts = shapely.points(x[idx], y[idx])
            p, a = self.area_tree.query(pts, predicate="intersects")
            cand = self.area_bureau[a]
            ok = self.serves(commune_idx[idx[p]], cand)
            # first matching area wins: write in reverse order
            p, cand = p[ok][::-1], cand[ok][::-1]
            bureau[idx[p]] = cand
            method[idx[p]] = METHOD_AREA

        todo = in_commune & (bureau == NO_BUREAU)
        single = self.single[np.where(todo, commune_idx, len(self.single) - 1)]
        one = todo & (single >= 0)
        bureau[one] = single[one]
        method[one] = METHOD_COMMUNE

        multi = todo & (single == MULTIPLE)
        if multi.any():
            for ci in np.unique(commune_idx[multi]):
                sel = np.nonzero(multi & (commune_idx == ci))[0]
                cands = np.array([b for b in self.serving[ci] if self.has_point[b]], dtype=np.int64)
                if len(cands) == 0:
                    continue  # several bureaux, none placed: the caller lists them as candidates
                d2 = (x[sel, None] - self.x[cands][None, :]) ** 2 + (y[sel, None] - self.y[cands][None, :]) ** 2
                bureau[sel] = cands[np.argmin(d2, axis=1)]
                method[sel] = METHOD_NEAREST
        return bureau, method

    def assign_one(self, x: float, y: float, commune_idx: int, *, point=None) -> tuple[int, int]:
        """``assign`` for one point (``point``: it as a shapely geometry, if the caller has it):
        the same strategies in the same order and the same float arithmetic, without arrays."""
        if commune_idx == NO_COMMUNE:
            return NO_BUREAU, METHOD_NONE
        if self.area_tree is not None:
            if point is None:
                point = shapely.points(np.array((x, y), dtype=float))
            served = self._served_pairs
            for a in self.area_tree.query(point, predicate="intersects"):  # first matching area wins
                cand = int(self.area_bureau[a])
                if (commune_idx, cand) in served:
                    return cand, METHOD_AREA
        single = self._single_list[commune_idx]
        if single >= 0:
            return single, METHOD_COMMUNE
        if single == MULTIPLE:
            best, best_d2 = NO_BUREAU, 0.0
            for bi, bx, by in self._placed_serving[commune_idx]:
                dx, dy = x - bx, y - by
                d2 = dx * dx + dy * dy
                if best == NO_BUREAU or d2 < best_d2:  # argmin: the first of equal distances
                    best, best_d2 = bi, d2
            if best != NO_BUREAU:
                return best, METHOD_NEAREST
        return NO_BUREAU, METHOD_NONE

    def distance(self, x: float, y: float, bureau_idx: int) -> float | None:
        xy = None if bureau_idx < 0 else self._xy[bureau_idx]
        if xy is None:
            return None
        # abs() of a complex is the C library's hypot, the one np.hypot calls: the same
        # float bit for bit, without a numpy call (math.hypot is Python's own algorithm and
        # differs in the last bit for about 1 pair in 500).
        return abs(complex(xy[0] - x, xy[1] - y))
