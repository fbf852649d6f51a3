"""Every sentence a lookup says to a voter, keyed by code, in French (the contract) and English.

A result keeps its sentence's key and values (``LookupResult.message_key``/``message_params``,
``ResultWarning.code``/``params``), so the English page says the same thing from the same
values. A key without English keeps the French sentence (the page marks it ``lang="fr"``).

>>> say("found.commune", commune="Le Ban-Saint-Martin", where="Mairie")
'Les électeurs du Ban-Saint-Martin votent au bureau Mairie.'
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..french import a, de

PRECISION_FR = {"street": "de la rue", "locality": "du lieu-dit", "municipality": "de la commune"}

FR = {
    # -- answers ---------------------------------------------------------------------------
    "found.register": ("Votre bureau de vote : {where} ({commune}), celui des électeurs inscrits "
                       "à cette adresse d'après le répertoire électoral unique."),
    "found.area": "Votre bureau de vote : {where} ({commune}).",
    "found.commune": "Les électeurs {de_commune} votent au bureau {where}.",
    "found.nearest_in_commune": (
        "Plusieurs bureaux de vote servent {commune} et nous n'avons pas leur découpage : "
        "le plus proche de cette adresse est {where}. Ce n'est peut-être pas le vôtre : "
        "vérifiez sur votre carte électorale ou auprès de la mairie."),
    "outside.all_communes": "Ce lieu n'est dans aucune commune couverte par ce service.",
    "outside.swapped": ("Ce point n'est dans aucune commune couverte, mais avec la longitude et la latitude "
                        "inversées il serait {a_commune} : vérifiez l'ordre (longitude {lon}, latitude {lat})."),
    "invalid.null_island": ("Les coordonnées (0, 0) ne sont pas une position : votre appareil n'a sans doute pas "
                            "pu vous localiser. Saisissez votre adresse."),
    "outside.elsewhere": "{commune} ({departement}) n'est pas couverte par ce service, qui couvre {covered}.",
    "outside.commune_not_covered": ("Aucun bureau de vote de ce service ne couvre {commune}. "
                                    "Renseignez-vous auprès de la mairie{tel}."),
    "outside.departement": ("{commune} n'est pas dans le département {departement} couvert par ce formulaire : "
                            "renseignez-vous auprès de la mairie."),
    "ambiguous.unplaced": ("Plusieurs bureaux de vote servent {commune} et leur emplacement n'est pas encore "
                           "connu : consultez la liste ci-dessous ou votre carte électorale."),
    "ambiguous.which_commune": ("Nous ne savons pas dans quelle commune se trouve « {text} » : ajoutez le nom "
                                "de la commune ou le code postal, ou choisissez dans la liste."),
    "ambiguous.several_places": ("Plusieurs lieux correspondent à « {text} » : précisez la commune ou le code "
                                 "postal, ou choisissez dans la liste."),
    "ambiguous.which_commune_of_postcode": ("Plusieurs communes ont ce code postal et nous ne savons pas dans "
                                            "laquelle se trouve « {text} » : ajoutez le nom de la commune, ou "
                                            "choisissez dans la liste."),
    "ambiguous.which_name": ("Nous ne reconnaissons pas exactement la commune de « {text} » : choisissez-la "
                             "dans la liste, ou vérifiez l'orthographe."),
    "ambiguous.homonym": ("Plusieurs communes portent le nom écrit dans « {text} » : précisez le code postal "
                          "ou le département, ou choisissez dans la liste."),
    "ambiguous.need_housenumber": (
        "Plusieurs bureaux de vote servent {commune} et seule la position {precision} a été trouvée : "
        "indiquez le numéro dans la rue pour connaître votre bureau, ou consultez la liste ci-dessous "
        "et votre carte électorale."),
    "not_found": "Adresse introuvable. Vérifiez l'orthographe ou indiquez la commune.",
    # -- warnings (key: "warning." + the warning's code) -------------------------------------
    "warning.nearest_in_commune": ("Bureau le plus proche parmi ceux {de_commune}, faute de découpage officiel : "
                                   "vérifiez sur votre carte électorale."),
    "warning.near_commune_boundary": ("Ce lieu est à environ {distance} m de la commune {other} ({other_code}) : "
                                      "les limites communales utilisées sont simplifiées, vérifiez votre commune."),
    "warning.near_coverage_edge": ("Ce lieu est à environ {distance} m de la limite {de_commune}, "
                                   "au bord de la zone couverte : vérifiez votre commune."),
    "warning.geocode_precision": ("Adresse reconnue au niveau {precision} seulement : cela suffit, "
                                  "un seul bureau de vote sert {commune}."),
    "warning.near_area_boundary": (
        "Cette adresse est à environ {distance} m d'électeurs inscrits au bureau {other} : "
        "à la limite entre deux bureaux, le plus probable est indiqué. Pour en être sûr, regardez votre "
        "carte électorale ou le service « Interroger sa situation électorale » sur service-public.fr."),
    "warning.commune_disagreement": (
        "Le géocodage place cette adresse {a_geo}, à environ {distance} m de la limite "
        "avec {poly} : nous retenons {geo}, vérifiez votre commune."),
    "warning.bureau_position_doubtful": (
        "L'emplacement publié pour le bureau {bureau} semble faux (la vérification des données l'a signalé) : "
        "il n'est pas montré sur la carte. "
        "Fiez-vous à l'adresse du bureau et, en cas de doute, contactez la mairie{tel}."),
    "warning.bureau_position_unverified": (
        "L'emplacement du bureau {bureau} sur la carte est à vérifier (la vérification des données a un doute) : "
        "fiez-vous d'abord à son adresse et, en cas de doute, contactez la mairie{tel}."),
    "warning.commune_outline_unknown": ("Le contour {de_commune} ({insee}) n'est pas publié dans nos sources : "
                                        "la commune est déduite sans ses limites. Vérifiez votre commune "
                                        "auprès de la mairie."),
    "warning.commune_outline_unknown_near": (
        "Le contour {de_commune} ({insee}) n'est pas publié dans nos sources : la commune est déduite sans ses "
        "limites. Ce lieu n'est dans aucun contour connu ; sa mairie est la plus proche (à {km} km). "
        "Vérifiez votre commune auprès de la mairie."),
    "warning.geocoder_commune_overridden": (
        "Le géocodage indique {geo}, mais ce point est à l'intérieur {de_poly} : "
        "nous retenons {poly} (limites officielles), vérifiez votre adresse."),
    "warning.geocoder_commune_not_covered": ("Le géocodage indique {geo}, mais ce point est hors des communes "
                                             "couvertes : vérifiez votre adresse."),
}

EN = {
    "found.register": "Your polling station: {where} ({commune}), the one of the voters registered at this address.",
    "found.area": "Your polling station: {where} ({commune}).",
    "found.commune": "Voters of {commune} vote at {where}.",
    "found.nearest_in_commune": (
        "Several polling stations serve {commune} and we do not have their boundaries: the nearest "
        "to this address is {where}. It may not be yours: check your voter card or ask the town hall (mairie)."),
    "outside.commune_not_covered": ("No polling station of this service covers {commune}. "
                                    "Please ask the town hall (mairie)."),
    # statuses whose French sentence is not rebuilt word for word
    "status.not_found": "Address not found. Check the spelling or add the commune.",
    "status.outside_coverage": "This place is not covered by any polling station of this service.",
    "status.invalid": "This search is not valid: type an address or the name of a commune.",
    "status.ambiguous": "Several places match: please add the house number, the street and the commune.",
    "ambiguous.which_commune_of_postcode": ("Several communes share this postcode and we do not know which one "
                                            "“{text}” is in: add the commune's name, or choose from the list."),
    "outside.elsewhere": "{commune} ({departement}) is not covered by this service, which covers {covered}.",
    "ambiguous.which_name": ("We do not recognise the commune in “{text}” exactly: choose it from the list, or "
                             "check the spelling."),
    "ambiguous.homonym": ("Several communes bear the name written in “{text}”: add the postcode or the "
                          "département, or choose from the list."),
    "warning.near_commune_boundary": ("This place is close to another commune's boundary. The boundaries we use "
                                      "are simplified: check which commune you live in."),
    "warning.near_coverage_edge": "This place is close to the edge of the area this service covers: check your commune.",
    "warning.nearest_in_commune": ("Nearest polling station of your commune, because we do not have the official "
                                   "boundaries between stations: check your voter card."),
    "warning.geocode_precision": ("The address was only recognised at street or commune level; that is enough "
                                  "here, because a single polling station serves the commune."),
    "warning.bureau_position_doubtful": ("The published position of this polling station looks wrong, so it is "
                                         "not shown on the map: rely on its address and, if in doubt, contact "
                                         "the town hall (mairie)."),
    "warning.bureau_position_unverified": ("The position of this polling station on the map is uncertain: rely "
                                           "on its address first and, if in doubt, contact the town hall (mairie)."),
    "warning.commune_outline_unknown": ("The outline of this commune is not published in our sources: the "
                                        "commune is inferred without its boundaries. Check with the town hall."),
    "warning.geocoder_commune_overridden": ("The address search and the official commune boundaries disagree "
                                            "about the commune: we use the boundaries. Please check your address."),
    "warning.geocoder_commune_not_covered": ("The address search places this address in a commune this service "
                                             "does not cover: please check your address."),
    "warning.near_area_boundary": ("This address is close to voters registered at another polling station: "
                                   "the most likely one is shown. To be sure, check your voter card or the "
                                   "service « Interroger sa situation électorale » on service-public.fr."),
    "warning.commune_disagreement": ("This address is close to a commune boundary and the sources disagree: "
                                     "check which commune you live in."),
}

SENTENCES = {"fr": FR, "en": EN}


#: Parameters that are commune names: templates may also say ``{de_<name>}`` ("du Ban-Saint-Martin",
#: "d'Amnéville", "de Metz") and ``{a_<name>}`` ("au Ban-Saint-Martin", "à Metz").
NAME_PARAMS = ("commune", "geo", "poly")


def say(key: str, lang: str = "fr", **params) -> str:
    """The sentence ``key`` in ``lang`` (``KeyError`` when French has none either)."""
    if not params:
        return _template(key, lang)
    return say_items(key, tuple(params.items()), lang)


#: Parameters whose value belongs to one query (metres, coordinates, the typed text): a
#: sentence with one of them is made each time (about 2 µs) instead of memoised, where it
#: would only push out sentences other voters ask for.
PER_QUERY_PARAMS = frozenset({"distance", "lon", "lat", "text"})


def say_items(key: str, items: tuple, lang: str = "fr") -> str:
    """``say`` with its parameters as ((name, value), …), as results keep them."""
    for name, _ in items:
        if name in PER_QUERY_PARAMS:
            return _say.__wrapped__(key, lang, items)
    try:
        return _say(key, lang, items)
    except TypeError:  # a value that cannot be a cache key: said without the cache
        return _say.__wrapped__(key, lang, items)


def _template(key: str, lang: str) -> str:
    template = SENTENCES.get(lang, FR).get(key)
    return FR[key] if template is None else template


#: What the memo holds: sentences made of names only, chiefly an answer's (one per bureau and
#: commune, and language). 32,768 entries (about 520 bytes each, 17 MB when full) keep those of
#: the communes where 99.8 % of France's population lives (34,917 communes, one bureau each;
#: 16,384 keep 93.6 %); a département's all.
SAY_MEMO = 32_768


@lru_cache(maxsize=SAY_MEMO)  # pure; the same communes and bureaux come back answer after answer
def _say(key: str, lang: str, items: tuple) -> str:
    template = _template(key, lang)
    params = dict(items)
    for field, (form, name) in _FORMS.get(template, ()):
        value = params.get(name)
        if isinstance(value, str):
            params[field] = form(value)
    return template.format(**params)


def _forms_of(template: str) -> tuple:
    """The ``{de_x}``/``{a_x}`` fields a template asks for: (field, (helper, name))."""
    helpers = {"de": de, "a": a}
    out = []
    for name in NAME_PARAMS:
        for prefix, form in helpers.items():
            if "{" + f"{prefix}_{name}" + "}" in template:
                out.append((f"{prefix}_{name}", (form, name)))
    return tuple(out)


#: For each template, the name forms it needs (made once: say() computes only those).
_FORMS = {t: forms for table in (FR, EN) for t in table.values() if (forms := _forms_of(t))}


def has(key: str, lang: str) -> bool:
    return key in SENTENCES.get(lang, {})


# -- the values the sentences are made from ---------------------------------------------------

def where(bureau) -> str:
    """A bureau as the voter reads it: its name and its address (a place to go: no Cedex)."""
    return f"{bureau.name}, {street_address(bureau.address)}" if bureau.address else bureau.name


#: Mail-only parts of an address (for letters, not for walking there): "CS 40017", "BP 12",
#: "TSA 123", "Cedex 1".
_MAIL_ONLY = (re.compile(r",?\s*\b(?:CS|BP|TSA)\s*\d+\b", re.IGNORECASE),
              re.compile(r"\s*\bC[EÉ]DEX\b(?:\s*\d{1,2}\b)?", re.IGNORECASE))


@lru_cache(maxsize=65536)  # pure, and asked for the same few bureaux on every answer
def street_address(address: str | None) -> str | None:
    """An address to go to: the mail-only parts dropped.

    >>> street_address("160 rue de Pont-à-Mousson, CS 40017, 57950 Montigny-lès-Metz Cedex")
    '160 rue de Pont-à-Mousson, 57950 Montigny-lès-Metz'
    """
    if not address:
        return address
    for pattern in _MAIL_ONLY:
        address = pattern.sub("", address)
    return re.sub(r"\s*,\s*,", ",", " ".join(address.split())).strip(" ,")


def telephone_part(commune) -> str:
    return f" au {commune.mairie_telephone}" if commune.mairie_telephone else ""
