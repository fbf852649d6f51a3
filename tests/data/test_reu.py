"""Reading INSEE's two REU tables: CSV (',' or ';', UTF-8, BOM, cp1252), Parquet, and the
errors that name the file and the column."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from locator.cli import main
from locator.data import reu
from locator.errors import DataError

from ..register.reu_fixtures import ADRESSES, BUREAUX


def _rows(path, layout, **kw):
    return pa.concat_tables(list(reu.read_table(path, layout, **kw)))


def test_address_table_as_published_is_read_with_canonical_types():
    t = _rows(ADRESSES, reu.ADDRESSES)
    assert t.num_rows == 24
    assert t.column("longitude").type == pa.float64()
    assert t.column("code_commune_ref").to_pylist()[0] == "57227"
    assert t.column("id_brut_bv_reu").to_pylist()[0] == "57227_1"
    # empty coordinates are null, not zero (longitude 0 crosses France)
    assert t.column("longitude").null_count == 1


def test_bureau_table_with_semicolons_names_its_bureaux_id_brut_reu():
    t = _rows(BUREAUX, reu.BUREAUX)
    assert t.column("id_brut_bv_reu").to_pylist() == ["57227_1", "57227_2", "54395_1"]
    assert t.column("libelle_reu").to_pylist()[0] == "École du Bruch"


def test_departement_filter_keeps_only_its_rows():
    t = _rows(ADRESSES, reu.ADDRESSES, keep=reu.commune_filter(departements=["57"]))
    assert set(t.column("code_commune_ref").to_pylist()) == {"57227"}


@pytest.mark.parametrize("encoding, delimiter", [("utf-8-sig", ","), ("cp1252", ";"), ("utf-16", ";")])
def test_odd_encodings_and_delimiters_read_the_same(tmp_path, encoding, delimiter):
    text = BUREAUX.read_text(encoding="utf-8").replace(";", delimiter)
    path = tmp_path / "bv.csv"
    path.write_text(text, encoding=encoding)
    t = _rows(path, reu.BUREAUX)
    assert t.column("libelle_reu").to_pylist()[0] == "École du Bruch"
    assert t.column("commune_reu").to_pylist()[0] == "Forbach"


def test_decimal_commas_and_dropped_leading_zeros_are_repaired(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("code_commune_ref;id_brut_bv_reu;longitude;latitude;geo_type;geo_score\n"
                    "1001;01001_1;4,92;46,15;housenumber;0,9\n", encoding="utf-8")
    t = _rows(path, reu.ADDRESSES)
    assert t.column("code_commune_ref").to_pylist() == ["01001"]
    assert t.column("longitude").to_pylist() == [4.92]


def test_parquet_tables_are_read_in_batches(tmp_path):
    csv_table = _rows(ADRESSES, reu.ADDRESSES)
    path = tmp_path / "adresses.parquet"
    pq.write_table(csv_table, path)
    batches = list(reu.read_table(path, reu.ADDRESSES, batch_rows=5))
    assert len(batches) == 5
    assert pa.concat_tables(batches).equals(csv_table)


def test_missing_column_is_a_data_error_naming_file_and_column(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("code_commune_ref,id_brut_bv_reu,longitude,geo_type,geo_score\n57227,57227_1,6.9,housenumber,0.9\n",
                    encoding="utf-8")
    with pytest.raises(DataError) as err:
        list(reu.read_table(path, reu.ADDRESSES))
    assert str(path) in str(err.value) and "latitude" in str(err.value)


def test_missing_bureau_column_in_parquet_names_both_spellings(tmp_path):
    path = tmp_path / "bv.parquet"
    pq.write_table(pa.table({"code_commune": ["57227"], "libelle_reu": ["x"]}), path)
    with pytest.raises(DataError, match="id_brut_bv_reu or id_brut_reu"):
        list(reu.read_table(path, reu.BUREAUX))


def test_cli_exits_2_on_a_missing_column(tmp_path, capsys):
    from ..register.reu_fixtures import make_data_dir

    data = make_data_dir(tmp_path / "data")
    bad = tmp_path / "bv.csv"
    bad.write_text("code_commune;libelle_reu\n57227;x\n", encoding="utf-8")
    code = main(["reu", "import", "--adresses", str(ADRESSES), "--bureaux", str(bad), "--data", str(data),
                 "--no-geocode", "-q"])
    assert code == 2
    err = capsys.readouterr().err
    assert "bv.csv" in err and "id_brut_reu" in err
