"""Does the voter's text back the geocoder's answer? Locality and street evidence.

addok ranks what it has; it does not know what it lacks. On an index holding only the
mairie addresses, "2 Rue des Tilleuls" (a street in Alsace) comes back as the one
"Rue des Tilleuls" of Moselle, with a fine score. A wrong commune is the one answer we must
never give, so an answer is only *accepted* when the text backs it:

* **locality**: the text names the answer's commune — one of its names or aliases (with or
  without article, former and delegated names, typo-tolerant), or a postcode that belongs
  to that commune alone. In an address ("30 Rue Oberdorf") the commune name must follow a
  street name, so a street named after a commune is not taken for the commune;
* **street** (street and house-number answers): the significant words of the street the
  voter typed and of the street found agree (titles like "Général" and "Saint" and street
  types are not significant; one typo per long word is allowed).

``parse_query`` splits the text once; ``Gazetteer`` knows every commune's names and
postcodes. Both are pure and cheap (dictionary look-ups, a few edit distances).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import editdistance

from ..data.anciennes import Ancienne, former_names
from .index import commune_names, merged_parts
from .normalize import fold
from .words import NUMBER_SUFFIXES, STREET_TYPES

#: Words that carry no identity on their own.
STOP_WORDS = frozenset("de du des la le les l d et a au aux en sur sous bis ter quater b t lieu dit".split())
#: Titles and saints: "Rue Charles de Gaulle" is "Rue du Général de Gaulle".
WEAK_WORDS = frozenset("""saint sainte saints saintes general marechal president docteur capitaine commandant
colonel lieutenant sergent abbe pere professeur monseigneur notre dame""".split())

_NUMBER = re.compile(r"^\d{1,4}[a-z]?$")
_POSTCODE = re.compile(r"^\d{5}$")
_NOT_SIGNIFICANT = STOP_WORDS | STREET_TYPES | WEAK_WORDS


def _may_be_numeric(t: str) -> bool:
    """Can ``_NUMBER`` or ``_POSTCODE`` match ``t``? Both start with a digit (a cheap test
    that spares the pattern for most words)."""
    return "0" <= t[:1] <= "9" or not t.isascii()


def same_word(a: str, b: str) -> bool:
    """Equal, or one typo in a word of 5+ letters (two in 9+); two letters swapped count as
    one typo ("Hagondagne", "Mezt": 4+ letters)."""
    if a == b:
        return True
    n = min(len(a), len(b))
    if n >= 4 and _swapped(a, b):
        return True
    if n < 5 or abs(len(a) - len(b)) > 2:
        return False
    return editdistance.eval(a, b) <= (2 if n >= 9 else 1)


def _swapped(a: str, b: str) -> bool:
    """``b`` is ``a`` with two neighbouring letters swapped."""
    if len(a) != len(b):
        return False
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def same_words(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) == len(b) and all(same_word(x, y) for x, y in zip(a, b, strict=True))


def significant(tokens) -> list[str]:
    return [t for t in tokens if t not in _NOT_SIGNIFICANT
            and not (_may_be_numeric(t) and (_NUMBER.match(t) or _POSTCODE.match(t)))]


def is_street_name(tokens: list[str]) -> bool:
    """Can ``tokens`` be a whole street name? A significant word ("Rue Serpenoise"), or a
    street type named after another street word ("Rue de la Montée", "Chemin de la Ruelle")."""
    return bool(significant(tokens)) or sum(1 for t in tokens if t in STREET_TYPES) >= 2


@dataclass
class QueryParts:
    """The voter's text, folded and split into what can name a commune and the street."""

    street_tokens: list[str] = field(default_factory=list)  # the street segment, number stripped
    has_street: bool = False
    localities: list[tuple[str, ...]] = field(default_factory=list)  # whole segments that may be a commune
    postcodes: set[str] = field(default_factory=set)

    @cached_property
    def suffixes(self) -> list[tuple[tuple[str, ...], list[str]]]:
        """(commune-name candidate, rest of the street) for each tail of the street segment
        that leaves a real street name before it, longest tail first, when the commune is not
        written apart. Without a street type ("89 Longeville-lès-Metz") the whole segment may
        be the commune."""
        if self.localities:
            return []  # the commune is written apart ("…, Metz", "… 57000 Metz")
        out = []
        toks = self.street_tokens
        if toks and not any(t in STREET_TYPES for t in toks):
            out.append((tuple(toks), []))
        for k in range(len(toks) - 1, 0, -1):
            rest = toks[:-k]
            if is_street_name(rest):
                out.append((tuple(toks[-k:]), rest))
        return out


