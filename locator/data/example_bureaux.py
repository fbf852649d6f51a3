"""An example primary-style organisation of bureaux for one département.

Like the January 2017 primary: a few bureaux for a whole département, each serving a list of
communes. The bureau communes are the bureau centralisateur of every canton plus the most
populous communes, up to ``target``; every current commune is served by exactly one bureau,
the nearest bureau commune *of its own canton*. Each bureau stands at its commune's official
mairie point (DILA annuaire) with the official address, ``location_source: mairie-annuaire``.

This is an example organisation built from open data, not any party's real list.
"""

from __future__ import annotations

import json

import numpy as np
import shapely

from ..french import de
from ..projection import geometry_to_l93
from .geojson import dumps_collection, feature


def choose_bureau_communes(communes: list[dict], cantons: list[dict], target: int) -> list[str]:
    """INSEE codes of the communes that get a bureau.

    A commune with no published mairie point cannot host a bureau placed "at the mairie";
    its canton's most populous commune that has one stands in for it.
    """
    by_code = {c["code"]: c for c in communes}
    placed = {c["code"] for c in communes if c["mairie_lon"] is not None and c["mairie_lat"] is not None}
    chosen: list[str] = []
    for canton in cantons:
        code = canton["bureau_centralisateur"]
        if code not in by_code:
            continue
        if code not in placed:
            members = [c for c in communes if c["canton"] == by_code[code]["canton"] and c["code"] in placed]
            if not members:
                continue
            code = max(members, key=lambda c: (c["population"] or 0, c["code"]))["code"]
        if code not in chosen:
            chosen.append(code)
    for c in sorted(communes, key=lambda c: (-(c["population"] or 0), c["code"])):
        if len(chosen) >= target:
            break
        if c["code"] in placed and c["code"] not in chosen:
            chosen.append(c["code"])
    # every canton needs at least one bureau so nobody is served across a canton line
    for canton in sorted({c["canton"] for c in communes if c["canton"]}):
        if not any(by_code[b]["canton"] == canton for b in chosen):
            members = [c for c in communes if c["canton"] == canton and c["code"] in placed]
            if members:
                chosen.append(max(members, key=lambda c: (c["population"] or 0, c["code"]))["code"])
    return sorted(chosen)


def build_example(features: list[dict], cantons: list[dict], *, target: int = 95) -> list[dict]:
    """Bureau features (sorted by id) for the communes ``features`` of one département."""
    communes = [f["properties"] for f in features]
    chosen = choose_bureau_communes(communes, cantons, target)
    by_code = {c["code"]: c for c in communes}
    # Distances between communes are taken between interior points of their polygons, not
    # their mairie points: ~6% of official mairie points are wrong.
    geoms = geometry_to_l93(shapely.from_geojson([json.dumps(f["geometry"]) for f in features]))
    interior = shapely.point_on_surface(geoms)
    xy = shapely.get_coordinates(interior)
    pos = {c["code"]: i for i, c in enumerate(communes)}

    served: dict[str, list[str]] = {b: [] for b in chosen}
    chosen_arr = np.array(chosen, dtype=object)
    chosen_xy = xy[[pos[b] for b in chosen]]
    chosen_canton = np.array([by_code[b]["canton"] for b in chosen], dtype=object)
    for c in communes:
        if c["code"] in served:
            served[c["code"]].append(c["code"])
            continue
        same = chosen_canton == c["canton"]
        if not same.any():  # no canton known: nearest bureau of the département
            same = np.ones(len(chosen), dtype=bool)
        d = np.hypot(*(chosen_xy[same] - xy[pos[c["code"]]]).T)
        served[chosen_arr[same][int(np.argmin(d))]].append(c["code"])

    out = []
    for code in chosen:
        c = by_code[code]
        props = {
            "id": f"{code}_1",
            "name": f"Mairie {de(c['nom'])}",
            "address": c["mairie_adresse"] or "",
            "code_insee": code,
            "communes_served": sorted(served[code]),
            "location_source": "mairie-annuaire",
            "geocode_type": None,
            "geocode_score": None,
            "notes": "Exemple d'organisation construit à partir des données ouvertes, pas une liste réelle.",
        }
        geometry = {"type": "Point", "coordinates": [c["mairie_lon"], c["mairie_lat"]]}
        out.append(feature(props, geometry))
    return sorted(out, key=lambda f: f["properties"]["id"])


def dumps(features: list[dict]) -> str:
    return dumps_collection(features)
