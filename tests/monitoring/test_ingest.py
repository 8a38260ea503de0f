"""Ingestion: CSV and Parquet, units, time zones, and one clear error per bad file."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.errors import InputDataError
from gep.monitoring.ingest import read_readings, read_stations
from gep.monitoring.pipeline import monitor
from gep.monitoring.settings import load_settings

from .helpers import CONFIG, STATIONS, day_frame, write_readings


@pytest.fixture
def settings():
    return load_settings(CONFIG)


@pytest.fixture
def stations():
    return STATIONS.copy()


def _csv(tmp_path, text: str):
    path = tmp_path / "r.csv"
    path.write_text("timestamp,station,indicator,value,unit\n" + text, encoding="utf-8")
    return path


def test_csv_and_parquet_give_the_same_readings(tmp_path, settings, stations):
    df = pd.concat([day_frame("bnd", "2021-03-01"), day_frame("up_out", "2021-03-01")])
    df = df.sample(frac=1.0, random_state=1)  # any order in the file
    a = read_readings(write_readings(df, tmp_path / "r.csv"), stations, settings)
    b = read_readings(write_readings(df, tmp_path / "r.parquet"), stations, settings)
    assert len(a) == len(b) == len(df)
    np.testing.assert_array_equal(a.ts, b.ts)
    np.testing.assert_array_equal(a.value, b.value)
    pd.testing.assert_frame_equal(a.series_table, b.series_table)
    # sorted by series then time
    assert np.all(np.diff(a.series) >= 0)
    same = np.diff(a.series) == 0
    assert np.all(np.diff(a.ts)[same] > 0)


def test_naive_timestamps_are_local_time_and_offsets_are_honoured(tmp_path, settings,
                                                                   stations):
    naive = read_readings(_csv(tmp_path, "2021-03-01 08:00,bnd,codmn,2.0,mg/L\n"),
                          stations, settings)
    aware = read_readings(_csv(tmp_path, "2021-03-01T00:00:00Z,bnd,codmn,2.0,mg/L\n"),
                          stations, settings)
    expected = pd.Timestamp("2021-03-01T00:00:00Z").value
    assert naive.ts[0] == expected == aware.ts[0]


def test_units_are_converted_to_the_canonical_unit(tmp_path, settings, stations):
    r = read_readings(_csv(tmp_path, "2021-03-01T08:00+08:00,bnd,tp,25,ug/L\n"
                           "2021-03-01T08:00+08:00,bnd,flow,1500,L/s\n"), stations, settings)
    got = dict(zip(r.series_table["indicator"], r.value[np.argsort(r.series)]))
    assert got["tp"] == pytest.approx(0.025)
    assert got["flow"] == pytest.approx(1.5)
    assert set(r.series_table["unit_in"]) == {"ug/L", "L/s"}


def test_empty_values_are_kept_as_missing(tmp_path, settings, stations):
    r = read_readings(_csv(tmp_path, "2021-03-01T08:00+08:00,bnd,tp,,mg/L\n"
                           "2021-03-01T09:00+08:00,bnd,tp,NaN,mg/L\n"
                           "2021-03-01T10:00+08:00,bnd,tp,0.03,mg/L\n"), stations, settings)
    assert len(r) == 3
    assert np.isnan(r.value[:2]).all() and r.value[2] == pytest.approx(0.03)


OK = "2021-03-01T08:00+08:00,bnd,codmn,2.0,mg/L\n"


@pytest.mark.parametrize("body, line, field, fragment", [
    (OK + "2021-03-01T09:00+08:00,nowhere,codmn,2.0,mg/L\n", 3, "station",
     "unknown station 'nowhere'"),
    (OK + "2021-03-01T09:00+08:00,bnd,cod,2.0,mg/L\n", 3, "indicator",
     "unknown indicator 'cod'"),
    (OK + "01/03/2021 09:00,bnd,codmn,2.0,mg/L\n", 3, "timestamp",
     "unparseable timestamp '01/03/2021 09:00'"),
    (OK + "2021-03-01,bnd,codmn,2.0,mg/L\n", 3, "timestamp",
     "'2021-03-01' has no time of day or is not ISO 8601"),
    (OK + "2021-13-01T09:00+08:00,bnd,codmn,2.0,mg/L\n", 3, "timestamp",
     "unparseable timestamp '2021-13-01T09:00+08:00'"),
    (OK + "2021-03-01 09:00,bnd,codmn,2.0,mg/L\n", 3, "timestamp", "time zones are mixed"),
    (OK + "2021-03-01T02:00Z,bnd,codmn,2.0,mg/L\n", 3, "timestamp", "time zones are mixed"),
    (OK + "2021-03-01T09:00+08:00,bnd,codmn,2000,ug/L\n", 3, "unit",
     "reports 'codmn' in mixed units: 'ug/L' here, 'mg/L' on line 2"),
    (OK + "2021-03-01T09:00+08:00,bnd,flow,2.0,mg/L\n", 3, "unit",
     "unit 'mg/L' does not fit indicator 'flow'"),
    (OK + "2021-03-01T08:00:00.000+08:00,bnd,codmn,2.1,mg/L\n", 3, "timestamp",
     ("duplicate reading: station 'bnd', indicator 'codmn' at 2021-03-01T08:00:00+08:00 was "
      "already given on line 2")),
    (OK + "2021-03-01T09:00+08:00,bnd,codmn,high,mg/L\n", 3, "value",
     "value 'high' is not a number"),
    (OK + "2021-03-01T09:00+08:00,bnd,codmn,2.0,\n", 3, "unit", "empty unit"),
])
def test_bad_rows_name_file_line_and_field(tmp_path, settings, stations, body, line, field,
                                           fragment):
    path = _csv(tmp_path, body)
    with pytest.raises(InputDataError) as ei:
        read_readings(path, stations, settings)
    e = ei.value
    assert (e.file, e.line, e.field) == (str(path), line, field)
    assert fragment in str(e)
    assert "Fix:" in str(e)


def test_parquet_errors_name_the_row(tmp_path, settings, stations):
    df = day_frame("bnd", "2021-03-01")
    df.loc[5, "station"] = "ghost"
    path = write_readings(df, tmp_path / "r.parquet")
    with pytest.raises(InputDataError, match=r"row 6: unknown station 'ghost'"):
        read_readings(path, stations, settings)


@pytest.mark.parametrize("header, fragment", [
    ("time,station,indicator,value,unit",
     "missing column(s) timestamp; unexpected column(s) time"),
    ("timestamp,station,indicator,value,unit,depth", "unexpected column(s) depth"),
])
def test_wrong_columns(tmp_path, settings, stations, header, fragment):
    path = tmp_path / "r.csv"
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(InputDataError) as ei:
        read_readings(path, stations, settings)
    assert fragment in str(ei.value) and ei.value.line == 1


@pytest.mark.parametrize("row, fragment", [
    ("s1,up_a,sec,gauge,118,29", "role 'gauge' is not one of section, outlet"),
    ("s1,,sec,outlet,118,29", "an outlet station needs the party it drains"),
    ("s1,up_a,sec,outlet,218,29", "218.0 is outside [-180, 180]"),
    ("s1,up_z,sec,outlet,118,29", "party 'up_z' is not in parties.csv"),
])
def test_bad_stations(tmp_path, row, fragment):
    path = tmp_path / "st.csv"
    path.write_text("station,party_id,section,role,lon,lat\n" + row + "\n", encoding="utf-8")
    with pytest.raises(InputDataError) as ei:
        read_stations(path, party_ids=["up_a"])
    assert fragment in str(ei.value) and ei.value.line == 2


def test_bad_file_writes_nothing(tmp_path, stations_csv, small_config):
    df = pd.concat([day_frame("bnd", "2021-03-01"), day_frame("up_out", "2021-03-01")])
    df["unit"] = df["unit"].astype(object)
    df.loc[df.index[-1], "unit"] = "ug/L"  # one flow reading in a concentration unit
    path = write_readings(df, tmp_path / "r.csv")
    out = tmp_path / "out"
    with pytest.raises(InputDataError, match="does not fit indicator 'flow'"):
        monitor(path, stations_csv, small_config, out)
    assert not out.exists()


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path, settings, stations):
    path = _csv(tmp_path, OK + "\n" + "2021-03-01T09:00+08:00,bnd,codmn,2.1,mg/L\n\n")
    assert len(read_readings(path, stations, settings)) == 2
    path = _csv(tmp_path, OK + "\n,,,,\n" + "2021-03-01T09:00+08:00,bnd,codmn,2.1,mg/L\n"
                + "2021-03-01T09:00+08:00,bnd,codmn,2.2,mg/L\n")
    with pytest.raises(InputDataError) as ei:
        read_readings(path, stations, settings)
    assert ei.value.line == 6 and "already given on line 5" in str(ei.value)


def test_daylight_saving_gap_is_an_error(tmp_path, stations):
    import yaml

    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["timezone"] = "Europe/Berlin"
    cfg = tmp_path / "m.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    path = _csv(tmp_path, "2021-03-28 01:00,bnd,codmn,2.0,mg/L\n"
                          "2021-03-28 02:30,bnd,codmn,2.0,mg/L\n")
    with pytest.raises(InputDataError) as ei:
        read_readings(path, stations, load_settings(cfg))
    assert ei.value.line == 3 and "does not exist or is ambiguous in Europe/Berlin" in str(ei.value)
