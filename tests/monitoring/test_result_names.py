"""monitor and dispatch write the files gep.paths names (MonitoringFiles, DispatchFiles), and
dispatch finds the anomalies beside the daily index by the same name."""
from __future__ import annotations

import csv
import datetime as dt

import pandas as pd

from gep.monitoring.dispatch import dispatch
from gep.monitoring.pipeline import monitor
from gep.paths import DispatchFiles, MonitoringFiles

from .helpers import CONFIG, day_frame, write_readings
from .test_dispatch import FUNDING, YEAR, make_case


def test_monitor_writes_where_paths_says(tmp_path, small_config, stations_csv):
    frames = [day_frame(s, "2021-03-01") for s in ("bnd", "up_out")]
    readings = write_readings(pd.concat(frames, ignore_index=True), tmp_path / "r.csv")
    out = tmp_path / "out"
    paths = monitor(readings, stations_csv, small_config, out)
    files = MonitoringFiles(out)
    # the downstream responsibility list is written by `gep downstream`, not by monitor
    assert set(paths) == set(MonitoringFiles.NAMES) - {"downstream"}
    assert paths == {k: files.file(k) for k in paths}
    assert all(p.is_file() for p in paths.values())


def test_dispatch_writes_where_paths_says_and_reads_the_anomalies_beside_the_index(tmp_path):
    bad_day = dt.date(YEAR, 3, 5)
    case = make_case(tmp_path / "in", FUNDING, anomaly_days={("up_a", bad_day)})
    mon = MonitoringFiles(tmp_path / "mon")
    mon.mkdir()
    (case / "daily_index.csv").rename(mon.daily_index)
    (case / "anomalies.csv").rename(mon.anomalies)
    out = tmp_path / "out"
    paths = dispatch(case / "transfers.csv", mon.daily_index, case / "agreement.yaml",
                     case / "quality.csv", YEAR, out, CONFIG)
    files = DispatchFiles(out)
    # the record of the days paid is written by `gep daily`, not by dispatch
    assert paths == {k: files.file(k) for k in DispatchFiles.NAMES if k != "daily_runs"}
    with open(files.alerts, newline="", encoding="utf-8-sig") as fh:
        alerts = list(csv.DictReader(fh))
    # the station comes only from the anomalies file found beside the daily index
    assert [(a["date"], a["station"]) for a in alerts] == [(bad_day.isoformat(), "up_a_out")]
