"""``gep daily`` gives the batch's answer, day by day: the demo's readings replayed through the
upload API and the daily run equal ``gep monitor`` + ``gep dispatch`` on the same readings,
to the fen. Also: idempotence, late data, a day without data, the batch/daily file rule."""
from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pytest

from gep.operations.daily import DAILY_RUNS, run_daily
from gep.operations.service import OperationsError, add_key

from . import replay
from .conftest import UPSTREAM, YEAR


def _episode_window(readings, days_before=6, days_after=10):
    """Days around the peak of ammonia at Linxi's outlet (the demo's pollution episode),
    found in the raw readings, independently of the code under test."""
    df = replay.load(readings)
    nh3 = df[(df["station"] == "linxi_outlet") & (df["indicator"] == "nh3n")]
    daily = nh3.groupby("day")["value"].mean()
    peak = daily.idxmax()
    return peak - dt.timedelta(days=days_before), peak + dt.timedelta(days=days_after)


def _keys(ctx):
    return {s: add_key(ctx, s) for s in ctx.stations["station"]}


def test_replay_equals_batch(ctx, client, demo_year, basin, tmp_path):
    first, last = _episode_window(demo_year["readings"])
    df = replay.load(demo_year["readings"], first, last)
    days = replay.replay(ctx, client, df, _keys(ctx))
    assert len(days) == (last - first).days + 1
    out = ctx.paths.dispatch(YEAR)
    b = replay.batch(df, demo_year["stations"], ctx.cfg.path(ctx.cfg.monitoring.config),
                     ctx.cfg.path(ctx.cfg.compensation.agreement),
                     ctx.paths.compensation / "transfers.csv", tmp_path / "batch", YEAR)
    # the day's index per section, as written by the batch
    annual = pd.read_csv(b["daily_index"], dtype=str, keep_default_na=False)
    for d in days:
        mine = pd.read_csv(ctx.paths.operations_day(d) / "daily_index.csv", dtype=str,
                           keep_default_na=False)
        theirs = annual[annual["date"] == d.isoformat()].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, theirs)
    counts = replay.compare(out, b["disbursements"].parent, days)
    assert counts["disbursements.csv"] == len(days) * len(UPSTREAM)
    # the window holds the pollution episode: some days paused, with alerts naming linxi
    alerts = replay.rows(out / "alerts.csv")
    assert any(a["party_id"] == "linxi" and a["cause"] == "standard" for a in alerts)
    ds = {d.isoformat() for d in days}
    held = replay.escrow(out / "disbursements.csv", ds)
    assert held == replay.escrow(b["disbursements"], ds)
    assert held["linxi"] > 0
    # the daily section means the year-end settlement averages: section_quality.csv's rows
    from gep.operations.settlement import annual_means

    quality = [[r["year"], r["section"], r["indicator"], r["concentration_mg_l"]]
               for r in replay.rows(b["section_quality"]) if r["year"] == str(YEAR)]
    assert quality and sorted(quality) == sorted([str(x) for x in r]
                                                 for r in annual_means(ctx, YEAR))


def _upload_days(ctx, client, df, days, keys):
    for d in days:
        for station, body in replay.payloads(df, d):
            r = client.post(f"/api/v1/stations/{station}/readings", json=body,
                            headers={"Authorization": f"Bearer {keys[station]}"})
            assert r.status_code == 201, r.text


