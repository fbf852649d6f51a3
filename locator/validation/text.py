"""What a bureau's name and address say about where it stands.

Names and addresses are compared after one normalisation (lower case, no accents, no
punctuation), so "Hôtel de Ville", "HOTEL DE VILLE" and "hôtel-de-ville" read the same.
"""

from __future__ import annotations

import re

from ..geocoding.normalize import fold
from ..geocoding.words import STREET_TYPES_RE, SUFFIXES_RE


def normalize(text: str | None) -> str:
    """Lower case ASCII words separated by single spaces (the geocoder's ``fold``).

    >>> normalize("  Hôtel-de-Ville, 1 Place d'Armes ")
    'hotel de ville 1 place d armes'
    """
    return fold(text) if text else ""


#: The street types, and the abbreviations organisers type (the text is not expanded here).
_STREET_TYPES = rf"{STREET_TYPES_RE}|rond point|cour|pl|av|bd"
#: "rue de la Mairie", "place de l'Hôtel de Ville": a street named after the mairie says
#: nothing about the building (a school or a house can stand there).
_STREET_NAMED_AFTER_MAIRIE = re.compile(
    rf"\b(?:{_STREET_TYPES}) (?:de la |de l |du |des |d )?(?:ancienne )?(?:mairie|hotel de ville)\b")
_MAIRIE = re.compile(r"\b(?:mairie|hotel de ville|salle du conseil|salle des mariages|salle des deliberations)\b")
#: Not the mairie itself: an annexe, a mairie de quartier, the mairie déléguée of a merged
#: commune or the old town hall stand elsewhere.
_NOT_THE_MAIRIE = re.compile(
    r"\b(?:ancienne mairie|mairie annexe|annexe de la mairie|annexe mairie|mairie de quartier|"
    r"mairie deleguee|mairie de la commune deleguee|ancien hotel de ville)\b")
#: Public buildings bureaux are commonly held in; naming one explains a bureau away from
#: the mairie.
_PUBLIC_BUILDING = re.compile(
    r"\b(?:ecole|ecoles|groupe scolaire|maternelle|elementaire|primaire|college|lycee|universite|"
    r"salle|salles|foyer|gymnase|maison (?:des|du|de la|de l|pour)|centre|complexe|espace|halle|preau|mairie|hotel de ville|"
    r"bibliotheque|mediatheque|cantine|periscolaire|mjc|club house|chalet|pavillon|cosec|"
    r"stade|piscine|theatre|auditorium|conservatoire|cite|caserne|presbytere|chapelle|eglise|"
    r"local|ehpad|forum|palais|dojo|hall|batiment communal|atelier)\b")


def says_at_mairie(name: str | None, address: str | None) -> bool:
    """True when the name or the address says the bureau is in the mairie building.

    >>> says_at_mairie("Mairie de Metz", "1 place d'Armes")
    True
    >>> says_at_mairie("École du centre", "3 rue de la Mairie")
    False
    >>> says_at_mairie("Mairie annexe de Borny", "")
    False
    """
    for text in (_without_mairie_streets(name), _without_mairie_streets(address)):
        if _MAIRIE.search(text) and not _NOT_THE_MAIRIE.search(text):
            return True
    return False


def names_public_building(name: str | None, address: str | None) -> bool:
    """True when the name or address names a public building (school, hall, mairie...)."""
    return any(_PUBLIC_BUILDING.search(_without_mairie_streets(text)) for text in (name, address))


def _without_mairie_streets(text: str | None) -> str:
    return _STREET_NAMED_AFTER_MAIRIE.sub(" ", normalize(text))


_POSTCODE_TAIL = re.compile(r"\b\d{5}\b.*$")
_HOUSE_NUMBER = re.compile(
    rf"^(?:du )?\d+\s*(?:{SUFFIXES_RE}|[a-h])?\b(?:\s*(?:au|a|et)\s*\d+\s*(?:{SUFFIXES_RE}|[a-h])?\b)?\s*")


def address_key(address: str | None) -> str:
    """The address as a grouping key: normalised, without "cedex"."""
    return re.sub(r"\bcedex\b( \d+)?", "", normalize(address)).strip()


def street_of(address: str | None) -> str:
    """The street part of an address: no house number, no postcode and commune.

    >>> street_of("du 39 au 43 avenue Émile-Zola, 75015 Paris")
    'avenue emile zola'
    >>> street_of("41 AVENUE EMILE ZOLA")
    'avenue emile zola'
    """
    text = _POSTCODE_TAIL.sub("", address_key(address)).strip()
    return _HOUSE_NUMBER.sub("", text).strip()


def same_street(a: str | None, b: str | None) -> bool:
    """True when two addresses are on the same street (one street name contains the other)."""
    sa, sb = street_of(a), street_of(b)
    if not sa or not sb:
        return address_key(a) == address_key(b)
    return sa == sb or sa in sb or sb in sa
