"""``gep daily``: one day's QA/QC, index, payments, alerts — the same rules as the batch.

For date D (a local calendar day in the monitoring time zone):

1. the readings of the window [D - L days, D + 1 day + one interval) are taken from the
   database (L covers the longest flat-line test; the one reading after midnight is the spike
   test's look-ahead), never before local midnight of the first reading ever stored (where the
   annual run starts too); every series seen before the window's end takes part, so a silent
   station shows as missing readings exactly as in the annual run;
2. they are validated by the file-ingestion code (:func:`gep.monitoring.ingest.read_readings`)
   and evaluated by :func:`gep.monitoring.pipeline.qc_and_evaluate` (QARTOD, daily means,
   compliance, index, anomalies); D's rows of daily_index.csv and anomalies.csv are written to
   ``results/<basin>/operations/days/<D>/``;
3. each upstream party's day is decided by :func:`gep.monitoring.dispatch.dispatch_day`
   (pay, reduce or pause and withhold into escrow) on the year's schedule of year D.year - 1's
   entitlements; the rows are appended to ``dispatch/<year>/disbursements.csv``,
   ``alerts.csv`` and ``ledger_transfers.csv`` (the formats of ``gep dispatch``), recorded in
   ``daily_runs.csv`` and the database, and appended to the ledger;
4. the run that completes a year (December 31, or a missed day run later) settles the year's
   escrow on its P index, as ``gep dispatch`` does (:mod:`gep.operations.settlement`).

Idempotent per date: a second run with the same inputs (digest of the window's readings) does
nothing; with different inputs (late data) it is refused — late data only affects later days.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select

from gep.io import write_csv
from gep.operations import db
from gep.operations.service import Context, OperationsError
from gep.paths import DayFiles, DispatchFiles

DAILY_RUNS = DispatchFiles.daily_runs
DAILY_RUNS_HEADER = ("date", "inputs_sha256", "readings", "run_at")
DAY_NS = 86_400 * 10**9


@dataclass
class DailyOutcome:
    date: dt.date
    status: str                  # done / unchanged
    inputs_digest: str
    n_readings: int
    disbursements: list
    alerts: list
    out_dir: Path
    deliveries: dict | None = None
    settlement: list | None = None   # the year's settlement.csv rows (a December 31 run)


def lookback_days(settings) -> int:
    """Whole days before D the QARTOD tests need (the longest flat-line window, + 1)."""
    hours = [0.0]
    for ind in settings.indicators.values():
        if ind.flat_line is not None:
            hours += [ind.flat_line.suspect_hours, ind.flat_line.fail_hours]
    return math.ceil(max(hours) / 24) + 1


def local_midnight_ns(d: dt.date, tz: str) -> int:
    return int(pd.Timestamp(d).tz_localize(tz).tz_convert("UTC").value)


def window(ctx: Context, d: dt.date) -> tuple[int, int, int]:
    """(start, end of D, end) in UTC ns of the readings the run of ``d`` uses."""
    tz = ctx.monitoring.timezone
    interval = ctx.monitoring.expected_interval_minutes * 60 * 10**9
    start = local_midnight_ns(d - dt.timedelta(days=lookback_days(ctx.monitoring)), tz)
    day_end = local_midnight_ns(d + dt.timedelta(days=1), tz)
    with ctx.Session() as s:
        first = s.execute(select(func.min(db.Reading.ts_ns))).scalar()
    if first is not None:
        first_day = pd.Timestamp(int(first), tz="UTC").tz_convert(tz).date()
        start = max(start, local_midnight_ns(first_day, tz))
    return start, day_end, day_end + interval


def window_readings(ctx: Context, start: int, end: int) -> tuple[pd.DataFrame, list]:
    """The window's readings (as uploaded) and every series seen before ``end``."""
    with ctx.Session() as s:
        rows = s.execute(select(db.Reading.station, db.Reading.indicator, db.Reading.ts_ns,
                                db.Reading.value, db.Reading.unit).where(
            db.Reading.ts_ns >= start, db.Reading.ts_ns < end)).all()
        series = s.execute(select(db.Series.station, db.Series.indicator, db.Series.unit)
                           .where(db.Series.first_ts_ns < end)).all()
    df = pd.DataFrame(rows, columns=["station", "indicator", "ts_ns", "value", "unit"])
    df["value"] = df["value"].astype("float64")
    df["ts_ns"] = df["ts_ns"].astype("int64")
    df = df.sort_values(["station", "indicator", "ts_ns"], kind="stable", ignore_index=True)
    return df, sorted(tuple(x) for x in series)


