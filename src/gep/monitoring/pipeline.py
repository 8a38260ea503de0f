"""``monitor``: ingestion -> QA/QC -> daily compliance and index -> annual products.

Every input is read and checked, and every result computed, before the first file is
written, so a bad input writes nothing; each file is written atomically through ``gep.io``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.errors import ConfigError, InputDataError
from gep.io import atomic_path, check_out_dir, write_csv
from gep.log import progress
from gep.monitoring import annual
from gep.monitoring.daily import (
    ANOMALY_COLUMNS,
    CLASS_NAMES,
    DailyResults,
    _num,
    daily_grid,
    evaluate,
    period_bounds,
)
from gep.monitoring.ingest import read_readings, read_stations
from gep.monitoring.qc import TESTS, fill_gaps, run_qc
from gep.monitoring.settings import load_settings
from gep.paths import MonitoringFiles

DAILY_INDEX_HEADER = ("date", "section", "index", "anomaly", "reason", "party_id", "n_valid",
                      "n_suspect", "n_failed", "n_missing")
COMPLIANCE_HEADER = ("date", "station", "section", "indicator", "mean", "unit", "n_valid",
                     "n_suspect", "n_failed", "n_missing", "sufficient", "class",
                     "target_class", "compliant")


def monitor(readings: str | Path, stations: str | Path, config_path: str | Path,
            out_dir: str | Path, landcover_by_year: dict[int, Path] | None = None,
            parties_raster: Path | None = None, parties_csv: Path | None = None,
            redline_raster: Path | None = None, workers: int = 1) -> dict[str, Path]:
    """Run the monitoring stage; returns the paths written in ``out_dir``:
    ``readings_qc`` (.parquet), ``daily_index``, ``daily_compliance``, ``anomalies``,
    ``section_quality`` and ``performance`` (.csv).

    The red-line target needs all of ``landcover_by_year``, ``parties_raster``,
    ``parties_csv`` and ``redline_raster``; without them it is left out of performance.csv.
    """
    settings = load_settings(config_path)
    check_out_dir(out_dir)
    bar = progress(total=6, desc="monitoring", unit="step")
    bar.set_postfix_str("reading")
    parties_table = annual.read_parties_csv(parties_csv) if parties_csv else None
    party_ids = [p["party_id"] for p in parties_table] if parties_table else None
    st = read_stations(stations, party_ids)
    _check_sections(settings, st)
    _check_redline_inputs([landcover_by_year, parties_raster, parties_csv, redline_raster])
    r = read_readings(readings, st, settings)
    bar.update(1)
    bar.set_postfix_str("QA/QC and daily index")
    q = qc_and_evaluate(r, st, settings, workers=workers)
    del r
    bar.update(3)
    bar.set_postfix_str("annual products")
    quality_rows = annual.section_quality_rows(q.res, settings, st)
    parties = _upstream_parties(settings, parties_table)
    redline = None
    if landcover_by_year is not None:
        redline = _redline(settings, landcover_by_year, parties_raster, parties_table,
                           redline_raster)
    performance_rows = annual.performance_rows(q.res, settings, st, parties, redline)
    bar.update(1)
    bar.set_postfix_str("writing")
    paths = _write_results(MonitoringFiles(out_dir), q, settings, quality_rows,
                           performance_rows)
    bar.update(1)
    bar.close()
    return paths


def _check_redline_inputs(redline_inputs: list) -> None:
    if any(x is not None for x in redline_inputs) and not all(x is not None
                                                                for x in redline_inputs):
        raise ConfigError("redline inputs", "the red-line natural-cover target needs land "
                          "cover by year, parties.tif, parties.csv and redline.tif together",
                          "pass all four (gep monitor --inputs results/<basin>/inputs) or none")


def _write_results(out: MonitoringFiles, q: Evaluated, settings, quality_rows,
                   performance_rows) -> dict[str, Path]:
    """The six files of the stage, each written atomically; returns them by key."""
    res = q.res
    Path(out).mkdir(parents=True, exist_ok=True)
    return {
        "readings_qc": _write_readings_qc(out.readings_qc, q.ts, q.series, q.value, q.gap,
                                          q.flags, q.series_table, settings.timezone),
        "daily_index": write_csv(out.daily_index, DAILY_INDEX_HEADER, _daily_index_rows(res)),
        "daily_compliance": _write_compliance(out.daily_compliance, res, settings),
        "anomalies": _write_anomalies(out.anomalies, res.anomalies),
        "section_quality": write_csv(out.section_quality, annual.QUALITY_HEADER,
                                     quality_rows),
        "performance": write_csv(out.performance, annual.PERFORMANCE_HEADER,
                                 performance_rows, bom=True),
    }


@dataclass
class Evaluated:
    """QA/QC'd readings (gap rows inserted) and the daily results computed from them."""

    ts: np.ndarray
    series: np.ndarray
    value: np.ndarray
    gap: np.ndarray
    flags: dict
    series_table: pd.DataFrame
    res: DailyResults


