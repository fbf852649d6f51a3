"""Locator.lookup(text): same JSON as point lookups, precision-gated, never confidently wrong."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from locator import DataDir, GeocodedPoint, Locator, Settings
from locator.errors import GeocoderUnavailable
from locator.geocoding import GeocoderChain
from locator.geocoding.fake import FakeGeocoder
from locator.lookup.messages import PRECISION_FR
from locator.lookup.outcome import warning
from locator.projection import to_l93, to_wgs84

from ..conftest import make_data_dir, redis_servers_under


def lookup(loc, text) -> dict:
    return loc.lookup(text).to_dict()


@pytest.mark.parametrize("query, code", [
    ("Metz", "57463"), ("metz", "57463"), ("METZ", "57463"), ("Metz (57)", "57463"), ("57000", "57463"),
    ("Le Ban-Saint-Martin", "57049"), ("Ban-Saint-Martin", "57049"), ("ban st martin", "57049"),
    ("Ban-Saint-Martin (Le)", "57049"), ("Le Ban-Saint-Martin 57050", "57049"),
    ("Rémilly", "57572"), ("remilly", "57572"), ("Thionvile", "57672"), ("St-Avold", "57606"),
    ("Montigny lez Metz", "57480"), ("Hôpital (L')", "57336"), ("L’Hôpital", "57336"),
    ("Vionville", "57578"), ("Rezonville", "57578"), ("Ritzing", "57439"), ("Halling-lès-Boulay", "57097"),
    ("Mairie de Thionville", "57672"),
])
def test_commune_names_resolve_to_the_right_commune_and_its_bureau(moselle_locator, query, code):
    d = lookup(moselle_locator, query)
    assert d["status"] == "ok", d["message"]
    assert d["commune"]["code"] == code
    assert d["bureau"]["id"] == moselle_locator.bureaux_serving(code)[0].id
    assert d["geocode"]["type"] == "municipality" and d["geocode"]["citycode"] == code
    assert "geocode_precision" in [w["code"] for w in d["warnings"]]  # said plainly
    assert d["query"] == query


def test_a_mairie_address_is_a_house_number_match(moselle_locator):
    d = lookup(moselle_locator, "40 r. Principale, 57920 Aboncourt")
    assert d["status"] == "ok" and d["commune"]["code"] == "57001"
    assert d["geocode"]["type"] == "housenumber"
    assert "geocode_precision" not in [w["code"] for w in d["warnings"]]


@pytest.mark.parametrize("query", ["", "   ", "!!!", "—", "x" * 201])
def test_invalid_input_is_status_invalid(moselle_locator, query):
    d = lookup(moselle_locator, query)
    assert d["status"] == "invalid" and d["geocode"] is None and d["message"]


def test_nothing_found(moselle_locator):
    d = lookup(moselle_locator, "zzqxw kkjhq")
    assert d["status"] == "not_found" and d["commune"] is None and d["bureau"] is None


def test_a_street_found_in_many_communes_asks_which_one(moselle_locator):
    d = lookup(moselle_locator, "rue Principale")
    assert d["status"] == "ambiguous" and d["bureau"] is None
    assert {c["kind"] for c in d["candidates"]} == {"place"}
    assert len({c["citycode"] for c in d["candidates"]}) >= 2


def test_a_street_that_is_not_in_the_named_commune_falls_back_to_the_commune(moselle_locator):
    d = lookup(moselle_locator, "6 Place Saint-Roch, 57000 Metz")
    assert d["status"] == "ok" and d["commune"]["code"] == "57463" and d["geocode"]["type"] == "municipality"


def test_a_street_named_after_a_commune_is_not_taken_for_the_commune(moselle_locator):
    # a street of Carspach (68); 57516 Oberdorff is one typo away
    assert lookup(moselle_locator, "30 Rue Oberdorf")["status"] == "not_found"


def test_a_postcode_shared_by_several_communes_lists_them(moselle_locator):
    d = lookup(moselle_locator, "21 57160")
    assert d["status"] == "ambiguous"
    assert {c["kind"] for c in d["candidates"]} == {"commune"} and len(d["candidates"]) > 1
    assert all("57160" in c["codes_postaux"] for c in d["candidates"])


def test_text_lookups_have_the_point_lookup_json_contract(moselle_locator):
    text = lookup(moselle_locator, "Vionville")
    point = moselle_locator.lookup_point(text["geocode"]["lon"], text["geocode"]["lat"]).to_dict()
    assert list(text) == list(point)
    assert text["bureau"] == point["bureau"] and text["commune"] == point["commune"]
    assert point["geocode"] is None and set(text["geocode"]) == {"label", "lon", "lat", "type", "score", "citycode",
                                                                 "source"}


# -- several bureaux in one commune -------------------------------------------------------------

def test_commune_level_match_in_a_multi_bureau_commune_gives_its_bureaux_never_a_guess(multi_locator):
    d = lookup(multi_locator, "Metz")
    assert d["status"] == "ambiguous" and d["bureau"] is None and d["commune"]["code"] == "57463"
    assert sorted(c["id"] for c in d["candidates"]) == ["57463_A", "57463_B", "57463_C"]
    assert all(c["kind"] == "bureau" for c in d["candidates"])
    assert "numéro" in d["message"]


def test_street_level_match_in_a_multi_bureau_commune_asks_for_the_number(multi_locator):
    d = lookup(multi_locator, "Rue Serpenoise, Metz")
    assert d["status"] == "ambiguous" and d["geocode"]["type"] == "street" and len(d["candidates"]) == 3
    assert d["candidates"][0]["distance_m"] <= d["candidates"][-1]["distance_m"]  # nearest first


@pytest.mark.parametrize("query, housenumber", [
    ("12 rue Serpenoise 57000 Metz", "12"), ("12 r Serpenoise, Metz", "12"),
    ("15 bis rue Serpenoise Metz", "15 bis"), ("15bis rue Serpenoise Metz", "15 bis"),
])
def test_house_number_in_a_multi_bureau_commune_gets_the_nearest_of_its_bureaux(multi_locator, query, housenumber):
    d = lookup(multi_locator, query)
    assert d["status"] == "ok" and d["commune"]["code"] == "57463"
    assert d["geocode"]["type"] == "housenumber" and d["geocode"]["label"].startswith(housenumber + " ")
    assert d["bureau"]["code_insee"] == "57463" and d["method"] == "nearest_in_commune"
    assert "nearest_in_commune" in [w["code"] for w in d["warnings"]]


def test_an_address_of_a_former_commune_finds_today_s_commune(multi_locator):
    d = lookup(multi_locator, "5 rue de Sierck Ritzing")
    assert d["status"] == "ok" and d["commune"]["code"] == "57439" and d["geocode"]["type"] == "housenumber"


def test_an_address_outside_the_data_is_outside_coverage_never_ok(multi_locator):
    d = lookup(multi_locator, "5 rue de Rivoli 75004 Paris")
    assert d["status"] == "outside_coverage" and d["bureau"] is None
    assert d["geocode"]["citycode"] == "75104"


# -- the geocoder's commune against the polygons ------------------------------------------------

@pytest.fixture(scope="module")
def multi_dataset(multi_dir):
    return DataDir(multi_dir).load()


@pytest.fixture
def answering(multi_dataset, multi_dir):
    """``answering(*points, error=None)``: a locator over the multi data whose geocoder
    answers ``points`` to any query (or raises ``error``)."""
    def make(*points, error=None):
        geocoder = FakeGeocoder(error=error) if error is not None else FakeGeocoder(answers=points)
        return Locator(multi_dataset, settings=Settings(data_dir=multi_dir), geocoder=geocoder)
    return make


def _point_in(loc, inside: str, near: str, lo: float, hi: float) -> tuple[float, float]:
    """A point of commune ``inside`` between ``lo`` and ``hi`` metres from commune ``near``."""
    a = loc.index.geoms[loc.index.by_code[inside]]
    b = loc.index.geoms[loc.index.by_code[near]]
    boundary = shapely.boundary(b)
    for t in np.linspace(0, 1, 400):
        p = boundary.interpolate(t, normalized=True)
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1), (0.7, 0.7), (-0.7, 0.7), (0.7, -0.7), (-0.7, -0.7)):
            for step in (lo + 10, (lo + hi) / 2, hi - 10):
                q = shapely.Point(p.x + dx * step, p.y + dy * step)
                if a.contains(q) and lo < shapely.distance(q, b) < hi:
                    lon, lat = to_wgs84(q.x, q.y)
                    return float(lon), float(lat)
    raise AssertionError("no such point")


def _housenumber(lon, lat, citycode, label):
    return GeocodedPoint(label=label, lon=lon, lat=lat, type="housenumber", score=0.95, citycode=citycode,
                         postcode="57050", source="stub")


def test_geocoder_commune_wins_near_the_boundary_with_a_warning(answering):
    lon, lat = _point_in(answering(), "57463", "57049", 30, 250)
    loc = answering(_housenumber(lon, lat, "57049", "1 Rue Test 57050 Le Ban-Saint-Martin"))
    d = lookup(loc, "1 rue Test, Le Ban-Saint-Martin")
    x, y = to_l93(lon, lat)
    assert loc.index.codes[loc.index.locate(x, y)[0]] == "57463"  # the polygon says Metz
    assert d["status"] == "ok" and d["commune"]["code"] == "57049" and d["bureau"]["id"] == "57049_1"
    assert "commune_disagreement" in [w["code"] for w in d["warnings"]]


def test_polygon_wins_far_from_the_geocoder_s_commune_and_says_so(answering):
    lon, lat = _point_in(answering(), "57463", "57049", 1500, 3000)
    loc = answering(_housenumber(lon, lat, "57049", "1 Rue Test 57050 Le Ban-Saint-Martin"))
    d = lookup(loc, "1 rue Test, Le Ban-Saint-Martin")
    assert d["commune"]["code"] == "57463"
    assert "geocoder_commune_overridden" in [w["code"] for w in d["warnings"]]
    assert d["status"] == "ok" and d["bureau"]["code_insee"] == "57463"


def test_a_former_citycode_agrees_with_today_s_polygon(answering):
    c = answering().commune("57578")
    loc = answering(GeocodedPoint(label="Vionville", lon=c.mairie_lon, lat=c.mairie_lat,
                                           type="municipality", score=0.9, citycode="57722", source="stub"))
    d = lookup(loc, "Vionville")
    assert d["status"] == "ok" and d["commune"]["code"] == "57578" and not [
        w for w in d["warnings"] if w["code"].startswith(("commune_", "geocoder_"))]


def test_close_answers_in_different_communes_are_ambiguous(answering):
    a, b = answering().commune("57049"), answering().commune("57412")
    loc = answering(
        _housenumber(a.mairie_lon, a.mairie_lat, "57049", "1 Rue Test 57050 Le Ban-Saint-Martin"),
        _housenumber(b.mairie_lon, b.mairie_lat, "57412", "1 Rue Test 57050 Longeville-lès-Metz"),
    )
    d = lookup(loc, "1 rue Test 57050")
    assert d["status"] == "ambiguous" and d["bureau"] is None


def test_geocoder_unavailable_propagates(answering):
    loc = answering(error=GeocoderUnavailable("down"))
    with pytest.raises(GeocoderUnavailable):
        loc.lookup("Metz")
    assert lookup(loc, "   ")["status"] == "invalid"  # checked before the geocoder


def test_a_locator_without_geocoder_gets_the_configured_one(tmp_path):
    data = make_data_dir(tmp_path / "data")
    with Locator.from_data_dir(data, settings=Settings(data_dir=data)) as loc:
        assert isinstance(loc.geocoder, GeocoderChain)
        assert [g.name for g in loc.geocoder.geocoders] == list(loc.settings.geocoders)
        assert lookup(loc, "Vionville")["commune"]["code"] == "57578"
    assert redis_servers_under(data) == []  # closing the locator stopped it


# -- the address path's shortcuts give the point engine's answers ------------------------------

def _sample_points(loc, n: int = 300) -> list[tuple[float, float]]:
    """Lambert-93 points: random over the data, and a few metres either side of boundaries."""
    rng = np.random.default_rng(2017)
    xmin, ymin, xmax, ymax = shapely.total_bounds(loc.index.geoms)
    pts = list(zip(rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n), strict=True))
    for ci in rng.choice(len(loc.index.geoms), 40, replace=False):
        edge = loc.index.boundaries[ci]
        for t in rng.uniform(0, 1, 5):
            p = edge.interpolate(t, normalized=True)
            pts += [(p.x, p.y), (p.x + 3, p.y), (p.x, p.y - 3)]
    return [(float(x), float(y)) for x, y in pts]


@pytest.mark.parametrize("kind", ["housenumber", "street", "municipality"])
def test_a_text_lookup_answers_as_the_point_of_its_geocode(multi_dataset, multi_dir, kind):
    """Both paths share one tail: an accepted answer at a point gives the point's answer with
    ``geocode`` filled (a house number: exactly ``lookup_point``'s), and only the precision
    gate adds anything (a coarse answer: said plainly, or the commune's bureaux to choose)."""
    geocoder = FakeGeocoder()
    loc = Locator(multi_dataset, settings=Settings(data_dir=multi_dir), geocoder=geocoder)
    index = loc.index
    checked = {"ok": 0, "ambiguous": 0, "outside_coverage": 0}
    for x, y in _sample_points(loc, 150):
        lon, lat = (round(float(v), 7) for v in to_wgs84(x, y))
        here = loc.locate(lon, lat)
        if here.polygon_ci < 0:
            continue
        commune = index.communes[here.polygon_ci]
        cp = commune.codes_postaux[0]
        street = "" if kind == "municipality" else ("1 Rue Test " if kind == "housenumber" else "Rue Test ")
        text = f"{street}{commune.nom}" if kind == "municipality" else f"{street.lower()}, {cp} {commune.nom}"
        g = GeocodedPoint(label=f"{street}{cp} {commune.nom}" if street else commune.nom, lon=lon, lat=lat,
                          type=kind, score=0.9, citycode=commune.code, postcode=cp, source="fake")
        geocoder.answers = [g]
        got = loc.lookup(text)
        serving = loc.bureaux_serving(commune.code)
        if kind == "housenumber":
            point = loc.lookup_point(lon, lat, query=text).to_dict()
            assert got.to_dict() == {**point, "geocode": g.to_dict()}
        elif len(serving) > 1:
            assert got.status == "ambiguous" and got.message_key == "ambiguous.need_housenumber"
            assert [c.id for c in got.candidates] == [c.id for c in loc.bureau_candidates(here.polygon_ci, x, y)]
        else:  # one bureau: the commune is enough, said plainly; none: the commune is not covered
            precision = [warning("geocode_precision", commune=commune.nom, precision=PRECISION_FR[kind])]
            assert got == loc.answer(here, query=text, geocode=g, warnings=precision if serving else ())
        checked[got.status] = checked.get(got.status, 0) + 1
    assert sum(checked.values()) > 100
    if kind != "housenumber":
        assert min(checked.values()) > 0  # Metz has three bureaux, most communes one, some none


def test_address_answers_are_the_same_with_the_warm_cell_grid(moselle_dir, moselle_locator):
    """Every commune name and mairie address of the Moselle, answered by a locator whose
    one-point shortcuts read the warm grid and whose text tables are built beforehand (as the
    server's) and by one without either."""
    settings = Settings(data_dir=moselle_dir)
    same = moselle_locator.geocoder  # the same answers from addok (closed with moselle_locator)
    cold = Locator(moselle_locator.dataset, settings=settings, geocoder=same)
    warm = Locator(moselle_locator.dataset, settings=settings, geocoder=same).warm()
    assert warm.text.warm() is warm.text
    texts = [c.nom for c in cold.communes] + [c.mairie_adresse for c in cold.communes if c.mairie_adresse]
    texts += ["rue Principale", "Place de la Mairie 57000"]  # streets of many communes: ambiguous
    texts += ["Nancy", "Hagondagne", "sarerguemines", "zzqxw"]  # outside the data, typos: the fall-backs
    differ = [t for t in texts if cold.lookup(t).to_dict() != warm.lookup(t).to_dict()]
    assert differ == []
    statuses = {warm.lookup(t).status for t in texts}
    assert {"ok", "ambiguous"} <= statuses
