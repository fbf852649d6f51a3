"""Normalisation: an ordered list of small functions; invalid input is refused up front."""

from __future__ import annotations

import pytest

from locator.errors import InvalidQuery
from locator.geocoding.normalize import (
    NORMALISERS,
    cache_key,
    german_spelling,
    normalize_query,
    without_article,
)


@pytest.mark.parametrize("raw, expected", [
    ("12  bd  Paixhans, 57 000 METZ", "12 boulevard Paixhans, 57000 METZ"),
    ("St-Avold", "Saint-Avold"),
    ("ste marie aux chenes", "Sainte marie aux chenes"),
    ("st. Julien-lès-Metz", "Saint Julien-lès-Metz"),
    ("\u017ft-Avold", "Saint-Avold"),  # a long s (old typesetting, OCR) is an s to the pattern: no KeyError
    ("12 r des Fleurs", "12 rue des Fleurs"),
    ("Place R. Schuman", "Place R. Schuman"),  # a lone R elsewhere is an initial
    ("Ban-Saint-Martin (Le)", "Le Ban-Saint-Martin"),
    ("Ban-Saint-Martin, Le 57050", "Le Ban-Saint-Martin 57050"),
    ("Hôpital (L')", "L'Hôpital"),
    ("Metz (57)", "Metz"),
    ("5 Rue du Gal de Gaulle F-57000 Metz, France", "5 Rue du général de Gaulle 57000 Metz"),
    ("3 av. du Mal Foch", "3 avenue du maréchal Foch"),
    ("12-bis rue X", "12 bis rue X"),
    ("12,BIS rue X", "12 bis rue X"),
    ("3bis av. Foch", "3 bis avenue Foch"),
    ("Montigny lez Metz", "Montigny lès Metz"),
    ("Hauptstraße", "Hauptstrasse"),
    ("L’Hôpital", "L'Hôpital"),
    ("Saint\u2013Avold", "Saint-Avold"),
    ("12\u00a0rue\u202fSerpenoise", "12 rue Serpenoise"),
    ("  ...Metz!!  ", "Metz"),
    ("Rue des Prés", "Rue des Prés"),  # 'prés' is a word, not an abbreviation
    ("Col de Saverne", "Col de Saverne"),
    ("imp. des Lilas", "impasse des Lilas"),
    ("chem. du Moulin", "chemin du Moulin"),
    ("rte de Metz", "route de Metz"),
    ("fg St-Pierre", "faubourg Saint-Pierre"),
])
def test_voter_input_is_normalised(raw, expected):
    assert normalize_query(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", "!!!", "— ... —", "?", "x" * 201, None, 57000])
def test_empty_too_long_punctuation_only_or_not_text_is_invalid(raw):
    with pytest.raises(InvalidQuery) as info:
        normalize_query(raw)
    assert info.value.code == "invalid" and info.value.http_status == 400


def test_two_hundred_characters_is_still_a_query():
    assert normalize_query("a" * 200) == "a" * 200


def test_spellings_addok_cannot_tell_apart_share_one_cache_key():
    keys = {cache_key(normalize_query(q)) for q in ("Saint-Avold", "st avold", "SAINT AVOLD", "Saint Avold ")}
    assert keys == {"saint avold"}
    assert cache_key(normalize_query("Rémilly")) == cache_key(normalize_query("remilly"))


def test_normalisers_are_small_named_functions_run_in_order():
    assert all(callable(f) and f.__name__ != "<lambda>" for f in NORMALISERS)
    assert NORMALISERS[0].__name__ == "compose_unicode"


@pytest.mark.parametrize("name, expected", [
    ("Le Ban-Saint-Martin", "Ban-Saint-Martin"), ("L'Hôpital", "Hôpital"), ("La Maxe", "Maxe"),
    ("Les Étangs", "Étangs"), ("Lesse", None), ("Lemud", None), ("Laneuveville-en-Saulnois", None),
])
def test_article_is_taken_off_only_when_it_is_one(name, expected):
    assert without_article(name) == expected


def test_german_spelling_of_umlauts():
    assert german_spelling("Mülhausen") == "Muelhausen"
    assert german_spelling("Metz") is None
