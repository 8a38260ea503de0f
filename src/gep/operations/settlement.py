"""The year-end escrow settlement of the daily runs, as ``gep dispatch`` settles a year.

When the run that completes year Y is done (December 31, or a missed day run later), every
day of Y has been paid, reduced or paused and the year's P index is known: the annual mean of
each mg/L indicator at the bet's section is the mean of the daily section means stored by the
daily runs (the numbers ``gep monitor`` averages into ``section_quality.csv``). Then, as the
batch does (:class:`gep.monitoring.dispatch._YearRun`): ``P <= 1`` releases each party's
escrow to it, otherwise each payer gets back what it put in. Each payer's share of a day's
withheld money is that day's split again (:func:`gep.monitoring.dispatch.dispatch_day`'s
rule, from the stored day row). The rows go to ``settlement.csv`` and
``ledger_transfers.csv`` of the year and to the ledger. Nothing is settled while a day of Y
has no done run.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from gep.io import write_csv
from gep.operations import db
from gep.operations.service import Context

log = logging.getLogger(__name__)
SETTLEMENT_CLAUSES = ("release", "forfeit")


def settle_year(ctx: Context, year: int, out: Path,
                entitlement_year: int | None = None) -> list | None:
    """Settle ``year``'s escrow into ``out`` (the year's dispatch folder) and the ledger;
    returns the settlement.csv rows, or None while a day of the year was not run."""
    from gep.monitoring.dispatch import (
        SETTLEMENT_HEADER,
        TRANSFER_HEADER,
        _entitlements,
        _YearRun,
        year_dates,
    )
    from gep.operations.daily import _agreement, _read_rows, _seal_transfers
    from gep.paths import DispatchFiles

    dates = year_dates(year)
    if not year_complete(ctx, year):
        log.warning("escrow of %s not settled: not every day of the year was run", year)
        return None
    agreement, _ = _agreement(ctx)
    upstream = [a.id for a in agreement.accounts_with("upstream")]
    ent_year = year - 1 if entitlement_year is None else int(entitlement_year)
    funding = _entitlements(ctx.paths.compensation.transfers, ent_year, upstream,
                            agreement.account_ids)
    run = _YearRun(year=year, dates=dates, days={}, details={},
                   pace_points=ctx.monitoring.dispatch.pace,
                   escrow=ctx.monitoring.dispatch.escrow_account, aid=agreement.agreement,
                   p=year_p(ctx, year, agreement))
    rows = _day_rows(ctx, dates)
    for party in upstream:
        settle_party(run, party, funding.get(party, {}), rows.get(party, []))
    files = DispatchFiles(out)
    write_csv(files.settlement, SETTLEMENT_HEADER, run.settle, bom=True)
    keep = [[r[c] for c in TRANSFER_HEADER] for r in _read_rows(files.ledger_transfers)
            if r["clause"] not in SETTLEMENT_CLAUSES or r["year"] != str(year)]
    write_csv(files.ledger_transfers, TRANSFER_HEADER, keep + [list(r) for r in run.ledger])
    _seal_transfers(ctx, run.ledger, f"settlement {year}")
    return run.settle


def year_complete(ctx: Context, year: int) -> bool:
    """Every day of ``year`` has a done daily run."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    with ctx.Session() as s:
        done = s.execute(select(func.count()).select_from(db.DailyRun).where(
            db.DailyRun.date >= first, db.DailyRun.date <= last,
            db.DailyRun.status == "done")).scalar()
    return done == (last - first).days + 1


def _day_rows(ctx: Context, dates: list[dt.date]) -> dict[str, list]:
    D = db.Disbursement
    out: dict[str, list] = {}
    with ctx.Session() as s:
        for r in s.execute(select(D).where(D.date >= dates[0], D.date <= dates[-1])
                           .order_by(D.date)).scalars():
            out.setdefault(r.party_id, []).append(r)
    return out


def settle_party(run, party: str, payers: dict[str, Decimal], rows: list) -> None:
    """``party``'s settlement.csv row and release/forfeit transfers, from its stored days."""
    from gep.money import split
    from gep.monitoring.dispatch import ZERO, schedule

    sched = schedule(payers, run.dates)
    withheld_by = {k: ZERO for k in payers}
    paid = held = ZERO
    n_anomaly = n_reduced = 0
    for r in rows:
        paid_d = Decimal(r.paid_cny)
        s_k = {k: sched[k][r.date] for k in payers}
        paid_k = (split(paid_d, [(k, s_k[k]) for k in payers]) if paid_d > 0
                  else {k: ZERO for k in payers})
        for k in payers:
            withheld_by[k] += s_k[k] - paid_k[k]
        anomaly = r.anomaly or r.index == ""   # no index: paused as an anomaly is
        n_anomaly += anomaly
        n_reduced += (not anomaly) and r.reason != ""
        paid += paid_d
        held += Decimal(r.withheld_cny)
    run.settle_party(party, payers, paid, withheld_by, held, n_anomaly, n_reduced)


def annual_means(ctx: Context, year: int) -> list[list]:
    """section_quality.csv's rows of ``year`` from the stored daily section means."""
    from gep.monitoring.daily import _num

    S = db.SectionMean
    by: dict[tuple[str, str], list[float]] = {}
    with ctx.Session() as s:
        for sec, ind, m in s.execute(select(S.section, S.indicator, S.mean).where(
                S.date >= dt.date(year, 1, 1), S.date <= dt.date(year, 12, 31))
                .order_by(S.date)):
            by.setdefault((sec, ind), []).append(m)
    return [[year, sec, ind, _num(np.array(v, dtype=np.float64).mean(), 6)]
            for (sec, ind), v in sorted(by.items())]


def year_p(ctx: Context, year: int, agreement) -> Decimal:
    """The year's P index, read from the annual means as ``gep dispatch`` reads
    section_quality.csv (same checks, same messages)."""
    from gep.compensation import p_index
    from gep.monitoring.annual import QUALITY_HEADER
    from gep.monitoring.dispatch import _read_quality

    rows = [(line, dict(zip(QUALITY_HEADER, map(str, r))))
            for line, r in enumerate(annual_means(ctx, year), start=2)]
    source = f"{db.SectionMean.__tablename__} (the daily runs' section means of {year})"
    conc = _read_quality(source, year, agreement, rows=rows)
    return p_index(agreement, conc, source=f"daily section means of {year}")
