"""Daily statistics, GB 3838-2002 compliance and the daily ecological performance index.

Everything is computed on a dense (series x day) grid with ``np.bincount``, so 17.5 million
readings take a few seconds. A *series* is one station's one indicator; a *day* is a local
calendar day in the configured time zone.

Definitions (docs/monitoring.md has them with examples):

- valid reading: QARTOD flag 1, 2 or 3 (failed 4 and missing 9 never count; suspect 3 counts
  and is reported);
- daily mean: mean of the valid readings; *sufficient* when there are at least
  ``min_valid_readings_per_day`` of them, otherwise the day has "too few valid readings";
- compliance: the sufficient daily mean against the limit of the section's target class
  (``max``: mean <= limit; ``min``: mean >= limit; ``range``: low <= mean <= high);
- sub-score s_j: piecewise linear in the daily mean, through (class k limit, class_scores[k])
  for k = I..V, clamped (1 at or better than class I, 0 at or beyond class V), or through
  ``score_points``; flow: ``min(1, Q / Q_eco)``;
- index of a section and day: ``sum_j w_j s_j / sum_j w_j`` over the weighted indicators with
  a sufficient section mean (the mean of its stations' sufficient daily means);
- anomaly of a station and day: a failed standard, flow below the ecological minimum, or too
  few valid readings of a required indicator (weighted in the index, assessed, or flow at a
  section with an ecological minimum). A section's day is an anomaly if any of its stations'
  is.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gep.monitoring.qc import FAIL, MISSING, SUSPECT
from gep.monitoring.settings import CLASSES

DAY_NS = 86_400 * 10**9
CLASS_NAMES = (*CLASSES, ">V")  # ">V" is 劣V类, worse than class V


def local_day_numbers(ts_ns: np.ndarray, tz: str) -> np.ndarray:
    """Local calendar day (days since 1970-01-01) of UTC nanosecond timestamps."""
    idx = pd.DatetimeIndex(ts_ns.view("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    return idx.tz_localize(None).asi8 // DAY_NS


def period_bounds(ts_ns: np.ndarray, tz: str) -> tuple[int, int]:
    """[start, end) in UTC ns: local midnight of the first day to that after the last day."""
    lo = pd.Timestamp(int(ts_ns.min()), tz="UTC").tz_convert(tz).normalize()
    hi = pd.Timestamp(int(ts_ns.max()), tz="UTC").tz_convert(tz).normalize() \
        + pd.DateOffset(days=1)
    return lo.tz_convert("UTC").value, hi.tz_convert("UTC").value


@dataclass
class DailyGrid:
    """Per-series, per-day counts and means; ``series`` describes the rows."""

    days: np.ndarray          # datetime64[D], length D
    series: pd.DataFrame      # station, indicator, section, party_id, role, unit
    n_valid: np.ndarray       # (S, D) int32
    n_suspect: np.ndarray
    n_failed: np.ndarray
    n_missing: np.ndarray
    mean: np.ndarray          # (S, D) float64, NaN without valid readings
    sufficient: np.ndarray    # (S, D) bool


def daily_grid(ts: np.ndarray, series: np.ndarray, value: np.ndarray, flag: np.ndarray,
               series_table: pd.DataFrame, settings) -> DailyGrid:
    day = local_day_numbers(ts, settings.timezone)
    d0 = int(day.min())
    n_days = int(day.max()) - d0 + 1
    n_series = len(series_table)
    key = series.astype(np.int64) * n_days + (day - d0)
    del day
    size = n_series * n_days
    valid = flag <= SUSPECT  # flags 1, 2, 3

    def count(mask):
        return np.bincount(key[mask], minlength=size).astype(np.int32).reshape(n_series, n_days)

    n_valid = count(valid)
    n_suspect = count(flag == SUSPECT)
    n_failed = count(flag == FAIL)
    n_missing = count(flag == MISSING)
    sums = np.bincount(key[valid], weights=value[valid], minlength=size).reshape(n_series,
                                                                                   n_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n_valid > 0, sums / n_valid, np.nan)
    days = (np.arange(n_days) + d0).astype("datetime64[D]")
    return DailyGrid(days=days, series=series_table, n_valid=n_valid, n_suspect=n_suspect,
                     n_failed=n_failed, n_missing=n_missing, mean=mean,
                     sufficient=n_valid >= settings.min_valid_readings_per_day)


# -- standards ----------------------------------------------------------------------------------
def compliance(mean: np.ndarray, std, target: str) -> np.ndarray:
    """1 compliant, 0 not, -1 no mean. Works on any array of daily means."""
    lim = std.limits[target]
    with np.errstate(invalid="ignore"):
        if std.kind == "max":
            ok = mean <= lim
        elif std.kind == "min":
            ok = mean >= lim
        else:
            ok = (mean >= lim[0]) & (mean <= lim[1])
    return np.where(np.isnan(mean), -1, ok.astype(np.int8)).astype(np.int8)


def water_class(mean: np.ndarray, std) -> np.ndarray:
    """Index into CLASS_NAMES (0 = I ... 4 = V, 5 = worse than V); -1 without a mean."""
    out = np.full(mean.shape, 5, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        for k in reversed(range(5)):
            lim = std.limits[CLASSES[k]]
            if std.kind == "max":
                ok = mean <= lim
            elif std.kind == "min":
                ok = mean >= lim
            else:
                ok = (mean >= lim[0]) & (mean <= lim[1])
            out[ok] = k
    out[np.isnan(mean)] = -1
    return out


def score_points(name: str, settings) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) anchors of an indicator's sub-score, x increasing; None if it cannot be scored."""
    idx = settings.index
    if name in idx.score_points:
        pts = idx.score_points[name]
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    std = settings.indicators[name].standard
    if std is None or std.kind == "range":
        return None
    x = np.array([std.limits[c] for c in CLASSES], dtype=float)
    y = np.array([idx.class_scores[c] for c in CLASSES], dtype=float)
    if std.kind == "min":
        x, y = x[::-1], y[::-1]
    return x, y


