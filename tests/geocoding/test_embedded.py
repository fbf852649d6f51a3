"""The embedded addok geocoder on the committed Moselle data (and a temporary redis-server)."""

from __future__ import annotations

import json
import os

import pytest

from locator import GeocodedPoint, Settings
from locator.errors import GeocoderUnavailable
from locator.geocoding import build_geocoder
from locator.geocoding.embedded import EmbeddedGeocoder
from locator.geocoding.redis_server import EmbeddedRedis

from ..conftest import make_data_dir


@pytest.mark.parametrize("query, citycode", [
    ("Metz", "57463"), ("METZ", "57463"), ("metz", "57463"),
    ("Rémilly", "57572"), ("Remilly", "57572"),
    ("Le Ban-Saint-Martin", "57049"), ("Ban-Saint-Martin", "57049"), ("ban saint martin", "57049"),
    ("Saint-Avold", "57606"), ("St Avold", "57606"), ("st-avold", "57606"),
    ("Thionvile", "57672"), ("Sarreguemine", "57631"),
    ("L'Hôpital", "57336"), ("Hopital", "57336"),
    ("Vionville", "57578"), ("Rezonville", "57578"), ("Ritzing", "57439"), ("Merlebach", "57240"),
    ("Ancy-sur-Moselle", "57021"), ("Dornot", "57021"), ("Halling-lès-Boulay", "57097"),
    ("Montigny-lès-Metz", "57480"), ("Montigny les Metz", "57480"),
    ("57000", "57463"),
])
def test_commune_names_in_every_spelling_find_today_s_commune(moselle_locator, query, citycode):
    best = moselle_locator.geocoder.search(query, limit=1)[0]
    assert (best.citycode, best.type) == (citycode, "municipality")
    assert best.source == "embedded" and best.score > 0.4


def test_mairie_addresses_are_house_numbers_at_the_official_point(moselle_locator):
    best = moselle_locator.geocoder.search("40 rue Principale 57920 Aboncourt", limit=1)[0]
    c = moselle_locator.commune("57001")
    assert best == GeocodedPoint(label="40 Rue Principale 57920 Aboncourt", lon=c.mairie_lon, lat=c.mairie_lat,
                                 type="housenumber", score=best.score, citycode="57001", postcode="57920",
                                 source="embedded")


def test_citycode_filter_accepts_a_former_code(moselle_locator):
    points = moselle_locator.geocoder.search("Vionville", citycode="57722")
    assert points and {p.citycode for p in points} == {"57578"}
    assert moselle_locator.geocoder.search("Metz", citycode="57722")[0].citycode == "57578"


def test_postcode_filter(moselle_locator):
    assert {p.citycode for p in moselle_locator.geocoder.search("Metz", postcode="57050")} <= {
        c.code for c in moselle_locator.communes if "57050" in c.codes_postaux}


def test_nothing_found_is_an_empty_list(moselle_locator):
    assert moselle_locator.geocoder.search("zzqxw kkjhq", limit=5) == []


def test_reverse_finds_the_mairie_next_to_a_point(moselle_locator):
    c = moselle_locator.commune("57001")
    points = moselle_locator.geocoder.reverse(c.mairie_lon + 0.0001, c.mairie_lat)
    assert points and points[0].citycode == "57001"


