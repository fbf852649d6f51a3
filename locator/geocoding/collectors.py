"""addok's fuzzy pass, answering the same in one Redis round trip per token instead of hundreds.

addok corrects a typo ("Hagondagne") by trying every neighbour of the word one edit away
(letters swapped, replaced, inserted, removed: 500 to 600 words for a village name) and keeping
those the index knows. Its own collector (``addok.fuzzy.fuzzy_collector``) asks Redis about
each neighbour in turn when the word is alone (one ZCARD each: hundreds of round trips for
one word, most of the search's time), and when other words are there it writes the neighbours into a temporary
set, intersects it with the other words' pair sets and deletes it (three round trips, a write).

``fuzzy_collector`` here keeps addok's decisions and their order (the same passes, the same
neighbours in the same priority, the same buckets) and asks Redis once per word, with a
script that writes nothing: which of these neighbours has a token set (alone), or belongs to
every pair set of the other words (with others). It is registered in the addok settings in
place of addok's (``addok_config.RESULTS_COLLECTORS``); ``tests/geocoding/test_fuzzy.py``
checks both give the same results.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from .lua import LuaScript

#: KEYS: the neighbours' token keys. Returns the 1-based positions of those that exist.
_ALONE = LuaScript("""
local found = {}
for i, key in ipairs(KEYS) do
    if redis.call('ZCARD', key) > 0 then found[#found + 1] = i end
end
return found
""")
#: KEYS: the other words' pair sets; ARGV: the neighbours. Returns the 1-based positions of
#: the neighbours that are in every pair set (seen in the index with each of the other words).
_WITH_OTHERS = LuaScript("""
local found = {}
for i, word in ipairs(ARGV) do
    local everywhere = true
    for _, key in ipairs(KEYS) do
        if redis.call('SISMEMBER', key, word) == 0 then everywhere = false break end
    end
    if everywhere then found[#found + 1] = i end
end
return found
""")

#: KEYS: the tokens' pair sets; ARGV: the same tokens, in the same order. Returns, row by
#: row, 1 where ARGV[j] is in KEYS[i] (the pair i, j was seen in the index), 0 elsewhere.
_PAIRS = LuaScript("""
local seen = {}
for i, key in ipairs(KEYS) do
    for j, word in ipairs(ARGV) do
        if i == j then seen[#seen + 1] = 0 else seen[#seen + 1] = redis.call('SISMEMBER', key, word) end
    end
end
return seen
""")

#: Words whose neighbours are kept: the same words are tried in search after search (a
#: street's kind, a commune's name in the pass over every meaningful word). A ten-letter word
#: has ~350 neighbours (~23 kB): at most ~6 MB a worker.
NEIGHBOURS_MEMO = 256


def fuzzy_neighbours(word: str, max_edits: int) -> tuple[str, ...]:
    """``addok.fuzzy.make_fuzzy(word, max=max_edits)`` (the words one edit away, in addok's
    order), remembered: a pure function of the word and addok's keyboard map (part of the key)."""
    from addok.config import config

    return _neighbours(str(word), max_edits, id(config.FUZZY_KEY_MAP))


@lru_cache(maxsize=NEIGHBOURS_MEMO)
def _neighbours(word: str, max_edits: int, _key_map) -> tuple[str, ...]:
    from addok.fuzzy import make_fuzzy

    return tuple(make_fuzzy(word, max=max_edits))


def known_neighbours(client, neighbours: list[str], other_keys: list[str]) -> list[str]:
    """The neighbours the index knows, in their given order: alone, those with a token set;
    with other words (their token keys, ``w|…``), those seen with every one of them."""
    from addok.helpers import keys as dbkeys
    from addok.pairs import pair_key

    if not neighbours:
        return []
    if other_keys:
        positions = _WITH_OTHERS(client, [pair_key(k[2:]) for k in other_keys], neighbours)
    else:
        positions = _ALONE(client, [dbkeys.token_key(w) for w in neighbours])
    return [neighbours[int(i) - 1] for i in positions]


def _try_fuzzy(helper, tokens, include_common: bool = True) -> None:
    """One fuzzy pass over ``tokens`` (longest first), as addok's ``try_fuzzy`` decides it."""
    from addok.db import DB
    from addok.helpers import keys as dbkeys

    if not helper.bucket_dry or not tokens:
        return
    tokens.sort(key=len, reverse=True)
    base = list(helper.keys)
    if include_common:
        # narrow the fuzzy words with the common words the search has not used yet
        base += [t.db_key for t in helper.common if t.db_key not in helper.keys]
    for token in tokens:
        if helper.bucket_full:
            break
        others = list(base)
        if token.db_key in others:
            others.remove(token.db_key)  # its first occurrence, as addok does
        if token.isdigit():
            continue
        words = known_neighbours(DB.instance, fuzzy_neighbours(token, helper.fuzzy), others)
        for word in words:
            if helper.bucket_dry:
                helper.add_to_bucket(others + [dbkeys.token_key(word)])


def fuzzy_collector(helper):
    """addok's fuzzy collector (same passes, same conditions), one round trip per word."""
    if helper.fuzzy and not helper.has_cream():
        if helper.not_found:
            _try_fuzzy(helper, helper.not_found)
        if helper.bucket_dry and not helper.has_cream():
            _try_fuzzy(helper, helper.meaningful)
        if helper.bucket_dry and not helper.has_cream() and helper.common:
            _try_fuzzy(helper, helper.meaningful, include_common=False)


def seen_together(client, tokens: list[str]) -> set[tuple[str, str]]:
    """The ordered pairs (token, other) of ``tokens`` whose pair set holds the other (what
    addok asks with one SISMEMBER per pair), in one round trip."""
    from addok.pairs import pair_key

    if len(tokens) < 2:
        return set()
    flags = _PAIRS(client, [pair_key(t) for t in tokens], tokens)
    n = len(tokens)
    return {(tokens[k // n], tokens[k % n]) for k, flag in enumerate(flags) if int(flag)}


def onetomany_relations(tokens, seen: set[tuple[str, str]]) -> dict[str, list]:
    """addok's one-to-many relations of ``tokens`` (a set, walked in its own order twice as
    addok walks it), from ``seen`` instead of a Redis call per pair: the same lists, the
    same keys in the same order."""
    relations = defaultdict(list)
    for token in tokens:
        for other in tokens:
            if other == token:
                continue
            if token in relations[other] or (token, other) in seen:
                relations[token].append(other)
    return relations


def extend_results_extrapoling_relations(helper):
    """addok's ``extend_results_extrapoling_relations`` (the biggest groups of words seen
    together in the index, when the bucket is still empty), asking Redis about every pair of
    the search's words in one round trip instead of one SISMEMBER per pair: a typo'd
    address with six or seven words made about forty round trips here."""
    from addok.db import DB
    from addok.helpers.collectors import _deduplicate_sets, _extrapolate_manytomany_relations

    if not helper.bucket_dry:
        return
    tokens = set(helper.meaningful + helper.common)
    seen = seen_together(DB.instance, list(tokens))
    groups = _deduplicate_sets(_extrapolate_manytomany_relations(onetomany_relations(tokens, seen)))
    # sorted by average frequency, as addok does (the loop stops early: the order decides)
    for group in sorted(groups, key=lambda r: sum(t.frequency for t in r) / len(r) if len(r) > 0 else 0):
        helper.add_to_bucket([t.db_key for t in group])
        if helper.bucket_overflow:
            break
    else:
        helper.debug("No relation extrapolated.")