@lru_cache(maxsize=8192)
def parse_query(normalised: str) -> QueryParts:
    """Split on commas and postcodes (memoised: treat the result as read-only); the street is the chunk that starts with a number (else
    the first one with a street type); chunks without a street type may name the commune;
    other street-like chunks ("Résidence Les Pins") are complements and are ignored."""
    parts = QueryParts()
    chunks: list[list[str]] = []
    for segment in normalised.split(","):
        current: list[str] = []
        for t in fold(segment).split():
            if _may_be_numeric(t) and _POSTCODE.match(t):  # "12 rue X 57000 Metz" → "12 rue X" | "Metz"
                parts.postcodes.add(t)
                chunks.append(current)
                current = []
            else:
                current.append(t)
        chunks.append(current)
    chunks = [c for c in chunks if c]
    numbered = [c for c in chunks if _NUMBER.match(c[0])]
    typed = [c for c in chunks if any(t in STREET_TYPES for t in c)]
    street = numbered[0] if numbered else typed[0] if typed else None
    for chunk in chunks:
        if chunk is street:
            parts.has_street = True
            while chunk and (_NUMBER.match(chunk[0]) or chunk[0] in NUMBER_SUFFIXES):
                chunk = chunk[1:]
            parts.street_tokens = chunk
        elif chunk not in typed:
            parts.localities.append(tuple(chunk))
    return parts


