"""Real addresses (../shared/data): geocoder-tester Lorraine/Alsace with true positions, the Paris
bureaux addresses, the DILA mairie addresses. The index holds the Moselle communes, their
mairies and the real-format BAN sample. Nothing is ever answered "ok" in the wrong commune."""

from __future__ import annotations

import csv
import math

import pytest

from locator import Locator, Settings
from locator.geocoding.embedded import EmbeddedGeocoder
from locator.geocoding.normalize import fold
from locator.projection import to_l93

from ..conftest import make_data_dir


@pytest.fixture(scope="module")
def real(shared_data, tmp_path_factory):
    data = make_data_dir(tmp_path_factory.mktemp("real"))
    settings = Settings(data_dir=data)
    with EmbeddedGeocoder(settings, ban_files=[shared_data / "ban_format_real_addresses.csv"]):
        pass
    with Locator.from_data_dir(data, settings=settings) as loc:
        yield loc.open()


def _commune_at(loc, lon, lat):
    x, y = to_l93(lon, lat)
    i = int(loc.index.locate(x, y)[0])
    return None if i < 0 else loc.index.communes[i]


def _metres(lon1, lat1, lon2, lat2) -> float:
    x1, y1 = to_l93(lon1, lat1)
    x2, y2 = to_l93(lon2, lat2)
    return math.hypot(x2 - x1, y2 - y1)


@pytest.fixture(scope="module")
def tester(shared_data):
    with open(shared_data / "geocoder-tester_addresses_lorraine_alsace.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_geocoder_tester_queries_are_never_ok_in_the_wrong_commune(real, tester):
    ok = wrong = 0
    for row in tester:
        truth = _commune_at(real, float(row["lon"]), float(row["lat"]))
        for query in row["queries"].split(" || "):
            d = real.lookup(query).to_dict()
            if d["status"] != "ok":
                continue
            ok += 1
            if truth is not None:
                wrong += d["commune"]["code"] != truth.code
            else:
                # The true place is outside the Moselle data: only a commune of the same name
                # (a homonym, e.g. Saint-Louis 68 / 57) can be answered, because the text names it.
                wrong += fold(d["commune"]["nom"]) not in fold(query)
    assert wrong == 0
    assert ok > 60


def test_moselle_addresses_with_their_commune_are_found_at_the_house(real, tester):
    checked = 0
    for row in tester:
        truth = _commune_at(real, float(row["lon"]), float(row["lat"]))
        if truth is None:
            continue
        query = row["queries"].split(" || ")[0]  # "<number> <street> <city>"
        d = real.lookup(query).to_dict()
        assert d["status"] == "ok" and d["commune"]["code"] == truth.code, query
        if row["street"].strip():
            assert d["geocode"]["type"] == "housenumber", query
            assert _metres(d["geocode"]["lon"], d["geocode"]["lat"], float(row["lon"]), float(row["lat"])) < 50
            checked += 1
    assert checked > 40


def test_paris_bureaux_addresses_are_found_but_outside_coverage(real, shared_data):
    with open(shared_data / "paris_opendata_bureaux-de-votes_2017.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    housenumbers = 0
    for row in rows[::3]:
        d = real.lookup(f"{row['Adresse']} {row['Code Postal']} Paris").to_dict()
        assert d["status"] == "outside_coverage" and d["bureau"] is None, row["Adresse"]
        g = d["geocode"]
        if g["type"] == "housenumber":
            lat, lon = (float(v) for v in row["geo_point_2d"].split(","))
            assert g["citycode"].startswith("751")
            # the BAN's entrance vs the bureau's published point (7 Passage de la Canopée: 54 m)
            assert _metres(g["lon"], g["lat"], lon, lat) < 75, row["Adresse"]
            housenumbers += 1
    assert housenumbers > 30


def test_mairie_addresses_of_the_annuaire_find_their_commune(real, shared_data):
    with open(shared_data / "datafrance_mairies_annuaire_57_54_67_88.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["departement"] == "57" and r["mairie_adresse"]]
    ok = 0
    for row in rows:
        d = real.lookup(row["mairie_adresse"].replace(" | ", ", ")).to_dict()
        if d["status"] == "ok":
            assert d["commune"]["code"] == row["code_insee"], row["mairie_adresse"]
            ok += 1
    assert ok >= len(rows) - 5
