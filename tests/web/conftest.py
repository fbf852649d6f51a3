"""Fixtures for the web tests: a small multi-bureau data set cut from the committed Moselle
communes, a fake geocoder at the protocol seam, and the app/client pair of the Flask tutorial.

The data (written to a temporary folder) gives every lookup status a real place:

* Metz (57463): three placed bureaux, no areas → the nearest one, said plainly;
* Montigny-lès-Metz (57480): one bureau → a commune-level answer is enough;
* Woippy (57751): two bureaux not yet placed → ambiguous, bureaux listed;
* Scy-Chazelles (57642): no bureau → outside coverage, with the mairie to call;
* anywhere else (Thionville...) → outside every commune of the data.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from locator import GeocodedPoint, Locator, Settings
from locator.geocoding.fake import FakeGeocoder
from locator.web import create_app

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_DATA = ROOT / "data"
CODES = ("57463", "57480", "57751", "57642")

#: Real mairie positions (annuaire) and two streets of Metz, Montigny and Woippy.
METZ_MAIRIE = (6.176262, 49.119718)
METZ_SOUTH = (6.1905, 49.1005)      # Metz, Sablon: nearer bureau 57463_2
MONTIGNY = (6.1527163, 49.0999174)
WOIPPY = (6.1512739, 49.1515484)
SCY = (6.1160998, 49.1138)
THIONVILLE = (6.1678443, 49.3576006)


def _pt(label, lonlat, type_, citycode, score=0.9, postcode=None):
    return GeocodedPoint(label=label, lon=lonlat[0], lat=lonlat[1], type=type_, score=score, citycode=citycode,
                         postcode=postcode, source="fake")


#: What the fake geocoder answers (keys folded; a shorter query gets every longer key it
#: starts, as an autocomplete index would).
ANSWERS = {
    "1 place d'armes metz": [_pt("1 Place d'Armes 57000 Metz", METZ_MAIRIE, "housenumber", "57463", 0.97, "57000")],
    "10 rue du sablon metz": [_pt("10 Rue du Sablon 57000 Metz", METZ_SOUTH, "housenumber", "57463", 0.95, "57000")],
    "rue serpenoise metz": [_pt("Rue Serpenoise 57000 Metz", (6.1745, 49.1163), "street", "57463", 0.9, "57000")],
    "metz": [_pt("Metz", METZ_MAIRIE, "municipality", "57463", 0.95, "57000")],
    "montigny-les-metz": [_pt("Montigny-lès-Metz", MONTIGNY, "municipality", "57480", 0.93, "57950")],
    "woippy": [_pt("Woippy", WOIPPY, "municipality", "57751", 0.95, "57140")],
    "scy-chazelles": [_pt("Scy-Chazelles", SCY, "municipality", "57642", 0.95, "57160")],
    "thionville": [_pt("Thionville", THIONVILLE, "municipality", "57672", 0.95, "57100")],
    "rue de la gare 57140 woippy": [_pt("Rue de la Gare 57140 Woippy", (6.1495, 49.1530), "street", "57751",
                                        0.92, "57140")],
    "rue de la gare 57950 montigny-les-metz": [_pt("Rue de la Gare 57950 Montigny-lès-Metz", (6.1510, 49.1010),
                                                   "street", "57480", 0.92, "57950")],
    "rue de la gare": [
        _pt("Rue de la Gare 57140 Woippy", (6.1495, 49.1530), "street", "57751", 0.7, "57140"),
        _pt("Rue de la Gare 57950 Montigny-lès-Metz", (6.1510, 49.1010), "street", "57480", 0.69, "57950"),
    ],
}


def fake_geocoder_of_the_web_data() -> FakeGeocoder:
    return FakeGeocoder(ANSWERS, match="prefix")


def _bureau(bid, name, code, served, lonlat):
    return {"type": "Feature",
            "properties": {"id": bid, "name": name, "address": f"{name}, {code}", "code_insee": code,
                           "communes_served": list(served), "location_source": "manual" if lonlat else None},
            "geometry": None if lonlat is None else {"type": "Point", "coordinates": list(lonlat)}}


#: Two communes that share the postcode 57050 with Metz (no bureau: outside coverage), for the
#: tests of a postcode shared by several communes; added only where a test asks for them.
SHARED_POSTCODE_CODES = ("57049", "57412")


def write_web_data(folder: Path, *, extra_codes=()) -> Path:
    doc = json.loads((COMMITTED_DATA / "communes" / "57.geojson").read_text(encoding="utf-8"))
    features = [f for f in doc["features"] if f["properties"]["code"] in (*CODES, *extra_codes)]
    (folder / "communes").mkdir(parents=True, exist_ok=True)
    (folder / "communes" / "57.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    bureaux = [
        _bureau("57463_1", "Hôtel de ville de Metz", "57463", ["57463"], METZ_MAIRIE),
        _bureau("57463_2", "École du Sablon", "57463", ["57463"], (6.1890, 49.1010)),
        _bureau("57463_3", "Gymnase de Devant-les-Ponts", "57463", ["57463"], (6.1560, 49.1290)),
        _bureau("57480_1", "Mairie de Montigny-lès-Metz", "57480", ["57480"], MONTIGNY),
        _bureau("57751_1", "École Pierre-et-Marie-Curie", "57751", ["57751"], None),
        _bureau("57751_2", "Salle Saint-Exupéry", "57751", ["57751"], None),
    ]
    (folder / "bureaux.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": bureaux}, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def web_data_dir(tmp_path_factory) -> Path:
    return write_web_data(tmp_path_factory.mktemp("web-data"))


@pytest.fixture
def fake_geocoder() -> FakeGeocoder:
    return fake_geocoder_of_the_web_data()


@pytest.fixture
def web_settings(web_data_dir) -> Settings:
    return Settings(data_dir=web_data_dir, rate_limit="1000/minute")


@pytest.fixture
def web_locator(web_data_dir, web_settings, fake_geocoder) -> Locator:
    return Locator.from_data_dir(web_data_dir, settings=web_settings, geocoder=fake_geocoder)


@pytest.fixture
def app(web_locator, web_settings):
    return create_app(web_settings, locator=web_locator, test_config={"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()

