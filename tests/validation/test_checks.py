"""Every check on hand-made cases: a clean organisation, then one fault at a time."""

from __future__ import annotations

import pytest

from locator.data.corrections import load_corrections
from locator.models import GeocodedPoint
from locator.projection import to_l93
from locator.validation import CHECK_NAMES, Thresholds

from .conftest import (
    DATA,
    GAMMA_REAL_MAIRIE,
    MAIRIES,
    SCHOOL_BETA,
    address_geocoder,
    bureau,
    clean_bureaux,
    found,
    replace,
    shift,
)


def test_every_check_has_a_french_label():
    from locator.validation.checks import CHECK_LABELS, CHECKS
    from locator.validation.reference import REFERENCE_CHECKS
    from locator.validation.run import LOAD_CHECKS

    codes = [c.name for c in CHECKS] + [c.__name__ for c in REFERENCE_CHECKS] + list(LOAD_CHECKS)
    assert [c for c in codes if c not in CHECK_LABELS] == []
    assert CHECKS[0].label == "Bureau sans position"


def test_check_names_are_unique_and_stable():
    assert len(CHECK_NAMES) == len(set(CHECK_NAMES))
    for name in ("missing_point", "null_island", "lonlat_swapped", "projected_coordinates", "out_of_range",
                 "outside_france", "outside_coverage", "outside_declared_commune", "unknown_commune",
                 "unknown_served_commune", "commune_without_bureau", "served_commune_far", "mairie_named_far",
                 "single_bureau_far_from_mairie", "geocode_imprecise", "geocode_low_score", "centroid_like_point",
                 "geocode_citycode_mismatch", "regeocode_far", "duplicate_id", "shared_point_across_communes",
                 "shared_point_different_address", "same_address_different_points", "outside_own_area"):
        assert name in CHECK_NAMES


def test_a_clean_organisation_has_no_error_and_no_warning_on_any_bureau(run):
    result = run(clean_bureaux())
    assert [f for f in result.findings if f.bureau_id and f.severity != "info"] == []
    assert result.exit_code == 0


A1 = MAIRIES["57991"]
L93_A1 = tuple(round(float(v), 2) for v in to_l93(*A1))


@pytest.mark.parametrize("point, check, suggested", [
    (None, "missing_point", None),
    ((0.0, 0.0), "null_island", None),
    ((A1[1], A1[0]), "lonlat_swapped", A1),
    (L93_A1, "projected_coordinates", A1),
    ((L93_A1[1], L93_A1[0]), "projected_coordinates", A1),
    ((500.0, 95.0), "out_of_range", None),
    ((-73.98, 40.75), "outside_france", None),
    ((2.3522, 48.8566), "outside_coverage", None),
], ids=["missing", "null-island", "swapped", "lambert93", "lambert93-swapped", "out-of-range", "new-york", "paris"])
def test_an_impossible_position_is_one_error_and_stops_the_position_checks(run, point, check, suggested):
    result = run(replace(clean_bureaux(), "A1", lon=None if point is None else point[0],
                         lat=None if point is None else point[1]))
    mine = [f for f in found(result, bureau_id="A1") if f.severity != "info"]
    assert [(f.check, f.severity) for f in mine] == [(check, "error")]
    if suggested is not None:
        assert mine[0].suggestion["lon"] == pytest.approx(suggested[0], abs=1e-5)
        assert mine[0].suggestion["lat"] == pytest.approx(suggested[1], abs=1e-5)
    assert result.exit_code == 1


@pytest.mark.parametrize("lon, lat", [(-A1[0], A1[1]), (A1[0], -A1[1])])
def test_a_lost_minus_sign_is_outside_france_with_the_fixed_point_suggested(run, lon, lat):
    result = run(replace(clean_bureaux(), "A1", lon=lon, lat=lat))
    (f,) = found(result, bureau_id="A1", check="outside_france")
    assert (f.suggestion["lon"], f.suggestion["lat"]) == pytest.approx(A1)


