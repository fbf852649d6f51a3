"""The exact-address fast path: house number + street + commune (or postcode) → the address,
read from the index itself, without a full addok search.

Voters type their own, distinct, addresses ("18 rue de l'Église 57565 Brouderdorff"), so the
chain's cache does not help them; a full addok search costs ~5 ms (token look-ups, bucket
intersections, fuzzy and autocomplete passes) where the address is one key away.

**At build time** every street document that has house numbers (BAN, register, mairie) is
filed in one Redis hash per commune, next to addok's keys: ``locator|x|<citycode>``, field
the street's *key* (its name through the query normalisers then ``fold``, ``street_key``:
"R. de l'Eglise" and "Rue de l'Église" share one), value the addok ``_id`` of the document (several
ids separated by a tab when several documents share the street in that commune). Small hashes
stay in Redis's compact encoding; ~40 bytes a street.

**At query time** (``ExactAddresses.search``) the text is parsed once (``evidence.parse_query``,
the parser of the address pipeline); the commune is the one the text names (by a name of the
data, with or without article, or by a postcode of the data), or the ``citycode`` filter. One
read-only script, in one round trip, looks up each (commune, street) reading (``HGET``) and
returns the documents filed under the one reading found, with their stored blobs (``GET``);
they are then scored by addok's own result processors (house-number match, labels,
importance, string distance), so their labels, points and scores are those addok gives them,
and returned in addok's order. The fast path answers only when all of this holds, and
otherwise returns None (the caller runs the full addok search):

* the street is typed with a house number and the text names a commune or a postcode;
* the street is filed under one reading of the text only (no homonym commune with the same
  street), with at most ``MAX_DOCUMENTS`` documents (the BAN's, a mairie's, the register's);
* addok's house-number match finds the number in exactly one of them, and that one scores
  best: the others (a mairie on the same street, at its own number) follow it, as in addok's
  answer, for the lookup to weigh as rivals.

The script only reads (``HGET``, ``GET``): a read-only replica runs it (tested on Redis 6.2).
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Iterable, Iterator
from functools import cache, lru_cache
from types import SimpleNamespace

import orjson

from ..errors import InvalidQuery
from .evidence import parse_query
from .index import commune_names
from .lua import LuaScript
from .normalize import NORMALISERS, drop_country, fold, validate_query

log = logging.getLogger(__name__)

KEY_PREFIX = "locator|x|"
#: Separates the ids of several documents filed under one street of one commune.
SEPARATOR = "\t"
#: Readings of one text looked up at most (a rural postcode is shared by up to ~50 communes).
MAX_READINGS = 64
#: Documents of one street in one commune the fast path weighs at most (the BAN's, a mairie's,
#: the register's); more go to addok.
MAX_DOCUMENTS = 4
#: Documents filed per pipeline round trip at build time.
WRITE_BATCH = 2000

# Append an id to a hash field (several documents of one street in one commune).
_APPEND = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then
  redis.call('HSET', KEYS[1], ARGV[1], v .. ARGV[3] .. ARGV[2])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
"""


# The documents filed under the one reading of a text that names a street (KEYS: hashes, ARGV:
# their fields, then the separator of ids, the most documents answered and the prefix of
# addok's document keys), each id followed by its stored blob: one round trip. Reads only.
_FIND = LuaScript("""
local found = false
for i, key in ipairs(KEYS) do
  local v = redis.call('HGET', key, ARGV[i])
  if v then
    if found then return false end
    found = v
  end
end
if not found then return false end
local out = {}
for id in string.gmatch(found, '[^' .. ARGV[#ARGV - 2] .. ']+') do
  if #out >= 2 * tonumber(ARGV[#ARGV - 1]) then return false end
  out[#out + 1] = id
  out[#out + 1] = redis.call('GET', ARGV[#ARGV] .. id)
end
return out
""")


#: The normalisers of a voter's text, but for those that read the end of a whole query: in an
#: address a street's name is followed by its commune, so "Rue Pierre Mendès-France" keeps the
#: word a query may end with ("…, France").
STREET_NORMALISERS = tuple(n for n in NORMALISERS if n is not drop_country)


