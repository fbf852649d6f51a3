"""The French sentences shown to voters, in one place so they read consistently."""

from __future__ import annotations


def _where(bureau) -> str:
    return f"{bureau.name}, {bureau.address}" if bureau.address else bureau.name


def found(commune, bureau, method: str) -> str:
    if method == "area":
        return f"Votre bureau de vote : {_where(bureau)} ({commune.nom})."
    if method == "commune":
        return f"Les électeurs de {commune.nom} votent au bureau {_where(bureau)}."
    return (f"Plusieurs bureaux de vote servent {commune.nom} et nous n'avons pas leur découpage : "
            f"le plus proche de cette adresse est {_where(bureau)}. Ce n'est peut-être pas le vôtre : "
            "vérifiez sur votre carte électorale ou auprès de la mairie.")


def nearest_warning(commune) -> str:
    return (f"Bureau le plus proche parmi ceux de {commune.nom}, faute de découpage officiel : "
            "vérifiez sur votre carte électorale.")


def near_boundary(other, distance_m: float) -> str:
    return (f"Ce lieu est à environ {round(distance_m)} m de la commune {other.nom} ({other.code}) : "
            "les limites communales utilisées sont simplifiées, vérifiez votre commune.")


def near_edge(commune, distance_m: float) -> str:
    return (f"Ce lieu est à environ {round(distance_m)} m de la limite de {commune.nom}, "
            "au bord de la zone couverte : vérifiez votre commune.")


def outline_unknown(commune, mairie_distance_m: float | None = None) -> str:
    where = ("" if mairie_distance_m is None else
             f" Ce lieu n'est dans aucun contour connu ; sa mairie est la plus proche (à {mairie_distance_m / 1000:.1f} km).")
    return (f"Le contour de {commune.nom} ({commune.code}) n'est pas publié dans nos sources : "
            f"la commune est déduite sans ses limites.{where} Vérifiez votre commune auprès de la mairie.")


def outside_all_communes() -> str:
    return "Ce lieu n'est dans aucune commune couverte par ce service."


def commune_not_covered(commune) -> str:
    tel = f" au {commune.mairie_telephone}" if commune.mairie_telephone else ""
    return (f"Aucun bureau de vote de ce service ne couvre {commune.nom}. "
            f"Renseignez-vous auprès de la mairie{tel}.")


def several_unplaced(commune) -> str:
    return (f"Plusieurs bureaux de vote servent {commune.nom} et leur emplacement n'est pas encore connu : "
            "consultez la liste ci-dessous ou votre carte électorale.")