def test_web_mercator_metres_are_recognised_and_converted(run):
    from pyproj import Transformer

    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(*A1)
    result = run(replace(clean_bureaux(), "A1", lon=x, lat=y))
    (f,) = found(result, bureau_id="A1", check="projected_coordinates")
    assert "Web Mercator" in f.message
    assert f.suggestion["lon"] == pytest.approx(A1[0], abs=1e-6)


@pytest.mark.parametrize("east_m, severity", [(60, "info"), (200, "warning"), (900, "error")])
def test_outside_declared_commune_is_graded_by_distance_because_outlines_are_simplified(run, east_m, severity):
    # Alpha's east edge is lon 6.04; Beta starts there.
    edge = (6.04, 49.015)
    result = run(replace(clean_bureaux(), "A1", lon=shift(edge, east_m)[0], lat=49.015, name="Salle des fêtes"))
    (f,) = found(result, bureau_id="A1", check="outside_declared_commune")
    assert f.severity == severity
    assert f.distance_m == pytest.approx(east_m, abs=2)
    assert f.extra["falls_in"] == "57992"
    assert "Beta" in f.message


def test_the_margin_between_warning_and_error_comes_from_the_settings(run):
    from locator import Settings

    edge = shift((6.04, 49.015), 200)
    result = run(replace(clean_bureaux(), "A1", lon=edge[0], lat=edge[1], name="Salle des fêtes"),
                 settings=Settings(boundary_margin_m=150.0))
    assert found(result, bureau_id="A1", check="outside_declared_commune")[0].severity == "error"


def test_unknown_declared_and_served_communes_are_errors(run):
    bureaux = replace(clean_bureaux(), "B1", code_insee="57000")
    bureaux = replace(bureaux, "Z1", communes_served=("57996", "57585"))
    result = run(bureaux)
    (f,) = found(result, bureau_id="B1", check="unknown_commune")
    assert f.severity == "error" and f.suggestion["code_insee"] == "57992"
    (g,) = found(result, bureau_id="Z1", check="unknown_served_commune")
    assert g.severity == "error" and g.extra["unknown"] == ["57585"]


def test_a_commune_served_by_no_bureau_is_an_error_when_the_file_covers_the_departement(run):
    bureaux = replace(clean_bureaux(), "E1", communes_served=("57995",))  # Eta dropped
    result = run(bureaux)
    (f,) = found(result, check="commune_without_bureau")
    assert f.severity == "error" and f.extra["communes"] == ["57997"] and f.bureau_id is None
    assert "Eta (57997)" in f.message


def test_a_file_covering_a_few_communes_lists_the_others_in_one_finding(run):
    result = run([b for b in clean_bureaux() if b.id == "Z1"])
    (f,) = found(result, check="commune_without_bureau")
    assert f.severity == "info" and f.extra["count"] == 6 and len(f.extra["communes"]) == 6
    assert f.lon is None and f.lat is None  # nothing to draw: the map is not covered in dots
    assert "Alpha (57991)" in f.message and "Eta (57997)" in f.message


def test_a_postcode_used_as_insee_code_suggests_the_commune_of_that_postcode_holding_the_point(run, hand_communes):
    import dataclasses

    communes, geoms = hand_communes
    # Beta's postcode is Zeta's INSEE code (57996, 50 km east), like 57500 Saint-Avold / Neufmoulins.
    communes = [dataclasses.replace(c, codes_postaux=("57996",)) if c.code == "57992" else c for c in communes]
    from locator.validation import validate

    bureaux = replace(clean_bureaux(), "B1", code_insee="57996", communes_served=("57996",))
    result = validate(bureaux, communes, geoms)
    (f,) = found(result, bureau_id="B1", check="postcode_as_insee")
    assert f.severity == "error" and f.suggestion["code_insee"] == "57992"
    assert "code postal de Beta (57992)" in f.message and "Zeta (57996)" in f.message
    # nothing judges the bureau against Zeta, 50 km away: no move suggested there
    others = [g for g in found(result, bureau_id="B1") if g.check != "postcode_as_insee" and g.severity != "info"]
    assert [g.check for g in others] == []
    assert not any(g.suggestion and "lon" in g.suggestion for g in found(result, bureau_id="B1"))


