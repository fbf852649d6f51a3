"""What the embedded index holds: communes with their aliases, mairie addresses, BAN files."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

from locator.communes import CommuneIndex
from locator.data.anciennes import load_anciennes
from locator.data.loader import communes_paths, load_communes
from locator.errors import DataError
from locator.geocoding.index import (
    IndexSources,
    Recoder,
    ban_csv_docs,
    ban_docs,
    commune_names,
    fingerprint,
    merged_parts,
    municipality_docs,
    parse_mairie_address,
    place_communes,
    pretty_street,
)
from locator.projection import to_l93

from ..conftest import BAN_SAMPLE, ROOT


@pytest.fixture(scope="module")
def index():
    loaded = load_communes(communes_paths(ROOT / "data"), strict=True)
    return CommuneIndex(loaded.communes, loaded.geometries)


@pytest.mark.parametrize("address, expected", [
    ("40 rue Principale, 57920 Aboncourt", ("40", "Rue Principale", "57920", "Aboncourt")),
    ("5 grande rue, 54610 Abaucourt", ("5", "Grande Rue", "54610", "Abaucourt")),
    ("Place de la Mairie, 57515 Alsting", (None, "Place de la Mairie", "57515", "Alsting")),
    ("12 bis RUE DE LA GARE, 57000 Metz", ("12 bis", "Rue de la Gare", "57000", "Metz")),
    ("Hôtel de ville, 3 place d'Armes, 57000 Metz", ("3", "Place d'Armes", "57000", "Metz")),
    ("BP 12, 57000 Metz", None),
    ("Mairie", None),
    (None, None),
])
def test_mairie_addresses_are_split_into_number_street_postcode_city(address, expected):
    assert parse_mairie_address(address) == expected


@pytest.mark.parametrize("raw, pretty", [
    ("grande rue", "Grande Rue"), ("RUE DE LA GARE", "Rue de la Gare"), ("rue d'alsace", "Rue d'Alsace"),
    ("Rue du Général-de-Gaulle", "Rue du Général-de-Gaulle"), ("chemin des écoliers", "Chemin des Écoliers"),
])
def test_street_names_written_in_one_case_get_title_case(raw, pretty):
    assert pretty_street(raw) == pretty


def test_commune_names_carry_article_variants_former_names_and_merged_parts():
    assert commune_names("Le Ban-Saint-Martin") == ["Le Ban-Saint-Martin", "Ban-Saint-Martin"]
    assert commune_names("Rezonville-Vionville", ["Vionville", "Rezonville"])[1:] == ["Vionville", "Rezonville"]
    assert "Ritzing" in commune_names("Manderen-Ritzing", merged=True)
    assert merged_parts("Saint-Avold") == [] and merged_parts("Val-de-Bride") == []
    assert merged_parts("Château-Voué") == ["Voué"]


def test_every_commune_gets_one_municipality_inside_its_own_polygon(index):
    anciennes = load_anciennes(ROOT / "data")
    placed = place_communes(index, 300.0)
    docs = list(municipality_docs(index, placed, anciennes))
    assert len(docs) == len(index) == 725
    assert len({d["citycode"] for d in docs}) == 725
    x, y = to_l93([d["lon"] for d in docs], [d["lat"] for d in docs])
    codes = index.codes[index.locate(x, y)]
    assert list(codes) == [d["citycode"] for d in docs]
    by = {d["citycode"]: d for d in docs}
    assert by["57578"]["name"][0] == "Rezonville-Vionville" and "Vionville" in by["57578"]["name"]
    assert "Ritzing" in by["57439"]["name"]
    assert "Ban-Saint-Martin" in by["57049"]["name"]
    assert by["57463"]["postcode"] == ["57000", "57050", "57070"]


def test_a_mairie_published_outside_its_commune_is_not_indexed(index):
    placed = place_communes(index, 300.0)
    for c, p in zip(index.communes, placed, strict=True):
        if not c.has_mairie_point:
            assert not p.mairie_ok
            continue
        x, y = to_l93(c.mairie_lon, c.mairie_lat)
        inside = index.codes[index.locate(x, y)[0]] == c.code
        if inside:
            assert p.mairie_ok and (p.lon, p.lat) == (c.mairie_lon, c.mairie_lat)


def test_ban_csv_rows_become_streets_with_their_numbers():
    former = {}
    docs = list(ban_docs(BAN_SAMPLE, former))
    by = {(d["citycode"], d["name"]): d for d in docs}
    serpenoise = by[("57463", "Rue Serpenoise")]
    assert serpenoise["type"] == "street" and serpenoise["postcode"] == "57000"
    assert set(serpenoise["housenumbers"]) == {"12", "14", "15 bis"}
    assert serpenoise["housenumbers"]["12"] == {"lon": 6.1729, "lat": 49.1163}
    assert by[("57439", "Rue de Sierck")]["oldcity"] == "Ritzing"
    assert former == {"57439": {"Ritzing"}}
    assert ("75104", "Rue de Rivoli") in by
    assert len(docs) == 5


def _shuffled_sample(tmp_path):
    """The BAN sample with its rows reversed: a street's rows no longer follow each other."""
    lines = BAN_SAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "adresses-57-shuffled.csv"
    path.write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n", encoding="utf-8")
    return path