def qc_and_evaluate(r, st: pd.DataFrame, settings, workers: int = 1,
                    bounds: tuple[int, int] | None = None) -> Evaluated:
    """QA/QC of validated readings ``r`` and the daily compliance, index and anomalies.

    ``bounds`` = [start, end) in UTC ns of the regular series (gaps inserted as missing
    readings); default: local midnight of the first reading's day to that after the last.
    The daily run (``gep daily``) passes a window of a few days around its date.
    """
    stations_of = st.set_index("station")
    series_table = r.series_table.assign(
        section=lambda d: d["station"].map(stations_of["section"]),
        party_id=lambda d: d["station"].map(stations_of["party_id"]),
        role=lambda d: d["station"].map(stations_of["role"]),
        unit=lambda d: [settings.indicators[i].unit for i in d["indicator"]],
    )

    # QA/QC on the regular series (gaps inserted as missing readings)
    start, end = bounds if bounds is not None else period_bounds(r.ts, settings.timezone)
    interval = settings.expected_interval_minutes * 60 * 10**9
    ts, series, value, gap = fill_gaps(r.ts, r.series, r.value, interval, start, end)
    inds = [settings.indicators[i] for i in series_table["indicator"]]
    flags = run_qc(ts, series, value, inds, workers=workers, engine=settings.qc_engine)

    # daily compliance, index, anomalies
    grid = daily_grid(ts, series, value, flags["flag"], series_table, settings)
    res = evaluate(grid, settings)
    return Evaluated(ts=ts, series=series, value=value, gap=gap, flags=flags,
                     series_table=series_table, res=res)


def _check_sections(settings, st: pd.DataFrame) -> None:
    known = set(st["section"])
    for key, names in (("flow.ecological_min_m3s", settings.flow.ecological_min_m3s),
                       ("target_class.sections", settings.target_class.sections)):
        for sec in names:
            if sec not in known:
                raise ConfigError(f"{key}.{sec}", f"section '{sec}' has no station in the "
                                  "stations file", f"use one of {', '.join(sorted(known))}, or "
                                  "remove the key", file=settings.source)


def _upstream_parties(settings, parties_table) -> list[str]:
    parties = list(settings.responsibility.parties)
    if parties_table:
        known = {p["party_id"] for p in parties_table}
        for p in parties:
            if p not in known:
                raise ConfigError(f"responsibility.parties.{p}", f"'{p}' is not in "
                                  "parties.csv", f"use one of {', '.join(sorted(known))}",
                                  file=settings.source)
        parties += [p["party_id"] for p in parties_table
                    if p["role"] == "upstream" and p["party_id"] not in parties]
    return parties


def _redline(settings, landcover_by_year, parties_raster, parties_table, redline_raster):
    n = max((p["index"] for p in parties_table), default=0)
    by_index = {p["index"]: p["party_id"] for p in parties_table}
    out = {}
    for year, path in sorted(landcover_by_year.items()):
        if not Path(path).is_file():
            raise InputDataError(str(path), f"land cover of {year} does not exist",
                                 "run the acquire stage first, or fix the path")
        nat, zone = annual.natural_cover(path, parties_raster, redline_raster, n,
                                         settings.responsibility.natural_cover_codes)
        out[int(year)] = {by_index[i]: (float(nat[i]), float(zone[i]))
                          for i in range(1, n + 1) if i in by_index}
    return out


