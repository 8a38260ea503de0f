"""Benchmark of the monitoring stage: ingestion, QA/QC and the daily index.

The issue's target: one year of hourly data for 100 stations x 20 indicators (about 17.5
million readings) in under 60 s and 4 GB on 2 cores. Prints readings per second and peak
memory for each stage, plus writing the outputs.

    .venv/bin/python benchmarks/bench_monitoring.py                     # the full size
    .venv/bin/python benchmarks/bench_monitoring.py --stations 10 --days 60   # quick look
    .venv/bin/python benchmarks/bench_monitoring.py --engine vectorized # numpy spike/flat line
    .venv/bin/python benchmarks/bench_monitoring.py --demo              # demo generator time

The synthetic year has realistic faults (0.1 % missing hours and a few spikes per series),
so gap filling and every QARTOD test do real work. The 20 indicators are the 8 of
config/monitoring.yaml plus 12 copies of the permanganate-index settings (x01..x12).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


class PeakMemory:
    """Samples the RSS of this process, and RSS + the unique memory (USS) of its forked
    workers (their shared copy-on-write pages are already in the parent's RSS)."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.main = 0
        self.total = 0
        self._stop = threading.Event()

    def _rss(self) -> tuple[int, int]:
        try:
            import psutil

            me = psutil.Process()
            main = me.memory_info().rss
            kids = 0
            for c in me.children(recursive=True):
                try:
                    kids += c.memory_full_info().uss
                except psutil.Error:
                    pass
            return main, main + kids
        except ImportError:  # pragma: no cover
            import resource

            v = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            return v, v

    def _run(self):
        while not self._stop.is_set():
            m, t = self._rss()
            self.main, self.total = max(self.main, m), max(self.total, t)
            time.sleep(self.interval)

    def __enter__(self):
        self.main, self.total = self._rss()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        m, t = self._rss()
        self.main, self.total = max(self.main, m), max(self.total, t)


def make_config(tmp: Path, stations: list[str], n_extra: int) -> Path:
    data = yaml.safe_load((REPO / "config" / "monitoring.yaml").read_text(encoding="utf-8"))
    for i in range(1, n_extra + 1):
        data["indicators"][f"x{i:02d}"] = dict(data["indicators"]["codmn"], name=f"extra {i}")
    data["flow"]["ecological_min_m3s"] = {s: 5.0 for s in stations}
    data["target_class"]["sections"] = {}
    data["responsibility"]["parties"] = {f"p{i:03d}": {}
                                         for i in range(1, min(10, len(stations) - 1) + 1)}
    path = tmp / "monitoring.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


LEVELS = {"codmn": (2.5, 0.2), "nh3n": (0.2, 0.03), "tp": (0.05, 0.006), "tn": (1.2, 0.08),
          "do": (8.0, 0.5), "ph": (7.5, 0.08), "turbidity": (8.0, 1.0), "flow": (60.0, 5.0)}
UNITS = {"codmn": "mg/L", "nh3n": "mg/L", "tp": "mg/L", "tn": "mg/L", "do": "mg/L",
         "ph": "pH", "turbidity": "NTU", "flow": "m3/s"}


def make_data(tmp: Path, n_stations: int, n_indicators: int, days: int, seed: int = 1):
    """Readings (Parquet, time-major order as a logger export) and stations (CSV)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    stations = [f"s{i:03d}" for i in range(n_stations)]
    st = pd.DataFrame({"station": stations,
                       "party_id": ["" if i == 0 else f"p{(i - 1) % 10 + 1:03d}"
                                    for i in range(n_stations)],
                       "section": stations,
                       "role": ["section"] + ["outlet"] * (n_stations - 1),
                       "lon": 118.5, "lat": 29.8})
    st.to_csv(tmp / "stations.csv", index=False)
    inds = list(LEVELS) + [f"x{i:02d}" for i in range(1, n_indicators - len(LEVELS) + 1)]
    inds = inds[:n_indicators]
    hours = days * 24
    t0 = pd.Timestamp("2021-01-01", tz="Asia/Shanghai").tz_convert("UTC").value
    ts = t0 + np.arange(hours, dtype=np.int64) * 3600 * 10**9
    n_series = n_stations * len(inds)
    # values per series: level x (1 + seasonal) + AR-like noise (cumulative smoothing)
    phase = np.linspace(0, 2 * np.pi * days / 365, hours)
    vals = np.empty((hours, n_series))
    for j, ind in enumerate(inds):
        m, sd = LEVELS.get(ind, (2.5, 0.2))
        noise = rng.normal(0, sd, (hours, n_stations))
        noise = 0.7 * noise + 0.3 * np.roll(noise, 1, axis=0)
        vals[:, j::len(inds)] = m * (1 + 0.1 * np.sin(phase))[:, None] + noise
    spikes = rng.integers(0, vals.size, n_series * 3)
    vals.flat[spikes] += 40.0
    vals.flat[rng.integers(0, vals.size, vals.size // 1000)] = np.nan
    keep = rng.random(vals.size) >= 0.001
    st_idx = np.tile(np.repeat(np.arange(n_stations), len(inds)), hours)[keep]
    ind_idx = np.tile(np.tile(np.arange(len(inds)), n_stations), hours)[keep]
    table = pa.table({
        "timestamp": pa.array(np.repeat(ts, n_series)[keep], pa.timestamp("ns", tz="UTC"))
        .cast(pa.timestamp("s", tz="Asia/Shanghai")),
        "station": pa.DictionaryArray.from_arrays(st_idx.astype(np.int32),
                                                  pa.array(stations)),
        "indicator": pa.DictionaryArray.from_arrays(ind_idx.astype(np.int32), pa.array(inds)),
        "value": pa.array(vals.ravel()[keep], pa.float64()),
        "unit": pa.DictionaryArray.from_arrays(
            np.array([list(UNITS).index(i) if i in UNITS else 0 for i in inds],
                     dtype=np.int32)[ind_idx],
            pa.array(list(UNITS.values()))),
    })
    pq.write_table(table, tmp / "readings.parquet")
    return tmp / "readings.parquet", tmp / "stations.csv", stations, table.num_rows


def to_csv(parquet: Path) -> Path:
    """The same readings as CSV with ISO 8601 timestamps carrying their offset."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    t = pq.read_table(parquet)
    local = pc.cast(t.column("timestamp"), pa.timestamp("s", "Asia/Shanghai"))
    text = pc.binary_join_element_wise(pc.strftime(local, "%Y-%m-%dT%H:%M:%S"), "+08:00", "")
    t = t.set_column(0, "timestamp", text)
    t = t.set_column(1, "station", pc.cast(t.column("station"), pa.string()))
    t = t.set_column(2, "indicator", pc.cast(t.column("indicator"), pa.string()))
    t = t.set_column(4, "unit", pc.cast(t.column("unit"), pa.string()))
    out = parquet.with_suffix(".csv")
    pacsv.write_csv(t, out)
    return out


def run(args) -> None:
    from gep.monitoring import annual
    from gep.monitoring.daily import daily_grid, evaluate, period_bounds
    from gep.monitoring.ingest import read_readings, read_stations
    from gep.monitoring.pipeline import (DAILY_INDEX_HEADER, _daily_index_rows,
                                         _write_anomalies, _write_compliance,
                                         _write_readings_qc)
    from gep.monitoring.qc import fill_gaps, run_qc
    from gep.monitoring.settings import load_settings
    from gep.io import write_csv

    with tempfile.TemporaryDirectory(prefix="bench_monitoring_") as d:
        tmp = Path(d)
        t = time.perf_counter()
        readings, stations_csv, stations, n = make_data(tmp, args.stations, args.indicators,
                                                        args.days)
        print(f"synthetic data: {n:,} readings ({args.stations} stations x {args.indicators} "
              f"indicators x {args.days} days hourly, 0.1 % missing), made in "
              f"{time.perf_counter() - t:.1f} s; Parquet {readings.stat().st_size / 1e6:.0f} MB")
        if args.csv:
            readings = to_csv(readings)
            print(f"as CSV: {readings.stat().st_size / 1e6:.0f} MB (ISO 8601 text timestamps)")
        cfg = make_config(tmp, stations, args.indicators - 8)
        settings = load_settings(cfg)
        rows = []

        def stage(name, fn):
            with PeakMemory() as mem:
                t0 = time.perf_counter()
                result = fn()
                dt = time.perf_counter() - t0
            rows.append((name, dt, mem.main, mem.total))
            print(f"{name:<24} {dt:7.2f} s  {n / dt / 1e6:7.2f} M readings/s  peak RSS "
                  f"{mem.main / 2**30:5.2f} GiB (+ workers {mem.total / 2**30:5.2f} GiB)",
                  flush=True)
            return result

        st = read_stations(stations_csv)
        r = stage("ingestion", lambda: read_readings(readings, st, settings))
        stations_of = st.set_index("station")
        series_table = r.series_table.assign(
            section=lambda x: x["station"].map(stations_of["section"]),
            party_id=lambda x: x["station"].map(stations_of["party_id"]),
            role=lambda x: x["station"].map(stations_of["role"]),
            unit=lambda x: [settings.indicators[i].unit for i in x["indicator"]])
        inds = [settings.indicators[i] for i in series_table["indicator"]]
        box = {"readings": r}  # handed over, so the raw arrays are freed after gap filling
        del r

        def qc():
            raw = box.pop("readings")
            start, end = period_bounds(raw.ts, settings.timezone)
            filled = fill_gaps(raw.ts, raw.series, raw.value,
                               settings.expected_interval_minutes * 60 * 10**9, start, end)
            del raw
            return filled, run_qc(filled[0], filled[1], filled[2], inds, workers=args.workers,
                                  engine=args.engine)

        (ts, series, value, gap), flags = stage(f"QA/QC ({args.engine}, {args.workers} w)", qc)

        def index():
            grid = daily_grid(ts, series, value, flags["flag"], series_table, settings)
            res = evaluate(grid, settings)
            q = annual.section_quality_rows(res, settings, st)
            p = annual.performance_rows(res, settings, st, list(settings.responsibility.parties),
                                        None)
            return res, q, p

        res, q, p = stage("daily index + annual", index)
        out = tmp / "out"
        out.mkdir()

        def write():
            _write_readings_qc(out / "readings_qc.parquet", ts, series, value, gap, flags,
                               series_table, settings.timezone)
            write_csv(out / "daily_index.csv", DAILY_INDEX_HEADER, _daily_index_rows(res))
            _write_compliance(out / "daily_compliance.csv", res, settings)
            _write_anomalies(out / "anomalies.csv", res.anomalies)

        stage("writing outputs", write)
        total = sum(x[1] for x in rows[:3])
        print(f"{'ingestion+QA/QC+index':<24} {total:7.2f} s  {n / total / 1e6:7.2f} M "
              f"readings/s  (target: whole year < 60 s, < 4 GB on 2 cores)")
        everything = sum(x[1] for x in rows)
        print(f"{'all, with writing':<24} {everything:7.2f} s; peak memory over all stages "
              f"{max(x[2] for x in rows) / 2**30:.2f} GiB RSS, "
              f"{max(x[3] for x in rows) / 2**30:.2f} GiB with the workers' own memory")
        print(f"flags: {np.bincount(flags['flag'], minlength=10)[[1, 2, 3, 4, 9]].tolist()} "
              f"(1, 2, 3, 4, 9); gap rows {int(gap.sum()):,}; anomalies "
              f"{len(res.anomalies):,}; cores {os.cpu_count()}")


def demo_timing() -> None:
    from gep.monitoring.demo import generate

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        generate([2020, 2021, 2022, 2023, 2024], Path(d) / "r.parquet", Path(d) / "s.csv")
        print(f"demo generator, 5 years x 6 stations x 8 indicators: "
              f"{time.perf_counter() - t:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=100)
    ap.add_argument("--indicators", type=int, default=20)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--engine", choices=("ioos_qc", "vectorized"), default="ioos_qc",
                    help="qc_engine (see config/monitoring.yaml)")
    ap.add_argument("--csv", action="store_true", help="ingest the readings as CSV")
    ap.add_argument("--demo", action="store_true", help="time the demo generator only")
    args = ap.parse_args()
    if args.indicators < 8:
        ap.error("--indicators must be >= 8 (the configured ones)")
    if args.demo:
        demo_timing()
    else:
        run(args)


if __name__ == "__main__":
    main()