def _by_id(docs):
    return {d["_id"]: d for d in docs}


def test_ban_rows_out_of_order_keep_every_house_number(tmp_path):
    path = _shuffled_sample(tmp_path)
    assert _by_id(ban_csv_docs(path)) == _by_id(ban_csv_docs(BAN_SAMPLE))
    assert set(_by_id(ban_csv_docs(path))["ban_57463_57463_t001"]["housenumbers"]) == {"12", "14", "15 bis"}


def test_a_big_ban_file_grouped_through_buckets_on_disk_gives_the_same_streets(tmp_path):
    path = _shuffled_sample(tmp_path)
    former = {}
    spilled = _by_id(ban_csv_docs(path, former, in_memory=2))
    assert spilled == _by_id(ban_csv_docs(BAN_SAMPLE))
    assert former == {"57439": {"Ritzing"}}


def test_ban_rows_of_paris_under_the_city_code_go_to_their_arrondissement(tmp_path, paris_dir):
    communes = load_communes(communes_paths(paris_dir))
    recode = Recoder(CommuneIndex(communes.communes, communes.geometries))
    lines = BAN_SAMPLE.read_text(encoding="utf-8").splitlines()
    rivoli = lines[-1].replace(";75104;", ";75056;")
    by_point = rivoli.replace(";75004;", ";;").replace("75104_t001", "75056_t009")
    path = tmp_path / "adresses-75.csv"
    path.write_text("\n".join([lines[0], rivoli, by_point]) + "\n", encoding="utf-8")
    docs = list(ban_csv_docs(path, recode=recode))
    assert [d["citycode"] for d in docs] == ["75104", "75104"]  # by postcode, then by point


def test_gzipped_ban_file_reads_the_same(tmp_path):
    gz = tmp_path / "adresses-57.csv.gz"
    with open(BAN_SAMPLE, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert list(ban_docs(gz)) == list(ban_docs(BAN_SAMPLE))


def test_addok_ndjson_is_streamed_as_is(tmp_path):
    path = tmp_path / "extra.ndjson"
    doc = {"id": "x1", "type": "street", "name": "Rue Test", "citycode": "57463", "lon": 6.17, "lat": 49.11}
    path.write_text(json.dumps(doc) + "\n\n", encoding="utf-8")
    (out,) = list(ban_docs(path))
    assert out["_id"] == "x1" and out["source"] == "ndjson" and out["name"] == "Rue Test"


@pytest.mark.parametrize("name, content", [
    ("bad.csv", "a;b\n1;2\n"),
    ("bad.ndjson", "{not json}\n"),
    ("nocoords.ndjson", '{"name": "x"}\n'),
    ("file.txt", "whatever"),
])
def test_unusable_ban_files_are_data_errors_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        list(ban_docs(path))
    assert name in str(info.value)


def test_fingerprint_changes_with_the_data_not_with_the_folder(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        shutil.copyfile(BAN_SAMPLE, tmp_path / sub / "adresses.csv")
    fa, _ = fingerprint(IndexSources(ban_files=[tmp_path / "a" / "adresses.csv"]))
    fb, _ = fingerprint(IndexSources(ban_files=[tmp_path / "b" / "adresses.csv"]))
    assert fa == fb
    with open(tmp_path / "b" / "adresses.csv", "a", encoding="utf-8") as fh:
        fh.write("\n")
    fc, record = fingerprint(IndexSources(ban_files=[tmp_path / "b" / "adresses.csv"]))
    assert fc != fa and record["sources"][0]["kind"] == "ban"