class Gazetteer:
    """Every commune's folded names (with aliases) and postcodes, for evidence checks."""

    def __init__(self, communes, anciennes: list[Ancienne] = ()):
        former, merged = former_names(anciennes)
        self.names: list[set[tuple[str, ...]]] = []
        self.by_name: dict[tuple[str, ...], set[int]] = {}
        self.by_postcode: dict[str, set[int]] = {}
        self.merged_parts: dict[tuple[str, ...], set[int]] = {}
        for i, c in enumerate(communes):
            names = {tuple(fold(n).split()) for n in commune_names(c.nom, former.get(c.code, ()),
                                                                    merged=c.code in merged)}
            if c.code in merged:
                for part in merged_parts(c.nom):
                    self.merged_parts.setdefault(tuple(fold(part).split()), set()).add(i)
            self.names.append(names)
            for n in names:
                self.by_name.setdefault(n, set()).add(i)
            for cp in c.codes_postaux:
                self.by_postcode.setdefault(cp, set()).add(i)
        self.longest_name = max((len(n) for n in self.by_name), default=1)

    def with_former_names(self, parts: QueryParts, current) -> QueryParts:
        """``parts`` with a former commune's full name cut to the part its commune nouvelle
        kept: "Granges-sur-Vologne" → "Granges" (of 88218 Granges-Aumontzey).

        A commune merged without a delegated status leaves its name in no table we read
        (88218 kept its code; the COG lists only 88018 Aumontzey, by code), and the merged
        name keeps each former name without its qualifier ("-sur-Vologne"). So a part of a
        merged name followed by a qualifier ("sur", "sous", "en", "lès"… and at most
        ``MAX_QUALIFIER`` words, to the end of the segment) is that part, unless the whole is
        a current commune's name (``current(name)``: "Granges-sur-Lot" is in Lot-et-Garonne).
        """
        if not self.merged_parts:
            return parts

        def cut(tokens: tuple[str, ...]) -> tuple[str, ...] | None:
            for i in range(len(tokens)):
                for k in range(1, len(tokens) - i - 1):
                    rest = tokens[i + k:]
                    if (tokens[i:i + k] in self.merged_parts and rest[0] in QUALIFIER_LINKS
                            and len(rest) - 1 <= MAX_QUALIFIER and significant(rest[1:])
                            and not current(tokens[i:]) and tokens[i:] not in self.by_name):
                        return tokens[:i + k]
            return None

        localities = [cut(loc) or loc for loc in parts.localities]
        street = cut(tuple(parts.street_tokens)) if not parts.localities else None
        if localities == parts.localities and street is None:
            return parts
        return QueryParts(street_tokens=list(street) if street is not None else parts.street_tokens,
                          has_street=parts.has_street, localities=localities, postcodes=parts.postcodes)

    @cached_property
    def sorted_names(self) -> list[tuple[str, int]]:
        """Every (folded name, commune index), sorted: prefix look-ups ("Sarregu")."""
        return sorted((" ".join(n), ci) for ci, ns in enumerate(self.names) for n in ns)

    def names_commune(self, parts: QueryParts, ci: int) -> tuple[int, list[str] | None]:
        """How long a name of commune ``ci`` the text holds (0: none; a unique postcode counts
        1), and the street words left once that name is taken off the end of the street
        segment (None: nothing taken off). Typo-tolerant."""
        return match_names(parts, self.names[ci], unique_postcode=lambda cp: self.by_postcode.get(cp) == {ci})

    def name_in(self, parts: QueryParts, ci: int) -> tuple[str, ...] | None:
        """The name of commune ``ci`` the text holds (None: none, or only a postcode)."""
        return match_name(parts, self.names[ci], unique_postcode=lambda cp: False)[1]

    def homonyms(self, parts: QueryParts, ci: int) -> list[int]:
        """The communes that share with ``ci`` the name the text gives it, ``ci`` included
        (sorted; ``[ci]`` alone when the name is its own or the text names it otherwise)."""
        name = self.name_in(parts, ci)
        if name is None:
            return [ci]
        return sorted(self.by_name.get(name, ()) | {ci})

    def claims(self, parts: QueryParts) -> dict[int, int]:
        """Communes the text names exactly → length of the name (a unique postcode counts 1).
        A commune found by a shorter name than another one is not named: in
        "Longeville-lès-Metz" the commune is Longeville-lès-Metz, not Metz."""
        found: dict[int, int] = {}

        def add(ci: int, n: int) -> None:
            found[ci] = max(found.get(ci, 0), n)

        for loc in parts.localities:
            for n in _subsequences(loc, self.longest_name) if not parts.has_street else [loc]:
                if n is not loc and not explained(loc, n):
                    continue  # "Sarny-les-Vigy" does not name Vigy
                for ci in self.by_name.get(n, ()):
                    add(ci, len(n))
        for tail, _rest in parts.suffixes:
            for ci in self.by_name.get(tail, ()):
                add(ci, len(tail))
        for cp in parts.postcodes:
            cis = self.by_postcode.get(cp, set())
            if len(cis) == 1:
                add(next(iter(cis)), 1)
        return found

    def near(self, parts: QueryParts, *, inside: bool = True) -> tuple[list[int], list[int]]:
        """When no name is exact: (communes whose name the text holds with a typo, communes
        whose name starts with the words typed — "Moyeuvre" → Moyeuvre-Grande, -Petite — or,
        with ``inside``, is among words left unexplained — "Metz Thionville" → Metz,
        Thionville; not when the words are a commune's name elsewhere: "Granges" in
        "Granges-sur-Lot")."""
        typed = [*parts.localities] or ([tuple(parts.street_tokens)] if not parts.has_street else [])
        typo, partial = set(), set()
        for loc in typed:
            if not loc:
                continue
            for name, cis in self.by_name.items():
                if same_words(loc, name):
                    typo |= cis
                elif len(name) > len(loc) and same_words(name[:len(loc)], loc) and significant(loc):
                    partial |= cis
            if inside and not parts.has_street:  # names inside words left unexplained ("Metz Thionville")
                for sub in _subsequences(loc, self.longest_name):
                    if sub != loc:
                        partial |= self.by_name.get(sub, set())
        return sorted(typo), sorted(partial - typo)

    def find(self, parts: QueryParts) -> list[int]:
        """Communes the text names exactly, longest name first (fuzzy matches are only made
        against the geocoder's answers, in ``names_commune``)."""
        found = self.claims(parts)
        return sorted(found, key=lambda ci: -found[ci])


