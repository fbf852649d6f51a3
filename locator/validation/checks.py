"""The validation checks: each a small named function, all in ``CHECKS``, run by ``run_checks``.

A bureau check is ``check_<name>(i, ctx)`` and yields ``Flag``s about bureau ``i``; a data
set check is ``check_<name>(ctx)`` and yields ``(bureau index or None, Flag)``. The check's
stable name (in every report) is the function name without ``check_``. Adding a check is
adding a function to ``CHECKS``.

Geometry checks come first: once one of them finds a bureau's point unusable (missing,
(0,0), swapped...), the checks that need a position skip that bureau instead of piling up
consequences of the same fault.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
import shapely
from pyproj import Transformer

from ..communes import NO_COMMUNE
from ..data.points import in_range
from ..models import Finding
from ..projection import to_lonlat, to_metric_anywhere
from .context import ValidationContext
from .flag import ERROR, INFO, WARNING, Flag, metres, suggestion
from .reference import INTERIOR
from .text import address_key, same_street

#: Bounding boxes of France (metropolitan with Corsica, then the overseas départements and
#: collectivités), (min lon, min lat, max lon, max lat). Coarse on purpose: a point inside
#: one but outside every loaded commune is reported by ``outside_coverage``.
FRANCE_BOXES = (
    (-5.3, 41.3, 9.7, 51.15),     # métropole et Corse
    (-61.9, 15.8, -60.9, 16.6),   # Guadeloupe
    (-61.3, 14.3, -60.8, 14.95),  # Martinique
    (-54.7, 2.1, -51.5, 5.85),    # Guyane
    (55.2, -21.45, 55.9, -20.85),  # La Réunion
    (44.9, -13.05, 45.35, -12.6),  # Mayotte
    (-56.5, 46.7, -56.1, 47.2),   # Saint-Pierre-et-Miquelon
    (-63.2, 17.85, -62.75, 18.15),  # Saint-Martin, Saint-Barthélemy
)

#: Projected systems found in French files, tried when "lon/lat" are metres. Lambert-93 is
#: the official one; Web Mercator comes from web maps; Lambert II étendu from old GIS
#: exports; CC42–CC50 are the conic conformal zones (CC49 for Moselle).
PROJECTED_CRS = (("EPSG:2154", "Lambert-93"), ("EPSG:3857", "Web Mercator"),
                 ("EPSG:27572", "Lambert II étendu"),
                 *((f"EPSG:{3900 + z}", f"Lambert CC{z}") for z in range(42, 51)))

#: Sources whose ``geocode_type``/``geocode_score`` no longer describe the point.
NOT_GEOCODED = ("manual", "corrected", "mairie-annuaire")


@dataclass(frozen=True)
class Check:
    name: str
    func: Callable
    per_bureau: bool = True
    #: Skip bureaux whose point a geometry check found unusable.
    needs_position: bool = True
    #: A geometry check: an error from it makes the point unusable for later checks.
    geometry: bool = False
    #: A commune check: an error from it means the declared commune is not the bureau's, so
    #: the checks that judge the bureau against that commune (``needs_commune``) skip it.
    commune: bool = False
    needs_commune: bool = False

    @property
    def label(self) -> str:
        return label(self.name)


def in_france(lon: float, lat: float) -> bool:
    return any(a <= lon <= c and b <= lat <= d for a, b, c, d in FRANCE_BOXES)


def _better_point(i: int, ctx: ValidationContext) -> dict | None:
    """A trustworthy replacement point for bureau ``i``, if one is known: its re-geocoded
    address (housenumber, inside its commune), else the mairie when it says it is there."""
    b = ctx.bureaux[i]
    g = (ctx.regeocoded or {}).get(i)
    declared = int(ctx.declared[i])
    if g is not None and g.type == "housenumber" and declared != NO_COMMUNE:
        j, x, y = ctx.locate_lonlat(g.lon, g.lat)
        if j == declared:
            return suggestion(g.lon, g.lat, f"adresse « {b.address} » géocodée (score {g.score})", "regeocode")
    ref = ctx.reference(i)
    if ctx.at_mairie[i] and ref is not None and ref.precise:
        return suggestion(ref.lon, ref.lat, f"le bureau se dit à la mairie : {ref.label}", ref.kind)
    return None


def _fix_text(sugg: dict | None) -> str:
    return " Suggestion jointe : " + sugg["reason"] + "." if sugg else ""


# -- geometry ---------------------------------------------------------------------------------

def check_missing_point(i, ctx):
    if ctx.has_point[i]:
        return
    sugg = _better_point(i, ctx)
    b = ctx.bureaux[i]
    if b.id in ctx.areas or b.id in ctx.voters:
        # Its voters are found by its area or the register's addresses, not by its point: left
        # unplaced on purpose (an untrustworthy geocode), it misleads nobody, but a person should
        # place it so that voters get a map and directions.
        yield Flag(WARNING, "Le bureau n'a pas de position (laissé sans point plutôt qu'à un endroit douteux) : "
                            "ses électeurs le trouvent par son secteur ou le répertoire électoral, mais placez-le "
                            "à la main pour leur donner une carte et un itinéraire." + _fix_text(sugg),
                   suggestion=sugg)
        return
    yield Flag(ERROR, "Le bureau n'a pas de position : placez-le (adresse géocodée ou point relevé "
                      "sur la carte) avant publication." + _fix_text(sugg), suggestion=sugg)


def check_null_island(i, ctx):
    b = ctx.bureaux[i]
    if abs(b.lon) < 1e-9 and abs(b.lat) < 1e-9:
        sugg = _better_point(i, ctx)
        yield Flag(ERROR, "Position (0, 0) : c'est une valeur par défaut, pas un lieu (golfe de Guinée). "
                          "Géocodez l'adresse ou placez le bureau à la main." + _fix_text(sugg), suggestion=sugg)


def check_lonlat_swapped(i, ctx):
    b = ctx.bureaux[i]
    if not ctx.in_range[i] or ctx.located[i] != NO_COMMUNE or in_france(b.lon, b.lat):
        return
    if abs(b.lat) > 180 or abs(b.lon) > 90:
        return
    j, _, _ = ctx.locate_lonlat(b.lat, b.lon)
    if j == NO_COMMUNE and not in_france(b.lat, b.lon):
        return
    where = ("dans " + ctx.name(j)) if j != NO_COMMUNE else "en France"
    note = "" if j == ctx.declared[i] or j == NO_COMMUNE else f" (attention : pas dans la commune déclarée {b.code_insee})"
    yield Flag(ERROR, f"Longitude et latitude inversées : ({b.lon:.5f}, {b.lat:.5f}) tombe hors de France ; "
                      f"dans l'ordre longitude, latitude le point tombe {where}{note}. Inversez les deux "
                      "valeurs (en GeoJSON la longitude vient d'abord).",
               suggestion=suggestion(b.lat, b.lon, "longitude et latitude remises dans l'ordre", "swap"))


@cache
def _unprojector(crs: str) -> Transformer:
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)


def _unproject_candidates(a: float, b: float, i: int, ctx):
    """(score, lon, lat, crs name, commune idx) for every reading of (a, b) as metres."""
    for crs, label in PROJECTED_CRS:
        for x, y, swapped in ((a, b, False), (b, a, True)):
            lon, lat = _unprojector(crs).transform(x, y)
            if not in_range(lon, lat):
                continue
            j, _, _ = ctx.locate_lonlat(lon, lat)
            score = 3 if j != NO_COMMUNE and j == ctx.declared[i] else 2 if j != NO_COMMUNE else int(in_france(lon, lat))
            if score:
                yield score, lon, lat, label + (" (x et y inversés)" if swapped else ""), j


def check_projected_coordinates(i, ctx):
    b = ctx.bureaux[i]
    if ctx.in_range[i] or max(abs(b.lon), abs(b.lat)) < 1000:  # metres are large numbers
        return
    best = max(_unproject_candidates(b.lon, b.lat, i, ctx), key=lambda c: c[0], default=None)
    if best is None:
        return
    score, lon, lat, label, j = best
    if score >= 2:
        yield Flag(ERROR, f"Coordonnées en mètres ({label}) dans les champs longitude/latitude : converties en "
                          f"degrés, elles tombent dans {ctx.name(j)}. Enregistrez la position en WGS84 "
                          "(longitude, latitude en degrés).",
                   suggestion=suggestion(lon, lat, f"converti depuis {label}", "unproject"))
    else:
        yield Flag(ERROR, "Coordonnées en mètres (système projeté non reconnu) dans les champs longitude/latitude : "
                          "enregistrez la position en WGS84 (longitude, latitude en degrés).")


def check_out_of_range(i, ctx):
    if ctx.has_point[i] and not ctx.in_range[i]:
        yield Flag(ERROR, "Coordonnées hors limites (longitude entre -180 et 180, latitude entre -90 et 90) et "
                          "non reconnues comme une projection connue : corrigez la position.")


def check_outside_france(i, ctx):
    b = ctx.bureaux[i]
    if ctx.located[i] == NO_COMMUNE and not in_france(b.lon, b.lat):
        sugg = _sign_flipped(i, ctx) or _better_point(i, ctx)
        yield Flag(ERROR, f"Le point ({b.lon:.5f}, {b.lat:.5f}) est hors de France : signe de la longitude, "
                          "degrés-minutes-secondes écrits comme des décimales ? Corrigez la position."
                   + _fix_text(sugg), suggestion=sugg)


def _sign_flipped(i: int, ctx) -> dict | None:
    """The point with a sign dropped or added, when that lands in the declared commune."""
    b = ctx.bureaux[i]
    for lon, lat in ((-b.lon, b.lat), (b.lon, -b.lat), (-b.lon, -b.lat)):
        j, _, _ = ctx.locate_lonlat(lon, lat)
        if j != NO_COMMUNE and j == ctx.declared[i]:
            return suggestion(lon, lat, "signe corrigé : le point tombe alors dans sa commune", "sign")
    return None


def check_outside_coverage(i, ctx):
    if ctx.located[i] != NO_COMMUNE:
        return
    near = ctx.index.nearest(ctx.x[i], ctx.y[i], ctx.thresholds.boundary_margin_m)
    if near is not None:
        return  # at the edge of the data: outside_declared_commune says how far
    k = int(ctx.declared[i])
    if k != NO_COMMUNE and not ctx.index.has_outline[k]:
        # its commune is published without an outline: the point in the hole it leaves is expected
        yield Flag(INFO, f"{ctx.name(k)} n'a pas de contour dans les données : le point du bureau ne peut pas "
                         "être contrôlé par rapport à la commune. Vérifiez-le sur une carte.")
        return
    deps = ", ".join(sorted(ctx.departements))
    sugg = _better_point(i, ctx)
    yield Flag(ERROR, f"Le point est en France mais hors des communes chargées (département(s) {deps}) : "
                      "adresse géocodée dans une autre commune du même nom ? Corrigez la position, ou chargez "
                      "le fichier de communes qui convient (--communes)." + _fix_text(sugg), suggestion=sugg)


# -- commune ----------------------------------------------------------------------------------

def check_unknown_commune(i, ctx):
    if ctx.declared[i] != NO_COMMUNE:
        return
    b = ctx.bureaux[i]
    j = ctx.located[i] if ctx.usable[i] else NO_COMMUNE
    if j != NO_COMMUNE and b.code_insee in ctx.commune(j).codes_postaux:
        return  # a postcode: postcode_as_insee says so
    where = f" Le point tombe dans {ctx.name(j)}." if j != NO_COMMUNE else ""
    sugg = ({"code_insee": ctx.commune(j).code, "reason": f"le point est dans {ctx.name(j)}"}
            if j != NO_COMMUNE else None)
    postcode = ctx.by_postcode.get(b.code_insee)
    why = (f"c'est le code postal de {', '.join(ctx.name(k) for k in postcode)} : mettez le code INSEE"
           if postcode else "faute de frappe, commune fusionnée, ou autre département ?")
    yield Flag(ERROR, f"code_insee {b.code_insee} n'est pas une commune des données chargées ({why}).{where} "
                      "Corrigez le code INSEE.", suggestion=sugg)


def check_unknown_served_commune(i, ctx):
    unknown = [c for c in dict.fromkeys(ctx.bureaux[i].communes_served) if c not in ctx.index.by_code]
    if unknown:
        yield Flag(ERROR, f"communes_served contient {', '.join(unknown)}, inconnu(s) dans les données chargées "
                          "(code fusionné ou faute de frappe ?) : les électeurs de ces communes ne trouveraient "
                          "pas leur bureau. Corrigez la liste.", extra={"unknown": unknown})


def check_postcode_as_insee(i, ctx):
    """code_insee is the postcode of the commune the point falls in (57500 is Saint-Avold's
    postcode and Neufmoulins' INSEE code): the commune to suggest is that one, never the
    commune the code happens to name."""
    b = ctx.bureaux[i]
    j = int(ctx.located[i])
    if j == NO_COMMUNE or j == ctx.declared[i] or b.code_insee not in ctx.commune(j).codes_postaux:
        return
    if ctx.declared[i] != NO_COMMUNE and not ctx.outside_m[i] > ctx.thresholds.boundary_margin_m:
        return  # just across the border of its commune: outside_declared_commune says how far
    here = ctx.commune(j)
    named = (f" et le code INSEE de {ctx.name(int(ctx.declared[i]))}" if ctx.declared[i] != NO_COMMUNE
             else ", pas un code INSEE")
    served = (" Remplacez-le aussi dans communes_served." if b.code_insee in b.communes_served else "")
    yield Flag(ERROR, f"code_insee {b.code_insee} est le code postal de {ctx.name(j)}, où se trouve le point,"
                      f"{named} : confusion entre code postal et code INSEE. Mettez code_insee {here.code}.{served}",
               suggestion={"code_insee": here.code,
                           "reason": f"{b.code_insee} est le code postal de {here.nom}, qui contient le point"},
               extra={"falls_in": here.code, "postcode": b.code_insee})


def check_outside_declared_commune(i, ctx):
    d = ctx.outside_m[i]
    if not d > 0:  # inside, or the declared commune is unknown (nan)
        return
    t = ctx.thresholds
    b = ctx.bureaux[i]
    home = ctx.name(int(ctx.declared[i]))
    j = int(ctx.located[i])
    where = f"dans {ctx.name(j)}" if j != NO_COMMUNE else "hors de toute commune chargée"
    extra = {"falls_in": ctx.commune(j).code if j != NO_COMMUNE else None}
    if d <= t.boundary_noise_m:
        yield Flag(INFO, f"Le point est à {metres(d)} hors du contour de {home}, {where}, dans l'imprécision "
                         "des contours simplifiés : rien à faire si le bâtiment est bien dans la commune.",
                   distance_m=d, extra=extra)
        return
    official = ""
    c = ctx.commune(int(ctx.declared[i]))
    ref = ctx.reference(i)
    if c.has_mairie_point and ref is not None and ref.rejected_by:
        mx, my = to_metric_anywhere(c.mairie_lon, c.mairie_lat)
        if ctx.distance(i, mx, my) <= 5:
            how = ("géocodez l'adresse du bureau (--regeocode) ou placez-le à la main" if ctx.regeocoded is None
                   else "placez-le à son adresse, sur une carte")
            official = (" Ce point est celui de la mairie dans l'Annuaire de l'administration, qui est faux "
                        f"(voir les constats sur la référence) : ne le recopiez pas, {how}.")
            extra["copied_official_mairie_point"] = True
    sugg = _better_point(i, ctx)
    if sugg is None and not official and j != NO_COMMUNE and ctx.commune(j).code in b.communes_served:
        sugg = {"code_insee": ctx.commune(j).code,
                "reason": f"si le bâtiment est bien à {ctx.commune(j).nom}, commune que ce bureau sert aussi"}
    if d <= t.boundary_margin_m:
        yield Flag(WARNING, f"Le point est à {metres(d)} hors de {home}, {where} : plus que l'imprécision "
                            f"habituelle des contours ({metres(t.boundary_noise_m)}), moins que "
                            f"{metres(t.boundary_margin_m)}. Vérifiez sur une carte que le bâtiment est bien "
                            f"dans la commune.{official}" + _fix_text(sugg),
                   distance_m=d, suggestion=sugg, extra=extra)
        return
    yield Flag(ERROR, f"Le point est à {metres(d)} hors de {home}, {where} : corrigez la position (ou le "
                      f"code_insee si le bureau est vraiment là).{official}" + _fix_text(sugg),
               distance_m=d, suggestion=sugg, extra=extra)


def check_served_commune_far(i, ctx):
    b = ctx.bureaux[i]
    far = []
    for code in dict.fromkeys(b.communes_served):
        ref = ctx.references.get(code)
        if code == b.code_insee or ref is None:
            continue
        d = ctx.distance(i, ref.x, ref.y)
        if d > ctx.thresholds.served_far_m:
            far.append((d, code))
    if far:
        far.sort(reverse=True)
        names = ", ".join(f"{ctx.name(ctx.index.by_code[c])} à {metres(d)}" for d, c in far)
        yield Flag(WARNING, f"Les électeurs de {names} sont envoyés à ce bureau, au-delà de "
                            f"{metres(ctx.thresholds.served_far_m)} : vérifiez la table des communes servies.",
                   distance_m=far[0][0], extra={"communes": [c for _, c in far]})


#: How many commune names a finding spells out; the full list is in ``extra["communes"]``.
LISTED_COMMUNES = 12


def _commune_list(ctx, members: list[int]) -> str:
    names = [ctx.name(k) for k in members[:LISTED_COMMUNES]]
    more = len(members) - len(names)
    return ", ".join(names) + (f" et {more} autre{'s' if more > 1 else ''} (liste complète : rapport json, "
                               "champ extra.communes)" if more else "")


def check_commune_without_bureau(ctx):
    """One finding per département: the communes no bureau serves, listed (a file covering
    a few communes of a département would otherwise give hundreds of findings)."""
    deps = {ctx.commune(int(d)).departement for d in ctx.declared if d != NO_COMMUNE}
    for dep in sorted(deps):
        members = [k for k, c in enumerate(ctx.index.communes) if c.departement == dep]
        missing = [k for k in members if not ctx.serving.get(ctx.commune(k).code)]
        if not missing:
            continue
        # A file covering most of a département is meant to cover all of it (a primary);
        # one covering a few communes (a city) is not, and the others are only listed.
        complete = len(missing) <= len(members) / 2
        n = len(missing)
        extra = {"departement": dep, "communes": [ctx.commune(k).code for k in missing], "count": n,
                 "communes_in_departement": len(members)}
        what = "commune" if n == 1 else "communes"
        if complete:
            flag = Flag(ERROR, f"Aucun bureau ne sert {n} {what} du département {dep} : {_commune_list(ctx, missing)}. "
                               "Leurs électeurs n'auront pas de réponse : ajoutez chacune aux communes_served "
                               "d'un bureau.", extra=extra)
        else:
            flag = Flag(INFO, f"Le fichier ne couvre qu'une partie du département {dep} ({len(members) - n} "
                              f"commune(s) servie(s) sur {len(members)}) : {n} {what} sans bureau, "
                              f"{_commune_list(ctx, missing)}. Rien à faire si c'est voulu (liste d'une ville, "
                              "d'une circonscription).", extra=extra)
        yield None, flag


# -- mairie -----------------------------------------------------------------------------------

def check_mairie_named_far(i, ctx):
    if not ctx.at_mairie[i] or ctx.declared[i] == NO_COMMUNE:
        return
    b, t = ctx.bureaux[i], ctx.thresholds
    ref = ctx.reference(i)
    if ref is None:
        return
    if not ref.precise:
        advice = ("Relancez avec --regeocode pour géocoder l'adresse de la mairie." if ctx.regeocoded is None
                  else "L'adresse de la mairie, géocodée (--regeocode), n'a pas donné de position assez précise : "
                       "vérifiez sur une carte que le bureau est bien à la mairie.")
        yield Flag(INFO, f"Le bureau se dit à la mairie mais aucune position fiable de la mairie de "
                         f"{ctx.name(int(ctx.declared[i]))} n'est connue (voir les constats sur la référence) : "
                         f"distance non contrôlée. {advice}",
                   extra={"reference": ref.kind})
        return
    d = ctx.distance(i, ref.x, ref.y)
    if d <= t.mairie_warning_m:
        return
    # Corroborated: two sources agree on the mairie (official point and geocoded address), or
    # other bureaux of the commune that say they are at the mairie stand at the reference.
    others = [j for j in ctx.by_code[b.code_insee] if j != i and ctx.usable[j] and ctx.at_mairie[j]
              and ctx.distance(j, ref.x, ref.y) <= t.mairie_warning_m]
    corroborated = ref.corroborated or bool(others)
    severity = ERROR if corroborated and d > t.mairie_error_m else WARNING
    why = ("confirmée par " + ("l'adresse géocodée" if ref.corroborated else f"{len(others)} autre(s) bureau(x)")
           if corroborated else "non confirmée par une seconde source")
    yield Flag(severity, f"Le bureau se dit à la mairie (« {b.name} ») mais se trouve à {metres(d)} de la mairie de "
                         f"{ctx.name(int(ctx.declared[i]))} ({ref.label}, {why}). C'est l'erreur de 2017 (une maison "
                         "privée à une centaine de mètres de la mairie) : vérifiez le point et corrigez-le.",
               distance_m=d, extra={"reference": ref.kind, "corroborated": corroborated},
               suggestion=suggestion(ref.lon, ref.lat, f"la mairie ({ref.label})", ref.kind))


def check_single_bureau_far_from_mairie(i, ctx):
    b, t = ctx.bureaux[i], ctx.thresholds
    if ctx.declared[i] == NO_COMMUNE or len(ctx.by_code[b.code_insee]) != 1:
        return
    if ctx.at_mairie[i] or ctx.public_building[i]:
        return
    ref = ctx.reference(i)
    if ref is None or ref.kind == INTERIOR:
        return
    d = ctx.distance(i, ref.x, ref.y)
    if d > t.single_bureau_far_m:
        yield Flag(WARNING, f"Seul bureau de {ctx.name(int(ctx.declared[i]))}, à {metres(d)} de la mairie, et ni son "
                            "nom ni son adresse ne nomment un bâtiment public (école, salle...) : vérifiez qu'il "
                            "ne s'agit pas d'une adresse privée, et nommez le bâtiment.",
                   distance_m=d, extra={"reference": ref.kind},
                   suggestion=suggestion(ref.lon, ref.lat, f"la mairie ({ref.label})", ref.kind))


# -- geocode quality ----------------------------------------------------------------------------

def check_geocode_imprecise(i, ctx):
    b = ctx.bureaux[i]
    if b.location_source in NOT_GEOCODED or b.geocode_type not in ("street", "locality", "municipality"):
        return
    sugg = _better_point(i, ctx)
    if b.geocode_type == "municipality":
        yield Flag(ERROR, "Position géocodée au niveau de la commune (son centre), pas du bâtiment : géocodez "
                          "l'adresse complète ou placez le bureau à la main." + _fix_text(sugg), suggestion=sugg)
    else:
        level = "de la rue" if b.geocode_type == "street" else "du lieu-dit"
        yield Flag(WARNING, f"Position géocodée au niveau {level}, pas du numéro : le bâtiment peut être "
                            "à plusieurs centaines de mètres. Vérifiez le point." + _fix_text(sugg), suggestion=sugg)


def check_geocode_low_score(i, ctx):
    b = ctx.bureaux[i]
    if b.location_source in NOT_GEOCODED or b.geocode_score is None:
        return
    if b.geocode_score < ctx.thresholds.low_score:
        yield Flag(WARNING, f"Score de géocodage faible ({b.geocode_score:.2f} < {ctx.thresholds.low_score}) : "
                            "l'adresse trouvée n'est peut-être pas celle du bureau. Vérifiez le point.")


def check_centroid_like_point(i, ctx):
    k = int(ctx.declared[i])
    if k == NO_COMMUNE:
        return
    t = ctx.thresholds
    d = ctx.distance(i, *ctx.centroids[k])
    if d > t.centroid_m:
        return
    ref = ctx.reference(i)
    if ref is not None and ref.precise and ctx.distance(i, ref.x, ref.y) <= t.mairie_warning_m:
        return  # the mairie happens to be at the centre
    sugg = _better_point(i, ctx)
    yield Flag(WARNING, f"Le point est à {metres(d)} du centre géométrique de {ctx.name(k)} : c'est la position "
                        "de repli d'un géocodeur qui n'a pas trouvé l'adresse, pas un bâtiment. Vérifiez."
               + _fix_text(sugg), distance_m=d, suggestion=sugg)


def check_geocode_citycode_mismatch(i, ctx):
    g = (ctx.regeocoded or {}).get(i)
    b = ctx.bureaux[i]
    if g is None or not g.citycode or g.citycode == b.code_insee:
        return
    other = ctx.index.by_code.get(g.citycode)
    name = ctx.name(other) if other is not None else g.citycode
    if g.score is not None and g.score < ctx.thresholds.citycode_mismatch_score:
        yield Flag(INFO, f"L'adresse « {b.address} » n'est pas trouvée dans sa commune par le géocodeur (meilleure "
                         f"réponse : {g.label}, dans {name}, score {g.score:.2f}) : position non recoupée.",
                   extra={"geocoded": g.to_dict()})
        return
    yield Flag(WARNING, f"L'adresse « {b.address} » est trouvée par le géocodeur dans {name} (score {g.score}), pas "
                        f"dans la commune déclarée {b.code_insee} : adresse incomplète, homonyme, ou mauvais "
                        "code_insee ? Vérifiez.", extra={"geocoded": g.to_dict()})


def check_regeocode_far(i, ctx):
    g = (ctx.regeocoded or {}).get(i)
    b = ctx.bureaux[i]
    if g is None or g.type != "housenumber" or (g.citycode and g.citycode != b.code_insee):
        return
    if g.score is not None and g.score < ctx.thresholds.low_score:
        return
    j, x, y = ctx.locate_lonlat(g.lon, g.lat)
    d = ctx.distance(i, x, y)
    if d > ctx.thresholds.regeocode_far_m:
        yield Flag(WARNING, f"L'adresse « {b.address} » géocodée (numéro, score {g.score}) est à {metres(d)} du point "
                            "enregistré : l'un des deux est faux. Vérifiez sur place ou sur une carte.",
                   distance_m=d, extra={"geocoded": g.to_dict()},
                   suggestion=suggestion(g.lon, g.lat, f"adresse géocodée ({g.label})", "regeocode"))


def check_regeocode_not_found(i, ctx):
    if ctx.regeocoded is not None and i in ctx.regeocoded and ctx.regeocoded[i] is None:
        yield Flag(INFO, f"L'adresse « {ctx.bureaux[i].address} » n'a pas été trouvée par le géocodeur : position "
                         "non recoupée. Vérifiez l'orthographe de l'adresse.")


# -- consistency --------------------------------------------------------------------------------

def check_duplicate_id(ctx):
    counts = Counter(b.id for b in ctx.bureaux)
    for i, b in enumerate(ctx.bureaux):
        if counts[b.id] > 1:
            yield i, Flag(ERROR, f"L'identifiant {b.id!r} est utilisé par {counts[b.id]} bureaux : rendez chaque "
                                 "id unique (les électeurs et les corrections le désignent).")


def _same_point_groups(ctx) -> list[list[int]]:
    grid = max(ctx.thresholds.same_point_m, 1e-3)
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i in np.nonzero(ctx.usable & ctx.in_range)[0]:
        groups[(round(ctx.x[i] / grid), round(ctx.y[i] / grid))].append(int(i))
    return [g for g in groups.values() if len(g) > 1]


def check_shared_point_across_communes(ctx):
    for group in _same_point_groups(ctx):
        codes = {ctx.bureaux[i].code_insee for i in group}
        if len(codes) < 2:
            continue
        for i in group:
            b = ctx.bureaux[i]
            others = [ctx.bureaux[j] for j in group if ctx.bureaux[j].code_insee != b.code_insee]
            ids = ", ".join(f"{o.id} ({o.code_insee})" for o in others)
            if ctx.outside_m[i] == 0:
                yield i, Flag(INFO, f"Même point que {ids}, d'une autre commune ; ce point est bien dans la commune "
                                    "de ce bureau-ci.", extra={"shared_with": [o.id for o in others]})
            else:
                sugg = _better_point(i, ctx)
                yield i, Flag(WARNING, f"Même point que {ids}, d'une autre commune : point recopié d'un autre "
                                       "bureau ? Placez ce bureau à sa propre adresse." + _fix_text(sugg),
                              suggestion=sugg, extra={"shared_with": [o.id for o in others]})


def check_shared_point_different_address(ctx):
    t = ctx.thresholds
    for group in _same_point_groups(ctx):
        for i in group:
            b = ctx.bureaux[i]
            others = [ctx.bureaux[j] for j in group
                      if ctx.bureaux[j].code_insee == b.code_insee and not same_street(ctx.bureaux[j].address, b.address)]
            if not others:
                continue
            ref = ctx.reference(i)
            at_ref = (ctx.at_mairie[i] and ref is not None and ref.precise
                      and ctx.distance(i, ref.x, ref.y) <= t.mairie_warning_m)
            ids = ", ".join(f"{o.id} (« {o.address} »)" for o in others)
            if at_ref:
                yield i, Flag(INFO, f"Même point que {ids}, à une autre adresse ; ce bureau-ci est bien à la mairie.",
                              extra={"shared_with": [o.id for o in others]})
            else:
                sugg = _better_point(i, ctx)
                yield i, Flag(WARNING, f"Même point que {ids}, à une autre adresse : l'un des points a été recopié "
                                       "ou géocodé au centre de la commune. Vérifiez." + _fix_text(sugg),
                              suggestion=sugg, extra={"shared_with": [o.id for o in others]})


def check_same_address_different_points(ctx):
    t = ctx.thresholds
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, b in enumerate(ctx.bureaux):
        key = address_key(b.address)
        if key and ctx.usable[i] and ctx.in_range[i]:
            groups[(b.code_insee, key)].append(i)
    for group in groups.values():
        if len(group) < 2:
            continue
        centre = _building_point(group, ctx)
        for i in group:
            if centre is not None:
                d = ctx.distance(i, *centre)
            else:
                d = max(ctx.distance(i, ctx.x[j], ctx.y[j]) for j in group)
            if d <= t.same_building_m:
                continue
            others = [ctx.bureaux[j].id for j in group if j != i]
            sugg = None
            if centre is not None:
                lon, lat = to_lonlat(*centre)
                sugg = suggestion(lon, lat, "le point des autres bureaux de la même adresse", "same-address")
            yield i, Flag(WARNING, f"Même adresse que {', '.join(others)} mais à {metres(d)} "
                                   f"{'de leur point' if centre is not None else 'de l’un d’eux'} : les bureaux d'un "
                                   "même bâtiment doivent avoir le même point. Vérifiez lequel est juste.",
                          distance_m=d, suggestion=sugg, extra={"same_address_as": others})


def _building_point(group: list[int], ctx) -> tuple[float, float] | None:
    """Where a building's bureaux agree to stand: the point most of its *trusted* members
    share (inside their commune, not a street/municipality-level geocode; the others get
    their own findings), else, between two that disagree, the one at the re-geocoded
    address or at the (trusted) mairie when they say they are there. None: undecided."""
    t = ctx.thresholds
    trusted = [i for i in group if _trusted_point(i, ctx)] or group
    votes = Counter()
    for i in trusted:
        votes[i] = sum(1 for j in trusted if ctx.distance(i, ctx.x[j], ctx.y[j]) <= t.same_building_m)
    best, count = votes.most_common(1)[0]
    if count > len(trusted) / 2:
        return float(ctx.x[best]), float(ctx.y[best])
    g = (ctx.regeocoded or {}).get(trusted[0])
    if g is not None and g.type == "housenumber":
        gx, gy = to_metric_anywhere(g.lon, g.lat)
        near = [i for i in trusted if ctx.distance(i, gx, gy) <= t.same_building_m]
        if len(near) == 1:
            return float(ctx.x[near[0]]), float(ctx.y[near[0]])
    ref = ctx.reference(trusted[0])
    if ref is not None and ref.precise and all(ctx.at_mairie[i] for i in trusted):
        at_ref = [i for i in trusted if ctx.distance(i, ref.x, ref.y) <= t.mairie_warning_m]
        if len(at_ref) == 1:
            return float(ctx.x[at_ref[0]]), float(ctx.y[at_ref[0]])
    return None


def _trusted_point(i: int, ctx) -> bool:
    b = ctx.bureaux[i]
    imprecise = b.location_source not in NOT_GEOCODED and b.geocode_type in ("street", "locality", "municipality")
    return not imprecise and ctx.outside_m[i] <= ctx.thresholds.boundary_noise_m


# -- official bureau areas ----------------------------------------------------------------------

def check_outside_own_area(i, ctx):
    geoms = ctx.areas.get(ctx.bureaux[i].id)
    if not geoms:
        return
    point = shapely.Point(ctx.x[i], ctx.y[i])
    d = min(float(shapely.distance(point, g)) for g in geoms)
    if d <= 0:
        return
    if d <= ctx.thresholds.area_far_m:
        yield Flag(INFO, f"Le bureau est à {metres(d)} hors de son périmètre officiel : c'est normal quand "
                         "plusieurs bureaux partagent un bâtiment (à Paris en 2017, 450 bureaux sur 896).",
                   distance_m=d)
    else:
        yield Flag(WARNING, f"Le bureau est à {metres(d)} hors de son périmètre officiel, plus loin que "
                            f"{metres(ctx.thresholds.area_far_m)} : vérifiez le point ou l'identifiant du "
                            "périmètre.", distance_m=d)


def check_far_from_own_voters(i, ctx):
    """The register's view (REU import): a bureau is where its voters live. Far from all of
    them, or outside the area built from their addresses by more than the spread of one
    building, its point is doubtful; both distances are given."""
    voters = ctx.voters.get(ctx.bureaux[i].id)
    if voters is None or len(voters) == 0:
        return
    t = ctx.thresholds
    nearest = float(np.min(np.hypot(voters[:, 0] - ctx.x[i], voters[:, 1] - ctx.y[i])))
    geoms = ctx.areas.get(ctx.bureaux[i].id) or []
    point = shapely.Point(ctx.x[i], ctx.y[i])
    outside = min((float(shapely.distance(point, g)) for g in geoms), default=0.0)
    if nearest > t.voters_far_m:
        yield Flag(WARNING, f"Le bureau est à {metres(nearest)} de l'adresse la plus proche de ses électeurs "
                            f"(répertoire électoral) et à {metres(outside)} de leur périmètre : vérifiez le point.",
                   distance_m=nearest, extra={"outside_area_m": round(outside, 1)})
    elif outside > t.same_building_m:
        yield Flag(WARNING, f"Le bureau est à {metres(outside)} hors du périmètre estimé de ses électeurs "
                            f"(l'adresse la plus proche de ses électeurs est à {metres(nearest)}) : plus loin que "
                            "l'écart d'un bâtiment partagé, vérifiez le point.",
                   distance_m=outside, extra={"nearest_voter_m": round(nearest, 1)})


def check_area_unknown_bureau(ctx):
    ids = {b.id for b in ctx.bureaux}
    for bid in sorted(set(ctx.areas) - ids):
        yield None, Flag(WARNING, f"Le fichier des périmètres contient le bureau {bid!r}, absent du fichier des "
                                  "bureaux : ce périmètre ne sert à rien. Corrigez l'identifiant.",
                         extra={"area_bureau_id": bid})


def _bureau(func, **kw) -> Check:
    return Check(func.__name__.removeprefix("check_"), func, per_bureau=True, **kw)


def _dataset(func) -> Check:
    return Check(func.__name__.removeprefix("check_"), func, per_bureau=False, needs_position=False)


#: Every check, in the order they run (geometry first). Names are stable: reports, tests
#: and users' scripts refer to them.
CHECKS: tuple[Check, ...] = (
    _bureau(check_missing_point, needs_position=False, geometry=True),
    _bureau(check_null_island, geometry=True),
    _bureau(check_lonlat_swapped, geometry=True),
    _bureau(check_projected_coordinates, geometry=True),
    _bureau(check_out_of_range, geometry=True),
    _bureau(check_outside_france, geometry=True),
    _bureau(check_outside_coverage, geometry=True),
    _bureau(check_unknown_commune, needs_position=False),
    _bureau(check_unknown_served_commune, needs_position=False),
    _bureau(check_postcode_as_insee, commune=True),
    _bureau(check_outside_declared_commune, needs_commune=True),
    _bureau(check_served_commune_far, needs_commune=True),
    _dataset(check_commune_without_bureau),
    _bureau(check_mairie_named_far, needs_commune=True),
    _bureau(check_single_bureau_far_from_mairie, needs_commune=True),
    _bureau(check_geocode_imprecise),
    _bureau(check_geocode_low_score),
    _bureau(check_centroid_like_point, needs_commune=True),
    _bureau(check_geocode_citycode_mismatch, needs_position=False),
    _bureau(check_regeocode_far),
    _bureau(check_regeocode_not_found, needs_position=False),
    _dataset(check_duplicate_id),
    _dataset(check_shared_point_across_communes),
    _dataset(check_shared_point_different_address),
    _dataset(check_same_address_different_points),
    _bureau(check_outside_own_area),
    _bureau(check_far_from_own_voters),
    _dataset(check_area_unknown_bureau),
)

#: The French label of every finding's check, by its stable code: the checks above, the
#: checks of the mairie reference (``reference.REFERENCE_CHECKS``) and the findings made
#: while loading (``run.LOAD_CHECKS``). Reports show the label with the code beside it.
CHECK_LABELS: dict[str, str] = {
    "missing_point": "Bureau sans position",
    "null_island": "Position (0, 0)",
    "lonlat_swapped": "Longitude et latitude inversées",
    "projected_coordinates": "Coordonnées en mètres",
    "out_of_range": "Coordonnées hors limites",
    "outside_france": "Point hors de France",
    "outside_coverage": "Point hors des communes chargées",
    "unknown_commune": "Code INSEE inconnu",
    "unknown_served_commune": "Commune servie inconnue",
    "postcode_as_insee": "Code postal à la place du code INSEE",
    "outside_declared_commune": "Point hors de sa commune",
    "served_commune_far": "Commune servie très éloignée",
    "commune_without_bureau": "Communes sans bureau",
    "mairie_named_far": "« Mairie » loin de la mairie",
    "single_bureau_far_from_mairie": "Seul bureau, loin de la mairie",
    "geocode_imprecise": "Géocodage imprécis",
    "geocode_low_score": "Score de géocodage faible",
    "centroid_like_point": "Point au centre de la commune",
    "geocode_citycode_mismatch": "Adresse trouvée dans une autre commune",
    "regeocode_far": "Adresse géocodée loin du point",
    "regeocode_not_found": "Adresse non trouvée",
    "duplicate_id": "Identifiant en double",
    "shared_point_across_communes": "Même point qu'un bureau d'une autre commune",
    "shared_point_different_address": "Même point, autre adresse",
    "same_address_different_points": "Même adresse, points différents",
    "outside_own_area": "Hors de son périmètre",
    "far_from_own_voters": "Loin de ses électeurs",
    "area_unknown_bureau": "Périmètre d'un bureau inconnu",
    "reference_missing": "Mairie sans point officiel",
    "reference_outside_commune": "Point officiel de la mairie hors de la commune",
    "reference_shared": "Point officiel de la mairie partagé",
    "reference_geocode_disagrees": "Point officiel et adresse de la mairie en désaccord",
    "correction_applied": "Correction appliquée",
    "correction_unknown_bureau": "Correction d'un bureau inconnu",
    "regeocode_unavailable": "Géocodeur indisponible",
}


def label(code: str) -> str:
    """The French label of a check code (the code itself when it has none)."""
    return CHECK_LABELS.get(code, code)


CHECK_NAMES = tuple(c.name for c in CHECKS)


def run_checks(ctx: ValidationContext, checks: Iterable[Check] = CHECKS) -> list[Finding]:
    """Run ``checks`` in order over the context; returns the findings (unsorted)."""
    findings: list[Finding] = []
    ctx.usable = np.ones(len(ctx.bureaux), dtype=bool)
    ctx.commune_known = np.ones(len(ctx.bureaux), dtype=bool)
    for chk in checks:
        if not chk.per_bureau:
            for i, flag in chk.func(ctx):
                findings.append(flag.to_finding(chk.name, None if i is None else ctx.bureaux[i]))
            continue
        for i, bureau in enumerate(ctx.bureaux):
            if (chk.needs_position and not ctx.usable[i]) or (chk.needs_commune and not ctx.commune_known[i]):
                continue
            for flag in chk.func(i, ctx):
                findings.append(flag.to_finding(chk.name, bureau))
                if chk.geometry and (flag.severity == ERROR or not ctx.has_point[i]):
                    ctx.usable[i] = False  # no position the later checks could judge
                if chk.commune and flag.severity == ERROR:
                    ctx.commune_known[i] = False
    return findings
