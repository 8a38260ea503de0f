"""Agreement execution rate (协议执行率): the share of the agreement's own duties executed.

Obligations falling due in year Y (one row each in ``obligations.csv``):

- ``settlement_transfer`` — every transfer of the settlement of Y - 1 (``transfers.csv``;
  year t is settled at the end of t and paid during t + 1), due 31 December of Y, owed by
  its payer (``from_account``). A ``base``/``reward`` transfer is executed when its payer's
  daily disbursements and escrow deposits in the dispatch of Y (``ledger_transfers.csv``)
  cover everything the payer owed for Y - 1 through those clauses (paid in full by the due
  date); any other clause (clawback, penalty, fixed transfer) when the payments record shows
  it paid in full by the due date.
- ``responsibility_target`` — each row of a responsibility list of Y (upstream
  ``performance.csv``, downstream ``responsibility_downstream.csv``), due 31 December of Y,
  executed when met.
- ``data_delivery`` — each month of Y in which a party has monitoring stations, due the
  month's last day: executed when at least ``data_delivery_min_valid`` (90 %) of the expected
  daily values of the party's stations (days x station-indicator series) were valid
  (``daily_compliance.csv``: ``sufficient`` true).

``execution.csv``: ``year,party_id,obligation,due,executed,rate`` per party and kind, per
party ``all``, and ``basin`` rows (``party_id`` = ``basin``) summing them; rate = executed /
due, four decimals half-up.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from gep.errors import InputDataError
from gep.io import read_csv_rows, write_csv
from gep.paths import CompensationFiles, DispatchFiles, MonitoringFiles

EXECUTION_HEADER = ("year", "party_id", "obligation", "due", "executed", "rate")
OBLIGATIONS_HEADER = ("year", "party_id", "obligation", "item", "due_date", "executed",
                      "detail")
KINDS = ("settlement_transfer", "responsibility_target", "data_delivery")
RATE_Q = Decimal("0.0001")


def rate(executed: int, due: int) -> Decimal:
    return (Decimal(executed) / Decimal(due)).quantize(RATE_Q, rounding=ROUND_HALF_UP)


def settlement_obligations(transfers_csv: Path, years: list[int], dispatch_dirs: dict,
                           payments_csv: Path | None) -> list[dict]:
    from gep.monitoring.downstream import (
        DISPATCH_CLAUSES,
        dispatch_paid,
        paid_by_record,
        read_payments,
        read_transfers,
    )

    transfers = read_transfers(transfers_csv)
    payments = read_payments(payments_csv)
    out = []
    for y in years:
        due = dt.date(y, 12, 31)
        rows = [t for t in transfers if t["year"] == y - 1]
        paid = dispatch_paid(DispatchFiles(dispatch_dirs[y]).ledger_transfers
                             if y in dispatch_dirs else None)
        owed: dict[str, Decimal] = defaultdict(Decimal)
        for t in rows:
            if t["clause"] in DISPATCH_CLAUSES:
                owed[t["from_account"]] += t["amount"]
        for t in rows:
            k = t["from_account"]
            if t["clause"] in DISPATCH_CLAUSES:
                got = paid.get(k, Decimal(0))
                ok = y in dispatch_dirs and got >= owed[k]
                detail = (f"{k} paid {got:.2f} of {owed[k]:.2f} owed through the daily "
                          f"dispatch of {y}" if y in dispatch_dirs else
                          f"no dispatch of {y}: no payment record")
            else:
                ok = paid_by_record(t["transfer_id"], t["amount"], due, payments)
                detail = ("paid in full by the due date (payments record)" if ok else
                          "no payment in full by the due date in the payments record")
            out.append(dict(year=y, party_id=k, obligation="settlement_transfer",
                            item=t["transfer_id"], due_date=due.isoformat(), executed=ok,
                            detail=f"{t['clause']} {t['year']} {k}->{t['to_account']} "
                                   f"{t['amount']:.2f}: {detail}"))
    return out


def target_obligations(lists: list[Path], years: list[int]) -> list[dict]:
    out = []
    for path in lists:
        if path is None or not Path(path).is_file():
            continue
        for _, row in read_csv_rows(path, ("year", "party_id", "target", "met"),
                                    "responsibility list"):
            y = int(row["year"])
            if y not in years:
                continue
            out.append(dict(year=y, party_id=row["party_id"], obligation="responsibility_target",
                            item=row["target"], due_date=f"{y}-12-31",
                            executed=row["met"].lower() == "true",
                            detail=f"value {row.get('value', '')} vs {row.get('threshold', '')}"
                                   f" {row.get('unit', '')}".strip()))
    return out


def delivery_table(compliance_csv: Path, daily_index_csv: Path):
    """Per (party, month): expected and valid daily values of the party's stations."""
    import pandas as pd

    di = pd.read_csv(daily_index_csv, usecols=["section", "party_id"], dtype=str,
                     keep_default_na=False).drop_duplicates()
    party_of = {s: p for s, p in zip(di["section"], di["party_id"]) if p}
    dc = pd.read_csv(compliance_csv, usecols=["date", "station", "section", "indicator",
                                              "sufficient"], dtype=str,
                     keep_default_na=False)
    dc["party_id"] = dc["section"].map(party_of)
    dc = dc[dc["party_id"].notna()]
    dc["month"] = dc["date"].str[:7]
    dc["valid"] = dc["sufficient"].str.lower() == "true"
    series = dc.groupby("party_id")[["station", "indicator"]].apply(
        lambda d: len(d.drop_duplicates()))
    got = dc.groupby(["party_id", "month"])["valid"].sum()
    out = {}
    for (party, month), valid in got.items():
        y, m = int(month[:4]), int(month[5:])
        expected = calendar.monthrange(y, m)[1] * int(series[party])
        out[(party, month)] = (int(valid), expected)
    return out


