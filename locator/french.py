"""French grammar for place names, written once: "de"/"à" before a commune's name.

>>> de("Le Ban-Saint-Martin"), de("Amnéville"), a("Les Étangs"), a("Metz")
('du Ban-Saint-Martin', "d'Amnéville", 'aux Étangs', 'à Metz')
"""

from __future__ import annotations

_VOWELS = tuple("AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒÆaeiouyàâäéèêëîïôöùûüœæ")


def de(nom: str) -> str:
    """French "of" before a commune name: du Ban-Saint-Martin, des Étangs, d'Amnéville,
    de La Maxe, de Metz. (An initial H is left alone: it is aspirated in some names.)"""
    if nom.startswith("Le "):
        return "du " + nom[3:]
    if nom.startswith("Les "):
        return "des " + nom[4:]
    if nom.startswith(_VOWELS):
        return "d'" + nom
    return "de " + nom


def a(nom: str) -> str:
    """French "at/in" before a commune name: au Ban-Saint-Martin, aux Étangs, à Metz."""
    if nom.startswith("Le "):
        return "au " + nom[3:]
    if nom.startswith("Les "):
        return "aux " + nom[4:]
    return "à " + nom
