"""Bureau areas estimated from the register's addresses, the way Etalab and INSEE's mapvotr
build them: Voronoi cells of the voters' addresses, clipped to the commune and dissolved
per bureau.

For one commune served by several bureaux:

1. keep the addresses geocoded precisely enough (``housenumber``, ``interpolation``,
   ``locality``, score ≥ ``min_score``): a street-level point is the middle of a street
   whose two ends may vote in different bureaux;
2. drop the points outside the commune (geocoding noise, or the simplified coastline);
3. one point per position: a position shared by several bureaux (a building split between
   them) goes to the bureau with the most addresses there (ties: the smaller id);
4. Voronoi cells of those positions (``shapely.voronoi_polygons``), dissolved per bureau,
   clipped to the commune;
5. small islands (a part of a bureau's area holding fewer than ``island_max`` of its
   positions, and not its main part) merged into the neighbour sharing the longest border.

Every area records how many addresses it was built from and its quality: the share of the
bureau's own (kept) addresses that fall inside it. These are estimates built from
addresses, not the decree that defines the bureaux (see docs/reu.md).

All metric work is in Lambert-93 (metropolitan France; overseas communes would need their
own projected CRS, which the data builder refuses anyway).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely

#: A part of a bureau's area with fewer positions than this (and not its main part) is an island.
ISLAND_MAX = 3
#: Positions closer than this are one position (the file's 1e-6° rounding is ~0.1 m).
SAME_POSITION_M = 0.5


@dataclass(frozen=True)
class Area:
    bureau_id: str
    code_insee: str
    geometry: object  # shapely (Multi)Polygon, Lambert-93
    nb_adresses: int  # rows it was built from
    quality: float | None  # share of the bureau's kept rows inside the area


def commune_areas(code_insee: str, commune_l93, x: np.ndarray, y: np.ndarray, bureau: np.ndarray,
                  weight: np.ndarray | None = None, *, island_max: int = ISLAND_MAX) -> list[Area]:
    """The areas of one commune's bureaux from their addresses (already filtered by ``usable``).

    Parameters
    ----------
    commune_l93
        the commune polygon in Lambert-93.
    x, y, bureau
        the addresses' Lambert-93 positions and bureau ids.
    weight
        addresses per row (``nb_adresses``), used to resolve shared positions; 1 when omitted.

    Returns
    -------
    list of Area, sorted by bureau id; bureaux without any address inside the commune get none.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    bureau = np.asarray(bureau, dtype=object).astype(str)
    weight = np.ones(len(x)) if weight is None else np.nan_to_num(np.asarray(weight, dtype=float), nan=1.0)
    inside = shapely.contains_xy(commune_l93, x, y)
    x, y, bureau, weight = x[inside], y[inside], bureau[inside], weight[inside]
    if len(x) == 0:
        return []
    ids = np.unique(bureau)
    if len(ids) == 1:
        return [Area(str(ids[0]), code_insee, commune_l93, len(x), 1.0)]

    px, py, owner = _positions(x, y, bureau, weight)
    cells = shapely.voronoi_polygons(shapely.multipoints(np.column_stack([px, py])),
                                     extend_to=commune_l93, ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    if len(cells) != len(px):  # ``ordered`` keeps the input order; a mismatch would mislabel cells
        raise RuntimeError(f"{code_insee}: {len(cells)} Voronoi cells for {len(px)} positions")
    shapely.prepare(commune_l93)
    pieces: dict[str, object] = {}
    for bid in np.unique(owner):
        dissolved = shapely.coverage_union_all(cells[owner == bid])
        clipped = shapely.make_valid(shapely.intersection(dissolved, commune_l93))
        clipped = _polygonal(clipped)
        if clipped is not None:
            pieces[str(bid)] = clipped
    pieces = _merge_islands(pieces, px, py, owner, island_max)

    out = []
    for bid in sorted(pieces):
        geom = pieces[bid]
        own = bureau == bid
        quality = float(weight[own & shapely.contains_xy(geom, x, y)].sum() / weight[own].sum()) if own.any() else None
        out.append(Area(bid, code_insee, geom, int(own.sum()), quality))
    return out


def _positions(x, y, bureau, weight):
    """One row per distinct position, owned by the bureau with the most addresses there."""
    key = np.column_stack([np.round(x / SAME_POSITION_M), np.round(y / SAME_POSITION_M)])
    _, inverse = np.unique(key, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    votes: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    first: dict[int, int] = {}
    for i, (k, b, w) in enumerate(zip(inverse.tolist(), bureau.tolist(), weight.tolist(), strict=True)):
        votes[k][b] += w
        first.setdefault(k, i)
    keys = sorted(first)
    rows = np.array([first[k] for k in keys])
    owner = np.array([min(votes[k].items(), key=lambda kv: (-kv[1], kv[0]))[0] for k in keys], dtype=object)
    return x[rows], y[rows], owner


def _polygonal(geom):
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6) and not p.is_empty]
    if not parts:
        return None
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def _merge_islands(pieces: dict[str, object], px, py, owner, island_max: int) -> dict[str, object]:
    """Parts of an area holding fewer than ``island_max`` of its positions (not its main
    part) go to the neighbour sharing the longest border; parts without a neighbour stay."""
    grants: dict[str, list] = defaultdict(list)
    kept: dict[str, list] = {}
    ids = sorted(pieces)
    for bid in ids:
        parts = list(shapely.get_parts(pieces[bid]))
        if len(parts) == 1:
            kept[bid] = parts
            continue
        mine = owner == bid
        counts = [int(shapely.contains_xy(p, px[mine], py[mine]).sum()) for p in parts]
        main = int(np.argmax([(c, p.area) for c, p in zip(counts, parts, strict=True)], axis=0)[0]) \
            if len(set(counts)) > 1 else int(np.argmax([p.area for p in parts]))
        kept[bid] = []
        for k, (part, count) in enumerate(zip(parts, counts, strict=True)):
            if k == main or count >= island_max:
                kept[bid].append(part)
                continue
            border = shapely.boundary(part)
            best, best_len = None, 0.0
            for other in ids:
                if other == bid:
                    continue
                length = float(shapely.length(shapely.intersection(border, pieces[other])))
                if length > best_len:
                    best, best_len = other, length
            (grants[best] if best is not None else kept[bid]).append(part)
    out = {}
    for bid in ids:
        parts = kept[bid] + grants.get(bid, [])
        out[bid] = _polygonal(shapely.union_all(parts)) if len(parts) > 1 else parts[0]
    return out
