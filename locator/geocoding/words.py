"""The words of French addresses, written once: street types, house-number suffixes and the
house-number pattern. The query parser, the evidence checks, the geocoder chain, the BAN and
mairie-address readers and the validator's text rules all read them from here.

Words are folded (lower-case ASCII, see ``normalize.fold``) and full (abbreviations are
expanded by ``normalize`` before anything compares them).
"""

from __future__ import annotations

import re

#: Street types (folded, full words).
STREET_TYPES = frozenset("""
rue avenue boulevard place chemin route impasse allee quai cours faubourg square passage sentier voie cite
residence lotissement ruelle venelle esplanade promenade parvis clos hameau rond point montee descente
traverse sente carrefour rampe villa domaine quartier zone""".split())

#: What may follow a house number: "12 bis", "12 ter", "12 B".
NUMBER_SUFFIXES = ("bis", "ter", "quater", "quinquies")

#: A house number as people write it: 1 to 4 digits, then perhaps a suffix or a letter.
HOUSENUMBER = r"\d{1,4}(?:\s*(?:" + "|".join(NUMBER_SUFFIXES) + r"|[a-z]))?"

#: Street types as one regular-expression alternation over folded text (longest first); "grand
#: rue" is one.
STREET_TYPES_RE = "|".join([r"grand\s?rue", *sorted((re.escape(t) for t in STREET_TYPES), key=len, reverse=True)])

#: Number suffixes as one alternation.
SUFFIXES_RE = "|".join(NUMBER_SUFFIXES)