def _daily_index_rows(res: DailyResults):
    g = res.grid
    st = g.series
    reasons = {}
    if len(res.anomalies):
        a = res.anomalies
        joined = a.groupby(["section", "date"], sort=False)["message"].agg("; ".join)
        reasons = {(sec, pd.Timestamp(d).date().isoformat()): msg
                   for (sec, d), msg in joined.items()}
    dates = [str(d) for d in g.days]
    for i, sec in enumerate(res.sections):
        rows = np.flatnonzero((st["section"] == sec).to_numpy())
        counts = [x[rows].sum(axis=0) for x in (g.n_valid, g.n_suspect, g.n_failed,
                                                  g.n_missing)]
        party = res.section_party[sec]
        for d, date in enumerate(dates):
            idx = res.index[i, d]
            yield (date, sec, "" if np.isnan(idx) else f"{idx:.4f}",
                   "true" if res.section_anomaly[i, d] else "false",
                   reasons.get((sec, date), ""), party,
                   int(counts[0][d]), int(counts[1][d]), int(counts[2][d]), int(counts[3][d]))


def _write_compliance(path: Path, res: DailyResults, settings) -> Path:
    g = res.grid
    st = g.series
    n_s, n_d = g.mean.shape
    rep = np.repeat(np.arange(n_s), n_d)
    target = [settings.target_class.of(sec) if settings.indicators[i].standard is not None
              and settings.indicators[i].standard.assessed else ""
              for sec, i in zip(st["section"], st["indicator"])]
    klass = np.array([*CLASS_NAMES, ""], dtype=object)[res.klass.ravel()]
    comp = np.array(["false", "true", ""], dtype=object)[res.compliant.ravel()]
    mean = g.mean.ravel()
    df = pd.DataFrame({
        "date": np.tile(g.days.astype(str), n_s),
        "station": st["station"].to_numpy()[rep],
        "section": st["section"].to_numpy()[rep],
        "indicator": st["indicator"].to_numpy()[rep],
        "mean": np.round(mean, 6),
        "unit": st["unit"].to_numpy()[rep],
        "n_valid": g.n_valid.ravel(), "n_suspect": g.n_suspect.ravel(),
        "n_failed": g.n_failed.ravel(), "n_missing": g.n_missing.ravel(),
        "sufficient": np.where(g.sufficient.ravel(), "true", "false"),
        "class": klass, "target_class": np.array(target, dtype=object)[rep],
        "compliant": comp,
    }, columns=list(COMPLIANCE_HEADER))
    df = df.sort_values(["date", "station", "indicator"], kind="stable")
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")
    return path


def _write_anomalies(path: Path, a: pd.DataFrame) -> Path:
    rows = ([str(pd.Timestamp(r.date).date()), r.section, r.station, r.party_id, r.cause,
             r.indicator, _num(r.value), r.limit, r.unit, int(r.n_valid), r.message]
            for r in a.itertuples(index=False))
    return write_csv(path, ANOMALY_COLUMNS, rows)


def _write_readings_qc(path: Path, ts, series, value, gap, flags, series_table, tz) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def dict_col(per_series: list[str]):
        names = list(dict.fromkeys(per_series))
        pos = {n: i for i, n in enumerate(names)}
        codes = np.array([pos[n] for n in per_series], dtype=np.int32)[series]
        return pa.DictionaryArray.from_arrays(codes, pa.array(names, pa.string()))

    table = pa.table({
        "timestamp": pa.array(ts, pa.timestamp("ns", tz="UTC")).cast(pa.timestamp("ns", tz)),
        "station": dict_col(list(series_table["station"])),
        "indicator": dict_col(list(series_table["indicator"])),
        "value": pa.array(value, pa.float64(), mask=np.isnan(value)),
        "unit": dict_col(list(series_table["unit"])),
        "flag": pa.array(flags["flag"], pa.uint8()),
        **{f"flag_{t}": pa.array(flags[t], pa.uint8()) for t in TESTS},
        "gap": pa.array(gap, pa.bool_()),
    })
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path