def street_key(name: str) -> str | None:
    """The key a street is filed under: 'Rue de l'Église' and 'r. de l'eglise' → 'rue de l eglise'.

    The normalisation of the voter's text (``normalize.NORMALISERS``: abbreviations, saints,
    typographic variants; ``STREET_NORMALISERS``) then addok's folding (case, accents,
    punctuation), so both sides of the look-up fold the same way: the key is the street's
    words as ``evidence.parse_query`` reads them in a full address. None for a name that
    cannot be a query.
    """
    try:
        text = validate_query(name)
    except InvalidQuery:
        return None
    for normaliser in STREET_NORMALISERS:
        text = normaliser(text)
    return fold(text) or None


def hash_key(citycode: str) -> str:
    return f"{KEY_PREFIX}{citycode}"


def filed_under(doc: dict) -> tuple[str, str] | None:
    """(citycode, street key) of a street document with house numbers, else None."""
    if doc.get("type") != "street" or not doc.get("housenumbers") or not doc.get("citycode"):
        return None
    name = doc.get("name")
    if isinstance(name, (list, tuple)):
        name = name[0] if name else None
    key = street_key(name) if isinstance(name, str) else None
    return None if key is None else (str(doc["citycode"]), key)


class ExactWriter:
    """Files street documents in the per-commune hashes while the index is built.

    ``record(docs)`` passes the documents through unchanged (it wraps the stream handed to
    addok's import), filing each one; ``close()`` writes what is left. One pipelined script
    call per document, ``WRITE_BATCH`` per round trip.
    """

    def __init__(self, client):
        self.client = client
        self._append = client.register_script(_APPEND)
        self._pipe = client.pipeline(transaction=False)
        self._pending = 0
        self.filed = 0

    def record(self, docs: Iterable[dict]) -> Iterator[dict]:
        for doc in docs:
            if doc:
                where = filed_under(doc)
                if where is not None and doc.get("_id"):
                    self._file(where, str(doc["_id"]))
            yield doc

    def _file(self, where: tuple[str, str], _id: str) -> None:
        code, key = where
        self._append(keys=[hash_key(code)], args=[key, _id, SEPARATOR], client=self._pipe)
        self._pending += 1
        self.filed += 1
        if self._pending >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._pipe.execute()
            self._pending = 0

    close = flush