def delivery_obligations(compliance_csv: Path, daily_index_csv: Path, years: list[int],
                         min_valid: float) -> list[dict]:
    if not Path(compliance_csv).is_file():
        return []
    out = []
    thr = Decimal(repr(min_valid))
    for (party, month), (valid, expected) in sorted(delivery_table(
            compliance_csv, daily_index_csv).items()):
        y, m = int(month[:4]), int(month[5:])
        if y not in years:
            continue
        ok = Decimal(valid) >= thr * expected
        out.append(dict(year=y, party_id=party, obligation="data_delivery", item=month,
                        due_date=f"{month}-{calendar.monthrange(y, m)[1]:02d}", executed=ok,
                        detail=f"{valid} of {expected} expected daily values valid"))
    return out


def execution_rows(obligations: list[dict]) -> list[list]:
    count: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for o in obligations:
        for party in (o["party_id"], "basin"):
            for kind in (o["obligation"], "all"):
                c = count[(o["year"], party, kind)]
                c[0] += 1
                c[1] += bool(o["executed"])
    order = {k: i for i, k in enumerate((*KINDS, "all"))}
    keys = sorted(count, key=lambda k: (k[0], k[1] == "basin", k[1], order[k[2]]))
    return [[y, party, kind, count[(y, party, kind)][0], count[(y, party, kind)][1],
             f"{rate(count[(y, party, kind)][1], count[(y, party, kind)][0])}"]
            for y, party, kind in keys]


def compute(cfg, p) -> list[dict]:
    from gep.publish import dispatch_years

    years = list(cfg.years)
    transfers = p.compensation.transfers
    obligations = []
    if transfers.is_file():
        obligations += settlement_obligations(
            transfers, years, {y: p.dispatch(y) for y in dispatch_years(cfg)},
            cfg.path(cfg.committee.payments))
    obligations += target_obligations([p.monitoring.performance, p.downstream_csv],
                                      years)
    obligations += delivery_obligations(p.monitoring.daily_compliance,
                                        p.monitoring.daily_index, years,
                                        cfg.committee.data_delivery_min_valid)
    if not obligations:
        raise InputDataError(str(p.root), "no obligations found (no "
                             f"{CompensationFiles.transfers}, {MonitoringFiles.performance} "
                             f"or {MonitoringFiles.daily_compliance})",
                             "run the compensation and monitoring stages first")
    obligations.sort(key=lambda o: (o["year"], o["party_id"], KINDS.index(o["obligation"]),
                                    o["due_date"], o["item"]))
    return obligations


def write_execution(cfg, p) -> dict[str, Path]:
    obligations = compute(cfg, p)
    rows = execution_rows(obligations)
    ob_rows = [[o["year"], o["party_id"], o["obligation"], o["item"], o["due_date"],
                "true" if o["executed"] else "false", o["detail"]] for o in obligations]
    return {"obligations": write_csv(p.obligations_csv, OBLIGATIONS_HEADER, ob_rows),
            "execution": write_csv(p.execution_csv, EXECUTION_HEADER, rows)}