def match_names(parts: QueryParts, names, *, unique_postcode) -> tuple[int, list[str] | None]:
    """How long one of ``names`` (folded token tuples) the text holds, and the street words
    left before it (see ``Gazetteer.names_commune``); ``unique_postcode(cp)`` tells whether a
    typed postcode designates this commune alone."""
    length, _name, rest = match_name(parts, names, unique_postcode=unique_postcode)
    return length, rest


def match_name(parts: QueryParts, names, *,
               unique_postcode) -> tuple[int, tuple[str, ...] | None, list[str] | None]:
    """``match_names`` with the name found (None when only a postcode names the commune)."""
    for loc in parts.localities:  # exact first: a set look-up
        if loc in names:
            return len(loc), loc, None
    suffixes = parts.suffixes
    for tail, rest in suffixes:
        if tail in names:
            return len(tail), tail, rest
    for loc in parts.localities:
        for n in names:
            if same_words(loc, n) or (not parts.has_street and _contains(loc, n) and explained(loc, n)):
                return len(n), n, None
    for tail, rest in suffixes:
        for n in names:
            if same_words(tail, n):
                return len(tail), n, rest
    for cp in parts.postcodes:
        if unique_postcode(cp):
            return 1, None, None
    return 0, None, None


def label_city(label: str, postcode: str | None) -> tuple[str, ...]:
    """'12 Rue X 54000 Nancy' → ('nancy',): the commune written after the postcode."""
    tokens = fold(label).split()
    if postcode and postcode in tokens:
        return tuple(tokens[tokens.index(postcode) + 1:])
    return ()


#: Words that join a qualifier to a commune's name ("Granges-sur-Vologne", "Pont-à-Mousson").
QUALIFIER_LINKS = frozenset("sur sous en les lez pres aux au a".split())
#: At most this many words after the link ("sur-Vologne", "en-Haye", "lès-Saint-Avold").
MAX_QUALIFIER = 3

#: Words around a commune's name that say nothing against it ("Mairie de Metz").
FILLER_WORDS = frozenset("mairie hotel ville commune bureau vote bureaux centre".split())


def explained(seq: tuple[str, ...], name: tuple[str, ...]) -> bool:
    """Is every word of ``seq`` around ``name`` (found in it, typo-tolerant) a filler or a
    stop word? A name found inside a longer one ("Vigy" in "Sarny-les-Vigy") is not the
    commune typed."""
    n = len(name)
    for i in range(len(seq) - n + 1):
        if same_words(seq[i:i + n], name):
            rest = seq[:i] + seq[i + n:]
            return all(t in FILLER_WORDS or t in STOP_WORDS for t in rest)
    return False


def _contains(seq: tuple[str, ...], name: tuple[str, ...]) -> bool:
    n = len(name)
    return any(same_words(seq[i:i + n], name) for i in range(len(seq) - n + 1))


def _subsequences(seq: tuple[str, ...], longest: int):
    for i in range(len(seq)):
        for j in range(i + 1, min(len(seq), i + longest) + 1):
            yield seq[i:j]


def street_words(label: str, *, postcode: str | None, commune_names_folded: set[tuple[str, ...]]) -> list[str]:
    """The significant words of the street in a result label ('12 Rue de la Paix 57000 Metz')."""
    tokens = fold(label).split()
    if postcode and postcode in tokens:
        tokens = tokens[:tokens.index(postcode)]
    else:
        for n in sorted(commune_names_folded, key=len, reverse=True):
            if len(tokens) > len(n) and tuple(tokens[-len(n):]) == n:
                tokens = tokens[:-len(n)]
                break
    return significant(tokens)


def streets_agree(typed: list[str], found: list[str]) -> bool:
    """At least two thirds of the significant words agree, both ways (one typo per long word)."""
    typed, found = significant(typed), list(found)
    if not typed or not found:
        return not typed and not found
    matched_typed = sum(1 for t in typed if any(same_word(t, f) for f in found))
    matched_found = sum(1 for f in found if any(same_word(f, t) for t in typed))
    return matched_typed * 3 >= 2 * len(typed) and matched_found * 3 >= 2 * len(found)
