"""Run specs and their keys (gep.tuning.runs): a key is the identity of a run's inputs'
*contents*, so it changes with a table's content and not with its modification time."""
from __future__ import annotations

import os

import pytest

from gep.tuning.runs import input_digests, link_workspace, run_key

PARAMS = {"seasonality_constant": 5.0, "n_workers": -1}
TABLE = "lucode,kc,root_depth\n10,1.0,7000\n"


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "biophysical.csv"
    path.write_text(TABLE)
    return path


def key(table, inputs=None, **params):
    return run_key("annual_water_yield", 2020, PARAMS | {"biophysical_table": str(table)}
                   | params, {}, inputs or {"landcover.tif": "a" * 64})


def test_key_changes_with_a_tables_content_not_its_mtime(table):
    k = key(table)
    st = table.stat()
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns + 10**10))   # touched: same bytes
    assert key(table) == k
    table.write_text(TABLE.replace("1.0", "1.1"))                   # same size, new bytes
    assert table.stat().st_size == st.st_size
    assert key(table) != k


def test_a_table_held_in_memory_keys_like_a_file_with_that_content(table, tmp_path):
    text = TABLE.replace("7000", "6000")
    other = tmp_path / "other.csv"
    other.write_text(text)
    in_memory = run_key("annual_water_yield", 2020,
                        PARAMS | {"biophysical_table": str(table)},
                        {"biophysical_table": text}, {"landcover.tif": "a" * 64})
    assert in_memory == key(other) != key(table)


def test_key_ignores_n_workers_and_follows_parameters_year_and_inputs(table):
    k = key(table)
    assert key(table, n_workers=4) == k
    assert key(table, seasonality_constant=5.5) != k
    assert key(table, inputs={"landcover.tif": "b" * 64}) != k
    assert run_key("annual_water_yield", 2021, PARAMS | {"biophysical_table": str(table)}, {},
                   {"landcover.tif": "a" * 64}) != k


def test_input_digests_name_every_year_raster_and_the_basin_files(tmp_path):
    year = tmp_path / "2020"
    year.mkdir()
    (year / "landcover.tif").write_bytes(b"x")
    (year / ".hidden.tif").write_bytes(b"y")
    (tmp_path / "basin.gpkg").write_bytes(b"b")
    (tmp_path / "subwatersheds.gpkg").write_bytes(b"s")
    d = input_digests(year, tmp_path / "basin.gpkg", tmp_path / "subwatersheds.gpkg")
    assert set(d) == {"landcover.tif", "basin.gpkg", "subwatersheds.gpkg"}
    import hashlib

    assert d["landcover.tif"] == hashlib.sha256(b"x").hexdigest()


def test_link_workspace_hard_links_and_leaves_the_source_alone(tmp_path):
    src = tmp_path / "pipeline" / "annual_water_yield"
    (src / "output").mkdir(parents=True)
    (src / "output" / "wyield.tif").write_bytes(b"raster")
    (src / "gep_run.json").write_text("{}")
    dst = tmp_path / "cache" / "k1"
    link_workspace(src, dst, {"key": "k1"})
    assert (dst / "output" / "wyield.tif").stat().st_ino == \
        (src / "output" / "wyield.tif").stat().st_ino
    assert (dst / "gep_tuning.json").exists() and not (src / "gep_tuning.json").exists()
