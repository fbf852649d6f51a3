"""What one service or one widget covers: suggestions while the voter types, a département
restriction, and the readiness probe. Rules of the core, so every shell applies the same."""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from dataclasses import dataclass

from ..errors import GeocoderUnavailable
from ..geocoding.evidence import WEAK_WORDS, is_street_name, parse_query, same_word, significant
from ..geocoding.normalize import fold, normalize_query
from ..geocoding.words import STREET_TYPES
from .messages import say
from .outcome import LookupResult, Status

#: Suggestions start at this many characters.
SUGGEST_MIN_CHARS = 3


@dataclass(frozen=True)
class Suggestion:
    """A place offered while the voter types (``/api/v1/autocomplete``)."""

    label: str
    lon: float
    lat: float
    type: str
    citycode: str | None
    postcode: str | None
    score: float | None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def suggest(locator, text: str, *, limit: int, departement: str | None = None) -> list[Suggestion]:
    """Places the geocoder knows for ``text`` that this service can answer for (a commune of
    the data, and of ``departement`` when given), best first. What was typed wins:

    * a commune named in the text ranks its own places first, and places of other communes
      are not offered ("12 rue Serpenoise Metz" never suggests a "rue de Metz" elsewhere),
      only, below them, the communes whose longer name starts with the text ("Metzervisse");
      when the geocoder has nothing there, the commune itself is offered if the text is only
      the commune (a typed street is never traded for its commune: nothing is suggested and
      the typed text is what the search gets);
    * otherwise the communes whose name starts with the text come first ("Thionv" →
      Thionville), then the geocoder's places whose label holds every typed word (a typed
      word may be the start of a label word, or that word with a typo);
    * the geocoder is asked with its autocomplete on (the voter is still typing), once the
      text tells where (``tells_where``): before that ("12 rue", "3 r d") it could only
      offer a few addresses picked among thousands alike, at the price of its costliest
      searches; the communes whose name starts with the text are still offered.

    Raises
    ------
    GeocoderUnavailable
        no geocoder, or every configured geocoder failed.
    """
    if len(text.strip()) < SUGGEST_MIN_CHARS:
        return []
    geocoder = locator.geocoder
    if geocoder is None:
        raise GeocoderUnavailable("no geocoder configured")
    normalised = normalize_query(text)
    tokens = fold(normalised).split()
    words = significant(tokens)
    gazetteer = locator.text.gazetteer
    communes = locator.index.communes
    parts = parse_query(normalised)
    named_ci = gazetteer.find(parts)
    named = [communes[ci] for ci in named_ci]
    want = limit * 3  # room for the filters below
    asked = tells_where(tokens, parts)
    points = [p for p in geocoder.search(text, limit=want, autocomplete=True)
              if _answerable(locator, p)] if asked else []
    if named:
        codes = {c.code for c in named}
        points = [p for p in points if p.citycode in codes]
        if not points and asked:  # the geocoder's best were elsewhere: ask inside the named commune(s)
            for c in named:
                points += geocoder.search(text, citycode=c.code, limit=limit, autocomplete=True)
        points = [p for p in points if p.citycode in codes and _holds_words(p.label, words)]
        out = [_of_point(p) for p in points]
        if not out and not parts.has_street:  # "Metz" alone; never trade a typed street for its commune
            out = [s for s in (_of_commune(locator, ci) for ci in named_ci) if s]
        # Below them, the longer names the voter may still be typing ("Metz" → Metzervisse).
        out += [s for s in (_of_commune(locator, ci) for ci in _communes_starting(locator, normalised))
                if s and s.citycode not in codes]
    else:
        starting = [s for s in (_of_commune(locator, ci) for ci in _communes_starting(locator, normalised)) if s]
        codes = {s.citycode for s in starting}
        out = starting + [_of_point(p) for p in points
                          if _holds_words(p.label, words)
                          and not (p.type == "municipality" and p.citycode in codes)]
    if departement:
        out = [s for s in out if (s.citycode or "").startswith(departement)]
    seen, unique = set(), []
    for s in out:
        if s.label not in seen:
            seen.add(s.label)
            unique.append(s)
    return unique[:limit]


