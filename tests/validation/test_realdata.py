"""The validator on real data from the shared folder: Paris 2017 bureaux and their official
sectors, the official mairie points of 57/54/67/88, geocoded INSEE REU addresses (29)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest
import shapely
from shapely.geometry import shape

from locator.models import Bureau, Commune
from locator.validation import validate

from .realdata import moselle_and_neighbours


@pytest.fixture(scope="module")
def paris(shared_data):
    """Paris 2017: 896 bureaux, their sectors as official areas, arrondissements (the union
    of their sectors) as communes 75101–75120."""
    sectors = json.loads((shared_data / "paris_opendata_secteurs-des-bureaux-de-vote_2017.geojson")
                         .read_text(encoding="utf-8"))["features"]
    by_arr = defaultdict(list)
    for f in sectors:
        by_arr[int(f["properties"]["arrondissement"])].append(shape(f["geometry"]))
    communes = [Commune(code=f"751{a:02d}", nom=f"Paris {a}e", departement="75") for a in sorted(by_arr)]
    geoms = [shapely.union_all(by_arr[a]) for a in sorted(by_arr)]
    bureaux = []
    with open(shared_data / "paris_opendata_bureaux-de-votes_2017.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter=";"):
            lon, lat = json.loads(r["geo_shape"])["coordinates"]
            bid = r["Identifiant du bureau de vote"]
            code = f"751{int(bid.split('-')[0]):02d}"
            bureaux.append(Bureau(id=bid, name=r["Libellé du bureau de vote"],
                                  address=f"{r['Adresse']}, {r['Code Postal']} Paris", code_insee=code,
                                  communes_served=(code,), lon=lon, lat=lat))
    return validate(bureaux, communes, geoms, area_bureau_ids=[f["properties"]["id_bv"] for f in sectors],
                    area_geometries=[shape(f["geometry"]) for f in sectors])


def test_paris_shared_buildings_and_bureaux_outside_their_sector_are_not_errors(paris):
    assert len(paris.bureaux) == 896
    assert [f for f in paris.findings if f.bureau_id and f.severity != "info"] == []
    outside = [f for f in paris.findings if f.check == "outside_own_area"]
    assert len(outside) == 450  # as counted in SOURCES.md
    assert {f.severity for f in outside} == {"info"}
    assert max(f.distance_m for f in outside) == pytest.approx(835, abs=1)


@pytest.fixture(scope="module")
def mairies_as_bureaux(shared_data):
    """One bureau named "Mairie de X" on every official mairie point of 57/54/67/88."""
    communes, geoms = moselle_and_neighbours(shared_data)
    bureaux = [Bureau(id=c.code, name=f"Mairie de {c.nom}", address=c.mairie_adresse or "", code_insee=c.code,
                      communes_served=(c.code,), lon=c.mairie_lon, lat=c.mairie_lat, location_source="mairie-annuaire")
               for c in communes if c.has_mairie_point]
    return communes, validate(bureaux, communes, geoms)


def test_every_official_mairie_point_outside_its_commune_is_reported_on_the_reference(mairies_as_bureaux):
    communes, result = mairies_as_bureaux
    rejected = {f.extra["commune"] for f in result.findings if f.check == "reference_outside_commune"}
    assert len(rejected) == 102  # of 2,332 points: 108 are outside, 6 of them within 60 m
    missing = {code for f in result.findings if f.check == "commune_without_bureau" for code in f.extra["communes"]}
    assert {"57209", "57226"} <= missing  # Faulquemont and Fontoy have no official point
    assert len(missing) == 4


def test_a_bureau_copied_from_a_wrong_official_point_is_flagged_and_the_others_are_not(mairies_as_bureaux):
    communes, result = mairies_as_bureaux
    rejected = {f.extra["commune"] for f in result.findings if f.check == "reference_outside_commune"}
    flagged = result.flagged_ids()
    assert rejected <= flagged  # each copy of a wrong point is outside its commune
    others = {f.bureau_id for f in result.findings if f.bureau_id and f.severity != "info"} - rejected
    # the only other flags: the copies of points shared by two communes
    shared = {f.bureau_id for f in result.findings if f.check == "shared_point_across_communes"}
    assert others <= shared
    errors = [f for f in result.findings if f.severity == "error" and f.bureau_id not in rejected]
    assert errors == [] or {f.check for f in errors} == {"commune_without_bureau"}


def test_copies_of_wrong_points_more_than_300_m_outside_are_errors(mairies_as_bureaux):
    _, result = mairies_as_bureaux
    for f in result.findings:
        if f.check == "outside_declared_commune":
            expected = "info" if f.distance_m <= 100 else "warning" if f.distance_m <= 300 else "error"
            assert f.severity == expected


@pytest.fixture(scope="module")
def reu(shared_data):
    fc = json.loads((shared_data / "datafrance_communes_29_reu_sample.geojson").read_text(encoding="utf-8"))["features"]
    communes = [Commune(code=f["properties"]["code"], nom=f["properties"]["nom"], departement="29",
                        mairie_lon=f["properties"]["mairie_lon"], mairie_lat=f["properties"]["mairie_lat"])
                for f in fc]
    with open(shared_data / "insee_reu_addresses_sample_29_mapvotr.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    points = [Bureau(id=f"reu{i}", name="", address="", code_insee=r["code_commune_ref"],
                     communes_served=(r["code_commune_ref"],), lon=float(r["longitude"]), lat=float(r["latitude"]),
                     location_source="geocoded", geocode_type=r["geo_type"], geocode_score=float(r["geo_score"]))
              for i, r in enumerate(rows)]
    return rows, validate(points, communes, [shape(f["geometry"]) for f in fc])


def test_real_geocoded_addresses_are_never_errors_for_the_simplified_outlines(reu):
    rows, result = reu
    outside = [f for f in result.findings if f.check == "outside_declared_commune"]
    assert len(outside) == 78  # as counted in SOURCES.md
    # on the coast the simplified outlines cut up to 291 m off: warnings, never errors
    assert max(f.distance_m for f in outside) < 300
    assert {f.severity for f in outside} == {"info", "warning"}


def test_real_geocodes_below_housenumber_precision_or_score_are_warnings(reu):
    rows, result = reu
    imprecise = [f for f in result.findings if f.check == "geocode_imprecise"]
    assert len(imprecise) == sum(1 for r in rows if r["geo_type"] in ("street", "locality"))
    low = [f for f in result.findings if f.check == "geocode_low_score"]
    assert len(low) == sum(1 for r in rows if float(r["geo_score"]) < 0.5)
    assert {f.severity for f in imprecise + low} == {"warning"}
    # 12,335 real addresses: the centroid test fires on a handful at most
    assert len([f for f in result.findings if f.check == "centroid_like_point"]) <= 0.001 * len(rows)


def test_a_moselle_bureau_placed_in_meurthe_et_moselle_names_the_commune_it_falls_in(shared_data):
    communes, geoms = moselle_and_neighbours(shared_data)
    by_code = {c.code: c for c in communes}
    pont = by_code["54432"]  # Pont-à-Mousson, next to the Moselle border
    bureau = Bureau(id="57_1", name="Mairie", address="", code_insee="57480", communes_served=("57480",),
                    lon=pont.mairie_lon, lat=pont.mairie_lat)
    with_54 = validate([bureau], communes, geoms)
    (f,) = [f for f in with_54.findings if f.check == "outside_declared_commune"]
    assert f.severity == "error" and f.extra["falls_in"] == "54432"
    moselle_only = validate([bureau], communes[:725], geoms[:725])
    assert [g.check for g in moselle_only.findings if g.severity == "error"] == ["outside_coverage"]
