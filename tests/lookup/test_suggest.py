"""Suggestions while the voter types (``locator.lookup.scope.suggest``): what was typed wins.

On the web tests' data (Metz, Montigny-lès-Metz, Woippy, Scy-Chazelles) with a fake geocoder
that answers exactly what each test gives it, like addok's misleading answers of issue 10.
"""

from __future__ import annotations

import pytest

from locator import GeocodedPoint, Locator, Settings
from locator.geocoding.fake import FakeGeocoder
from locator.lookup.scope import suggest

from ..web.conftest import write_web_data


def _pt(label, type_, citycode, score, lonlat=(6.17, 49.11)):
    return GeocodedPoint(label=label, lon=lonlat[0], lat=lonlat[1], type=type_, score=score, citycode=citycode,
                         postcode=None, source="fake")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_web_data(tmp_path_factory.mktemp("suggest-data"))


def locator_with(data_dir, table, *, match="exact") -> tuple[Locator, FakeGeocoder]:
    geocoder = FakeGeocoder(table, match=match)
    return Locator.from_data_dir(data_dir, settings=Settings(data_dir=data_dir), geocoder=geocoder), geocoder


def labels(results):
    return [s.label for s in results]


def test_a_commune_named_in_the_text_ranks_its_own_places_and_drops_the_others(data_dir):
    # addok's best answers for a street of Metz were "rue de Metz" in other communes.
    locator, _ = locator_with(data_dir, {"12 rue serpenoise metz": [
        _pt("12 Rue de Metz 57140 Woippy", "housenumber", "57751", 0.46),
        _pt("Rue de Metz 57950 Montigny-lès-Metz", "street", "57480", 0.35),
        _pt("12 Rue Serpenoise 57000 Metz", "housenumber", "57463", 0.30),
    ]})
    assert labels(suggest(locator, "12 rue Serpenoise Metz", limit=5)) == ["12 Rue Serpenoise 57000 Metz"]


def test_the_named_commune_is_searched_on_its_own_when_the_best_answers_are_elsewhere(data_dir):
    locator, geocoder = locator_with(data_dir, {
        "place de l'hotel de ville woippy": [_pt("Place de l'Hôtel-de-Ville 57000 Metz", "street", "57463", 0.5)],
        ("place de l'hotel de ville woippy", "57751"): [
            _pt("Place de l'Hôtel-de-Ville 57140 Woippy", "street", "57751", 0.3)],
    })
    assert labels(suggest(locator, "place de l'Hôtel de Ville Woippy", limit=5)) == [
        "Place de l'Hôtel-de-Ville 57140 Woippy"]
    assert [q[1] for q in geocoder.queries] == [None, "57751"]


def test_a_typed_street_is_never_traded_for_its_commune(data_dir):
    locator, _ = locator_with(data_dir, {"12 rue serpenoise metz": [
        _pt("12 Rue de Metz 57140 Woippy", "housenumber", "57751", 0.46)]})
    assert suggest(locator, "12 rue Serpenoise Metz", limit=5) == []


def test_a_commune_typed_alone_is_offered_even_when_the_geocoder_has_nothing(data_dir):
    locator, _ = locator_with(data_dir, {})
    [only] = suggest(locator, "Woippy", limit=5)
    assert (only.label, only.citycode, only.type) == ("Woippy", "57751", "municipality")


@pytest.mark.parametrize("typed, expected, elsewhere", [
    ("Woip", "Woippy", ("Avenue Henri-II 57160 Scy-Chazelles", "57642")),
    ("Scy-Chaz", "Scy-Chazelles", ("Avenue Henri-II 57140 Woippy", "57751")),
    ("scy chaz", "Scy-Chazelles", ("Avenue Henri-II 57140 Woippy", "57751")),
    ("Montigny-l", "Montigny-lès-Metz", ("Avenue Henri-II 57140 Woippy", "57751")),
    ("MET", "Metz", ("Avenue Henri-II 57140 Woippy", "57751")),
])
def test_a_partial_commune_name_suggests_the_commune_first(data_dir, typed, expected, elsewhere):
    # The geocoder's own answer for the prefix is a street elsewhere that does not hold the
    # typed word ("Nanc" once suggested Le Ban-Saint-Martin).
    locator, _ = locator_with(data_dir, {typed: [_pt(elsewhere[0], "street", elsewhere[1], 0.4)]})
    results = suggest(locator, typed, limit=5)
    assert results[0].label == expected
    assert results[0].type == "municipality"
    assert elsewhere[0] not in labels(results)


