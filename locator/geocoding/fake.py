"""A geocoder that answers from what it is given: the one stand-in used by the tests.

It implements the protocol of ``locator.geocoding.protocol`` (``search``, ``reverse``,
``open``, ``close``, context manager) without an index or a network, so a test can say
exactly what the geocoder answers and check what the rest of the package makes of it.

Two ways to give the answers:

* ``table``: text → points. Keys and queries are folded (case, accents, commas, spaces), so
  ``"Montigny-lès-Metz"`` finds the key ``"montigny-les-metz"``. A key may be a pair
  ``(text, citycode)``: it answers only a query with exactly that ``citycode`` filter (the
  same address asked for a bureau and, filtered, for a mairie). When no key equals the
  query, ``match`` says what else answers:

  - ``"exact"``: nothing;
  - ``"prefix"``: every key that starts with the query, as an autocomplete index would;
  - ``"contains"``: the first key contained in the query (a dict of known addresses
    matched in the longer texts a caller builds).

* ``answers``: the same points for any query (a geocoder that always finds one place).

The ``citycode`` and ``postcode`` filters keep only the points that carry them. ``fail =
True`` (or ``fail_after=n``: after n calls) makes every call raise
``GeocoderUnavailable``; ``error`` raises that exception instead. ``calls`` counts the
calls (searches and reverses) and ``queries`` records each search received, failed or not,
as ``(text, citycode, postcode, limit)``.

>>> from locator.models import GeocodedPoint
>>> metz = GeocodedPoint(label="Metz", lon=6.1757, lat=49.1196, type="municipality",
...                      score=0.95, citycode="57463", postcode="57000")
>>> g = FakeGeocoder({"metz": [metz]})
>>> [p.citycode for p in g.search("METZ")], g.search("Thionville"), g.calls
(['57463'], [], 2)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping

from ..errors import GeocoderUnavailable
from ..models import GeocodedPoint
from .protocol import GeocoderBase

MATCHES = ("exact", "prefix", "contains")


def fold(text: str) -> str:
    """Lower case, no accents, commas as spaces, single spaces."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.replace(",", " ").split())


class FakeGeocoder(GeocoderBase):
    """The geocoder protocol over answers given in advance (see the module docstring)."""

    def __init__(self, table: Mapping | None = None, *, answers: Iterable[GeocodedPoint] | None = None,
                 match: str = "prefix", fail: bool = False, error: BaseException | None = None,
                 fail_after: int | None = None, reverse_answers: Iterable[GeocodedPoint] = (),
                 name: str = "fake"):
        if match not in MATCHES:
            raise ValueError(f"match must be one of {MATCHES}, not {match!r}")
        if table is not None and answers is not None:
            raise ValueError("give a table or fixed answers, not both")
        self.name = name
        self.match = match
        self.table: dict[object, list[GeocodedPoint]] = {}
        for key, points in (table or {}).items():
            folded = (fold(key[0]), key[1]) if isinstance(key, tuple) else fold(key)
            self.table[folded] = list(points)
        self.answers = None if answers is None else list(answers)
        self.reverse_answers = list(reverse_answers)
        self.fail = fail
        self.error = error
        self.fail_after = fail_after
        self.calls = 0
        self.queries: list[tuple[str, str | None, str | None, int]] = []
        self.opened = self.closed = False

    def _check(self) -> None:
        if self.error is not None:
            raise self.error
        if self.fail or (self.fail_after is not None and self.calls > self.fail_after):
            raise GeocoderUnavailable(f"{self.name} geocoder down")

    def search(self, text: str, *, citycode: str | None = None, postcode: str | None = None,
               limit: int = 5, autocomplete: bool = False) -> list[GeocodedPoint]:
        self.calls += 1
        self.queries.append((text, citycode, postcode, limit))
        self._check()
        points = self._find(fold(text), citycode)
        if citycode is not None:
            points = [p for p in points if p.citycode == citycode]
        if postcode is not None:
            points = [p for p in points if p.postcode == postcode]
        return points[:limit]

    def _find(self, key: str, citycode: str | None) -> list[GeocodedPoint]:
        if self.answers is not None:
            return list(self.answers)
        for k in ((key, citycode), key):
            if k in self.table:
                return list(self.table[k])
        texts = [(k, k if isinstance(k, str) else k[0]) for k in self.table
                 if isinstance(k, str) or k[1] == citycode]
        if self.match == "prefix":
            seen, points = set(), []
            for k, t in texts:
                if t.startswith(key):
                    for p in self.table[k]:
                        if p.label not in seen:
                            seen.add(p.label)
                            points.append(p)
            return points
        if self.match == "contains":
            for k, t in texts:
                if t in key:
                    return list(self.table[k])
        return []

    def reverse(self, lon: float, lat: float) -> list[GeocodedPoint]:
        self.calls += 1
        self._check()
        return list(self.reverse_answers)

    def open(self) -> FakeGeocoder:
        self.opened = True
        return self

    def close(self) -> None:
        self.closed = True