def test_an_unknown_code_that_is_a_postcode_is_named_as_one(hand_communes):
    import dataclasses

    from locator.validation import validate

    communes, geoms = hand_communes
    communes = [dataclasses.replace(c, codes_postaux=("57000",)) if c.code == "57996" else c for c in communes]
    result = validate(replace(clean_bureaux(), "B1", code_insee="57000"), communes, geoms)
    (f,) = found(result, bureau_id="B1", check="unknown_commune")
    assert "code postal de Zeta (57996)" in f.message and f.suggestion["code_insee"] == "57992"
    plain = validate(replace(clean_bureaux(), "B1", code_insee="57000"), *hand_communes)
    (g,) = found(plain, bureau_id="B1", check="unknown_commune")
    assert "faute de frappe" in g.message and plain.exit_code == 1


def test_a_point_just_across_the_border_into_a_commune_whose_postcode_is_the_code_is_no_confusion(hand_communes):
    import dataclasses

    from locator.validation import validate

    communes, geoms = hand_communes
    # Beta's postcode is Alpha's INSEE code (539 such pairs in Moselle); A1 stands 60 m into Beta.
    communes = [dataclasses.replace(c, codes_postaux=("57991",)) if c.code == "57992" else c for c in communes]
    result = validate(replace(clean_bureaux(), "A1", lon=shift((6.04, 49.015), 60)[0], lat=49.015, name="Salle"),
                      communes, geoms)
    assert found(result, bureau_id="A1", check="postcode_as_insee") == []
    assert found(result, bureau_id="A1", check="outside_declared_commune")[0].severity == "info"


def test_with_regeocode_no_finding_tells_to_rerun_with_regeocode(run):
    # Gamma's official point is wrong and its mairie address is not found: no usable reference.
    result = run(clean_bureaux(), geocoder=address_geocoder({}), rate_per_s=0)
    assert found(result, check="reference_outside_commune")
    assert [f.message for f in result.findings if "Relancez avec --regeocode" in f.message
            or "relancez avec --regeocode" in f.message] == []
    without = run(clean_bureaux())
    assert any("relancez avec --regeocode" in f.message.lower() for f in without.findings)


@pytest.mark.parametrize("strict, expected", [(False, 0), (True, 1)])
def test_warnings_exit_1_only_when_strict(run, strict, expected):
    house = shift(MAIRIES["57991"], 0, 110)
    result = run(replace(clean_bureaux(), "A1", lon=house[0], lat=house[1]))
    assert result.count("error") == 0 and result.count("warning") >= 1
    assert result.status(strict=strict) == expected
    assert result.to_check()["bureaux"] == 1


def test_voters_sent_to_a_bureau_50_km_away_get_a_warning(run):
    bureaux = replace(clean_bureaux(), "Z1", communes_served=("57996", "57991"))
    result = run(bureaux)
    (f,) = found(result, bureau_id="Z1", check="served_commune_far")
    assert f.severity == "warning" and f.distance_m > 40_000 and f.extra["communes"] == ["57991"]


# -- mairie --------------------------------------------------------------------------------

def test_the_2017_private_house_100_m_from_the_mairie_is_flagged(run):
    house = shift(MAIRIES["57991"], 0, 110)
    result = run(replace(clean_bureaux(), "A1", lon=house[0], lat=house[1], location_source="geocoded",
                         geocode_type="housenumber", geocode_score=0.92))
    (f,) = found(result, bureau_id="A1", check="mairie_named_far")
    assert f.severity == "warning"  # one source for the mairie: a person checks
    assert f.distance_m == pytest.approx(110, abs=2)
    assert f.suggestion["lon"] == pytest.approx(MAIRIES["57991"][0], abs=1e-6)


def test_a_mairie_bureau_far_from_a_mairie_confirmed_by_other_bureaux_is_an_error(run):
    extra = bureau("A2", "57991", MAIRIES["57991"], name="Mairie d'Alpha (bureau 2)",
                   address="1 place de la Mairie, 57991 Alpha")
    house = shift(MAIRIES["57991"], 180, 0)
    bureaux = replace(clean_bureaux(), "A1", lon=house[0], lat=house[1]) + [extra]
    result = run(bureaux)
    (f,) = found(result, bureau_id="A1", check="mairie_named_far")
    assert f.severity == "error" and f.extra["corroborated"] is True
    assert found(result, bureau_id="A2", check="mairie_named_far") == []