class ExactAddresses:
    """The query side over the communes of the data (see the module docstring).

    Parameters
    ----------
    communes
        the data's communes (``Dataset.communes``): their names (with and without article,
        German spelling) and postcodes tell which commune a text names.
    """

    def __init__(self, communes):
        self.by_name: dict[str, set[str]] = {}
        self.by_postcode: dict[str, set[str]] = {}
        for c in communes:
            for name in commune_names(c.nom):
                self.by_name.setdefault(fold(name), set()).add(c.code)
            for cp in c.codes_postaux:
                self.by_postcode.setdefault(cp, set()).add(c.code)

    def readings(self, normalised: str, *, citycode: str | None = None) -> list[tuple[str, str]]:
        """(citycode, street key) pairs the text may mean; [] when it names no commune."""
        if not normalised[:1].isdigit():  # the street must begin with its house number
            return []
        parts = parse_query(normalised)
        if not parts.has_street or not parts.street_tokens:
            return []
        pairs: list[tuple[set[str], list[str]]] = []
        if parts.localities:
            codes: set[str] = set()
            for locality in parts.localities:
                named = self.by_name.get(" ".join(locality))
                if named is None:
                    return []  # a word the data does not know as a commune: addok decides
                codes |= named
            pairs.append((codes, parts.street_tokens))
        else:
            for name, rest in parts.suffixes:
                named = self.by_name.get(" ".join(name))
                if named and rest:
                    pairs.append((set(named), rest))
            if not pairs and (parts.postcodes or citycode is not None):
                pairs.append((None, parts.street_tokens))
        if not pairs:
            return []
        by_postcode: set[str] | None = None
        if parts.postcodes:
            by_postcode = set()
            for cp in parts.postcodes:
                by_postcode |= self.by_postcode.get(cp, set())
        out = []
        for codes, street in pairs:
            if codes is None:
                codes = by_postcode if by_postcode is not None else {citycode}
            elif by_postcode is not None:
                codes = codes & by_postcode
            if citycode is not None:
                codes = codes & {citycode}
            key = " ".join(street)
            out.extend((code, key) for code in sorted(codes))
        return out if len(out) <= MAX_READINGS else []

    def find(self, client, normalised: str, *, citycode: str | None = None) -> list[tuple[str, dict | None]]:
        """[(addok ``_id``, its document when the store holds it in this Redis)] of the
        documents filed under the text's one reading that names a street (at most
        ``MAX_DOCUMENTS``); [] when none does, or several readings do. One round trip."""
        readings = self.readings(normalised, citycode=citycode)
        if not readings:
            return []
        addok = _addok()
        found = _FIND(client, [hash_key(code) for code, _key in readings],
                      [*(key for _code, key in readings), SEPARATOR, MAX_DOCUMENTS, addok.keys.document_key("")])
        if not found:
            return []
        loads = document_loads(addok.config.DOCUMENT_SERIALIZER)
        return [(_id.decode() if isinstance(_id, bytes) else _id, None if blob is None else loads(blob))
                for _id, blob in zip(found[::2], found[1::2], strict=True)]

    def search(self, client, text: str, *, citycode: str | None = None, postcode: str | None = None):
        """addok's ``Result`` list for ``text`` when the fast path can answer it (the documents
        of the street, the house number's first), else None.

        addok must be bound to ``client`` (the caller is inside ``addok_config.searching``).
        """
        found = self.find(client, text, citycode=citycode)
        if not found:
            return None
        addok = _addok()
        config = addok.config
        docs = []
        for _id, doc in found:
            if doc is None:  # documents kept out of Redis (another addok store)
                doc = addok.get_document(addok.keys.document_key(_id))
            if not doc:
                return None
            if postcode is None or str(postcode) in _as_list(doc.get("postcode")):
                docs.append(doc)  # else addok's postcode filter would not let it through
        if not docs:
            return None
        # The state addok's result processors read, as Search.__call__ sets it for this text.
        helper = addok.Search(limit=1, autocomplete=False)
        helper.lat = helper.lon = None
        helper._setup_housenumber_checks(None)
        helper.query = addok.ascii(text.strip())
        helper.housenumbers = housenumber_tokens(helper.query)
        if not helper.housenumbers:
            return None
        results = []
        for doc in docs:
            result = addok.Result(doc)
            for processor in config.SEARCH_RESULT_PROCESSORS:
                if processor(helper, result) is False:
                    return None
            # The processors' score, kept: each read of ``Result.score`` would sum the parts
            # again, after missing the attribute (``Result.__getattr__``), five times an answer.
            result.score = result.score
            results.append(result)
        # addok's order (best score first); the lookup weighs the other documents of the
        # street (a mairie's, at another number) as it weighs addok's answers
        results.sort(key=lambda r: r.score, reverse=True)
        best = results[0]
        min_score = config.MIN_SCORE
        if (best.type != "housenumber" or best.score < min_score
                or any(r.type == "housenumber" or r.score == best.score for r in results[1:])):
            return None
        return [r for r in results if r.score >= min_score]