def inputs_digest(df: pd.DataFrame, series: list, start: int, end: int) -> str:
    """SHA-256 of exactly what the run computes from (values by their IEEE bits)."""
    h = hashlib.sha256(f"{start}|{end}|{series!r}|".encode())
    for col in ("station", "indicator", "unit"):
        h.update("\x1f".join(df[col].astype(str)).encode())
        h.update(b"\x1e")
    h.update(df["ts_ns"].to_numpy(np.int64).tobytes())
    h.update(df["value"].to_numpy(np.float64).tobytes())
    return h.hexdigest()


def dispatch_dir(ctx: Context, year: int) -> Path:
    if ctx.dispatch_root is not None:
        return ctx.dispatch_root / str(year)
    return ctx.paths.dispatch(year)


def check_not_batch(out: Path, allow_batch: bool) -> None:
    """The daily run appends only to a year it owns (daily_runs.csv) or a fresh one."""
    files = DispatchFiles(out)
    if files.daily_runs.is_file() or allow_batch:
        return
    if files.disbursements.is_file() or files.settlement.is_file():
        raise OperationsError(str(out), "written by the batch `gep dispatch` (no "
                              f"{DispatchFiles.daily_runs}); the daily run would pay days "
                              "twice", "move that folder away (the batch replay is for audit), "
                              "or pass --replace-batch to start the year's daily files afresh")


def run_daily(ctx: Context, d: dt.date, *, entitlement_year: int | None = None,
              now: dt.datetime | None = None, allow_batch: bool = False,
              deliver: bool = True, workers: int = 1) -> DailyOutcome:
    from gep.operations.service import seal_pending

    seal_pending(ctx)   # nothing is computed from data the ledger does not hold
    start, day_end, end = window(ctx, d)
    now = now or dt.datetime.now(dt.UTC)
    if int(pd.Timestamp(now).value) < day_end:
        raise OperationsError(f"date {d}", "the day is not over yet in "
                              f"{ctx.monitoring.timezone}",
                              "run a past date (the scheduler runs yesterday)")
    df, series = window_readings(ctx, start, end)
    digest = inputs_digest(df, series, start, end)
    out = dispatch_dir(ctx, d.year)
    unchanged = _previous_run(ctx, d, digest, out)
    if unchanged is not None:
        return unchanged
    if allow_batch and not DispatchFiles(out).daily_runs.is_file():
        _start_afresh(out)
    check_not_batch(out, allow_batch=False)

    day_dir = ctx.paths.operations_day(d)
    days, details, means = evaluate_day(ctx, d, df, series, start, end, day_dir, workers)
    disb, alerts, ledger = decide_day(ctx, d, days, details, entitlement_year)

    # files first (each atomic; any earlier rows of D replaced), then ledger, then database
    run_at = _write_day(out, d, disb, alerts, ledger, digest, len(df))
    _seal(ctx, d, ledger, alerts, day_dir)
    _store_day(ctx, d, DayFiles(day_dir), disb, alerts, digest, len(df), run_at, means)
    outcome = DailyOutcome(d, "done", digest, len(df), disb, alerts, out)
    from gep.operations.settlement import settle_year, year_complete
    if year_complete(ctx, d.year):   # its last day run: the P index is known, settle escrow
        outcome.settlement = settle_year(ctx, d.year, out, entitlement_year)
    if deliver:
        from gep.operations.alerts import deliver_pending
        outcome.deliveries = deliver_pending(ctx)
    return outcome


