"""The demo sensor network: deterministic, complete, with the faults the issue lists, and the
QA/QC and daily index catching each of them."""
from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest

from gep.monitoring.demo import ECO_MIN, INDICATORS, STATIONS, generate
from gep.monitoring.pipeline import monitor

from .helpers import CONFIG

YEAR = 2023


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    paths = generate([YEAR], tmp / "readings.parquet", tmp / "stations.csv", seed=11)
    out = monitor(paths["readings"], paths["stations"], CONFIG, tmp / "mon", workers=2)
    return {"tmp": tmp, "paths": paths, "out": out,
            "raw": pd.read_parquet(paths["readings"]),
            "qc": pd.read_parquet(out["readings_qc"]),
            "anom": pd.read_csv(out["anomalies"], keep_default_na=False, dtype=str),
            "comp": pd.read_csv(out["daily_compliance"], keep_default_na=False, dtype=str)}


def test_same_seed_same_data_other_seed_other_data(demo, tmp_path):
    again = generate([YEAR], tmp_path / "a.parquet", tmp_path / "a.csv", seed=11)
    other = generate([YEAR], tmp_path / "b.parquet", tmp_path / "b.csv", seed=12)
    first = pq.read_table(demo["paths"]["readings"])
    assert pq.read_table(again["readings"]).equals(first)
    assert not pq.read_table(other["readings"]).equals(first)
    assert (tmp_path / "a.csv").read_text() == demo["paths"]["stations"].read_text()


def test_every_station_reports_every_indicator_hourly(demo):
    raw = demo["raw"]
    assert set(raw["station"]) == set(STATIONS)
    assert set(raw["indicator"]) == set(INDICATORS)
    counts = raw.groupby(["station", "indicator"], observed=True).size()
    assert len(counts) == len(STATIONS) * len(INDICATORS)
    hours = 365 * 24
    # a few missing hours (scattered, and one 60-hour outage), never more
    assert counts.max() <= hours and counts.min() >= hours - 60 - 0.01 * hours
    st = pd.read_csv(demo["paths"]["stations"], keep_default_na=False)
    assert set(st["role"]) == {"section", "outlet"}
    assert st.set_index("station").loc["linxi_outlet", "party_id"] == "linxi"


def test_faults_are_injected_and_caught(demo):
    qc, anom = demo["qc"], demo["anom"]
    # spikes: failed by the spike test
    assert (qc["flag_spike"] == 4).sum() >= 6
    # stuck sensor: a long flat line, failed by the flat-line test
    assert (qc["flag_flat_line"] == 4).sum() >= 48
    # gaps: the 60-hour outage is inserted as missing readings (flag 9)
    gaps = qc[qc["gap"]]
    per_station = gaps.groupby("station", observed=True).size()
    assert per_station.max() >= 60 * len(INDICATORS)
    assert set(gaps["flag"]) == {9}
    # pollution episode at Linxi's outlet: ammonia above class III, an alert-worthy day
    std = anom[(anom["cause"] == "standard") & (anom["station"] == "linxi_outlet")]
    assert "nh3n" in set(std["indicator"]) and len(set(std["date"])) >= 2
    # low-flow week: every station below its ecological minimum for several days
    low = anom[anom["cause"] == "low_flow"]
    for station in STATIONS:
        days = low[low["station"] == station]
        assert len(days) >= 6, station
        assert (days["value"].astype(float) < ECO_MIN[station]).all()
    # too few valid readings: outage days and the stuck sensor's days
    assert (anom["cause"] == "too_few_valid").sum() >= 3


def test_units_converted_and_bad_year_exceeds_the_bet(demo):
    raw, qc = demo["raw"], demo["qc"]
    tp_raw = raw[(raw["station"] == "shanyuan_outlet") & (raw["indicator"] == "tp")]
    assert set(tp_raw["unit"]) == {"ug/L"}
    tp_qc = qc[(qc["station"] == "shanyuan_outlet") & (qc["indicator"] == "tp")]
    assert set(tp_qc["unit"]) == {"mg/L"}
    assert tp_qc["value"].median() == pytest.approx(tp_raw["value"].median() / 1000, rel=1e-6)
    # 2023 is the demo's bad year: the Xin'an-style P of the demo agreement is above 1
    q = pd.read_csv(demo["out"]["section_quality"]).set_index("indicator")["concentration_mg_l"]
    base = {"codmn": 2.0, "nh3n": 0.12, "tp": 0.025, "tn": 1.10}
    p = 0.85 * sum(0.25 * q[k] / v for k, v in base.items())
    assert p > 1
