"""The register's addresses as an engine strategy: a point a few metres from an address of
the electoral register (REU) takes that address's bureau, ahead of any area.

Points are held in Lambert-93 in one ``scipy.spatial.cKDTree``; only addresses geocoded
precisely enough (``locator.data.register.usable``: housenumber/interpolation/locality, sound score)
answer a point, since a street-level point is the middle of a street. The same index says
which other bureaux have voters within a few tens of metres (``rivals``): near the edge
between two bureaux' areas the answer comes with a ``near_area_boundary`` warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..communes import NO_COMMUNE
from ..data.register import RegisterData, usable
from ..errors import DataError
from ..projection import to_metric

NO_BUREAU = -1
#: Two positions closer than this are one (the register file's rounding is ~0.1 m).
SAME_POSITION_M = 0.5


@dataclass(frozen=True)
class RegisterMatch:
    bureau: int  # engine bureau index
    commune: int  # engine commune index
    distance_m: float
    #: other bureaux with addresses at the same position (a building split between bureaux)
    shared_with: tuple[int, ...] = ()


class RegisterIndex:
    """Nearest register address of a commune, and the bureaux of the addresses around a point.

    Parameters
    ----------
    data
        the register file's columns (``locator.data.register.read_register``).
    commune_codes, bureau_ids
        the engine's communes and bureaux, in engine order; an address of a commune that is
        not loaded is left out, an address naming an unknown bureau is a ``DataError``.
    """

    def __init__(self, data: RegisterData, commune_codes, bureau_ids, *, path: str | None = None):
        commune_pos = {c: i for i, c in enumerate(commune_codes)}
        bureau_pos = {b: i for i, b in enumerate(bureau_ids)}
        precise = usable(data.geo_type, data.geo_score)
        # A street-level row answers only a point at its very position (the same text geocoded
        # again): it is the middle of a street, not a voter's door.
        keep = precise | ((data.geo_type == "street") & ~(np.asarray(data.geo_score, dtype=float) < 0.5))
        commune = np.array([commune_pos.get(c, NO_COMMUNE) for c in data.code_insee.tolist()], dtype=np.int64)
        keep &= commune != NO_COMMUNE
        unknown = sorted({b for b in data.bureau_id[keep].tolist() if b not in bureau_pos})
        if unknown:
            raise DataError(f"the register names bureau(x) absent from bureaux.geojson: {', '.join(unknown[:5])}",
                            path=path, record=f"bureau {unknown[0]}")
        self.precise = precise[keep]
        self.commune = commune[keep]
        self.bureau = np.array([bureau_pos[b] for b in data.bureau_id[keep].tolist()], dtype=np.int64)
        self.weight = np.maximum(np.asarray(data.nb_adresses[keep], dtype=float), 1.0)
        x, y = to_metric(data.lon[keep], data.lat[keep])
        self.xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
        # imported here: a data folder without a register (most of them) does not pay for scipy.spatial
        from scipy.spatial import cKDTree

        self.tree = cKDTree(self.xy) if len(self.xy) else None

    def __len__(self) -> int:
        return len(self.xy)

    def match(self, x: float, y: float, radius_m: float, commune: int | None = None) -> RegisterMatch | None:
        """The register address nearest to a Lambert-93 point within ``radius_m`` (of commune
        ``commune`` when given). Several bureaux at that same position: the one with the most
        addresses there (ties: the first in the file), the others in ``shared_with``."""
        if self.tree is None:
            return None
        idx = self.tree.query_ball_point((x, y), radius_m)
        if commune is not None:
            idx = [i for i in idx if self.commune[i] == commune]
        if not idx:
            return None
        idx = np.asarray(sorted(idx))
        d = np.hypot(self.xy[idx, 0] - x, self.xy[idx, 1] - y)
        at = self.precise[idx] | (d <= SAME_POSITION_M)
        idx, d = idx[at], d[at]
        if len(idx) == 0:
            return None
        nearest = d.min()
        same = idx[d <= nearest + SAME_POSITION_M]  # one position (the file's rounding is ~0.1 m)
        votes: dict[int, float] = {}
        for i in same.tolist():
            votes[int(self.bureau[i])] = votes.get(int(self.bureau[i]), 0.0) + float(self.weight[i])
        best = max(votes, key=lambda b: votes[b])  # dicts keep file order: first of equals wins
        first = int(same[0])
        return RegisterMatch(bureau=best, commune=int(self.commune[first]), distance_m=float(nearest),
                             shared_with=tuple(b for b in votes if b != best))

    def nearest(self, x: float, y: float, max_m: float, commune: int | None = None) -> RegisterMatch | None:
        """The nearest register address within ``max_m`` (of ``commune`` when given): the
        Voronoi rule the estimated areas are built by, for points beyond their clipped edge."""
        if self.tree is None:
            return None
        k = min(64, len(self.xy))
        d, idx = self.tree.query((x, y), k=k, distance_upper_bound=max_m)
        d, idx = np.atleast_1d(d), np.atleast_1d(idx)
        ok = np.isfinite(d)
        d, idx = d[ok], idx[ok]
        d, idx = d[self.precise[idx]], idx[self.precise[idx]]
        if commune is not None:
            same = self.commune[idx] == commune
            d, idx = d[same], idx[same]
            if len(idx) == 0 and ok.all() and k == 64:  # 64 addresses of other communes nearer: look wider
                found = [i for i in self.tree.query_ball_point((x, y), max_m)
                         if self.commune[i] == commune and self.precise[i]]
                if not found:
                    return None
                idx = np.asarray(found)
                d = np.hypot(self.xy[idx, 0] - x, self.xy[idx, 1] - y)
                order = np.argsort(d, kind="stable")
                d, idx = d[order], idx[order]
        if len(idx) == 0:
            return None
        return RegisterMatch(bureau=int(self.bureau[idx[0]]), commune=int(self.commune[idx[0]]),
                             distance_m=float(d[0]))

    def rivals(self, x: float, y: float, commune: int, bureau: int, radius_m: float) -> list[tuple[int, float]]:
        """Other bureaux of ``commune`` with addresses within ``radius_m`` of the point:
        (bureau index, distance to its nearest address), nearest first."""
        if self.tree is None:
            return []
        best: dict[int, float] = {}
        for i in self.tree.query_ball_point((x, y), radius_m):
            b = int(self.bureau[i])
            if b == bureau or self.commune[i] != commune or not self.precise[i]:
                continue
            d = float(np.hypot(self.xy[i, 0] - x, self.xy[i, 1] - y))
            if d < best.get(b, np.inf):
                best[b] = d
        return sorted(best.items(), key=lambda kv: (kv[1], kv[0]))