def test_places_that_hold_every_typed_word_follow_the_communes(data_dir):
    locator, geocoder = locator_with(data_dir, {"rue de la ga": [
        _pt("Rue de la Gare 57140 Woippy", "street", "57751", 0.7),
        _pt("Rue de la Paix 57000 Metz", "street", "57463", 0.6),
    ]})
    assert labels(suggest(locator, "rue de la ga", limit=5)) == ["Rue de la Gare 57140 Woippy"]
    assert geocoder.queries  # asked once, with the autocomplete on (the fake records the text)


def test_the_geocoder_is_asked_with_its_autocomplete_on(data_dir):
    seen = []

    class Recording(FakeGeocoder):
        def search(self, text, **kw):
            seen.append(kw.get("autocomplete"))
            return super().search(text, **kw)

    geocoder = Recording({}, match="exact")
    locator = Locator.from_data_dir(data_dir, settings=Settings(data_dir=data_dir), geocoder=geocoder)
    suggest(locator, "Thionv", limit=5)
    assert seen == [True]


def test_nothing_outside_the_data_and_the_departement(data_dir):
    locator, _ = locator_with(data_dir, {"rue de nancy": [
        _pt("Rue de Nancy 57660 Lixing", "street", "57409", 0.7),
        _pt("Rue de Nancy 57140 Woippy", "street", "57751", 0.6),
    ]})
    assert labels(suggest(locator, "rue de nancy", limit=5)) == ["Rue de Nancy 57140 Woippy"]
    assert suggest(locator, "rue de nancy", limit=5, departement="54") == []


def test_below_a_named_commune_come_the_longer_names_the_voter_may_still_be_typing(tmp_path):
    # "Metz" names Metz, whose places come first; Metzervisse starts with "Metz" and may be
    # what the voter is typing: offered below. Montigny-lès-Metz does not start with it.
    data_dir = write_web_data(tmp_path, extra_codes=("57465",))
    locator, _ = locator_with(data_dir, {"metz": [
        _pt("Rue de Metz 57950 Montigny-lès-Metz", "street", "57480", 0.8),
        _pt("Metz", "municipality", "57463", 0.7),
    ]})
    assert labels(suggest(locator, "Metz", limit=5)) == ["Metz", "Metzervisse"]


@pytest.mark.parametrize("typed", ["12 rue", "3 pl d", "8 r de l'", "12 plac", "42 rue de la ", "1 rue de l", "108 ru"])
def test_a_text_that_does_not_tell_where_yet_does_not_ask_the_geocoder(data_dir, typed):
    # Thousands of addresses start so: the geocoder would offer a few at random, with its
    # costliest searches (30 ms and more on one département's index).
    locator, geocoder = locator_with(data_dir, {typed: [_pt("12 Rue Serpenoise 57000 Metz", "housenumber", "57463", 0.4)]})
    assert suggest(locator, typed, limit=5) == []
    assert geocoder.queries == []


@pytest.mark.parametrize("typed", ["12 rue de la gare", "12 rue de la montee", "57000", "2 pl franc", "12 rue s",
                                   "12 rue saint", "rue de la g"])
def test_a_name_a_street_type_after_another_or_a_postcode_asks_the_geocoder(data_dir, typed):
    locator, geocoder = locator_with(data_dir, {}, match="prefix")
    suggest(locator, typed, limit=5)
    assert len(geocoder.queries) >= 1