@pytest.fixture
def three_days(demo_year):
    first = dt.date(YEAR, 3, 1)
    return replay.load(demo_year["readings"], first, first + dt.timedelta(days=2))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_same_inputs_is_a_no_op(ctx, client, three_days):
    keys = _keys(ctx)
    d0, d1, d2 = sorted(three_days["day"].unique())
    _upload_days(ctx, client, three_days, [d0, d1], keys)
    first = run_daily(ctx, d0, now=replay.FAR_FUTURE, deliver=False)
    assert first.status == "done"
    out = ctx.paths.dispatch(YEAR)
    before = (out / "disbursements.csv").read_bytes()
    again = run_daily(ctx, d0, now=replay.FAR_FUTURE, deliver=False)
    assert again.status == "unchanged" and again.inputs_digest == first.inputs_digest
    assert (out / "disbursements.csv").read_bytes() == before


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_late_data_is_refused_for_the_day_it_belongs_to(ctx, client, three_days):
    keys = _keys(ctx)
    d0, d1, _ = sorted(three_days["day"].unique())
    part = three_days[~((three_days["station"] == "yunling_outlet") & (three_days["day"] == d0))]
    _upload_days(ctx, client, part, [d0, d1], keys)
    run_daily(ctx, d0, now=replay.FAR_FUTURE, deliver=False)
    paused = replay.rows(ctx.paths.dispatch(YEAR) / "disbursements.csv")
    assert {r["party_id"]: r["anomaly"] for r in paused}["yunling"] == "true"
    # yunling's gateway comes back and posts d0: recorded, but d0 stays as paid
    late = three_days[(three_days["station"] == "yunling_outlet") & (three_days["day"] == d0)]
    _upload_days(ctx, client, late, [d0], keys)
    with pytest.raises(OperationsError, match="already run"):
        run_daily(ctx, d0, now=replay.FAR_FUTURE, deliver=False)
    assert (ctx.paths.dispatch(YEAR) / "disbursements.csv").read_text().count(
        d0.isoformat()) == len(UPSTREAM)
    from gep.operations.api import dashboard_data
    late_rows = dashboard_data(ctx)["late"]
    assert [(r["date"], r["station"]) for r in late_rows] == [(d0, "yunling_outlet")]
    # the next day takes the late readings into its QA/QC window
    nxt = run_daily(ctx, d1, now=replay.FAR_FUTURE, deliver=False)
    assert nxt.status == "done"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_day_without_data_pauses_every_party(ctx):
    d = dt.date(YEAR, 5, 1)
    out = run_daily(ctx, d, now=replay.FAR_FUTURE, deliver=False)
    assert [r[1] for r in out.disbursements] == list(UPSTREAM)
    for r in out.disbursements:
        assert r[3] == "0.00" and r[4] == r[2] and r[8] == "true"
        assert r[6] == "anomaly: no monitoring data"
    assert {(a[1], a[2]) for a in out.alerts} == {(p, "no_data") for p in UPSTREAM}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_day_not_over_is_refused(ctx):
    today = dt.datetime.now(dt.UTC).date()
    with pytest.raises(OperationsError, match="not over"):
        run_daily(ctx, today + dt.timedelta(days=1), deliver=False)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_batch_year_is_never_appended_to_unless_replaced(ctx):
    out = ctx.paths.dispatch(YEAR)
    out.mkdir(parents=True)
    (out / "disbursements.csv").write_text("from the batch\n")
    (out / "settlement.csv").write_text("from the batch\n")
    with pytest.raises(OperationsError, match="gep dispatch"):
        run_daily(ctx, dt.date(YEAR, 5, 1), now=replay.FAR_FUTURE, deliver=False)
    assert (out / "disbursements.csv").read_text() == "from the batch\n"
    run_daily(ctx, dt.date(YEAR, 5, 1), now=replay.FAR_FUTURE, deliver=False,
              allow_batch=True)
    assert (out / "batch-disbursements.csv").read_text() == "from the batch\n"
    assert (out / DAILY_RUNS).is_file()
    assert len(replay.rows(out / "disbursements.csv")) == len(UPSTREAM)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_batch_dispatch_refuses_a_year_paid_day_by_day(ctx, capsys):
    from gep.cli import main

    run_daily(ctx, dt.date(YEAR, 5, 1), now=replay.FAR_FUTURE, deliver=False)
    out = ctx.paths.dispatch(YEAR)
    before = (out / "disbursements.csv").read_bytes()
    code = main(["dispatch", "--transfers", "t.csv", "--daily-index", "d.csv", "--agreement",
                 "a.yaml", "--quality", "q.csv", "--year", str(YEAR), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "gep daily" in err[0] and "Fix:" in err[0]
    assert (out / "disbursements.csv").read_bytes() == before


def test_cli_daily_errors_in_one_line(basin, tmp_path, capsys):
    from gep.cli import main

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["daily", "--config", str(basin), "--db", db, "--date", "2023-13-01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--date" in err[0] and "Fix:" in err[0]
    assert main(["daily", "--config", str(basin), "--db", db, "--date", "2023-05-01",
                 "--no-deliver"]) == 0
    out = capsys.readouterr().out
    assert "shanyuan: scheduled" in out and "withheld" in out
    assert main(["daily", "--config", str(basin), "--db", db, "--date", "2023-05-01"]) == 0
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_full_year_replay_equals_batch(ctx, client, demo_year, tmp_path):
    df = replay.load(demo_year["readings"])
    t0 = time.perf_counter()
    days = replay.replay(ctx, client, df, _keys(ctx))
    took = time.perf_counter() - t0
    assert len(days) == 365
    b = replay.batch(df, demo_year["stations"], ctx.cfg.path(ctx.cfg.monitoring.config),
                     ctx.cfg.path(ctx.cfg.compensation.agreement),
                     ctx.paths.compensation / "transfers.csv", tmp_path / "batch", YEAR)
    counts = replay.compare(ctx.paths.dispatch(YEAR), b["disbursements"].parent, days)
    assert counts["disbursements.csv"] == 365 * len(UPSTREAM)
    # the December 31 run settled the escrow as the batch does: same rows, same transfers
    out = ctx.paths.dispatch(YEAR)
    assert replay.rows(out / "settlement.csv") == replay.rows(b["settlement"])
    settled = [r for r in replay.rows(out / "ledger_transfers.csv")
               if r["clause"] in ("release", "forfeit")]
    assert settled and settled == [r for r in replay.rows(b["ledger_transfers"])
                                   if r["clause"] in ("release", "forfeit")]
    print(f"full-year replay: {took:.0f} s for 365 days")
