"""The commands through ``gep.cli.main`` and the report charts."""
from __future__ import annotations

import csv

import geopandas as gpd
import matplotlib.image as mpimg
import pandas as pd
import pytest
from shapely.geometry import box

from gep.cli import main
from gep.monitoring.plots import daily_index_chart, responsibility_map

from .helpers import day_frame, write_readings


@pytest.fixture
def monitored(tmp_path, stations_csv, small_config):
    df = pd.concat([day_frame(s, d) for s in ("bnd", "up_out")
                    for d in ("2021-03-01", "2021-03-02", "2021-03-03")])
    df = df[~((df["station"] == "up_out") & (df["indicator"] == "flow")
              & (df["timestamp"].dt.day == 2))]  # no flow at the outlet on day 2
    readings = write_readings(df, tmp_path / "r.csv")
    out = tmp_path / "mon"
    code = main(["monitor", "--readings", str(readings), "--stations", str(stations_csv),
                 "--config", str(small_config), "--out", str(out)])
    assert code == 0
    return out


def test_monitor_cli_writes_the_contract_files(monitored):
    names = {p.name for p in monitored.iterdir()}
    assert {"readings_qc.parquet", "daily_index.csv", "section_quality.csv",
            "performance.csv"} <= names
    with open(monitored / "daily_index.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header[:5] == ["date", "section", "index", "anomaly", "reason"]
    qc = pd.read_parquet(monitored / "readings_qc.parquet")
    assert list(qc.columns[:6]) == ["timestamp", "station", "indicator", "value", "unit", "flag"]
    assert str(qc["timestamp"].dt.tz) == "Asia/Shanghai"


def test_monitor_cli_reports_bad_input_and_writes_nothing(tmp_path, small_config, capsys):
    st = tmp_path / "st.csv"
    st.write_text("station,party,section,role,lon,lat\n", encoding="utf-8")
    readings = write_readings(day_frame("bnd", "2021-03-01"), tmp_path / "r.csv")
    out = tmp_path / "mon"
    code = main(["monitor", "--readings", str(readings), "--stations", str(st), "--config",
                 str(small_config), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing column(s) party_id; unexpected column(s) party" in err
    assert "line 1" in err and not out.exists()


def test_dispatch_and_demo_commands(tmp_path, monitored):
    import yaml

    from gep.monitoring.dispatch import TRANSFER_HEADER

    agreement = {
        "agreement": "cli", "base_year": 2020, "cpi": {2021: 0.0},
        "accounts": [{"id": "central", "role": "central"}, {"id": "fund", "role": "fund"},
                     {"id": "up_a", "role": "upstream", "base_weight": 1},
                     {"id": "down", "role": "downstream", "benefit_weight": 1}],
        "funding": {"central": 0.5, "downstream": 0.5}, "base_payment": 730,
        "tiers": {"basic": 0.5, "performance": 0.3, "excess": 0.2}, "excess_margin": 0.15,
        "water_quality_bet": {"section": "boundary", "k0": 0.85, "indicators": {
            k: {"weight": 0.25, "baseline_mg_l": v}
            for k, v in {"codmn": 2.0, "nh3n": 0.1, "tp": 0.03, "tn": 1.0}.items()}},
    }
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(agreement), encoding="utf-8")
    with open(tmp_path / "t.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TRANSFER_HEADER)
        w.writerow(["x", 2021, "base", "central", "up_a", "365.00", ""])
        w.writerow(["y", 2021, "base", "down", "up_a", "365.00", ""])
    out = tmp_path / "disp"
    code = main(["dispatch", "--transfers", str(tmp_path / "t.csv"), "--daily-index",
                 str(monitored / "daily_index.csv"), "--agreement", str(tmp_path / "a.yaml"),
                 "--quality", str(monitored / "section_quality.csv"), "--year", "2021",
                 "--config", str(monitored.parent / "monitoring.yaml"), "--out", str(out)])
    assert code == 0
    disb = pd.read_csv(out / "disbursements.csv", dtype=str, keep_default_na=False)
    day = disb.set_index("date")
    assert day.loc["2021-03-01", "paid_cny"] == "2.00"  # 730.00 / 365, clean day
    assert day.loc["2021-03-02", "paid_cny"] == "0.00"  # no flow readings: anomaly
    assert day.loc["2021-06-01", "reason"] == "anomaly: no monitoring data"
    alerts = pd.read_csv(out / "alerts.csv", dtype=str, keep_default_na=False)
    a = alerts[alerts["date"] == "2021-03-02"].iloc[0]
    assert (a["cause"], a["station"], a["indicator"]) == ("too_few_valid", "up_out", "flow")

    code = main(["monitor-demo", "--years", "2021", "--readings", str(tmp_path / "d.parquet"),
                 "--stations", str(tmp_path / "d.csv"), "--seed", "3"])
    assert code == 0 and (tmp_path / "d.parquet").stat().st_size > 0


def test_charts(tmp_path, monitored):
    g = gpd.GeoDataFrame({"party_id": ["up_a", "down"], "name": ["A County", "B City"],
                          "name_zh": ["甲县", "乙市"], "role": ["upstream", "downstream"],
                          "province": ["Anhui", "Zhejiang"]},
                         geometry=[box(0, 5, 10, 10), box(0, 0, 10, 5)], crs="EPSG:32650")
    g.to_file(tmp_path / "parties.gpkg")
    alerts = tmp_path / "alerts.csv"
    alerts.write_text("date,party_id\n2021-03-02,up_a\n", encoding="utf-8")
    p1 = daily_index_chart(monitored / "daily_index.csv", [alerts, tmp_path / "absent.csv"],
                           tmp_path / "index.png")
    p2 = responsibility_map(monitored / "performance.csv", tmp_path / "parties.gpkg", 2021,
                            tmp_path / "map.png")
    for p in (p1, p2):
        img = mpimg.imread(p)
        assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    # nothing but the PNGs is left behind (atomic writes)
    assert sorted(x.name for x in tmp_path.glob("*.png")) == ["index.png", "map.png"]
