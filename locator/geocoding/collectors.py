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

import threading

#: KEYS: the neighbours' token keys. Returns the 1-based positions of those that exist.
_ALONE = """
local found = {}
for i, key in ipairs(KEYS) do
    if redis.call('ZCARD', key) > 0 then found[#found + 1] = i end
end
return found
"""
#: KEYS: the other words' pair sets; ARGV: the neighbours. Returns the 1-based positions of
#: the neighbours that are in every pair set (seen in the index with each of the other words).
_WITH_OTHERS = """
local found = {}
for i, word in ipairs(ARGV) do
    local everywhere = true
    for _, key in ipairs(KEYS) do
        if redis.call('SISMEMBER', key, word) == 0 then everywhere = false break end
    end
    if everywhere then found[#found + 1] = i end
end
return found
"""

_scripts: dict[str, object] = {}
_scripts_lock = threading.Lock()


def _script(client, source: str):
    """The script object (its SHA; each call names the client, which loads it when missing)."""
    script = _scripts.get(source)
    if script is None:
        with _scripts_lock:
            script = _scripts.setdefault(source, client.register_script(source))
    return script


def known_neighbours(client, neighbours: list[str], other_keys: list[str]) -> list[str]:
    """The neighbours the index knows, in their given order: alone, those with a token set;
    with other words (their token keys, ``w|…``), those seen with every one of them."""
    from addok.helpers import keys as dbkeys
    from addok.pairs import pair_key

    if not neighbours:
        return []
    if other_keys:
        positions = _script(client, _WITH_OTHERS)(keys=[pair_key(k[2:]) for k in other_keys], args=neighbours,
                                                  client=client)
    else:
        positions = _script(client, _ALONE)(keys=[dbkeys.token_key(w) for w in neighbours], client=client)
    return [neighbours[int(i) - 1] for i in positions]


def _try_fuzzy(helper, tokens, include_common: bool = True) -> None:
    """One fuzzy pass over ``tokens`` (longest first), as addok's ``try_fuzzy`` decides it."""
    from addok.db import DB
    from addok.fuzzy import make_fuzzy
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
        words = known_neighbours(DB.instance, make_fuzzy(token, max=helper.fuzzy), others)
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