def tells_where(tokens: list[str], parts) -> bool:
    """Does the text typed so far say where, enough for the geocoder's suggestions to mean
    something? A postcode, a letter of a name (a word that is not a house number, a street
    type or an article), or a street type after another one ("Rue de la Montée", as
    ``evidence.is_street_name`` reads a street). A last word
    that starts a street type, typed after the house number before any street type ("12 pla"),
    is the street type being typed. "12 rue", "3 r d", "8 pla" tell nothing yet; "12 rue de
    la g", "12 rue saint", "57000" do.

    ``tokens`` are the normalised text's folded words, ``parts`` its ``parse_query``."""
    if parts.postcodes:
        return True
    if (len(tokens) >= 2 and tokens[0][:1].isdigit() and not any(t in STREET_TYPES for t in tokens[:-1])
            and any(st.startswith(tokens[-1]) for st in STREET_TYPES)):
        tokens = tokens[:-1]
    return is_street_name(tokens) or any(t in WEAK_WORDS for t in tokens)


def _answerable(locator, point) -> bool:
    return point.citycode is None or locator.commune(point.citycode) is not None


def _of_point(p) -> Suggestion:
    return Suggestion(p.label, p.lon, p.lat, p.type, p.citycode, p.postcode, p.score)


def _holds_words(label: str, words: list[str]) -> bool:
    """Every typed word is in the label: whole, as the start of a label word (still typing),
    or with a typo (``same_word``)."""
    found = fold(label).split()
    return all(any(f.startswith(w) or same_word(w, f) for f in found) for w in words)


def _communes_starting(locator, normalised: str) -> list[int]:
    """Communes of the data with a name (or a former name, an alias) that starts with the
    whole typed text, most populous first: a name being typed ("Sarregu")."""
    typed = " ".join(fold(normalised).split())
    if not typed or any(ch.isdigit() for ch in typed):
        return []
    names = locator.text.gazetteer.sorted_names
    communes = locator.index.communes
    found: dict[int, None] = {}
    for name, ci in names[bisect_left(names, (typed, -1)):]:
        if not name.startswith(typed):
            break
        found[ci] = None
    return sorted(found, key=lambda ci: (-(communes[ci].population or 0), communes[ci].nom))


def _of_commune(locator, ci: int) -> Suggestion | None:
    """A commune offered by its name (with its postcode when another commune has the same
    name, so the search that follows is not ambiguous again)."""
    commune = locator.index.communes[ci]
    if commune.has_mairie_point:
        lon, lat = commune.mairie_lon, commune.mairie_lat
    else:
        geom = locator.dataset.commune_geoms[ci]
        if geom is None or geom.is_empty:
            return None
        point = geom.representative_point()
        lon, lat = point.x, point.y
    postcode = commune.codes_postaux[0] if commune.codes_postaux else None
    homonyms = locator.text.gazetteer.by_name.get(tuple(fold(commune.nom).split()), ())
    label = f"{commune.nom} {postcode}" if len(homonyms) > 1 and postcode else commune.nom
    return Suggestion(label, lon, lat, "municipality", commune.code, postcode, None)


def restrict_to_departement(result: LookupResult, departement: str | None) -> LookupResult:
    """A widget limited to one département answers "outside coverage" for the others, keeping
    the commune and its mairie so the voter still knows whom to ask."""
    if departement is None or result.commune is None or result.commune.departement == departement:
        return result
    commune = result.commune
    params = {"commune": commune.nom, "departement": departement}
    return result._replace(
        status=Status.OUTSIDE_COVERAGE, bureau=None, distance_m=None, method=None, candidates=(),
        mairie=commune.mairie_contact(), message=say("outside.departement", **params),
        message_key="outside.departement", message_params=tuple(params.items()))


def probe(locator) -> None:
    """Can this locator answer an address now? ``GeocoderUnavailable`` says why not."""
    geocoder = locator.geocoder
    if geocoder is None:
        raise GeocoderUnavailable("no geocoder configured")
    geocoder.search(locator.communes[0].nom, limit=1)
