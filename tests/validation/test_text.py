"""What names and addresses say about where a bureau stands."""

import pytest

from locator.validation.text import (
    address_key,
    names_public_building,
    same_street,
    says_at_mairie,
    street_of,
)


@pytest.mark.parametrize("name, address, expected", [
    ("Mairie de Metz", "1 place d'Armes, 57000 Metz", True),
    ("HOTEL DE VILLE", "", True),
    ("Hôtel-de-Ville", "", True),
    ("Salle du conseil municipal", "", True),
    ("Bureau 1", "Mairie, 2 rue Principale, 57420 Fleury", True),
    ("École du centre", "3 rue de la Mairie", False),
    ("Bureau 2", "Place de l'Hôtel de Ville, 57100 Thionville", False),
    ("Mairie annexe de Borny", "", False),
    ("Mairie de quartier de Bellecroix", "", False),
    ("Ancienne mairie", "", False),
    ("Mairie déléguée de Vionville", "", False),
    ("Salle des fêtes", "12 rue des Lilas", False),
])
def test_says_at_mairie(name, address, expected):
    assert says_at_mairie(name, address) is expected


@pytest.mark.parametrize("name, address, expected", [
    ("École élémentaire Pasteur", "", True),
    ("Bureau 3", "Gymnase, 4 rue du Stade", True),
    ("Maison des associations", "", True),
    ("Bureau de vote", "14 rue des Lilas", False),
    ("Bureau 1", "5 place de la Mairie", False),
    ("Maison Dupont", "", False),
])
def test_names_public_building(name, address, expected):
    assert names_public_building(name, address) is expected


@pytest.mark.parametrize("a, b, expected", [
    ("41 AVENUE EMILE ZOLA", "DU 39 AU 43 AVENUE EMILE ZOLA", True),  # Paris 2017, one building
    ("8 rue des Écoles, 57992 Beta", "8, Rue des Ecoles 57992 BETA", True),
    ("1 place de la Mairie, 57991 Alpha", "8 rue des Écoles, 57991 Alpha", False),
    ("12 bis rue de la Gare", "14 rue de la Gare", True),
])
def test_same_street(a, b, expected):
    assert same_street(a, b) is expected


def test_address_key_ignores_case_accents_punctuation_and_cedex():
    assert address_key("36 rue des Romains, 57363 Amnéville Cedex") == address_key("36, Rue des romains 57363 AMNEVILLE")
    assert street_of("36 rue des Romains, 57363 Amnéville Cedex") == "rue des romains"