def test_a_mairie_bureau_within_the_building_tolerance_is_fine(run):
    near = shift(MAIRIES["57991"], 40, 30)
    result = run(replace(clean_bureaux(), "A1", lon=near[0], lat=near[1]))
    assert found(result, bureau_id="A1", check="mairie_named_far") == []


def test_a_wrong_official_mairie_point_never_makes_a_correct_bureau_an_error(run):
    # Gamma's official point lies in Beta, 1.9 km from the bureau at the real mairie.
    result = run(clean_bureaux())
    assert found(result, bureau_id="G1", severity="error") == []
    assert found(result, bureau_id="G1", severity="warning") == []
    (ref,) = found(result, check="reference_outside_commune")
    assert ref.bureau_id is None and ref.extra["commune"] == "57993"
    assert ref.extra["reference_used"] == "commune-interior"
    assert "service-public.fr" in ref.message


def test_a_street_named_after_the_mairie_does_not_mean_the_bureau_is_in_it(run):
    school = shift(MAIRIES["57991"], 600, 0)
    result = run(clean_bureaux() + [bureau("A2", "57991", school, name="École du centre",
                                           address="12 rue de la Mairie, 57991 Alpha")])
    assert found(result, bureau_id="A2", check="mairie_named_far") == []


def test_the_only_bureau_of_a_commune_far_from_the_mairie_without_a_public_building_name(run):
    house = shift(MAIRIES["57996"], 300, 0)
    result = run(replace(clean_bureaux(), "Z1", lon=house[0], lat=house[1], name="Bureau de vote",
                         address="14 rue des Lilas, 57996 Zeta"))
    (f,) = found(result, bureau_id="Z1", check="single_bureau_far_from_mairie")
    assert f.severity == "warning"
    named = run(replace(clean_bureaux(), "Z1", lon=house[0], lat=house[1], name="Salle polyvalente",
                        address="14 rue des Lilas, 57996 Zeta"))
    assert found(named, bureau_id="Z1") == []


# -- geocode quality ------------------------------------------------------------------------

@pytest.mark.parametrize("gtype, source, severity", [
    ("municipality", "geocoded", "error"),
    ("street", "geocoded", "warning"),
    ("locality", None, "warning"),
    ("housenumber", "geocoded", None),
    ("municipality", "manual", None),
])
def test_geocode_precision(run, gtype, source, severity):
    result = run(replace(clean_bureaux(), "B2", geocode_type=gtype, location_source=source))
    fs = found(result, bureau_id="B2", check="geocode_imprecise")
    assert [f.severity for f in fs] == ([severity] if severity else [])


@pytest.mark.parametrize("score, flagged", [(0.42, True), (0.5, False), (0.91, False)])
def test_a_low_geocoding_score_is_a_warning(run, score, flagged):
    result = run(replace(clean_bureaux(), "B2", geocode_score=score))
    assert bool(found(result, bureau_id="B2", check="geocode_low_score", severity="warning")) is flagged


def test_a_point_at_the_commune_centroid_looks_like_a_geocoder_fallback(run):
    result = run(replace(clean_bureaux(), "B2", lon=6.06, lat=49.015))  # Beta's centre
    (f,) = found(result, bureau_id="B2", check="centroid_like_point")
    assert f.severity == "warning" and f.distance_m < 5


# -- consistency ----------------------------------------------------------------------------

def test_duplicate_ids_are_errors(run):
    result = run(clean_bureaux() + [bureau("B2", "57992", SCHOOL_BETA, name="École Jules Ferry",
                                           address="8 rue des Écoles, 57992 Beta")])
    assert len(found(result, bureau_id="B2", check="duplicate_id", severity="error")) == 2


def test_several_bureaux_in_one_building_are_normal(run):
    result = run(clean_bureaux())
    assert found(result, bureau_id="B2") == [] and found(result, bureau_id="B3") == []