def sub_score(mean: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Piecewise-linear score, clamped to the end values; NaN stays NaN."""
    out = np.interp(mean, x, y)
    out[np.isnan(mean)] = np.nan
    return out


# -- sections, index and anomalies --------------------------------------------------------------
@dataclass
class DailyResults:
    grid: DailyGrid
    compliant: np.ndarray          # (S, D) int8: 1 / 0 / -1 (not assessed or insufficient)
    klass: np.ndarray              # (S, D) int8 index into CLASS_NAMES, -1 none
    required: np.ndarray           # (S,) bool
    sections: list[str]
    section_party: dict[str, str]
    section_mean: dict[tuple[str, str], np.ndarray]   # (section, indicator) -> (D,)
    index: np.ndarray              # (n_sections, D) float, NaN when nothing to score
    anomalies: pd.DataFrame        # one row per station-day-cause
    section_anomaly: np.ndarray    # (n_sections, D) bool


def evaluate(grid: DailyGrid, settings) -> DailyResults:
    st = grid.series
    mean_suff = np.where(grid.sufficient, grid.mean, np.nan)
    compliant, klass, required, anomalies = _station_days(grid, settings, mean_suff)
    sections = list(dict.fromkeys(st["section"]))
    section_party = {sec: st.loc[st["section"] == sec, "party_id"].iloc[0] for sec in sections}
    section_mean, index = _section_index(grid, settings, mean_suff, sections)
    section_anomaly = _section_anomaly_days(grid, anomalies, sections)
    return DailyResults(grid=grid, compliant=compliant, klass=klass, required=required,
                        sections=sections, section_party=section_party,
                        section_mean=section_mean, index=index, anomalies=anomalies,
                        section_anomaly=section_anomaly)


def _station_days(grid: DailyGrid, settings, mean_suff: np.ndarray):
    """Per series and day: the GB 3838 class, compliance with the section's target class,
    whether the series is required; and the anomalies (a failed standard, flow below the
    ecological minimum, too few valid readings of a required series), sorted."""
    flow_ind = settings.flow.indicator
    eco = settings.flow.ecological_min_m3s
    weights = settings.index.weights
    n_s, n_d = grid.mean.shape
    compliant = np.full((n_s, n_d), -1, dtype=np.int8)
    klass = np.full((n_s, n_d), -1, dtype=np.int8)
    required = np.zeros(n_s, dtype=bool)
    records = []
    for s, row in enumerate(grid.series.itertuples(index=False)):
        ind = settings.indicators[row.indicator]
        std = ind.standard
        assessed = std is not None and std.assessed
        is_flow = row.indicator == flow_ind and row.section in eco
        required[s] = assessed or weights.get(row.indicator, 0) > 0 or is_flow
        if std is not None:
            klass[s] = water_class(mean_suff[s], std)
        if assessed:
            target = settings.target_class.of(row.section)
            compliant[s] = compliance(mean_suff[s], std, target)
            bad = np.flatnonzero(compliant[s] == 0)
            if bad.size:
                records.append(_records(grid, s, bad, "standard", target, std.limits[target],
                                            std.kind))
        if is_flow:
            low = np.flatnonzero(mean_suff[s] < eco[row.section])
            if low.size:
                records.append(_records(grid, s, low, "low_flow", None, eco[row.section]))
        if required[s]:
            few = np.flatnonzero(~grid.sufficient[s])
            if few.size:
                records.append(_records(grid, s, few, "too_few_valid", None, None))
    anomalies = pd.concat(records, ignore_index=True) if records else _empty_anomalies()
    anomalies = anomalies.sort_values(["date", "section", "station", "indicator", "cause"],
                                      kind="stable", ignore_index=True)
    return compliant, klass, required, anomalies


def _section_index(grid: DailyGrid, settings, mean_suff: np.ndarray, sections: list[str]):
    """Each section's daily mean per indicator and its daily ecological index: the weighted
    mean of the sub-scores available that day (NaN when none is)."""
    st = grid.series
    n_d = grid.mean.shape[1]
    weights = settings.index.weights
    section_mean: dict[tuple[str, str], np.ndarray] = {}
    index = np.full((len(sections), n_d), np.nan)
    for i, sec in enumerate(sections):
        num = np.zeros(n_d)
        den = np.zeros(n_d)
        for name in settings.indicators:
            rows = np.flatnonzero((st["section"] == sec).to_numpy()
                                  & (st["indicator"] == name).to_numpy())
            if rows.size == 0:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=RuntimeWarning)  # all-NaN days
                m = np.nanmean(mean_suff[rows], axis=0)
            section_mean[(sec, name)] = m
            w = weights.get(name, 0)
            if w <= 0:
                continue
            s_j = _indicator_score(name, sec, m, settings)
            if s_j is None:
                continue
            have = ~np.isnan(s_j)
            num[have] += w * s_j[have]
            den[have] += w
        with np.errstate(invalid="ignore", divide="ignore"):
            index[i] = np.where(den > 0, num / den, np.nan)
    return section_mean, index


def _indicator_score(name: str, sec: str, m: np.ndarray, settings) -> np.ndarray | None:
    """Sub-score s_j of a section's daily means: flow against the ecological minimum, a
    concentration through its score points; None when the indicator is not scored there."""
    eco = settings.flow.ecological_min_m3s
    if name == settings.flow.indicator:
        if sec not in eco:
            return None
        return np.minimum(1.0, m / eco[sec])
    pts = score_points(name, settings)
    if pts is None:
        return None
    return sub_score(m, *pts)


def _section_anomaly_days(grid: DailyGrid, anomalies: pd.DataFrame, sections: list[str]
                          ) -> np.ndarray:
    """(section, day) True where any station of the section had an anomaly."""
    section_anomaly = np.zeros((len(sections), grid.mean.shape[1]), dtype=bool)
    if len(anomalies):
        sec_pos = {sec: i for i, sec in enumerate(sections)}
        d_idx = ((anomalies["date"].to_numpy().astype("datetime64[D]")
                  - grid.days[0]).astype(np.int64))
        section_anomaly[anomalies["section"].map(sec_pos).to_numpy(), d_idx] = True
    return section_anomaly


ANOMALY_COLUMNS = ("date", "section", "station", "party_id", "cause", "indicator", "value",
                   "limit", "unit", "n_valid", "message")


def _empty_anomalies() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ANOMALY_COLUMNS})


def _records(grid: DailyGrid, s: int, days: np.ndarray, cause: str, target: str | None,
             limit, kind: str = "max") -> pd.DataFrame:
    row = grid.series.iloc[s]
    mean = grid.mean[s, days]
    n_valid = grid.n_valid[s, days]
    df = pd.DataFrame({
        "date": grid.days[days],
        "section": row.section, "station": row.station, "party_id": row.party_id,
        "cause": cause, "indicator": row.indicator, "value": mean,
        "limit": "" if limit is None else _limit_text(limit),
        "unit": row.unit, "n_valid": n_valid,
    })
    vals = [_num(v) for v in mean]
    if cause == "standard":
        word = {"max": ">", "min": "<"}.get(kind, "outside")
        df["message"] = [f"{row.indicator} {v} {row.unit} {word} class {target} limit "
                         f"{_limit_text(limit)} at {row.station}" for v in vals]
    elif cause == "low_flow":
        df["message"] = [f"flow {v} {row.unit} < ecological minimum {_limit_text(limit)} at "
                         f"{row.station}" for v in vals]
    else:
        df["message"] = [f"{row.indicator}: too few valid readings ({k}) at {row.station}"
                         for k in n_valid]
    return df


def _limit_text(limit) -> str:
    if isinstance(limit, tuple):
        return f"{_num(limit[0])}-{_num(limit[1])}"
    return _num(limit)


def _num(v, digits: int = 4) -> str:
    """A compact decimal (no exponent) with ``digits`` significant digits; '' for NaN."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return np.format_float_positional(float(v), precision=digits, unique=True, fractional=False,
                                      trim="-")
