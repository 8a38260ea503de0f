"""The year-end escrow settlement of the daily runs equals the batch's (``gep dispatch``):
a whole year of days (paid, reduced, paused) stored as the daily runs store them, then
settled, gives the batch's settlement.csv rows and release/forfeit transfers to the fen, for
a year whose P index is met and one where it is missed; a year with a day not run is settled
only by the run of that day."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pytest

from gep.ledger.store import Ledger
from gep.operations import db

from . import replay
from .conftest import UPSTREAM, YEAR


def _year_of_days():
    """(party, date) -> the day as dispatch sees it: mostly paid in full, a reduced pace now
    and then, a paused run of days for linxi, a day without any data for yunling."""
    from gep.monitoring.dispatch import _Day, year_dates

    rng = np.random.default_rng(18)
    days = {}
    for party in UPSTREAM:
        for d in year_dates(YEAR):
            idx = Decimal(str(round(float(rng.uniform(0.80, 1.15)), 4)))
            days[(party, d)] = _Day(index=idx, sections=[f"{party}_outlet"])
    for k in range(12):
        days[("linxi", dt.date(YEAR, 6, 1) + dt.timedelta(days=k))] = _Day(
            anomaly=True, reasons=["nh3n above class III"], sections=["linxi_outlet"])
    del days[("yunling", dt.date(YEAR, 9, 9))]
    return days


def _store_year(ctx, days, means: dict[str, float], skip: dt.date | None = None):
    """What the daily runs store: each day's run, disbursement rows and section means."""
    from gep.monitoring.dispatch import (DISBURSEMENT_HEADER, _entitlements, dispatch_day,
                                         no_data_day, schedule, year_dates)
    from gep.operations.daily import _agreement

    agreement, _ = _agreement(ctx)
    section = agreement.water_quality_bet.section

    funding = _entitlements(ctx.paths.compensation.transfers, YEAR - 1, list(UPSTREAM),
                            agreement.account_ids)
    dates = year_dates(YEAR)
    sched = {p: schedule(funding[p], dates) for p in UPSTREAM}
    escrow = ctx.monitoring.dispatch.escrow_account
    with ctx.Session.begin() as s:
        for k, d in enumerate(dates):
            if d == skip:
                continue
            s.add(db.DailyRun(date=d, inputs_digest="x" * 64, status="done"))
            for ind, m in means.items():   # a daily wobble around the year's level
                s.add(db.SectionMean(date=d, section=section, indicator=ind,
                                     mean=m * (1 + 0.1 * np.sin(k / 9))))
            for party in UPSTREAM:
                o = dispatch_day(party, d, days.get((party, d), no_data_day()),
                                 funding[party], sched[party], ctx.monitoring.dispatch.pace,
                                 escrow, agreement.agreement, YEAR, {})
                rec = dict(zip(DISBURSEMENT_HEADER, o.disbursement))
                rec["date"], rec["anomaly"] = d, rec["anomaly"] == "true"
                s.add(db.Disbursement(**rec))
    return agreement, funding


def _batch(ctx, agreement, funding, days, means_rows):
    """The batch's settlement on the same days and the same section_quality rows."""
    from gep.compensation import p_index
    from gep.monitoring.dispatch import _YearRun, year_dates

    conc = {r[2]: Decimal(r[3]) for r in means_rows}
    run = _YearRun(year=YEAR, dates=year_dates(YEAR), days=days, details={},
                   pace_points=ctx.monitoring.dispatch.pace,
                   escrow=ctx.monitoring.dispatch.escrow_account, aid=agreement.agreement,
                   p=p_index(agreement, conc))
    for party in UPSTREAM:
        run.party(party, funding[party])
    return run


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("level,met", [(0.8, True), (1.3, False)])
def test_settlement_equals_the_batch(ctx, level, met):
    from gep.operations.daily import _agreement
    from gep.operations.settlement import annual_means, settle_year

    agreement, _ = _agreement(ctx)
    bet = agreement.water_quality_bet.indicators
    means = {ind: float(spec.baseline_mg_l) * level for ind, spec in bet.items()}
    days = _year_of_days()
    agreement, funding = _store_year(ctx, days, means)
    out = ctx.paths.dispatch(YEAR)
    out.mkdir(parents=True, exist_ok=True)
    rows = settle_year(ctx, YEAR, out)

    # the annual means: the plain mean of the stored days, to six significant digits
    mine = annual_means(ctx, YEAR)
    for _y, _sec, ind, text in mine:
        k = np.arange(365)
        expect = np.mean(means[ind] * (1 + 0.1 * np.sin(k / 9)))
        assert abs(float(text) - expect) <= 1e-5 * expect
    run = _batch(ctx, agreement, funding, days, mine)
    assert rows == run.settle
    assert [r[8] for r in rows] == (["true"] if met else ["false"]) * len(UPSTREAM)
    files = replay.rows(out / "settlement.csv")
    assert [tuple(r.values()) for r in files] == [tuple(str(x) for x in r) for r in run.settle]
    # the release / forfeit transfers: in ledger_transfers.csv and in the ledger
    settle = [r for r in replay.rows(out / "ledger_transfers.csv")
              if r["clause"] in ("release", "forfeit")]
    theirs = [r for r in run.ledger if r[2] in ("release", "forfeit")]
    assert [tuple(r.values()) for r in settle] == [tuple(str(x) for x in r) for r in theirs]
    assert {r[2] for r in theirs} == ({"release"} if met else {"forfeit"})
    ids = {r["transfer_id"] for r in settle}
    with Ledger(ctx.ledger_db, create=False) as lg:
        booked = {json.loads(raw).get("transfer_id") for _i, raw in lg.entries()}
    assert ids <= booked
    # escrow balances: what was withheld is exactly what is released or forfeited
    for r in rows:
        assert Decimal(r[4]) == Decimal(r[9]) + Decimal(r[10]) > 0
    # settling again changes nothing (same rows, no transfer twice)
    assert settle_year(ctx, YEAR, out) == rows
    again = [r for r in replay.rows(out / "ledger_transfers.csv")
             if r["clause"] in ("release", "forfeit")]
    assert again == settle


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_run_that_completes_the_year_settles_it(ctx):
    """Nothing is settled while December 31 is missing; its daily run (a day without data
    here: every party paused) completes the year and settles it as the batch would."""
    from gep.operations.daily import run_daily
    from gep.operations.settlement import annual_means, settle_year

    last = dt.date(YEAR, 12, 31)
    days = _year_of_days()
    agreement, funding = _store_year(ctx, days, {"codmn": 1.0, "nh3n": 0.1, "tp": 0.02,
                                                 "tn": 1.0}, skip=last)
    out = ctx.paths.dispatch(YEAR)
    out.mkdir(parents=True, exist_ok=True)
    assert settle_year(ctx, YEAR, out) is None
    assert not (out / "settlement.csv").exists()
    done = run_daily(ctx, last, now=replay.FAR_FUTURE, deliver=False)
    assert done.status == "done" and (out / "settlement.csv").is_file()
    for party in UPSTREAM:
        days.pop((party, last), None)   # the batch sees no monitoring row that day
    assert done.settlement == _batch(ctx, agreement, funding, days,
                                     annual_means(ctx, YEAR)).settle
