"""The memo of voter sentences keeps the sentences other voters ask for again (an answer's,
made of names), not those made of one query's values (metres, coordinates, the typed text)."""

from __future__ import annotations

from locator.lookup.messages import _say, say, say_items


def test_a_sentence_with_a_distance_is_said_the_same_and_kept_out_of_the_memo():
    items = (("distance", 120), ("other", "Metz"), ("other_code", "57463"))
    before = _say.cache_info().currsize
    said = say_items("warning.near_commune_boundary", items)
    assert said == _say.__wrapped__("warning.near_commune_boundary", "fr", items)
    assert "120" in said and "Metz" in said
    assert say("outside.swapped", commune="Metz", lon=49.1, lat=6.2) == \
        _say.__wrapped__("outside.swapped", "fr", (("commune", "Metz"), ("lon", 49.1), ("lat", 6.2)))
    assert _say.cache_info().currsize == before


def test_the_answers_of_twenty_thousand_communes_stay_memoised_between_near_boundary_warnings():
    _say.cache_clear()
    answers = [(("where", f"Mairie, {i} place de la Mairie"), ("commune", f"Commune {i}")) for i in range(20_000)]
    for i, items in enumerate(answers):
        say_items("found.commune", items)
        say_items("warning.near_commune_boundary", (("distance", i % 300), ("other", f"Commune {i + 1}"),
                                                    ("other_code", f"{i + 1:05d}")))
    hits = _say.cache_info().hits
    said = [say_items("found.commune", items) for items in answers]
    assert _say.cache_info().hits - hits == len(answers)  # every one read back, none made again
    assert said[7] == "Les électeurs de Commune 7 votent au bureau Mairie, 7 place de la Mairie."