def test_a_point_copied_from_another_communes_bureau_is_flagged_on_the_copy_only(run):
    result = run(replace(clean_bureaux(), "G1", lon=SCHOOL_BETA[0], lat=SCHOOL_BETA[1]))
    (f,) = found(result, bureau_id="G1", check="shared_point_across_communes")
    assert f.severity == "warning"
    assert found(result, bureau_id="G1", check="outside_declared_commune")[0].severity == "error"
    assert {f.severity for f in found(result, bureau_id="B2")} == {"info"}


def test_the_same_point_for_two_streets_of_one_commune_is_a_warning(run):
    result = run(replace(clean_bureaux(), "B2", lon=MAIRIES["57992"][0], lat=MAIRIES["57992"][1]))
    (f,) = found(result, bureau_id="B2", check="shared_point_different_address")
    assert f.severity == "warning"
    # the mairie bureau is where it says it is
    assert [g.severity for g in found(result, bureau_id="B1", check="shared_point_different_address")] == ["info"]


def test_the_same_street_written_two_ways_at_one_point_is_not_flagged(run):
    result = run(replace(clean_bureaux(), "B3", address="du 6 au 10 rue des Écoles, 57992 Beta"))
    assert found(result, check="shared_point_different_address") == []


def test_one_bureau_of_a_building_placed_away_from_the_others_is_flagged_alone(run):
    extra = bureau("B4", "57992", SCHOOL_BETA, name="École Jules Ferry (bureau 4)", address="8 rue des Écoles, 57992 Beta")
    moved = shift(SCHOOL_BETA, -250, 0)
    result = run(replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1]) + [extra])
    (f,) = found(result, check="same_address_different_points")
    assert f.bureau_id == "B3" and f.distance_m == pytest.approx(250, abs=2)
    assert f.suggestion["lon"] == pytest.approx(SCHOOL_BETA[0], abs=1e-6)


def test_two_bureaux_of_one_address_that_disagree_are_both_flagged(run):
    moved = shift(SCHOOL_BETA, 0, 300)
    result = run(replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1]))
    assert {f.bureau_id for f in found(result, check="same_address_different_points")} == {"B2", "B3"}


# -- official areas -------------------------------------------------------------------------

def test_a_bureau_outside_its_own_area_is_normal_unless_very_far(run):
    from shapely.geometry import box

    near = box(6.02, 49.0, 6.03, 49.01)  # ~1.1 km from Alpha's mairie
    far = box(6.0, 49.0, 6.001, 49.001)
    result = run(clean_bureaux(), area_bureau_ids=["A1", "B1", "X9"],
                 area_geometries=[near, far, box(6.0, 49.0, 6.01, 49.01)])
    (a,) = found(result, bureau_id="A1", check="outside_own_area")
    assert a.severity == "info"
    (b,) = found(result, bureau_id="B1", check="outside_own_area")
    assert b.severity == "warning" and b.distance_m > Thresholds().area_far_m
    (x,) = found(result, check="area_unknown_bureau")
    assert x.extra["area_bureau_id"] == "X9"


# -- re-geocoding ---------------------------------------------------------------------------

def _gp(point, *, type_="housenumber", score=0.95, citycode="57992", label="x"):
    return GeocodedPoint(label=label, lon=point[0], lat=point[1], type=type_, score=score, citycode=citycode)


def test_regeocoding_flags_a_point_far_from_its_address_and_suggests_the_geocoded_one(run):
    real = shift(SCHOOL_BETA, 400, 0)
    geocoder = address_geocoder({"8 rue des Écoles, 57992 Beta": [_gp(real)]})
    result = run(clean_bureaux(), geocoder=geocoder, rate_per_s=0)
    fs = found(result, check="regeocode_far")
    assert {f.bureau_id for f in fs} == {"B2", "B3"}
    assert fs[0].suggestion["source"] == "regeocode"
    assert sum(1 for text, *_ in geocoder.queries if "rue des Écoles, 57992" in text) == 1  # one building, one query