def _previous_run(ctx: Context, d: dt.date, digest: str, out: Path) -> DailyOutcome | None:
    """``unchanged`` when D was run with these inputs; refused when with other inputs (a paid
    day is never recomputed); None when D has not been run."""
    with ctx.Session() as s:
        prev = s.get(db.DailyRun, d)
    if prev is None or prev.status != "done":
        return None
    if prev.inputs_digest == digest:
        return DailyOutcome(d, "unchanged", digest, prev.n_readings, [], [], out)
    late = late_batches(ctx, d, prev.finished_at)
    raise OperationsError(f"date {d}", f"already run at {prev.finished_at:%Y-%m-%d %H:%M} "
                          f"UTC with other inputs ({len(late)} batch(es) arrived late); "
                          "a paid day is never recomputed", "nothing to do: late data is "
                          "shown on the dashboard and counts in the next days' QA/QC "
                          "(docs/operations.md, 'Late data')")


def _write_day(out: Path, d: dt.date, disb: list, alerts: list, ledger: list, digest: str,
               n_readings: int) -> dt.datetime:
    """D's rows into the year's dispatch files and daily_runs.csv; returns the run time."""
    from gep.monitoring.dispatch import ALERT_HEADER, DISBURSEMENT_HEADER, TRANSFER_HEADER

    files = DispatchFiles(out)
    _append(files.disbursements, DISBURSEMENT_HEADER, disb, d)
    _append(files.alerts, ALERT_HEADER, alerts, d)
    _append(files.ledger_transfers, TRANSFER_HEADER, ledger, d, date_of=_transfer_date)
    run_at = dt.datetime.now(dt.UTC)
    _append(files.daily_runs, DAILY_RUNS_HEADER,
            [(d.isoformat(), digest, n_readings, run_at.isoformat(timespec="seconds"))], d)
    return run_at


def _store_day(ctx: Context, d: dt.date, day: DayFiles, disb: list, alerts: list, digest: str,
               n_readings: int, run_at: dt.datetime, means: list = ()) -> None:
    """D's run, index, disbursements and alerts (with a delivery per recipient) replace any
    earlier rows of D in the database, in one transaction."""
    from gep.monitoring.dispatch import ALERT_HEADER, DISBURSEMENT_HEADER
    from gep.operations.alerts import recipients

    with ctx.Session.begin() as s:
        s.execute(delete(db.DayIndex).where(db.DayIndex.date == d))
        s.execute(delete(db.Disbursement).where(db.Disbursement.date == d))
        s.execute(delete(db.SectionMean).where(db.SectionMean.date == d))
        s.add_all(db.SectionMean(date=d, section=sec, indicator=ind, mean=m)
                  for sec, ind, m in means)
        old = select(db.Alert.id).where(db.Alert.date == d)
        s.execute(delete(db.Delivery).where(db.Delivery.alert_id.in_(old)))
        s.execute(delete(db.Alert).where(db.Alert.date == d))
        s.merge(db.DailyRun(date=d, inputs_digest=digest, status="done", n_readings=n_readings,
                            started_at=run_at, finished_at=db.utcnow(), message=""))
        for r in _read_rows(day.daily_index):
            s.add(db.DayIndex(date=d, section=r["section"], index=r["index"],
                              anomaly=r["anomaly"] == "true", reason=r["reason"],
                              party_id=r["party_id"]))
        for r in disb:
            rec = dict(zip(DISBURSEMENT_HEADER, r))
            rec["date"], rec["anomaly"] = d, rec["anomaly"] == "true"
            s.add(db.Disbursement(**rec))
        rcpt = recipients(ctx.ops.alerts)
        for r in alerts:
            rec = dict(zip(ALERT_HEADER, (str(x) for x in r)))
            rec["date"] = d
            a = db.Alert(**rec)
            s.add(a)
            s.flush()
            for channel, to in rcpt:
                s.add(db.Delivery(alert_id=a.id, channel=channel, recipient=to))


