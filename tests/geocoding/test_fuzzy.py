"""Our fuzzy collector (one round trip per word) answers exactly as addok's own."""

from __future__ import annotations

import pytest

from locator.geocoding import addok_config, collectors

#: Typos as voters make them: alone, with a street, with a postcode, swapped, missing,
#: doubled letters, and words the index does not know at all.
TYPOS = ["Hagondagne", "sararlbe", "Knutagne", "vaspevriller", "mondealnge", "bousabch", "dsitroff",
         "Pteite-Rosselle", "sarerguemines", "fauqluemont", "Cohceren", "Wiseviller",
         "2 rue de l'eglise, 57800 betting", "12 rue ud marechal-foch, 57390 audun-le-tiche",
         "73 reu du general-de-gaulle, 57800 cocheren", "17 ru ede metz, 57470 hombourg-haut",
         "place d ela republique, 57680 noveant-sur-moselle", "rue de la gare thionvile", "zzqxw", "metz zzqxw",
         "sarrebourgg", "1 pl d'armes-jacques-frnacois-blondel, 57000 metz", "st avlod", "forbahc 57600"]


def _results(q: str, autocomplete: bool):
    import addok.core

    return [(r.id, round(r.score, 9)) for r in addok.core.search(q, limit=5, autocomplete=autocomplete)]


@pytest.mark.parametrize("autocomplete", [False, True])
def test_same_results_as_addok_s_own_fuzzy_collector(embedded, autocomplete):
    import addok.fuzzy
    from addok.config import config

    embedded.open()
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        slot = [c.__name__ for c in config.RESULTS_COLLECTORS].index("fuzzy_collector")
        assert config.RESULTS_COLLECTORS[slot] is collectors.fuzzy_collector  # ours is the one configured
        ours = [_results(q, autocomplete) for q in TYPOS]
        config.RESULTS_COLLECTORS[slot] = addok.fuzzy.fuzzy_collector
        try:
            theirs = [_results(q, autocomplete) for q in TYPOS]
        finally:
            config.RESULTS_COLLECTORS[slot] = collectors.fuzzy_collector
    assert ours == theirs
    assert sum(bool(r) for r in ours) >= len(TYPOS) // 2  # most typos are found: not two empty lists compared


def test_known_neighbours_are_the_indexed_words_in_the_given_order(embedded):
    from addok.db import DB
    from addok.pairs import pair_key

    embedded.open()
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        client = DB.instance
        indexed = sorted(k.decode()[2:] for k in client.scan_iter("w|*", count=1000))[:3]
        assert len(indexed) == 3
        words = ["zzqxw", indexed[2], "qqqqq", indexed[0], indexed[1], "zzqxw"]
        assert collectors.known_neighbours(client, words, []) == [indexed[2], indexed[0], indexed[1]]
        assert collectors.known_neighbours(client, [], []) == []
        # with another word: only the words seen with it (its pair set)
        word = indexed[0]
        seen = sorted(m.decode() for m in client.smembers(pair_key(word)))[:2]
        assert seen
        unseen = [w for w in indexed if w not in seen and w != word]
        got = collectors.known_neighbours(client, [*unseen, *reversed(seen), "zzqxw"], ["w|" + word])
        assert got == list(reversed(seen))


def test_fuzzy_neighbours_are_addok_s_and_kept(embedded):
    import addok.fuzzy
    from addok.config import config

    embedded.open()
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        for word in ["hagondagne", "rue", "metz", "a", "", "thionvile"]:
            assert list(collectors.fuzzy_neighbours(word, 1)) == addok.fuzzy.make_fuzzy(word, max=1)
        assert collectors.fuzzy_neighbours("hagondagne", 1) is collectors.fuzzy_neighbours("hagondagne", 1)
        key_map = config.FUZZY_KEY_MAP
        try:
            config.FUZZY_KEY_MAP = {"a": "q"}  # another keyboard: other neighbours, not the kept ones
            assert list(collectors.fuzzy_neighbours("rue", 1)) == addok.fuzzy.make_fuzzy("rue", max=1)
        finally:
            config.FUZZY_KEY_MAP = key_map
