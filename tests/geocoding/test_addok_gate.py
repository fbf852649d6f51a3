"""addok's process-wide state: searches share it, changes are exclusive (``addok_config``)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from locator.geocoding import addok_config
from locator.geocoding.addok_config import _Gate

QUERIES = ["Metz", "hagondagne", "sarerguemines", "1 place d'armes metz", "rue de la gare thionville",
           "2 rue de l'eglise, 57800 betting", "st avold", "forbach 57600", "zzqxw", "Boulay"]


def _answer(embedded, q: str, autocomplete: bool):
    return [(p.label, p.lon, p.lat, p.score) for p in embedded.search(q, limit=5, autocomplete=autocomplete)]


def test_concurrent_searches_answer_as_one_at_a_time(embedded):
    embedded.open()
    jobs = [(q, ac) for q in QUERIES for ac in (False, True)] * 4
    alone = {job: _answer(embedded, *job) for job in jobs}
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda job: _answer(embedded, *job), jobs))
    assert together == [alone[job] for job in jobs]
    assert sum(bool(a) for a in alone.values()) > len(alone) // 2


def test_a_change_waits_for_running_searches_and_holds_new_ones_back():
    gate = _Gate()
    client = object()
    order: list[str] = []
    in_search, change_waiting, release_search = threading.Event(), threading.Event(), threading.Event()

    def search(name: str, started: threading.Event | None = None, hold: threading.Event | None = None):
        with gate.shared(client, {}):
            order.append(f"{name} in")
            if started is not None:
                started.set()
            if hold is not None:
                hold.wait(10)
            order.append(f"{name} out")

    def change():
        change_waiting.set()
        with gate.exclusive():
            order.append("change")

    import addok.db

    previous = addok.db.DB.instance
    addok.db.DB.instance = client  # already bound to this client: nothing to bind
    try:
        first = threading.Thread(target=search, args=("first", in_search, release_search))
        first.start()
        assert in_search.wait(10)
        changer = threading.Thread(target=change)
        changer.start()
        assert change_waiting.wait(10)
        while not gate._waiting:  # the change is queued behind the running search
            threading.Event().wait(0.001)
        second = threading.Thread(target=search, args=("second",))
        second.start()
        release_search.set()
        for t in (first, changer, second):
            t.join(10)
        assert order == ["first in", "first out", "change", "second in", "second out"]
    finally:
        addok.db.DB.instance = previous


def test_exclusive_use_is_reentrant_and_may_search(embedded):
    embedded.open()
    with addok_config.lock():
        with addok_config.lock():
            with addok_config.searching(embedded._client, embedded._redis_settings):
                assert embedded.search("Metz", limit=1)