def evaluate_day(ctx: Context, d: dt.date, df: pd.DataFrame, series: list, start: int,
                 end: int, day_dir: Path, workers: int = 1):
    """D's daily index and anomalies (written to ``day_dir``), read back as dispatch reads
    them, and D's section means: ({(party, date): _Day}, {(section, date): [anomaly rows]},
    [(section, indicator, mg/L)])."""
    from gep.monitoring.dispatch import _read_anomalies, _read_daily_index
    from gep.monitoring.ingest import read_readings
    from gep.monitoring.pipeline import (DAILY_INDEX_HEADER, _check_sections,
                                         _daily_index_rows, _write_anomalies, qc_and_evaluate)

    settings = ctx.monitoring
    day_dir.mkdir(parents=True, exist_ok=True)
    day = DayFiles(day_dir)
    if not series:
        write_csv(day.daily_index, DAILY_INDEX_HEADER, [])
        _write_anomalies(day.anomalies, _empty_anomalies())
        return {}, {}, []
    _check_sections(settings, ctx.stations)
    have = set(zip(df["station"], df["indicator"]))
    silent = [(st, ind, unit) for st, ind, unit in series if (st, ind) not in have]
    table = pd.concat([df, pd.DataFrame({
        "station": [x[0] for x in silent], "indicator": [x[1] for x in silent],
        "ts_ns": np.full(len(silent), start, dtype=np.int64),
        "value": np.full(len(silent), np.nan), "unit": [x[2] for x in silent]})],
        ignore_index=True)
    table = pd.DataFrame({
        "timestamp": pd.to_datetime(table["ts_ns"], utc=True).dt.tz_convert(settings.timezone),
        "station": table["station"], "indicator": table["indicator"],
        "value": table["value"], "unit": table["unit"]})
    with tempfile.TemporaryDirectory(prefix="gep-daily-") as tmp:
        path = Path(tmp) / f"readings-{d}.parquet"
        table.to_parquet(path, index=False)
        r = read_readings(path, ctx.stations, settings)
    q = qc_and_evaluate(r, ctx.stations, settings, workers=workers, bounds=(start, end))
    means = section_means(q.res, d, settings, ctx.stations)
    write_csv(day.daily_index, DAILY_INDEX_HEADER,
              [row for row in _daily_index_rows(q.res) if row[0] == d.isoformat()])
    a = q.res.anomalies
    if len(a):
        a = a[pd.to_datetime(a["date"]).dt.date == d]
    _write_anomalies(day.anomalies, a)
    parties = {r["party_id"] for r in _read_rows(day.daily_index)}
    upstream = [p for p in _upstream(ctx) if p in parties]
    if not upstream:
        return {}, {}, means
    days = _read_daily_index(day.daily_index, d.year, upstream,
                             _agreement(ctx)[0].account_ids)
    return days, _read_anomalies(day.anomalies, d.year), means


def section_means(res, d: dt.date, settings, stations) -> list[tuple[str, str, float]]:
    """D's mean per monitored section and mg/L indicator: the values the annual run averages
    into section_quality.csv (:func:`gep.monitoring.annual.section_quality_rows`)."""
    k = np.flatnonzero(res.grid.days == np.datetime64(d, "D"))
    if not k.size:
        return []
    roles = dict(zip(stations["section"], stations["role"]))
    out = []
    for sec in res.sections:
        if roles.get(sec) != "section":
            continue
        for name, ind in settings.indicators.items():
            m = res.section_mean.get((sec, name))
            if ind.unit == "mg/L" and m is not None and not np.isnan(m[k[0]]):
                out.append((sec, name, float(m[k[0]])))
    return out


def _empty_anomalies() -> pd.DataFrame:
    from gep.monitoring.daily import _empty_anomalies as empty

    return empty()


def _agreement(ctx: Context):
    from gep.compensation import load_agreement

    path = ctx.cfg.path(ctx.cfg.compensation.agreement)
    if path is None:
        raise OperationsError("compensation.agreement", "no agreement in the basin config",
                              "set compensation.agreement: the daily run pays its parties")
    return load_agreement(path), path


def _upstream(ctx: Context) -> list[str]:
    agreement, _ = _agreement(ctx)
    return [a.id for a in agreement.accounts_with("upstream")]


