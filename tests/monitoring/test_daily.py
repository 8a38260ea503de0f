"""Daily compliance, the daily index (hand-computed), anomalies and the annual products."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gep.monitoring.daily import CLASS_NAMES, water_class
from gep.monitoring.pipeline import monitor
from gep.monitoring.settings import load_settings

from .helpers import CONFIG, STATIONS, day_frame, hourly, wiggle, write_readings

DAYS = ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04", "2021-03-05"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Five days at an outlet (target class III) and the boundary (class II):
    day 1 clean but degraded, day 2 ammonia above class III, day 3 flow below the
    ecological minimum, day 4 only 10 ammonia readings, day 5 one codmn reading beyond the
    sensor span; the boundary has 24 readings of codmn 2.0 on day 1 and 20 of 4.0 on day 2."""
    import yaml

    tmp = tmp_path_factory.mktemp("daily")
    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["flow"]["ecological_min_m3s"] = {"boundary": 30.0, "up_a_outlet": 5.0}
    data["target_class"]["sections"] = {"boundary": "II"}
    data["responsibility"]["parties"] = {"up_a": {}}
    data["qc_engine"] = "ioos_qc"  # every test from ioos_qc: the reference of the engines
    cfg = tmp / "monitoring.yaml"
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    stations = tmp / "stations.csv"
    STATIONS.to_csv(stations, index=False)

    degraded = {"codmn": (3.0, 0.05), "nh3n": (0.3, 0.01), "tp": (0.15, 0.002),
                "do": (8.0, 0.1), "ph": (7.5, 0.05), "flow": (40.0, 1.0)}
    parts = [day_frame("up_out", DAYS[0], degraded),
             day_frame("up_out", DAYS[1], {"nh3n": (1.2, 0.01)}),
             day_frame("up_out", DAYS[2], {"flow": (3.0, 0.1)})]
    d4 = day_frame("up_out", DAYS[3])
    nh = d4[d4["indicator"] == "nh3n"]
    parts.append(d4.drop(nh.index[10:]))  # ammonia: 10 readings only
    d5 = day_frame("up_out", DAYS[4])
    codmn_rows = d5.index[d5["indicator"] == "codmn"]
    d5.loc[codmn_rows[12], "value"] = 60.0  # beyond the sensor span [0, 50]
    parts.append(d5)
    for i, day in enumerate(DAYS):
        b = day_frame("bnd", day)
        if i == 1:
            b = b[b["indicator"] != "codmn"]
            t = hourly(day)[:20]
            b = pd.concat([b, pd.DataFrame({"timestamp": t, "station": "bnd",
                                            "indicator": "codmn", "value": wiggle(4.0, 0.05, 20),
                                            "unit": "mg/L"})])
        parts.append(b)
    readings = write_readings(pd.concat(parts, ignore_index=True), tmp / "readings.csv")
    out = tmp / "out"
    paths = monitor(readings, stations, cfg, out)
    return {
        "paths": paths, "inputs": (readings, stations, cfg),
        "index": pd.read_csv(paths["daily_index"], keep_default_na=False, dtype=str),
        "comp": pd.read_csv(paths["daily_compliance"], keep_default_na=False, dtype=str),
        "anom": pd.read_csv(paths["anomalies"], keep_default_na=False, dtype=str),
        "qc": pd.read_parquet(paths["readings_qc"]),
        "quality": pd.read_csv(paths["section_quality"]),
        "perf": pd.read_csv(paths["performance"], dtype={"met": str}),
    }


def _lerp(x, x0, y0, x1, y1):
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def test_index_matches_hand_computation(run):
    # class limits (GB 3838-2002) and class scores I 1.0, II 0.8, III 0.6, IV 0.3, V 0.0
    s_codmn = _lerp(3.0, 2, 1.0, 4, 0.8)          # between class I (2) and II (4)
    s_nh3n = _lerp(0.3, 0.15, 1.0, 0.5, 0.8)      # between I (0.15) and II (0.5)
    s_tp = _lerp(0.15, 0.1, 0.8, 0.2, 0.6)        # between II (0.1) and III (0.2)
    s_do, s_ph, s_flow = 1.0, 1.0, min(1.0, 40.0 / 5.0)
    w = {"codmn": 0.2, "nh3n": 0.2, "tp": 0.2, "do": 0.15, "ph": 0.05, "flow": 0.2}
    expected = (w["codmn"] * s_codmn + w["nh3n"] * s_nh3n + w["tp"] * s_tp + w["do"] * s_do
                + w["ph"] * s_ph + w["flow"] * s_flow) / sum(w.values())
    row = run["index"].query("section == 'up_a_outlet' and date == '2021-03-01'").iloc[0]
    assert float(row["index"]) == pytest.approx(expected, abs=5e-5)
    assert row["anomaly"] == "false" and row["reason"] == "" and row["party_id"] == "up_a"
    # day 2: ammonia 1.2 scores between III (1.0 -> 0.6) and IV (1.5 -> 0.3)
    s2 = _lerp(1.2, 1.0, 0.6, 1.5, 0.3)
    clean = {"codmn": 1.0, "tp": _lerp(0.03, 0.02, 1.0, 0.1, 0.8), "do": 1.0, "ph": 1.0,
             "flow": 1.0}
    exp2 = (w["nh3n"] * s2 + sum(w[k] * v for k, v in clean.items())) / sum(w.values())
    row2 = run["index"].query("section == 'up_a_outlet' and date == '2021-03-02'").iloc[0]
    assert float(row2["index"]) == pytest.approx(exp2, abs=5e-5)


