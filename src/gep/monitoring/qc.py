"""QA/QC with the QARTOD tests of ``ioos_qc`` (flags 1 good, 2 not evaluated, 3 suspect,
4 fail, 9 missing).

Per series (one station's one indicator, in time order) four ``ioos_qc.qartod`` tests run
with the thresholds of ``config/monitoring.yaml``: gross range (sensor span -> fail, operator
span -> suspect), spike, rate of change and flat line; ``ioos_qc.qartod.qartod_compare``
aggregates them. Gaps: every expected reading missing from the file (one every
``expected_interval_minutes`` over the whole period) is inserted as an empty reading before
the tests run, so it is flagged 9 and the spike and rate-of-change tests never compare
values across a gap.

ioos_qc's spike test loops over the readings in Python (about 0.6 us per reading) and its
flat-line test builds masked-array windows, so large files are split over worker processes
(``workers``), and ``qc_engine: vectorized`` swaps those two tests for step-by-step numpy
equivalents with identical flags (property-tested against ioos_qc).
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import numpy as np

TESTS = ("gross_range", "spike", "rate_of_change", "flat_line")
GOOD, NOT_EVALUATED, SUSPECT, FAIL, MISSING = 1, 2, 3, 4, 9
VALID_FLAGS = (GOOD, NOT_EVALUATED, SUSPECT)


@dataclass
class QCResult:
    """Sorted readings with gap rows inserted and their flags (uint8, one array per test)."""

    ts: np.ndarray
    series: np.ndarray
    value: np.ndarray
    gap: np.ndarray
    flags: dict[str, np.ndarray]

    @property
    def flag(self) -> np.ndarray:
        return self.flags["flag"]


def fill_gaps(ts: np.ndarray, series: np.ndarray, value: np.ndarray, interval_ns: int,
              start_ns: int, end_ns: int):
    """Insert an empty reading for every expected time missing in each series.

    A series' expected times step by ``interval_ns`` from its own readings: between two
    readings ``dt`` apart, ``round(dt / interval) - 1`` are inserted; before the first and
    after the last, as many as fit in ``[start_ns, end_ns)``. Inputs sorted by (series, ts).
    Returns ``(ts, series, value, gap)``, still sorted.
    """
    n = ts.size
    if n == 0:
        return ts, series, value, np.zeros(0, dtype=bool)
    new_series = np.flatnonzero(np.diff(series)) + 1
    firsts = np.concatenate(([0], new_series))
    lasts = np.concatenate((new_series - 1, [n - 1]))
    same = np.ones(n - 1, dtype=bool)
    same[new_series - 1] = False
    dt = np.diff(ts)
    k_int = np.where(same, (dt + interval_ns // 2) // interval_ns - 1, 0)
    inner = np.flatnonzero(k_int > 0)
    k_lead = (ts[firsts] - start_ns) // interval_ns
    k_trail = (end_ns - 1 - ts[lasts]) // interval_ns
    lead, trail = np.flatnonzero(k_lead > 0), np.flatnonzero(k_trail > 0)
    # segments: insertion point p (index in the original arrays), series, count, first time
    p = np.concatenate((inner + 1, firsts[lead], lasts[trail] + 1))
    s = np.concatenate((series[inner], series[firsts[lead]], series[lasts[trail]]))
    k = np.concatenate((k_int[inner], k_lead[lead], k_trail[trail])).astype(np.int64)
    t0 = np.concatenate((ts[inner] + interval_ns, ts[firsts[lead]] - k_lead[lead] * interval_ns,
                         ts[lasts[trail]] + interval_ns))
    total = int(k.sum())
    if total == 0:
        return ts, series, value, np.zeros(n, dtype=bool)
    order = np.lexsort((s, p))  # at one point, the trailing gap of a series comes first
    p, s, k, t0 = p[order], s[order], k[order], t0[order]
    excl = np.cumsum(k) - k
    seg_start = p + excl
    shift = np.cumsum(np.bincount(p, weights=k, minlength=n + 1)).astype(np.int64)
    pos_orig = np.arange(n, dtype=np.int64) + shift[:n]
    seg_of = np.repeat(np.arange(k.size), k)
    within = np.arange(total, dtype=np.int64) - np.repeat(excl, k)
    pos_ins = seg_start[seg_of] + within
    out_ts = np.empty(n + total, dtype=np.int64)
    out_series = np.empty(n + total, dtype=series.dtype)
    out_value = np.empty(n + total, dtype=np.float64)
    gap = np.zeros(n + total, dtype=bool)
    out_ts[pos_orig], out_series[pos_orig], out_value[pos_orig] = ts, series, value
    out_ts[pos_ins] = t0[seg_of] + within * interval_ns
    out_series[pos_ins] = s[seg_of]
    out_value[pos_ins] = np.nan
    gap[pos_ins] = True
    return out_ts, out_series, out_value, gap


ENGINES = ("ioos_qc", "vectorized")


def qc_series(values: np.ndarray, times_ns: np.ndarray, ind,
              engine: str = "ioos_qc") -> dict[str, np.ndarray]:
    """Run the four QARTOD tests on one series; ``ind`` is the indicator's settings.

    ``engine="ioos_qc"`` calls ``ioos_qc.qartod`` for every test. ``"vectorized"`` still
    calls ioos_qc's gross range and rate-of-change tests and ``qartod_compare``, but replaces
    its spike and flat-line tests (whose per-reading Python loop and masked-array windows cost
    about 1.4 us per reading) by :func:`spike_flags` and :func:`flat_line_flags`, which follow
    ioos_qc 2.3's algorithms step by step and give identical flags (property-tested against
    ioos_qc). A test without thresholds in the configuration is "not evaluated" (2) for
    present readings and missing (9) for empty ones, so it never overrides the others.
    """
    from ioos_qc import qartod

    if engine not in ENGINES:
        raise ValueError(f"qc engine must be one of {ENGINES}, not {engine!r}")
    values = np.asarray(values, dtype=np.float64)
    times = np.asarray(times_ns, dtype=np.int64).view("datetime64[ns]")
    missing = ~np.isfinite(values)
    fast = engine == "vectorized"
    out: dict[str, np.ndarray] = {}
    gr = ind.gross_range
    out["gross_range"] = _u8(qartod.gross_range_test(
        values, fail_span=tuple(gr.sensor),
        suspect_span=None if gr.operator is None else tuple(gr.operator)))
    if ind.spike is not None and values.size:
        sp = ind.spike
        out["spike"] = spike_flags(values, sp.suspect, sp.fail) if fast else _u8(
            qartod.spike_test(values, suspect_threshold=sp.suspect, fail_threshold=sp.fail))
    if ind.rate_of_change is not None and values.size:
        roc = ind.rate_of_change
        out["rate_of_change"] = _u8(qartod.rate_of_change_test(
            values, times, threshold=roc.suspect_per_hour / 3600.0,
            fail_threshold=None if roc.fail_per_hour is None else roc.fail_per_hour / 3600.0))
    if ind.flat_line is not None and values.size:
        fl = ind.flat_line
        sus, fail = int(fl.suspect_hours * 3600), int(fl.fail_hours * 3600)
        out["flat_line"] = flat_line_flags(values, times_ns, sus, fail, fl.tolerance) \
            if fast else _u8(qartod.flat_line_test(values, times, suspect_threshold=sus,
                                                   fail_threshold=fail, tolerance=fl.tolerance))
    for name in TESTS:
        if name not in out:
            out[name] = np.where(missing, MISSING, NOT_EVALUATED).astype(np.uint8)
    out["flag"] = _u8(qartod.qartod_compare([out[t] for t in TESTS]))
    return out


def spike_flags(x: np.ndarray, suspect: float, fail: float) -> np.ndarray:
    """``ioos_qc.qartod.spike_test(x, suspect, fail)`` (method "average") without its loop.

    ioos_qc 2.3: ``ref[1:-1] = (x[:-2] + x[2:]) / 2`` (0 at both ends), ``diff = |x - ref|``;
    flags 3 where ``diff > suspect``, 4 where ``diff > fail``; 2 at both ends; then 9 where
    ``x`` is missing and 2 where ``diff`` is undefined but ``x`` is not.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    bad = ~np.isfinite(x)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(x.copy())                       # ref = 0 at the two ends
        diff[1:-1] = np.abs(x[1:-1] - (x[:-2] + x[2:]) / 2)
        flag = np.ones(n, dtype=np.uint8)
        if suspect:
            flag[diff > suspect] = SUSPECT
        if fail:
            flag[diff > fail] = FAIL
    flag[0] = flag[-1] = NOT_EVALUATED
    flag[~np.isfinite(diff) & ~bad] = NOT_EVALUATED
    flag[bad] = MISSING
    return flag