def test_regeocoding_reports_an_address_found_in_another_commune(run):
    geocoder = address_geocoder({"9 rue de la Gare": [_gp(MAIRIES["57991"], citycode="57991")]})
    result = run(clean_bureaux(), geocoder=geocoder, rate_per_s=0)
    (f,) = found(result, bureau_id="Z1", check="geocode_citycode_mismatch")
    assert f.severity == "warning" and "Alpha" in f.message
    assert found(result, bureau_id="Z1", check="regeocode_far") == []
    assert found(result, bureau_id="A1", check="regeocode_not_found", severity="info")


def test_a_poor_answer_in_another_commune_only_says_the_address_was_not_found(run):
    weak = _gp(MAIRIES["57991"], citycode="57991", score=0.57)
    result = run(clean_bureaux(), geocoder=address_geocoder({"9 rue de la Gare": [weak]}), rate_per_s=0)
    (f,) = found(result, bureau_id="Z1", check="geocode_citycode_mismatch")
    assert f.severity == "info"


def test_a_geocoded_mairie_address_replaces_a_wrong_official_point(run):
    # Gamma's mairie address, geocoded at the real mairie: the reference becomes usable.
    geocoder = address_geocoder({"5 Grand-Rue, 57993": [_gp(GAMMA_REAL_MAIRIE, citycode="57993")]})
    house = shift(GAMMA_REAL_MAIRIE, 0, 200)
    result = run(replace(clean_bureaux(), "G1", lon=house[0], lat=house[1]), geocoder=geocoder, rate_per_s=0)
    (f,) = found(result, bureau_id="G1", check="mairie_named_far")
    assert f.extra["reference"] == "geocoded-mairie" and f.severity == "warning"
    (ref,) = found(result, check="reference_outside_commune")
    assert ref.extra["reference_used"] == "geocoded-mairie"


def test_an_official_point_confirmed_by_the_geocoded_address_turns_the_2017_case_into_an_error(run):
    geocoder = address_geocoder({"1 place de la Mairie, 57991": [_gp(shift(MAIRIES["57991"], 15, 0), citycode="57991")]})
    house = shift(MAIRIES["57991"], 0, 200)
    result = run(replace(clean_bureaux(), "A1", lon=house[0], lat=house[1], address="Mairie, 57991 Alpha"),
                 geocoder=geocoder, rate_per_s=0)
    (f,) = found(result, bureau_id="A1", check="mairie_named_far")
    assert f.severity == "error" and f.extra["corroborated"] is True


def test_a_geocoder_serving_back_the_official_point_is_no_confirmation(run):
    # the embedded index holds the annuaire's mairie addresses at the annuaire's own points
    geocoder = address_geocoder({"1 place de la Mairie, 57991": [_gp(MAIRIES["57991"], citycode="57991")]})
    house = shift(MAIRIES["57991"], 0, 200)
    result = run(replace(clean_bureaux(), "A1", lon=house[0], lat=house[1], address="Mairie, 57991 Alpha"),
                 geocoder=geocoder, rate_per_s=0)
    (f,) = found(result, bureau_id="A1", check="mairie_named_far")
    assert f.severity == "warning" and f.extra["corroborated"] is False


def test_a_geocoder_that_goes_down_is_reported_and_the_rest_still_runs(run):
    result = run(clean_bureaux(), geocoder=address_geocoder({}, fail_after=2), rate_per_s=0)
    (f,) = found(result, check="regeocode_unavailable")
    assert f.severity == "warning" and result.regeocode.queries == 2
    assert found(result, check="reference_outside_commune")  # the other checks ran


def test_corrections_are_listed_in_the_report_and_fix_the_finding(run):
    moved = shift(SCHOOL_BETA, 300, 0)
    bureaux = replace(clean_bureaux(), "B3", lon=moved[0], lat=moved[1])
    before = run(bureaux)
    assert found(before, check="same_address_different_points")
    after = run(bureaux, corrections=load_corrections(DATA / "corrections.csv"))
    assert not found(after, check="same_address_different_points")
    (applied,) = found(after, bureau_id="B3", check="correction_applied")
    assert "300 m" in applied.message and "parking" in applied.message and applied.severity == "info"
    (unknown,) = found(after, check="correction_unknown_bureau")
    assert unknown.severity == "warning" and "ZZ9" in unknown.message