def test_anomaly_days_and_causes(run):
    idx = run["index"].query("section == 'up_a_outlet'").set_index("date")
    assert list(idx["anomaly"]) == ["false", "true", "true", "true", "false"]
    a = run["anom"].query("station == 'up_out'")
    std = a.query("cause == 'standard'").iloc[0]
    assert (std["date"], std["indicator"], std["limit"]) == ("2021-03-02", "nh3n", "1")
    assert float(std["value"]) == pytest.approx(1.2)
    assert "nh3n 1.2 mg/L > class III limit 1 at up_out" in idx.loc["2021-03-02", "reason"]
    low = a.query("cause == 'low_flow'").iloc[0]
    assert low["date"] == "2021-03-03" and float(low["value"]) == pytest.approx(3.0)
    few = a.query("cause == 'too_few_valid'")
    assert list(few["date"]) == ["2021-03-04"] and list(few["indicator"]) == ["nh3n"]
    assert int(few["n_valid"].iloc[0]) == 10
    assert (run["index"].query("section == 'boundary'")["anomaly"] == "false").all()


def test_failed_readings_never_count_and_suspect_ones_do(run):
    qc = run["qc"]
    codmn = qc[(qc["station"] == "up_out") & (qc["indicator"] == "codmn")].copy()
    codmn["date"] = codmn["timestamp"].dt.strftime("%Y-%m-%d")
    d5 = codmn[codmn["date"] == "2021-03-05"]
    assert (d5["value"] == 60.0).sum() == 1
    assert int(d5.loc[d5["value"] == 60.0, "flag"].iloc[0]) == 4
    usable = d5[d5["flag"].isin([1, 2, 3])]
    comp = run["comp"].query("station == 'up_out' and indicator == 'codmn' and "
                             "date == '2021-03-05'").iloc[0]
    assert float(comp["mean"]) == pytest.approx(usable["value"].mean(), abs=1e-6)
    assert int(comp["n_failed"]) == int((d5["flag"] == 4).sum()) >= 1
    # the jump of ammonia at midnight into day 2 is suspect, counted and shown
    nh = run["comp"].query("station == 'up_out' and indicator == 'nh3n' and "
                           "date == '2021-03-02'").iloc[0]
    assert int(nh["n_suspect"]) >= 1 and int(nh["n_valid"]) == 24
    assert nh["class"] == "IV" and nh["compliant"] == "false" and nh["target_class"] == "III"


def test_gaps_are_inserted_and_counted_missing(run):
    comp = run["comp"].query("station == 'up_out' and indicator == 'nh3n' and "
                             "date == '2021-03-04'").iloc[0]
    assert int(comp["n_valid"]) == 10 and int(comp["n_missing"]) == 14
    assert comp["sufficient"] == "false" and comp["compliant"] == ""
    qc = run["qc"]
    gaps = qc[qc["gap"]]
    assert len(gaps) == 14 + 4  # 14 ammonia hours on day 4, 4 boundary codmn hours on day 2
    assert set(gaps["flag"]) == {9} and gaps["value"].isna().all()


def test_section_quality_is_the_mean_of_daily_means(run):
    q = run["quality"].query("section == 'boundary'").set_index("indicator")
    # codmn: daily means 2.0, 4.0, 2.0, 2.0, 2.0 (day 2 has 20 readings only)
    assert q.loc["codmn", "concentration_mg_l"] == pytest.approx((2 + 4 + 2 + 2 + 2) / 5)
    assert q.loc["nh3n", "concentration_mg_l"] == pytest.approx(0.10)
    assert set(q.index) == {"codmn", "nh3n", "tp", "tn", "do"}  # the mg/L indicators
    assert set(run["quality"]["section"]) == {"boundary"}  # outlets are not bet sections
    assert set(run["quality"]["year"]) == {2021}


def test_responsibility_list_rates(run):
    p = run["perf"].set_index("target")
    wq = p.loc["water_quality_compliance_rate"]
    # compliant days: 1, 3 and 5 (day 2 ammonia, day 4 too few ammonia readings)
    assert float(wq["value"]) == pytest.approx(3 / 5) and wq["met"] == "false"
    assert float(wq["threshold"]) == 0.95
    fl = p.loc["flow_compliance_rate"]
    assert float(fl["value"]) == pytest.approx(4 / 5) and fl["met"] == "false"
    assert set(run["perf"]["party_id"]) == {"up_a"}


@pytest.mark.parametrize("ind, value, expected", [
    ("codmn", 1.9, "I"), ("codmn", 4.0, "II"), ("codmn", 4.01, "III"), ("codmn", 16, ">V"),
    ("do", 7.6, "I"), ("do", 5.5, "III"), ("do", 1.0, ">V"), ("ph", 9.5, ">V"),
    ("ph", 7.0, "I"),
])
def test_water_class(ind, value, expected):
    std = load_settings(CONFIG).indicators[ind].standard
    assert CLASS_NAMES[int(water_class(np.array([value]), std)[0])] == expected


def test_vectorized_engine_gives_the_same_outputs(run, tmp_path):
    import yaml

    readings, stations, cfg = run["inputs"]
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    assert data["qc_engine"] == "ioos_qc"
    data["qc_engine"] = "vectorized"
    fast_cfg = tmp_path / "fast.yaml"
    fast_cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    paths = monitor(readings, stations, fast_cfg, tmp_path / "out", workers=2)
    pd.testing.assert_frame_equal(pd.read_parquet(paths["readings_qc"]), run["qc"])
    for name in ("daily_index", "daily_compliance", "anomalies", "section_quality",
                 "performance"):
        assert paths[name].read_text() == run["paths"][name].read_text(), name
