"""The hand-made INSEE-layout tables of tests/fixtures/reu/ and a data folder to import them into:
one square commune, Forbach (57227), about 2 km across, around its mairie."""

from __future__ import annotations

import json
from pathlib import Path

from locator.geocoding.fake import FakeGeocoder
from locator.models import GeocodedPoint

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reu"
ADRESSES = FIXTURES / "table-adresses-reu.csv"
BUREAUX = FIXTURES / "table-bv-reu.csv"
LON0, LAT0 = 6.8987, 49.1873
HALF_LON, HALF_LAT = 0.0137, 0.0090


def square(lon0=LON0, lat0=LAT0, hl=HALF_LON, hb=HALF_LAT) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon0 - hl, lat0 - hb], [lon0 + hl, lat0 - hb], [lon0 + hl, lat0 + hb],
                                                [lon0 - hl, lat0 + hb], [lon0 - hl, lat0 - hb]]]}


def make_data_dir(folder: Path) -> Path:
    props = {"code": "57227", "nom": "Forbach", "departement": "57", "codes_postaux": ["57600"],
             "mairie_lon": LON0, "mairie_lat": LAT0, "mairie_adresse": "Avenue Saint-Rémy, 57600 Forbach"}
    (folder / "communes").mkdir(parents=True, exist_ok=True)
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": props, "geometry": square()}]}
    (folder / "communes" / "57.geojson").write_text(json.dumps(doc), encoding="utf-8")
    return folder


def fake_geocoder(answers: dict[str, GeocodedPoint]) -> FakeGeocoder:
    """A geocoder that knows these addresses exactly (one point each) and nothing else."""
    return FakeGeocoder({text: [p] for text, p in answers.items()}, match="exact")


def point(lon, lat, type_="housenumber", score=0.93, citycode="57227", postcode="57600") -> GeocodedPoint:
    return GeocodedPoint(label="", lon=lon, lat=lat, type=type_, score=score, citycode=citycode, postcode=postcode,
                         source="fake")
