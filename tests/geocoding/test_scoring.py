"""Our memoised string-distance scorers give addok's scores, float for float."""

from __future__ import annotations

import random

import pytest

from locator.geocoding import addok_config, scoring


def test_bigram_similarity_is_addok_s_compare_ngrams():
    from addok.helpers.text import ascii, compare_ngrams

    rng = random.Random(7)
    words = ["", "a", "b", "aa", "abab", "metz", "mets", "rue de la gare", "rue de l eglise 57000 metz",
             "saint avold", "st avold", "hagondange", "hagondagne", "aaaaaa", "aaa"]
    words += ["".join(rng.choice("abe ") for _ in range(rng.randrange(0, 12))) for _ in range(200)]
    pairs = [(a, b) for a in words[:15] for b in words[:15]] + [(rng.choice(words), rng.choice(words)) for _ in range(3000)]
    for left, right in pairs:
        assert scoring.bigram_similarity(ascii(left), ascii(right)) == compare_ngrams(left, right), (left, right)


def test_forget_empties_every_memo_and_the_scores_stay_the_same():
    memos = (scoring._folded_label, scoring._bigrams, scoring.bigram_similarity)
    before = scoring.bigram_similarity(scoring.folded("Rue Serpenoise"), scoring.folded("rue serpenoise metz"))
    assert all(m.cache_info().currsize for m in memos)
    scoring.forget()
    assert [m.cache_info().currsize for m in memos] == [0, 0, 0]
    assert scoring.bigram_similarity(scoring.folded("Rue Serpenoise"), scoring.folded("rue serpenoise metz")) == before


def test_folded_is_addok_s_ascii():
    from addok.helpers.text import ascii

    for text in ["Œting", "Rue de l'Église 57000 Metz", "  Saint-Avold ", "ÉÈÊ", ""]:
        ours = scoring.folded(text)
        assert isinstance(ours, ascii) and ours == ascii(text) and str(ours) == str(ascii(text))
        assert scoring.folded(ours) is ours


QUERIES = ["metz", "Hagondange", "hagondagne", "sarreguemines", "st avold", "1 place d'armes metz",
           "rue de la gare thionville", "2 rue de l'eglise, 57800 betting", "boulay", "ars", "thion", "sarr",
           "forbach 57600", "mairie", "zzqxw"]


def _results(q: str, autocomplete: bool):
    import addok.core

    return [(r.id, r.score, str(r), [str(label) for label in r.labels])
            for r in addok.core.search(q, limit=5, autocomplete=autocomplete)]


@pytest.mark.parametrize("autocomplete", [False, True])
def test_same_results_as_addok_s_own_scorers(embedded, autocomplete):
    import addok.helpers.results as theirs
    from addok.config import config

    embedded.open()
    procs = config.SEARCH_RESULT_PROCESSORS
    names = [p.__name__ for p in procs]
    slots = {name: names.index(name) for name in ("score_by_autocomplete_distance", "score_by_ngram_distance")}
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        assert all(procs[i] is getattr(scoring, name) for name, i in slots.items())  # ours are configured
        ours = [_results(q, autocomplete) for q in QUERIES]
        try:
            for name, i in slots.items():
                procs[i] = getattr(theirs, name)
            addoks = [_results(q, autocomplete) for q in QUERIES]
        finally:
            for name, i in slots.items():
                procs[i] = getattr(scoring, name)
    assert ours == addoks
    assert sum(bool(r) for r in ours) >= len(QUERIES) // 2  # not two empty lists compared
