"""addok's two string-distance scorers, with the same scores, memoised.

For every candidate of every search, addok scores how close the candidate's labels are to the
typed text: ``score_by_ngram_distance`` (full searches) and ``score_by_autocomplete_distance``
(autocomplete), both in ``addok.helpers.results``. Each comparison folds the label again
(``unidecode``) and builds a one-item ``ngram.NGram`` index to compare two strings; the same
labels come back in search after search (a commune's mairie, its main streets). In the
served election-day stream these two scorers were a large part of a worker's CPU.

Here the folded labels are kept (a bounded memo), and the bigram similarity of ``NGram.compare``
(N=2, no padding, the arguments addok gives it) is computed directly: the shared bigrams
counted with their multiplicity, over all distinct bigrams of the two strings, memoised by
pair. Same formula, same float, same order of operations as addok's, so the same scores and
the same ranking; ``tests/geocoding/test_scoring.py`` compares both on real searches. Registered
in the addok settings in place of addok's (``addok_config.SEARCH_RESULT_PROCESSORS``).
"""

from __future__ import annotations

from functools import cache, lru_cache
from types import SimpleNamespace

#: Folded labels remembered per process (labels recur from search to search: a commune's
#: names, its main streets); the bigrams of a typed text and the similarity of a (label, text) pair
#: recur within a search and between the searches of one text: kept fewer. The memos are a
#: worker's memory that grows with traffic, so they stay small.
LABELS_MEMO = 8_192
PAIRS_MEMO = 4_096
BIGRAMS_MEMO = 1_024


@cache
def _addok() -> SimpleNamespace:
    """addok's configuration and its folded-text type, imported on first use (addok's modules
    read its configuration when imported) and then kept: an import statement in a function
    looks the module up again on every call, and the scorers run for every label."""
    from addok.config import config
    from addok.helpers.text import ascii

    return SimpleNamespace(config=config, ascii=ascii)


@lru_cache(maxsize=LABELS_MEMO)
def _folded_label(label: str):
    return _addok().ascii(label)


def folded(text):
    """addok's ``ascii`` folding of ``text`` (lower case, unidecode, words only), memoised; an
    already folded text is its own folding, as in addok."""
    return text if isinstance(text, _addok().ascii) else _folded_label(text)


@lru_cache(maxsize=BIGRAMS_MEMO)
def _bigrams(text: str) -> dict[str, int]:
    # A plain dict filled in a loop: cheaper than a Counter over a generator.
    counts: dict[str, int] = {}
    for i in range(len(text) - 1):
        gram = text[i:i + 2]
        counts[gram] = counts.get(gram, 0) + 1
    return counts


def _doubled_occurrences(text: str, gram: str) -> int:
    """How many times ``gram``, a doubled letter, starts in ``text``, overlaps counted ("aa" is
    twice in "aaa"); ``str.count`` counts two different letters, which cannot overlap."""
    n, i = 0, text.find(gram)
    while i >= 0:
        n += 1
        i = text.find(gram, i + 1)
    return n


@lru_cache(maxsize=PAIRS_MEMO)
def bigram_similarity(left: str, right: str) -> float:
    """``addok.helpers.text.compare_ngrams(left, right)`` for folded texts: the bigrams both
    share (each counted as often as it occurs in both) over the distinct bigrams of the two.

    ``right`` is the typed text (its bigrams memoised: it meets every label of a search);
    each of its bigrams is counted in ``left`` where it stands, so a label met for the first
    time (hundreds in an autocomplete's first search) is never split into bigrams."""
    if len(left) == 1 and len(right) == 1:
        return 1.0 if left == right else 0.0
    same = 0
    count = left.count
    for gram, n in _bigrams(right).items():
        m = count(gram) if gram[0] != gram[1] else _doubled_occurrences(left, gram)
        if m:
            same += n if n < m else m
    if not same:
        return 0.0
    return float(same) / (len(left) + len(right) - 2 - same)


def forget() -> None:
    """Empty the memos (folded labels, bigrams, pair similarities): what the next searches
    compare is computed again, with the same scores (a bench meeting every text as new)."""
    for memo in (_folded_label, _bigrams, bigram_similarity):
        memo.cache_clear()


def _score_by_ngram_distance(helper, result, scale: float = 1.0) -> None:
    addok = _addok()
    folded_type, threshold = addok.ascii, addok.config.MATCH_THRESHOLD
    query = folded(helper.query)
    for label in result.labels:
        score = bigram_similarity(label if isinstance(label, folded_type) else _folded_label(label), query) * scale
        result.add_score("str_distance", score, ceiling=1.0)
        if score >= threshold:
            break


def score_by_ngram_distance(helper, result) -> None:
    """addok's ``score_by_ngram_distance``: full searches only."""
    if helper.autocomplete:
        return
    _score_by_ngram_distance(helper, result)


def score_by_autocomplete_distance(helper, result) -> None:
    """addok's ``score_by_autocomplete_distance``: a label equal to the text scores 1, one
    starting with it 0.9, one containing it 0.7 (the last score found is added again for the
    labels after it, as addok does); with none of these, the n-gram distance scaled by 0.9.
    The labels are replaced by their folded form, as addok does."""
    if not helper.autocomplete:
        return
    score = 0
    folded_type = _addok().ascii
    query = folded(helper.query)
    labels = result.labels
    for idx, label in enumerate(labels):
        if not isinstance(label, folded_type):
            label = labels[idx] = _folded_label(label)
        if label == query:
            score = 1.0
        elif label.startswith(query):
            score = 0.9
        elif query in label:
            score = 0.7
        if score:
            result.add_score("str_distance", score, ceiling=1.0)
    if not score:
        _score_by_ngram_distance(helper, result, scale=0.9)
