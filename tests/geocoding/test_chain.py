"""The chain: order, fallbacks, cache; a dead remote changes nothing for the voter."""

from __future__ import annotations

import pytest
from geopy.adapters import BaseSyncAdapter

from locator import GeocodedPoint, Settings
from locator.errors import GeocoderUnavailable, InvalidQuery
from locator.geocoding import GeocoderChain, build_geocoder
from locator.geocoding.chain import LRUCache, has_housenumber
from locator.geocoding.embedded import EmbeddedGeocoder
from locator.geocoding.fake import FakeGeocoder
from locator.geocoding.remote import RemoteGeocoder


def point(label, type_="housenumber", score=0.9, citycode="57463", source="fake"):
    return GeocodedPoint(label=label, lon=6.17, lat=49.11, type=type_, score=score, citycode=citycode,
                         postcode="57000", source=source)


def fake(name, answer):
    """A backend answering ``answer`` (a list of points, or an exception to raise) to anything."""
    if isinstance(answer, BaseException):
        return FakeGeocoder(name=name, error=answer)
    return FakeGeocoder(name=name, answers=answer)


DOWN = GeocoderUnavailable("down")


def test_first_sufficient_answer_wins_and_later_backends_are_not_asked():
    a, b = fake("a", [point("12 Rue X 57000 Metz")]), fake("b", [point("other")])
    assert GeocoderChain([a, b]).search("12 rue X Metz")[0].label == "12 Rue X 57000 Metz"
    assert b.queries == []


def test_a_street_for_a_house_number_query_asks_the_next_backend():
    a = fake("embedded", [point("Rue X 57000 Metz", "street")])
    b = fake("remote", [point("12 Rue X 57000 Metz", "housenumber", source="remote")])
    assert GeocoderChain([a, b]).search("12 rue X Metz")[0].type == "housenumber"


def test_the_most_precise_answer_is_kept_when_no_backend_is_sufficient():
    a = fake("embedded", [point("Rue X 57000 Metz", "street", 0.7)])
    b = fake("remote", [point("Metz", "municipality", 0.9)])
    assert GeocoderChain([a, b]).search("12 rue X Metz")[0].type == "street"


@pytest.mark.parametrize("order", ["remote,embedded", "embedded,remote"])
def test_a_failing_backend_is_skipped_when_another_answers(order):
    backends = {"embedded": fake("embedded", [point("Rue X 57000 Metz", "street")]), "remote": fake("remote", DOWN)}
    chain = GeocoderChain([backends[n] for n in order.split(",")])
    assert chain.search("12 rue X Metz")[0].label == "Rue X 57000 Metz"


def test_nothing_found_by_a_working_backend_is_an_empty_answer_even_if_another_failed():
    assert GeocoderChain([fake("embedded", []), fake("remote", DOWN)]).search("zzz") == []


def test_every_backend_failing_is_geocoder_unavailable_from_the_cause():
    with pytest.raises(GeocoderUnavailable) as info:
        GeocoderChain([fake("a", DOWN), fake("b", GeocoderUnavailable("also down"))]).search("Metz")
    assert info.value.__cause__ is not None


def test_queries_are_normalised_once_and_cached_by_their_folded_form():
    a = fake("a", [point("Saint-Avold", "municipality")])
    chain = GeocoderChain([a], cache_size=10)
    chain.search("St-Avold")
    chain.search("SAINT AVOLD")
    chain.search("saint-avold ")
    assert a.queries == [("Saint-Avold", None, None, 5)]
    chain.search("Saint-Avold", citycode="57606")
    assert len(a.queries) == 2  # filters are part of the key
    assert chain.cache.hits == 2


def test_answers_obtained_while_a_backend_failed_are_not_cached():
    remote = fake("remote", DOWN)
    chain = GeocoderChain([remote, fake("embedded", [point("Metz", "municipality")])], cache_size=10)
    chain.search("Metz")
    chain.search("Metz")
    assert len(remote.queries) == 2


def test_invalid_input_never_reaches_a_backend():
    a = fake("a", [])
    with pytest.raises(InvalidQuery):
        GeocoderChain([a]).search("  !!! ")
    assert a.queries == []


def test_lru_cache_evicts_the_least_recent():
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and len(cache) == 2
    off = LRUCache(0)
    off.put("a", 1)
    assert off.get("a") is None


def test_close_closes_every_backend_and_the_chain_is_a_context_manager():
    a, b = fake("a", []), fake("b", [])
    with GeocoderChain([a, b]):
        pass
    assert a.closed and b.closed


@pytest.mark.parametrize("query, expected", [
    ("12 rue X Metz", True), ("12bis rue X", True), ("Résidence Les Pins, 3 bis avenue Foch", True),
    ("Metz 57000", False), ("57000 Metz", False), ("Metz", False), ("rue X", False),
])
def test_house_number_detection(query, expected):
    assert has_housenumber(query) is expected


def test_build_geocoder_follows_the_settings_order(tmp_path):
    chain = build_geocoder(Settings(data_dir=tmp_path, geocoders=("remote", "embedded")))
    assert [type(g) for g in chain.geocoders] == [RemoteGeocoder, EmbeddedGeocoder]
    assert chain.cache.maxsize == Settings().geocode_cache_size
    chain.close()
    with pytest.raises(ValueError, match="unknown geocoder"):
        build_geocoder(Settings(geocoders=("embedded", "google")))


def test_geocoders_setting_comes_from_the_environment():
    s = Settings.from_env({"LOCATOR_GEOCODERS": "embedded, remote", "LOCATOR_REMOTE_URL": "http://127.0.0.1:7878"})
    assert s.geocoders == ("embedded", "remote") and s.remote_url == "http://127.0.0.1:7878"


class DeadAdapter(BaseSyncAdapter):
    def __init__(self, *, proxies, ssl_context):
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.calls = 0

    def get_json(self, url, *, timeout, headers):
        self.calls += 1
        raise OSError("connection refused")

    def get_text(self, url, *, timeout, headers):  # pragma: no cover
        raise OSError("connection refused")


@pytest.mark.parametrize("order", [("remote", "embedded"), ("embedded", "remote")])
def test_a_dead_remote_changes_nothing_for_the_voter(moselle_locator, moselle_dir, order):
    from locator import Locator

    settings = moselle_locator.settings.replace(geocoders=order)
    remote = RemoteGeocoder(settings, adapter_factory=DeadAdapter)
    backends = {"remote": remote, "embedded": moselle_locator.geocoder.backend("embedded")}
    chain = GeocoderChain([backends[n] for n in order], cache_size=0)  # not closed: the embedded one is shared
    loc = Locator.from_data_dir(moselle_dir, settings=settings, geocoder=chain)
    expected = moselle_locator.lookup("Vionville").to_dict()
    for _ in range(5):
        got = loc.lookup("Vionville").to_dict()
        assert got == expected and got["status"] == "ok"
    assert remote.api.adapter.calls <= 3  # the breaker stopped calling it