def decide_day(ctx: Context, d: dt.date, days: dict, details: dict,
               entitlement_year: int | None = None):
    """(disbursement rows, alert rows, ledger transfer rows) of day ``d``."""
    from gep.errors import InputDataError
    from gep.monitoring.dispatch import (_entitlements, dispatch_day, no_data_day, schedule,
                                         year_dates)

    agreement, apath = _agreement(ctx)
    upstream = [a.id for a in agreement.accounts_with("upstream")]
    escrow = ctx.monitoring.dispatch.escrow_account
    if escrow in agreement.account_ids:
        raise InputDataError(str(apath), f"account '{escrow}' of the agreement clashes with "
                             "the escrow account", "rename dispatch.escrow_account in the "
                             "monitoring configuration", field="accounts")
    year = d.year
    ent_year = year - 1 if entitlement_year is None else int(entitlement_year)
    funding = _entitlements(ctx.paths.compensation.transfers, ent_year, upstream,
                            agreement.account_ids)
    dates = year_dates(year)
    disb, alerts, ledger = [], [], []
    for party in upstream:
        payers = funding.get(party, {})
        sched = schedule(payers, dates)
        day = days.get((party, d), no_data_day())
        o = dispatch_day(party, d, day, payers, sched, ctx.monitoring.dispatch.pace, escrow,
                         agreement.agreement, year, details)
        disb.append(o.disbursement)
        alerts.extend(o.alerts)
        ledger.extend(o.ledger)
    return disb, alerts, ledger


def _transfer_date(row: dict) -> str:
    # ids embed the date; the explanation starts with it ("2023-05-01: ...")
    return row["explanation"][:10]


def _read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _append(path: Path, header, rows, d: dt.date, date_of=lambda r: r["date"]) -> Path:
    """Rewrite ``path`` atomically: its rows of other dates, then ``rows`` (D's)."""
    keep = [[r[c] for c in header] for r in _read_rows(path) if date_of(r) != d.isoformat()]
    return write_csv(path, header, keep + [list(r) for r in rows])


def _start_afresh(out: Path) -> None:
    files = DispatchFiles(out)
    for key in ("disbursements", "alerts", "ledger_transfers", "settlement"):
        p = files.file(key)
        if p.is_file():
            p.rename(p.with_name(f"batch-{p.name}"))


def _seal(ctx: Context, d: dt.date, ledger: list, alerts: list, day_dir: Path) -> None:
    """The day's transfers, alerts and the digest of its index go to the ledger."""
    from gep.ledger.api import file_sha256
    from gep.ledger.records import alert_record, digest_record
    from gep.ledger.store import Item, Ledger
    from gep.monitoring.dispatch import ALERT_HEADER

    items = _transfer_items(ledger, f"daily run {d}")
    items += [Item(alert_record(dict(zip(ALERT_HEADER, r))), f"daily run {d}")
              for r in alerts]
    for name in (DayFiles.daily_index, DayFiles.anomalies):
        sha, size = file_sha256(DayFiles(day_dir) / name)
        items.append(Item(digest_record(sha, size, f"{d}/{name}", "data_batch",
                                        f"{name} of {d} (gep daily)"), f"daily run {d}"))
    with Ledger(ctx.ledger_db) as lg:
        lg.append(items)


def _transfer_items(rows: list, what: str) -> list:
    """Ledger transfer records (book ``disbursement``) of ledger_transfers.csv rows."""
    from gep.ledger.records import transfer_record
    from gep.ledger.store import Item
    from gep.monitoring.dispatch import TRANSFER_HEADER

    return [Item(transfer_record(dict(zip(TRANSFER_HEADER, (str(x) for x in r))),
                                 "disbursement", file=what), what) for r in rows]


def _seal_transfers(ctx: Context, rows: list, what: str) -> None:
    from gep.ledger.store import Ledger

    with Ledger(ctx.ledger_db) as lg:
        lg.append(_transfer_items(rows, what))


def late_batches(ctx: Context, d: dt.date, since: dt.datetime | None) -> list:
    """Batches received after the run of ``d`` that hold readings of its window."""
    if since is None:
        return []
    start, _, end = window(ctx, d)
    with ctx.Session() as s:
        return list(s.execute(select(db.Batch).where(
            db.Batch.received_at > since, db.Batch.last_ts_ns >= start,
            db.Batch.first_ts_ns < end)).scalars())
