"""Names the data does not hold as typed, on the committed Moselle data (with the names of
every commune of France): communes elsewhere are outside the coverage, named with their
département; partial names offer the communes they begin; typos are recovered, and a name
found inside a longer one is never the commune typed."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("query", "says"), [
    ("Nancy", "Nancy (Meurthe-et-Moselle) n'est pas couverte par ce service, qui couvre la Moselle."),
    ("10 rue de Rivoli Paris", "Paris (Paris) n'est pas couverte par ce service, qui couvre la Moselle."),
    ("Aigremont", "Aigremont (Gard, Haute-Marne, Yvelines, Yonne) n'est pas couverte par ce service, "
                  "qui couvre la Moselle."),
])
def test_a_commune_elsewhere_is_outside_coverage_with_its_departement(moselle_locator, query, says):
    r = moselle_locator.lookup(query)
    assert r.status == "outside_coverage" and r.message_key == "outside.elsewhere"
    assert r.message == says


@pytest.mark.parametrize(("query", "codes"), [
    ("Moyeuvre", {"57491", "57492"}),  # Moyeuvre-Grande, Moyeuvre-Petite
    ("Hombourg", {"57331", "57332"}),  # Hombourg-Budange, Hombourg-Haut (not Hombourg, Haut-Rhin)
])
def test_a_partial_name_offers_the_communes_it_begins(moselle_locator, query, codes):
    r = moselle_locator.lookup(query)
    assert r.status == "ambiguous" and r.message_key == "ambiguous.which_name"
    assert {c.code for c in r.candidates} == codes


@pytest.mark.parametrize(("query", "code"), [
    ("Hagondagne", "57283"),
    ("Montigny-lès-Mezt", "57480"),
    ("Sarny-les-Vigy", "57626"),  # Sanry-lès-Vigy, not Vigy whose name is inside
])
def test_swapped_letters_find_the_commune(moselle_locator, query, code):
    r = moselle_locator.lookup(query)
    assert r.status == "ok" and r.commune.code == code


def test_a_name_inside_a_longer_unknown_name_is_a_candidate_never_the_answer(moselle_locator):
    r = moselle_locator.lookup("Zzxqw-les-Vigy")
    assert r.status == "ambiguous" and [c.code for c in r.candidates] == ["57716"]  # Vigy


def test_two_commune_names_are_both_offered(moselle_locator):
    r = moselle_locator.lookup("Metz\tThionville")
    assert r.status == "ambiguous" and {c.code for c in r.candidates} == {"57463", "57672"}