def flat_line_flags(x: np.ndarray, times_ns: np.ndarray, suspect_s: int, fail_s: int,
                    tolerance: float) -> np.ndarray:
    """``ioos_qc.qartod.flat_line_test`` without masked-array windows.

    ioos_qc 2.3: the window holds ``count = int(threshold / median time step in whole
    seconds)`` + 1 readings ending at the reading; it is flagged when the range of the
    present readings in the window is below ``tolerance``; the first ``count`` readings are
    never flagged; fail overrides suspect; missing readings are 9 (fewer than 3 readings:
    all 1).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    flag = np.ones(n, dtype=np.uint8)
    if n < 3:
        return flag
    step = float(np.median(np.diff(np.asarray(times_ns, dtype=np.int64)).view(
        "timedelta64[ns]")).astype("timedelta64[s]").astype(float))
    if step <= 0:  # sub-second sampling: ioos_qc's window length is undefined too
        flag[~np.isfinite(x)] = MISSING
        return flag
    bad = ~np.isfinite(x)
    lo = np.where(bad, np.inf, x)
    hi = np.where(bad, -np.inf, x)
    present = np.concatenate(([0], np.cumsum(~bad)))
    for threshold, value in ((suspect_s, SUSPECT), (fail_s, FAIL)):
        count = int(np.float64(int(threshold)) / step)
        if n <= count:
            continue
        w = count + 1
        top, bottom = hi[count:].copy(), lo[count:].copy()  # windows x[p - count .. p]
        for k in range(1, w):
            np.maximum(top, hi[count - k:n - k], out=top)
            np.minimum(bottom, lo[count - k:n - k], out=bottom)
        rng = top - bottom
        any_present = (present[w:] - present[:-w]) > 0
        with np.errstate(invalid="ignore"):
            hit = any_present & (rng < tolerance)
        flag[count:][hit] = value
    flag[bad] = MISSING
    return flag


def _u8(a) -> np.ndarray:
    return np.asarray(np.ma.getdata(a), dtype=np.uint8)


# -- the whole file -----------------------------------------------------------------------------
_SHARED: dict = {}


def _run_range(job: tuple[int, int]) -> tuple[int, dict[str, np.ndarray]]:
    """Flags of the rows [a, b) (whole series only); reads the arrays shared by fork."""
    a, b = job
    ts, series, value = _SHARED["ts"], _SHARED["series"], _SHARED["value"]
    indicators, bounds, engine = _SHARED["indicators"], _SHARED["bounds"], _SHARED["engine"]
    out = {name: np.empty(b - a, dtype=np.uint8) for name in (*TESTS, "flag")}
    lo = np.searchsorted(bounds, a)
    for i in range(lo, bounds.size - 1):
        s, e = int(bounds[i]), int(bounds[i + 1])
        if s >= b:
            break
        res = qc_series(value[s:e], ts[s:e], indicators[int(series[s])], engine)
        for name, arr in res.items():
            out[name][s - a:e - a] = arr
    return a, out


def run_qc(ts: np.ndarray, series: np.ndarray, value: np.ndarray, indicator_of_series: list,
           workers: int = 1, engine: str = "ioos_qc") -> dict[str, np.ndarray]:
    """Flags for every row of sorted readings. ``indicator_of_series[s]`` gives the
    indicator settings of series ``s``. ``workers > 1`` forks that many processes;
    ``engine`` as in :func:`qc_series`."""
    import ioos_qc.qartod  # noqa: F401  (imported once, before any fork)

    n = ts.size
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(series)) + 1, [n])).astype(np.int64)
    _SHARED.update(ts=ts, series=series, value=value, indicators=indicator_of_series,
                   bounds=bounds, engine=engine)
    try:
        workers = max(1, min(int(workers), os.cpu_count() or 1))
        jobs = _jobs(bounds, n, 1 if workers == 1 else workers * 4)
        if workers == 1 or len(jobs) == 1:
            parts = [_run_range(j) for j in jobs]
        else:
            import multiprocessing as mp

            ctx = mp.get_context("fork")
            with ctx.Pool(workers) as pool:
                parts = pool.map(_run_range, jobs, chunksize=1)
    finally:
        _SHARED.clear()
    flags = {name: np.empty(n, dtype=np.uint8) for name in (*TESTS, "flag")}
    for a, part in parts:
        for name, arr in part.items():
            flags[name][a:a + arr.size] = arr
    return flags


def _jobs(bounds: np.ndarray, n: int, k: int) -> list[tuple[int, int]]:
    """Split rows into about ``k`` ranges of whole series with similar row counts."""
    if n == 0:
        return []
    cuts = {0, n}
    for q in range(1, k):
        j = np.searchsorted(bounds, q * n / k)
        cuts.add(int(bounds[min(j, bounds.size - 1)]))
    c = sorted(cuts)
    return [(a, b) for a, b in itertools.pairwise(c) if b > a]