def test_index_is_persisted_and_reused_then_rebuilt_when_the_data_changes(tmp_path):
    data = make_data_dir(tmp_path / "data")
    settings = Settings(data_dir=data)
    with EmbeddedGeocoder(settings) as g:
        assert g.last_build is not None and g.last_build.municipalities == 725
    manifest = json.loads((data / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["report"]["documents"] == g.last_build.documents
    with EmbeddedGeocoder(settings) as g:
        assert g.last_build is None  # loaded from data/index/addok.rdb
        assert g.search("Metz", limit=1)[0].citycode == "57463"
    side = data / "communes" / "57.anciennes.json"
    doc = json.loads(side.read_text(encoding="utf-8"))
    doc["anciennes"] = [a for a in doc["anciennes"] if a["nom"] != "Vionville"]
    side.write_text(json.dumps(doc), encoding="utf-8")
    with EmbeddedGeocoder(settings) as g:
        assert g.last_build is not None
        assert all(p.citycode != "57578" for p in g.search("Vionville", limit=3) if p.score > 0.9)


def test_two_indexes_live_side_by_side_in_one_process(moselle_locator, multi_locator):
    assert moselle_locator.geocoder.search("15 bis rue Serpenoise Metz", limit=1)[0].type != "housenumber"
    assert multi_locator.geocoder.search("15 bis rue Serpenoise Metz", limit=1)[0].type == "housenumber"
    assert moselle_locator.geocoder.search("Metz", limit=1)[0].citycode == "57463"


def test_a_dead_embedded_server_is_restarted(tmp_path):
    data = make_data_dir(tmp_path / "data")
    with EmbeddedGeocoder(Settings(data_dir=data)) as g:
        g._server.process.kill()
        g._server.process.wait()
        assert g.search("Metz", limit=1)[0].citycode == "57463"


def test_any_redis_by_url_holds_the_index(tmp_path):
    data = make_data_dir(tmp_path / "data")
    with EmbeddedRedis(tmp_path / "external") as external:
        settings = Settings(data_dir=data, redis_url=f"unix://{external.socket_path}?db=3")
        with build_geocoder(settings) as g:
            assert g.search("Vionville", limit=1)[0].citycode == "57578"
            assert g.backend("embedded").server_pid is None  # no private server started
        assert redis_db_size(external.socket_path, 3) > 1000
        assert redis_db_size(external.socket_path, 0) == 0


def redis_db_size(socket: str, db: int) -> int:
    import redis

    return redis.Redis(unix_socket_path=socket, db=db).dbsize()


def test_unreachable_redis_is_geocoder_unavailable(tmp_path):
    data = make_data_dir(tmp_path / "data")
    settings = Settings(data_dir=data, redis_url=f"unix://{tmp_path}/nothing.sock")
    g = build_geocoder(settings)
    with pytest.raises(GeocoderUnavailable) as info:
        g.search("Metz")
    assert info.value.__cause__ is not None
    with pytest.raises(GeocoderUnavailable):
        g.open()
    g.close()


def test_an_index_saved_by_another_process_meanwhile_is_reloaded_not_rebuilt(tmp_path):
    data = make_data_dir(tmp_path / "data")
    settings = Settings(data_dir=data)
    late = EmbeddedGeocoder(settings)
    late._server = EmbeddedRedis(late.index_dir, "addok.rdb").start()  # started before the build below
    with EmbeddedGeocoder(settings) as first:
        assert first.last_build is not None
    late.open()
    try:
        assert late.last_build is None  # reloaded the saved index
        assert late.search("Vionville", limit=1)[0].citycode == "57578"
    finally:
        late.close()


# -- the fast path's connection held per thread ------------------------------------------------

@pytest.fixture
def tcp_redis(tmp_path):
    """A redis-server on a free local port: (port, restart) where ``restart()`` kills it and
    starts another on the same port."""
    from .test_replica import _free_port, _start_redis, _stop

    port = _free_port()
    procs = [_start_redis(tmp_path / "redis", port)]

    def restart():
        procs[-1].kill()
        procs[-1].wait()
        procs.append(_start_redis(tmp_path / "redis", port))

    try:
        yield port, restart
    finally:
        for proc in procs:
            _stop(proc)


def test_a_thread_keeps_its_held_connection_and_another_thread_gets_its_own(tcp_redis):
    import threading

    import redis

    from locator.geocoding.embedded import HeldConnections

    port, _restart = tcp_redis
    shared, held = redis.Redis(host="127.0.0.1", port=port), HeldConnections()
    mine = held.client(shared)
    assert mine.ping() and held.client(shared) is mine and mine.connection is not None
    others = []
    thread = threading.Thread(target=lambda: others.append(held.client(shared)))
    thread.start()
    thread.join()
    assert others[0] is not mine and others[0].connection is not mine.connection
    assert held.client(redis.Redis(host="127.0.0.1", port=port)) is not mine  # another pool: another client


def test_a_thread_s_connection_goes_back_to_the_pool_when_the_thread_ends(tcp_redis):
    import gc
    import threading

    import redis

    from locator.geocoding.embedded import HeldConnections

    port, _restart = tcp_redis
    shared, held = redis.Redis(host="127.0.0.1", port=port), HeldConnections()
    thread = threading.Thread(target=lambda: held.client(shared).ping())
    thread.start()
    thread.join()
    gc.collect()
    pool = shared.connection_pool
    assert not pool._in_use_connections and len(pool._available_connections) == 1


def test_a_held_connection_reconnects_after_the_server_restarts(tcp_redis):
    import redis

    from locator.geocoding.embedded import HeldConnections

    port, restart = tcp_redis
    shared, held = redis.Redis(host="127.0.0.1", port=port), HeldConnections()
    client = held.client(shared)
    client.set("k", "before")
    restart()
    client.set("k", "after")  # the dead socket is dropped and the command sent again on a new one
    assert held.client(shared) is client and shared.get("k") == b"after"


def test_a_forked_child_does_not_use_the_connection_held_by_its_parent(tcp_redis):
    import redis

    from locator.geocoding.embedded import HeldConnections

    port, _restart = tcp_redis
    shared, held = redis.Redis(host="127.0.0.1", port=port), HeldConnections()
    parent = held.client(shared)
    parent.set("k", "parent")
    pid = os.fork()
    if pid == 0:  # the child: its own client and connection, and the parent's left open
        ok = False
        try:
            child = held.client(shared)
            ok = (child is not parent and child.connection is not parent.connection
                  and child.get("k") == b"parent" and child.set("k", "child"))
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert held.client(shared) is parent and parent.get("k") == b"child"
