"""The organiser CSV reader: every bad row at once, codes checked against the communes,
swapped lon/lat caught, written by the one bureau writer."""

from __future__ import annotations

import json

import pytest

from locator.data.bureaux_csv import dumps_bureaux, import_csv
from locator.data.loader import load_communes, parse_bureau
from locator.errors import DataError

from ..validation.conftest import COMMUNES_FILE, MAIRIES

HEADER = "id;name;address;code_insee;communes_served;lon;lat\n"
ALPHA = MAIRIES["57991"]


@pytest.fixture(scope="module")
def communes():
    loaded = load_communes([COMMUNES_FILE])
    return loaded.communes, loaded.geometries


def write(tmp_path, *rows: str):
    path = tmp_path / "bureaux.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_good_file_gives_bureaux_sorted_by_id_that_the_loader_reads_back(tmp_path, communes):
    path = write(tmp_path, f"B1;Mairie de Beta;3 rue de l'Église;57992;57992;{MAIRIES['57992'][0]};{MAIRIES['57992'][1]}",
                 f"A1;Mairie d'Alpha;1 place de la Mairie;57991;57991 57994;{ALPHA[0]};{ALPHA[1]}",
                 "A2;École;2 rue des Écoles;57991;57991;;")
    bureaux = import_csv(path, *communes)
    assert [b.id for b in bureaux] == ["A1", "A2", "B1"]
    assert bureaux[0].communes_served == ("57991", "57994") and bureaux[0].location_source == "manual"
    assert bureaux[1].lon is None and bureaux[1].location_source is None
    features = json.loads(dumps_bureaux(bureaux))["features"]
    assert [parse_bureau(f) for f in features] == bureaux


def test_every_bad_row_is_reported_at_once_with_its_line(tmp_path, communes):
    path = write(tmp_path,
                 f"A1;Mairie d'Alpha;1 place de la Mairie;57991;57991;{ALPHA[0]};{ALPHA[1]}",
                 "A2;x;;57991;57991;abc;49",
                 "A1;copie;;57991;57991;;",
                 "A3;x;;57991;57991;6.0;",
                 "A4;x;;57991;;;",
                 "A5;x;;57991;57991;0;0",
                 "A6;x;;57991;57991;;;",
                 ";sans id;;57991;57991;;")
    with pytest.raises(DataError) as err:
        import_csv(path, *communes)
    text = str(err.value)
    assert "7 bad rows, nothing written" in text
    for line, words in [(2, "duplicate bureau id 'A1' (also line 4)"), (3, "not numbers"),
                        (4, "duplicate bureau id 'A1' (also line 2)"), (5, "both be given"),
                        (6, "communes_served is empty"), (7, "(0, 0)"), (9, "'id'")]:
        assert f"line {line}: {words}" in text or (f"line {line}:" in text and words in text.split(f"line {line}:")[1])
    assert "line 8:" not in text  # a good row


def test_unknown_codes_are_bad_rows_and_a_postcode_is_named(tmp_path, communes):
    cs, geoms = communes
    path = write(tmp_path, f"A1;Mairie;;57000;57991 57585;{ALPHA[0]};{ALPHA[1]}")
    with pytest.raises(DataError) as err:
        import_csv(path, cs, geoms)
    text = str(err.value)
    assert "code_insee 57000 is not a commune" in text and "57585" in text
    import dataclasses
    cs = [dataclasses.replace(c, codes_postaux=("57000",)) if c.code == "57991" else c for c in cs]
    with pytest.raises(DataError, match=r"57000 is the postcode of Alpha \(57991\): use the INSEE code"):
        import_csv(path, cs, geoms)


def test_swapped_lon_lat_are_caught_with_the_swap_suggested(tmp_path, communes):
    path = write(tmp_path, f"A1;Mairie d'Alpha;;57991;57991;{ALPHA[1]};{ALPHA[0]}")
    with pytest.raises(DataError, match=r"line 2: lon/lat look swapped: .* is not in Alpha \(57991\) but .* is: swap"):
        import_csv(path, *communes)


def test_without_communes_only_the_rows_themselves_are_checked(tmp_path):
    path = write(tmp_path, f"A1;Mairie;;57000;57000;{ALPHA[1]};{ALPHA[0]}")
    assert [b.code_insee for b in import_csv(path)] == ["57000"]
