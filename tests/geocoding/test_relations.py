"""Our relations collector (every pair of words asked in one round trip) answers exactly as
addok's ``extend_results_extrapoling_relations``."""

from __future__ import annotations

import pytest

from locator.geocoding import addok_config, collectors

from .test_fuzzy import TYPOS

#: Texts whose bucket is still empty after the fuzzy pass, so that the relations are tried:
#: typos with a street, words seen together nowhere, and a few that match nothing.
TEXTS = [*TYPOS, "mairie metz thionville sarrebourg", "rue de la gare forbach hayange", "eglise boulay zzqxw metz",
         "place de l'hotel de ville 57000 nancy", "12 rue des jardins saint avold creutzwald"]


def _results(q: str, autocomplete: bool):
    import addok.core

    return [(r.id, round(r.score, 9)) for r in addok.core.search(q, limit=5, autocomplete=autocomplete)]


@pytest.mark.parametrize("autocomplete", [False, True])
def test_same_results_as_addok_s_own_relations_collector(embedded, autocomplete, monkeypatch):
    import addok.helpers.collectors as theirs_module
    from addok.config import config

    asked = []
    seen_together = collectors.seen_together
    monkeypatch.setattr(collectors, "seen_together", lambda client, tokens: asked.append(len(tokens)) or
                        seen_together(client, tokens))
    embedded.open()
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        slot = [c.__name__ for c in config.RESULTS_COLLECTORS].index("extend_results_extrapoling_relations")
        configured = config.RESULTS_COLLECTORS[slot]
        try:
            config.RESULTS_COLLECTORS[slot] = theirs_module.extend_results_extrapoling_relations
            theirs = [_results(q, autocomplete) for q in TEXTS]
            config.RESULTS_COLLECTORS[slot] = collectors.extend_results_extrapoling_relations
            ours = [_results(q, autocomplete) for q in TEXTS]
        finally:
            config.RESULTS_COLLECTORS[slot] = configured
    assert ours == theirs
    assert sum(bool(r) for r in ours) >= len(TEXTS) // 2  # not two empty lists compared
    assert sum(n >= 3 for n in asked) >= 5  # the relations were tried, between several words


def test_one_to_many_relations_are_addok_s_with_the_same_order(embedded):
    from addok.db import DB
    from addok.helpers.collectors import _compute_onetomany_relations
    from addok.pairs import pair_key

    embedded.open()
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        client = DB.instance
        word = sorted(k.decode()[2:] for k in client.scan_iter("w|*", count=1000))[0]
        partners = sorted(m.decode() for m in client.smembers(pair_key(word)))[:4]
        assert len(partners) >= 2
        for tokens in ({word, *partners}, {word, partners[0], "zzqxw"}, {word}, set(), {*partners, "qqqqq"}):
            seen = collectors.seen_together(client, list(tokens))
            assert all(client.sismember(pair_key(a), b) for a, b in seen)
            ours = collectors.onetomany_relations(tokens, seen)
            theirs = _compute_onetomany_relations(tokens)
            assert list(ours.items()) == list(theirs.items())
        assert (word, partners[0]) in collectors.seen_together(client, [word, partners[0]])
