"""QA/QC: each QARTOD test flags what it should, exactly as ioos_qc called directly."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from ioos_qc import qartod

from gep.monitoring.qc import fill_gaps, flat_line_flags, qc_series, run_qc, spike_flags
from gep.monitoring.settings import load_settings

from .helpers import CONFIG

HOUR = 3600 * 10**9


@pytest.fixture(scope="module")
def cfg():
    return load_settings(CONFIG)


def _series(n=72, seed=0):
    rng = np.random.default_rng(seed)
    v = 0.3 + 0.05 * np.sin(np.arange(n) / 5) + rng.normal(0, 0.01, n)
    t = (np.arange(n) * HOUR + 1_600_000_000 * 10**9).astype(np.int64)
    return v, t


def test_each_test_matches_ioos_qc_and_flags_the_fault(cfg):
    ind = cfg.indicators["nh3n"]
    v, t = _series()
    v[10] += 2.0            # spike (> fail 1.0)
    v[30:62] = v[30]        # stuck for 32 h (> flat-line fail 24 h)
    v[5] = 30.0             # outside the sensor span [0, 25]
    v[20] = 6.0             # outside the operator span [0.01, 5]
    v[25] = np.nan          # missing
    got = qc_series(v, t, ind)
    times = t.view("datetime64[ns]")
    direct = {
        "gross_range": qartod.gross_range_test(v, fail_span=(0, 25), suspect_span=(0.01, 5)),
        "spike": qartod.spike_test(v, suspect_threshold=0.3, fail_threshold=1.0),
        "rate_of_change": qartod.rate_of_change_test(v, times, threshold=0.5 / 3600,
                                                     fail_threshold=2.0 / 3600),
        "flat_line": qartod.flat_line_test(v, times, suspect_threshold=8 * 3600,
                                           fail_threshold=24 * 3600, tolerance=0.0001),
    }
    for name, expected in direct.items():
        np.testing.assert_array_equal(got[name], np.ma.getdata(expected), err_msg=name)
    np.testing.assert_array_equal(
        got["flag"], qartod.qartod_compare([np.ma.getdata(direct[k]) for k in direct]))
    # and the faults are where they were put
    assert got["gross_range"][5] == 4 and got["gross_range"][20] == 3
    assert got["spike"][10] == 4
    assert got["rate_of_change"][10] == 4  # a 2 mg/L jump in one hour
    assert set(got["flat_line"][30 + 24:62]) == {4} and got["flat_line"][30 + 9] == 3
    assert got["flag"][25] == 9
    assert got["flag"][0] == 1  # spike's "not evaluated" at the ends never hides a good one


def test_unconfigured_test_is_not_evaluated_and_missing_stays_missing(cfg):
    ind = cfg.indicators["nh3n"].model_copy(update={"spike": None})
    v, t = _series(24)
    v[3] = np.nan
    got = qc_series(v, t, ind)
    assert got["spike"][3] == 9 and set(np.delete(got["spike"], 3)) == {2}
    assert got["flag"][3] == 9


def test_workers_give_identical_flags(cfg):
    rng = np.random.default_rng(3)
    n_series, n = 7, 200
    ts = np.tile(np.arange(n) * HOUR, n_series).astype(np.int64)
    series = np.repeat(np.arange(n_series), n).astype(np.int32)
    value = rng.normal(1.0, 0.2, n_series * n)
    value[rng.integers(0, value.size, 30)] += 5.0
    inds = [cfg.indicators[k] for k in ("codmn", "nh3n", "tp", "tn", "do", "ph", "flow")]
    one = run_qc(ts, series, value, inds, workers=1)
    two = run_qc(ts, series, value, inds, workers=2)
    for k in one:
        np.testing.assert_array_equal(one[k], two[k])
    # and equal to per-series calls
    for s in range(n_series):
        sl = slice(s * n, (s + 1) * n)
        np.testing.assert_array_equal(one["flag"][sl],
                                      qc_series(value[sl], ts[sl], inds[s])["flag"])


@hsettings(max_examples=60, deadline=None)
@given(data=st.data(), n_series=st.integers(1, 4), length=st.integers(1, 60))
def test_fill_gaps_restores_the_regular_grid(data, n_series, length):
    """After filling, each series is exactly the hourly grid of [start, end); present
    readings keep their values; inserted ones are empty and marked as gaps."""
    start = 1_700_000_000 * 10**9 // HOUR * HOUR
    end = start + length * HOUR
    ts_parts, s_parts, v_parts = [], [], []
    kept_sets = []
    for s in range(n_series):
        keep = data.draw(st.lists(st.booleans(), min_size=length, max_size=length))
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            idx = np.array([data.draw(st.integers(0, length - 1))])
        kept_sets.append(set(idx.tolist()))
        ts_parts.append(start + idx * HOUR)
        s_parts.append(np.full(idx.size, s, dtype=np.int32))
        v_parts.append(s * 1000.0 + idx)
    ts, series, value, gap = fill_gaps(np.concatenate(ts_parts), np.concatenate(s_parts),
                                       np.concatenate(v_parts).astype(float), HOUR, start, end)
    assert ts.size == n_series * length
    for s in range(n_series):
        m = series == s
        assert np.array_equal(ts[m], start + np.arange(length) * HOUR)
        hours = np.arange(length)
        present = np.array([h in kept_sets[s] for h in hours])
        assert np.array_equal(~gap[m], present)
        assert np.array_equal(value[m][present], s * 1000.0 + hours[present])
        assert np.isnan(value[m][~present]).all()


def test_gap_rows_are_flagged_missing(cfg):
    t = np.array([0, 1, 2, 6, 7], dtype=np.int64) * HOUR + 1_600_000_000 * 10**9
    v = np.array([0.3, 0.31, 0.3, 0.32, 0.3])
    s = np.zeros(5, dtype=np.int32)
    ts, series, value, gap = fill_gaps(t, s, v, HOUR, int(t[0]), int(t[-1]) + HOUR)
    assert gap.sum() == 3 and np.array_equal(np.flatnonzero(gap), [3, 4, 5])
    flags = run_qc(ts, series, value, [cfg.indicators["nh3n"]])
    assert set(flags["flag"][gap]) == {9}
    assert 9 not in set(flags["flag"][~gap])


finite_or_missing = st.one_of(
    st.floats(-50, 50, allow_nan=False, allow_infinity=False),
    st.sampled_from([np.nan, np.inf, 1.0, 1.0, 1.0]))


@hsettings(max_examples=200, deadline=None)
@given(x=st.lists(finite_or_missing, min_size=1, max_size=80),
       suspect=st.floats(0.01, 20), factor=st.floats(1, 5))
def test_vectorized_spike_equals_ioos_qc(x, suspect, factor):
    x = np.array(x)
    expected = np.ma.getdata(qartod.spike_test(x, suspect_threshold=suspect,
                                               fail_threshold=suspect * factor))
    np.testing.assert_array_equal(spike_flags(x, suspect, suspect * factor), expected)


@hsettings(max_examples=200, deadline=None)
@given(x=st.lists(st.one_of(st.sampled_from([2.0, 2.0, 2.0005, np.nan]),
                            st.floats(0, 3, allow_nan=False)), min_size=1, max_size=80),
       step_min=st.sampled_from([1, 15, 60, 90]), jitter=st.lists(st.integers(0, 2),
                                                                  min_size=80, max_size=80),
       sus_h=st.floats(0.2, 6), fail_extra=st.floats(0, 6), tol=st.sampled_from([0.0, 0.001,
                                                                                 0.01, 0.5]))
def test_vectorized_flat_line_equals_ioos_qc(x, step_min, jitter, sus_h, fail_extra, tol):
    x = np.array(x)
    steps = (np.array(jitter[:x.size]) + 1) * step_min * 60 * 10**9
    t = (1_600_000_000 * 10**9 + np.cumsum(steps)).astype(np.int64)
    sus, fail = int(sus_h * 3600), int((sus_h + fail_extra) * 3600)
    expected = np.ma.getdata(qartod.flat_line_test(x, t.view("datetime64[ns]"),
                                                   suspect_threshold=sus,
                                                   fail_threshold=fail, tolerance=tol))
    np.testing.assert_array_equal(flat_line_flags(x, t, sus, fail, tol), expected)


def test_engines_agree_on_a_faulty_series(cfg):
    v, t = _series(400, seed=5)
    v[50:90] = v[50]
    v[[10, 200]] += 3.0
    v[[7, 8, 300]] = np.nan
    for name in ("nh3n", "codmn", "do"):
        a = qc_series(v, t, cfg.indicators[name], "ioos_qc")
        b = qc_series(v, t, cfg.indicators[name], "vectorized")
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{name} {k}")