def housenumber_tokens(query: str) -> list:
    """The tokens addok's query pipeline flags as the house number of ``query``, as
    ``addok.helpers.search.tokenize`` then ``select_tokens`` leave them.

    addok's string processors (``QUERY_PROCESSORS``: the address extracted, cleaned, leading
    zeros dropped) run on the whole text. The token processors up to ``flag_housenumber`` look
    at most ``LOOKAHEAD`` tokens ahead (addok-france glues "18 bis" into "18b" when "bis" is
    followed by a street type) and those after it (synonyms, phonemes) work token by token.
    So when the first token is the one flagged, the flagged tokens are those of the text's
    first ``LOOKAHEAD`` + 1 tokens alone, memoised by them ("12 rue des", "3 avenue de": the
    beginnings voters type over and over); otherwise the whole pipeline runs. Either way the
    tokens are addok's (tested against its whole pipeline on generated and real texts). They
    may be shared between calls: read them, do not change them.
    """
    addok = _addok()
    texts = list(addok.iter_pipe(query, addok.config.QUERY_PROCESSORS))
    if len(texts) == 1:
        head = addok.PATTERN.findall(texts[0])[:LOOKAHEAD + 1]
        flagged = _flagged_first(" ".join(head)) if head else None
        if flagged is not None:
            return list(flagged)
    return list(_flagged(texts, first_only=False))


#: How many tokens after a token addok's processors up to ``flag_housenumber`` read to decide
#: what it becomes ("18 bis rue": the street type after the ordinal).
LOOKAHEAD = 2


@lru_cache(maxsize=4096)
def _flagged_first(head: str) -> tuple | None:
    """The house-number tokens of a text whose first tokens are ``head``, when the first one
    is flagged; None when it is not (the rest of the text decides)."""
    return _flagged([head], first_only=True)


def _flagged(texts: list[str], *, first_only: bool) -> tuple | None:
    """The house-number tokens addok's token processors make of ``texts`` (longest first, as
    addok's ``tokenize`` orders them: "19" is "dix neuf"). With ``first_only``, None unless
    the token flagged is the text's first."""
    from addok.config import config
    from addok.helpers import iter_pipe

    processors = config.PROCESSORS
    cut = next((i + 1 for i, p in enumerate(processors) if getattr(p, "__name__", "") == "flag_housenumber"),
               len(processors))
    flagged = [t for t in iter_pipe(texts, processors[:cut]) if t.kind == "housenumber"]
    if first_only and not (flagged and all(t.position[0] == 0 for t in flagged)):
        return None
    if not flagged:
        return ()
    # synonyms and phonemes, token by token: on the flagged tokens alone
    tokens = [t for t in iter_pipe(flagged, processors[cut:]) if t.kind == "housenumber"]
    tokens.sort(key=len, reverse=True)
    return tuple(tokens)


def document_loads(serializer) -> Callable[[bytes], dict]:
    """How the fast path reads a stored document: ``serializer.loads``, but for addok's own
    store format (``ZlibSerializer``: zlib-compressed JSON from the stdlib encoder), which
    ``zlib_json_loads`` reads to the same objects in half the time."""
    return zlib_json_loads if serializer is _addok().ZlibSerializer else serializer.loads


def zlib_json_loads(blob: bytes) -> dict:
    """``ZlibSerializer.loads`` by orjson: the same dict, key order and number types. A street's
    document holds all its house numbers with their points: orjson decodes it in about half the
    stdlib's time (BENCHMARKS.md, the fast path over HTTP). JSON that orjson refuses
    and the stdlib reads (``NaN``, lone surrogates) goes to the stdlib. One difference is left,
    on purpose: orjson reads an integer beyond 64 bits as a float. The index's documents hold
    none (their numbers are coordinates, scores and house counts), and looking for one (a scan
    for 19 digits in a row) costs as much as the decoding saves."""
    text = zlib.decompress(blob)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text.decode())


@cache
def _addok() -> SimpleNamespace:
    """The addok pieces the fast path calls on every lookup, imported on first use (addok's
    modules read its configuration when imported) and then kept: an import statement in a
    function looks the module up again on every call."""
    from addok.config import config
    from addok.core import Result, Search
    from addok.ds import get_document
    from addok.helpers import iter_pipe, keys
    from addok.helpers.serializers import ZlibSerializer
    from addok.helpers.text import PATTERN, ascii

    return SimpleNamespace(config=config, Result=Result, Search=Search, get_document=get_document,
                           iter_pipe=iter_pipe, keys=keys, ZlibSerializer=ZlibSerializer, PATTERN=PATTERN,
                           ascii=ascii)


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
