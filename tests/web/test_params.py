"""HTTP values → core arguments (web/params.py): which characters a voter's text may hold."""

from __future__ import annotations

import unicodedata

import pytest

from locator.errors import InvalidQuery
from locator.web.params import _FORBIDDEN, check_text


def _refused_by_the_rule(ch: str) -> bool:
    return ch in _FORBIDDEN or ch == "\ufffd" or (unicodedata.category(ch)[0] == "C" and ch not in "\t\r\n")


#: Every plane in use (Basic Multilingual, Supplementary Multilingual and Ideographic), the
#: tags and variation selectors, the start and end of the private use planes.
CODE_POINTS = [*range(0x30000), *range(0xE0000, 0xE1000), *range(0xF0000, 0xF0100), *range(0x10FF00, 0x110000)]


def test_every_character_is_refused_exactly_when_the_rule_says_so():
    wrong = []
    for cp in CODE_POINTS:
        ch = chr(cp)
        try:
            check_text(f"12 rue de l'Église{ch}Metz")
            refused = False
        except InvalidQuery:
            refused = True
        if refused != _refused_by_the_rule(ch):
            wrong.append(hex(cp))
    assert wrong == []


@pytest.mark.parametrize("raw, expected", [
    ("12 rue de l'Église 57000 Metz", "12 rue de l'Église 57000 Metz"),
    ("  12\true Serpenoise\r\nMetz ", "12 rue Serpenoise Metz"),
    ("Sarrebourg\u00a0(57)", "Sarrebourg (57)"),
])
def test_pasted_whitespace_becomes_single_spaces(raw, expected):
    assert check_text(raw) == expected


@pytest.mark.parametrize("raw", ["Metz<b>", "Metz\x00", "Metz\u200b", "Metz\ufffd", "Metz\ud800", "x" * 201, " ", "--"])
def test_markup_control_characters_broken_bytes_and_empty_texts_are_refused(raw):
    with pytest.raises(InvalidQuery):
        check_text(raw)
