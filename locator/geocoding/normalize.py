"""Voter input → one canonical query string, as an ordered list of small functions.

addok already folds case and accents, splits on apostrophes and hyphens, glues and folds
"bis/ter" and expands many abbreviations through the addok-fr synonyms, at index and at query
time. What is done here is what addok cannot do, or does too late:

* refuse what cannot be a query (empty, over 200 characters, only punctuation);
* unify the typographic variants people paste (curly apostrophes, dashes, non-breaking spaces);
* expand abbreviations *in the text* ("St Avold", "bd", "Gal"), because addok scores a result by
  comparing the raw query with the result's label: "saint avold" scores higher against
  "Saint-Avold" than "st avold" does, even though both find it;
* put the address back in order ("Ban-Saint-Martin (Le)", "57 000", "Metz (57)", ", France").

Adding a normaliser is adding a function to ``NORMALISERS``. The result is also the key of the
chain's LRU cache (through ``cache_key``), so two spellings of one query share one entry.

>>> normalize_query("12  bd  Paixhans, 57 000 METZ")
'12 boulevard Paixhans, 57000 METZ'
>>> normalize_query("St-Avold")
'Saint-Avold'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from unidecode import unidecode

from ..errors import InvalidQuery
from .words import SUFFIXES_RE

#: Same limit as addok's QUERY_MAX_LENGTH and the national API.
MAX_QUERY_LENGTH = 200

_WORD = r"[^\W\d_]"  # a letter, in any script

_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u201b\u02bc\u00b4\u0060\u2032\uff07"), "'")
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")

#: Whole-word abbreviations → full words (case-insensitive, optional trailing dot). Street types,
#: titles and ranks seen in Lorraine and Alsace street names. Ambiguous ones ("pte": porte or
#: petite, "cr": cours or chemin rural, "q": quai) are left to addok's synonyms, which only
#: help recall, not the label score.
ABBREVIATIONS = {
    "bd": "boulevard", "bld": "boulevard", "bvd": "boulevard", "boul": "boulevard", "bould": "boulevard",
    "av": "avenue", "ave": "avenue", "aven": "avenue",
    "pl": "place", "pla": "place",
    "chem": "chemin", "che": "chemin",
    "rte": "route",
    "imp": "impasse",
    "fg": "faubourg", "fbg": "faubourg", "faub": "faubourg",
    "sq": "square",
    "all": "allée",
    "prom": "promenade",
    "pass": "passage",
    "res": "résidence", "rés": "résidence",
    "lotiss": "lotissement", "lot": "lotissement",
    "za": "zone artisanale", "zi": "zone industrielle", "zac": "zone d'aménagement concerté",
    "gal": "général", "gén": "général", "gen": "général", "gl": "général",
    "mal": "maréchal",
    "cdt": "commandant", "cne": "capitaine", "cpt": "capitaine",
    "lt": "lieutenant", "sgt": "sergent", "adj": "adjudant",
    "pdt": "président",
    "dr": "docteur", "doct": "docteur", "prof": "professeur", "mgr": "monseigneur",
    "gde": "grande", "gd": "grand", "gds": "grands", "gdes": "grandes",
    "nd": "notre-dame", "n-d": "notre-dame",
    "lez": "lès",
}
_ABBREV_RE = re.compile(
    r"(?<![\w'-])(" + "|".join(sorted((re.escape(k) for k in ABBREVIATIONS), key=len, reverse=True))
    + r")\.?(?=[\s,-]+" + _WORD + r")",
    re.IGNORECASE,
)

_SAINTS = {"st": "Saint", "ste": "Sainte", "sts": "Saints", "stes": "Saintes"}
_SAINT_RE = re.compile(r"(?<![\w'])(stes|sts|ste|st)\b\.?(?=[\s-]*" + _WORD + ")", re.IGNORECASE)

# "r" is "rue" only where a street type can stand: at the start, or after a house number.
_RUE_RE = re.compile(r"(^|\d[a-z]?\s*,?\s+|\b(?:bis|ter|quater)\s+)r\b\.?(?=\s+" + _WORD + ")", re.IGNORECASE)

_ORDINAL_RE = re.compile(rf"\b(\d{{1,4}})\s*[-,/.]?\s*({SUFFIXES_RE})\b", re.IGNORECASE)
_SPLIT_POSTCODE_RE = re.compile(r"(?<!\d)(?:F\s*-?\s*)?((?:0[1-9]|[1-8]\d|9[0-8]|2[ab]))\s(\d{3})(?!\d)", re.IGNORECASE)
_PREFIXED_POSTCODE_RE = re.compile(r"(?<![\w-])F\s*-\s*(\d{5})(?!\d)", re.IGNORECASE)
_DEP_IN_PARENS_RE = re.compile(r"\s*\(\s*(?:\d{2}|2[ab]|\d{3})\s*\)", re.IGNORECASE)
_TRAILING_ARTICLE_RE = re.compile(r"^(?P<name>[^,()]+?)\s*(?:\(\s*(?P<a1>les|le|la|l')\s*\)|,\s*(?P<a2>les|le|la|l'))\s*(?P<rest>(?:[,\s]\s*\d{5}.*)?)$",
                                  re.IGNORECASE)
_BOX_RE = re.compile(r"(?<![\w])(?:b\.?\s?p\.?|cs|tsa|cidex)\s*(?:n[o°]?\.?\s*)?\d+\b", re.IGNORECASE)
_CEDEX_RE = re.compile(r"\bc[eé]dex(?:\s*\d{1,2})?\b", re.IGNORECASE)
_COUNTRY_RE = re.compile(r"[\s,-]+france\s*$", re.IGNORECASE)
_SPACE_COMMA_RE = re.compile(r"\s+,")
_COMMAS_RE = re.compile(r"(\s*,\s*){2,}")
_NON_WORD_RE = re.compile(r"[^\w]+")
#: Is there a digit (``\d``, as the patterns above mean it)? Most patterns need one: without,
#: the normalisers below skip them (each skip is exact, only a shortcut).
_has_digit = re.compile(r"\d").search


def validate_query(text) -> str:
    """The input stripped, or ``InvalidQuery``: not text, empty, too long, or no letter/digit."""
    if not isinstance(text, str):
        raise InvalidQuery("query is not text")
    stripped = " ".join(text.split())
    if not stripped:
        raise InvalidQuery("empty query", public_message="Saisissez une adresse ou le nom d'une commune.")
    if len(stripped) > MAX_QUERY_LENGTH:
        raise InvalidQuery(f"query of {len(stripped)} characters",
                           public_message=f"La recherche est trop longue ({MAX_QUERY_LENGTH} caractères au plus).")
    if not any(ch.isalnum() for ch in stripped):
        raise InvalidQuery("no letter nor digit",
                           public_message="La recherche ne contient ni lettre ni chiffre : saisissez une adresse.")
    return stripped


# -- the normalisers, in order ----------------------------------------------------------------

def compose_unicode(text: str) -> str:
    """NFC, without control or zero-width characters (copy-paste debris)."""
    if text.isascii() and text.isprintable():  # NFC already, and no control character
        return text
    text = unicodedata.normalize("NFC", text)
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in text if unicodedata.category(ch) != "Cf")


def unify_apostrophes(text: str) -> str:
    if text.isascii() and "`" not in text:  # the only ASCII one
        return text
    return text.translate(_APOSTROPHES)


def unify_hyphens(text: str) -> str:
    if text.isascii():  # all of them are beyond ASCII
        return text
    return text.translate(_HYPHENS)


def collapse_spaces(text: str) -> str:
    """All whitespace (non-breaking too) → one space; no space before a comma."""
    text = " ".join(text.split())
    return _SPACE_COMMA_RE.sub(",", text) if " ," in text else text


def drop_country(text: str) -> str:
    if "france" not in text.lower():
        return text
    return _COUNTRY_RE.sub("", text)


def drop_postal_boxes(text: str) -> str:
    """'BP 12', 'CS 40017', 'Cedex 1' are for the mail, not places."""
    if _has_digit(text):
        text = _BOX_RE.sub(" ", text)
    if "dex" not in text.lower():
        return text
    return _CEDEX_RE.sub(" ", text)


def join_postcode(text: str) -> str:
    """'57 000' and 'F-57000' → '57000'."""
    if not _has_digit(text):
        return text
    text = _PREFIXED_POSTCODE_RE.sub(r"\1", text)
    return _SPLIT_POSTCODE_RE.sub(r"\1\2", text)


def drop_departement_number(text: str) -> str:
    """'Metz (57)' → 'Metz': the département number is not part of any name."""
    if "(" not in text:
        return text
    return _DEP_IN_PARENS_RE.sub("", text)


def move_trailing_article(text: str) -> str:
    """'Ban-Saint-Martin (Le)' or 'Ban-Saint-Martin, Le' → 'Le Ban-Saint-Martin' (INSEE lists)."""
    if "(" not in text and "," not in text:
        return text
    m = _TRAILING_ARTICLE_RE.match(text)
    if not m:
        return text
    article = (m.group("a1") or m.group("a2")).capitalize()
    name = m.group("name")
    joined = f"{article}{name}" if article.endswith("'") else f"{article} {name}"
    rest = m.group("rest").strip(" ,")
    return f"{joined} {rest}" if rest else joined


def separate_ordinal(text: str) -> str:
    """'12-bis', '12,BIS', '12bis' → '12 bis' (addok-france then glues and folds it to '12b')."""
    if not _has_digit(text):
        return text
    return _ORDINAL_RE.sub(lambda m: f"{m.group(1)} {m.group(2).lower()}", text)


def expand_saints(text: str) -> str:
    """'St-Avold', 'Ste Marie', 'st. Louis' → 'Saint-Avold', 'Sainte Marie', 'Saint Louis'."""
    low = text.lower()
    if "st" not in low and "\u017ft" not in low:  # the long s matches "s" without case
        return text
    return _SAINT_RE.sub(lambda m: _SAINTS[m.group(1).lower().replace("\u017f", "s")], text)


def expand_rue(text: str) -> str:
    """'12 r des Fleurs' → '12 rue des Fleurs' (a lone 'r' elsewhere may be an initial)."""
    return _RUE_RE.sub(lambda m: f"{m.group(1)}rue", text)


def expand_abbreviations(text: str) -> str:
    """'bd', 'av.', 'chem', 'Gal', 'Mal'... → full words (see ``ABBREVIATIONS``)."""
    return _ABBREV_RE.sub(lambda m: ABBREVIATIONS[m.group(1).lower()], text)


def german_letters(text: str) -> str:
    """'ß' → 'ss' (addok's ASCII folding would make it 'ss' too late for the label score)."""
    return text.replace("ß", "ss").replace("ẞ", "SS")


def trim_punctuation(text: str) -> str:
    """Leading/trailing separators and doubled commas left by the steps above."""
    if "," in text:
        text = _COMMAS_RE.sub(", ", text)
    return text.strip(" ,;:-/.!?")


NORMALISERS = [
    compose_unicode,
    unify_apostrophes,
    unify_hyphens,
    collapse_spaces,
    drop_country,
    drop_postal_boxes,
    join_postcode,
    drop_departement_number,
    move_trailing_article,
    separate_ordinal,
    expand_saints,
    expand_rue,
    expand_abbreviations,
    german_letters,
    collapse_spaces,
    trim_punctuation,
]


def normalize_query(text) -> str:
    """Validate, then run every normaliser in order.

    Raises
    ------
    InvalidQuery
        empty, over ``MAX_QUERY_LENGTH`` characters, or no letter nor digit.
    """
    return _normalize(validate_query(text))


@lru_cache(maxsize=8192)
def _normalize(text: str) -> str:
    # Pure, and asked twice per address lookup (evidence, then the geocoder chain).
    for normaliser in NORMALISERS:
        text = normaliser(text)
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuery("nothing left after normalisation",
                           public_message="La recherche ne contient ni lettre ni chiffre : saisissez une adresse.")
    return text


#: ``unidecode`` character by character (it works character by character) for the Latin
#: letters of French and German names, applied in one ``str.translate``.
_LATIN_TO_ASCII = {cp: unidecode(chr(cp)) for cp in range(0x80, 0x250)}


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """Lower case ASCII with single spaces: how addok compares strings ('Rémilly' → 'remilly').

    Memoised: the labels of the index's documents come back query after query."""
    if not text.isascii():
        text = text.translate(_LATIN_TO_ASCII)
        if not text.isascii():
            text = unidecode(text)
    return " ".join(_NON_WORD_RE.sub(" ", text.lower()).split())


def cache_key(normalised: str) -> str:
    """Two queries addok cannot tell apart (case, accents, punctuation) share one cache entry."""
    return fold(normalised)


_ARTICLE_RE = re.compile(r"^(les|le|la|l')\s*(?=\S)", re.IGNORECASE)


def without_article(name: str) -> str | None:
    """'Le Ban-Saint-Martin' → 'Ban-Saint-Martin', "L'Hôpital" → 'Hôpital', else None."""
    m = _ARTICLE_RE.match(name)
    if not m or (m.group(1).lower() != "l'" and not name[m.end() - 1].isspace()):
        return None
    rest = name[m.end():]
    return rest if rest else None


_GERMAN_FOLDS = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}


def german_spelling(name: str) -> str | None:
    """'Mülhausen' → 'Muelhausen': the way a name with umlauts is typed on a French keyboard
    by people who know its German spelling; None when the name has no umlaut."""
    if not any(ch in _GERMAN_FOLDS for ch in name):
        return None
    return "".join(_GERMAN_FOLDS.get(ch, ch) for ch in name)
