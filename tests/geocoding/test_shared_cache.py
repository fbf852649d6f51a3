"""Answers shared by the workers of one machine (``geocoding/shared.py``)."""

from __future__ import annotations

import redis

from locator.config import Settings
from locator.geocoding import shared as shared_mod
from locator.geocoding.chain import GeocoderChain, build_geocoder
from locator.geocoding.shared import SharedAnswers


class Counting:
    """The embedded backend, counting the searches that reach it."""

    name = "counting"

    def __init__(self, inner):
        self.inner = inner
        self.searches = 0

    def search(self, *args, **kwargs):
        self.searches += 1
        return self.inner.search(*args, **kwargs)

    def reverse(self, lon, lat):
        return self.inner.reverse(lon, lat)

    def close(self):
        pass


def _flush(embedded):
    redis.Redis(unix_socket_path=embedded.redis_socket_path, db=shared_mod.DB).flushdb()


def test_a_text_searched_by_one_worker_is_not_searched_again_by_another(embedded):
    embedded.open()
    _flush(embedded)
    one, two = Counting(embedded), Counting(embedded)
    first = GeocoderChain([one], cache_size=100, shared=SharedAnswers(embedded))
    second = GeocoderChain([two], cache_size=100, shared=SharedAnswers(embedded))
    texts = ["hagondagne", "Metz", "1 place d'armes metz", "zzqxw"]
    answers = [first.search(t) for t in texts]
    assert one.searches == len(texts) and any(answers)
    assert [second.search(t) for t in texts] == answers  # the same answers, float for float
    assert two.searches == 0
    assert [second.search(t, autocomplete=True) for t in texts[:1]] and two.searches == 1  # other options: other keys
    # the second worker's own cache now holds them: no round trip the next time
    assert len(second.cache) == len(texts) + 1


def test_the_namespace_follows_the_index(embedded, monkeypatch):
    embedded.open()
    _flush(embedded)
    shared = SharedAnswers(embedded)
    chain = GeocoderChain([embedded], cache_size=100, shared=shared)
    chain.search("Metz")
    key = next(iter(chain.cache._data))
    assert shared.get(key) is not None
    monkeypatch.setattr(embedded, "manifest", {**embedded.manifest, "fingerprint": "another-index-entirely"})
    assert shared.get(key) is None  # a rebuilt index never serves the previous index's answers


def test_a_failing_redis_costs_only_the_shared_hits(embedded, monkeypatch, caplog):
    embedded.open()
    shared = SharedAnswers(embedded)
    monkeypatch.setattr(shared_mod, "DB", 99)  # a database that does not exist: every command fails
    chain = GeocoderChain([embedded], cache_size=100, shared=shared)
    assert chain.search("Metz")
    assert chain.search("Thionville")
    assert sum("shared geocoder cache unavailable" in r.getMessage() for r in caplog.records) == 1


def test_off_for_bulk_work_for_an_external_redis_and_when_asked(moselle_dir):
    settings = Settings(data_dir=moselle_dir)
    assert isinstance(build_geocoder(settings).shared, SharedAnswers)
    assert build_geocoder(settings, batch=True).shared is None
    assert build_geocoder(settings.replace(geocode_shared_cache=False)).shared is None
    assert build_geocoder(settings.replace(redis_url="redis://127.0.0.1:1/0")).shared is None
    assert build_geocoder(settings.replace(geocode_cache_size=0)).shared is None
