"""Responsibility lists of the downstream parties (下游责任清单), the other half of the
two-way lists: each downstream party carries duties in proportion to its benefit.

For downstream party k and year Y (``responsibility.downstream`` in monitoring.yaml):

- ``compensation_paid_on_time_cny``: ``threshold`` = what k owed under the agreement in Y,
  i.e. every transfer of the settlement of Y - 1 with k as payer (``transfers.csv``; year t
  is settled at the end of t and paid during t + 1); ``value`` = what k paid on time: its
  daily disbursements and escrow deposits of the dispatch of Y (``ledger_transfers.csv``,
  clauses ``disburse`` and ``withhold``, all dated within Y), plus payments of other clauses
  recorded in an optional payments file (``transfer_id,paid_date,amount_cny``) on or before
  31 December of Y. Met when paid >= owed. Exact Decimal amounts.
- ``industrial_emissions_t``: ``value`` = total ``emissions_t`` of k's enterprises declared
  for Y (the star-rating declarations), ``threshold`` = ``emission_cap_t``; met when
  value <= cap.

Rows use the header of performance.csv, so the responsibility map shows both sides.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from gep.errors import ConfigError, InputDataError
from gep.io import read_csv_rows, write_csv
from gep.monitoring.annual import PERFORMANCE_HEADER
from gep.paths import DispatchFiles

TRANSFER_COLUMNS = ("transfer_id", "year", "clause", "from_account", "to_account",
                    "amount_cny", "explanation")
DISPATCH_CLAUSES = ("base", "reward")      # settled clauses the daily dispatch pays
PAID_CLAUSES = ("disburse", "withhold")    # the payer's daily outflows in ledger_transfers
PAYMENT_COLUMNS = ("transfer_id", "paid_date", "amount_cny")


def _amount(src, line, text) -> Decimal:
    try:
        return Decimal(text)
    except ArithmeticError:
        raise InputDataError(src, f"amount '{text}' is not a decimal number",
                             "write e.g. 1250000.00", line=line, field="amount_cny") from None


def read_transfers(path: str | Path) -> list[dict]:
    out = []
    for line, row in read_csv_rows(path, TRANSFER_COLUMNS, "transfers"):
        out.append({**row, "year": int(row["year"]),
                    "amount": _amount(str(path), line, row["amount_cny"])})
    return out


def read_payments(path: str | Path | None) -> dict[str, list[tuple[dt.date, Decimal]]]:
    """Optional record of payments of transfers the dispatch does not pay (clawbacks,
    penalties, fixed transfers): ``transfer_id -> [(paid_date, amount)]``."""
    out: dict[str, list[tuple[dt.date, Decimal]]] = {}
    if path is None:
        return out
    for line, row in read_csv_rows(path, PAYMENT_COLUMNS, "payments"):
        try:
            day = dt.date.fromisoformat(row["paid_date"])
        except ValueError:
            raise InputDataError(str(path), f"paid_date '{row['paid_date']}' is not a date",
                                 "write YYYY-MM-DD", line=line, field="paid_date") from None
        out.setdefault(row["transfer_id"], []).append(
            (day, _amount(str(path), line, row["amount_cny"])))
    return out


def dispatch_paid(ledger_transfers: str | Path | None) -> dict[str, Decimal]:
    """Per payer: daily disbursements plus escrow deposits in one dispatch year."""
    paid: dict[str, Decimal] = {}
    if ledger_transfers is None or not Path(ledger_transfers).is_file():
        return paid
    for line, row in read_csv_rows(ledger_transfers, TRANSFER_COLUMNS, "ledger transfers"):
        if row["clause"] in PAID_CLAUSES:
            k = row["from_account"]
            paid[k] = paid.get(k, Decimal(0)) + _amount(str(ledger_transfers), line,
                                                        row["amount_cny"])
    return paid


def paid_by_record(tid: str, amount: Decimal, due: dt.date, payments) -> bool:
    got = sum((a for d, a in payments.get(tid, []) if d <= due), Decimal(0))
    return got >= amount


def downstream_rows(settings, transfers_csv: str | Path, dispatch_dirs: dict[int, Path],
                    years: list[int], declarations=None, payments_csv=None) -> list[list]:
    """Rows of responsibility_downstream.csv (PERFORMANCE_HEADER). A year enters the payment
    target only when its dispatch ran (``dispatch_dirs``) or nothing was owed."""
    listed = settings.responsibility.downstream
    transfers = read_transfers(transfers_csv)
    payments = read_payments(payments_csv)
    emissions: dict[tuple[int, str], Decimal] = {}
    for d in declarations or []:
        key = (d.year, d.party_id)
        emissions[key] = emissions.get(key, Decimal(0)) + d.emissions_t
    rows = []
    for y in years:
        paid = dispatch_paid(DispatchFiles(dispatch_dirs[y]).ledger_transfers
                             if y in dispatch_dirs else None)
        due = dt.date(y, 12, 31)
        for k, targets in listed.items():
            owed_rows = [t for t in transfers if t["year"] == y - 1 and t["from_account"] == k]
            owed = sum((t["amount"] for t in owed_rows), Decimal(0))
            if owed > 0 and y in dispatch_dirs:
                value = paid.get(k, Decimal(0)) + sum(
                    (t["amount"] for t in owed_rows if t["clause"] not in DISPATCH_CLAUSES
                     and paid_by_record(t["transfer_id"], t["amount"], due, payments)),
                    Decimal(0))
                rows.append([y, k, "compensation_paid_on_time_cny",
                             "true" if value >= owed else "false", f"{value:.2f}",
                             f"{owed:.2f}", "CNY"])
            if targets.emission_cap_t is not None and declarations is not None:
                total = emissions.get((y, k), Decimal(0))
                cap = Decimal(repr(float(targets.emission_cap_t)))
                rows.append([y, k, "industrial_emissions_t", "true" if total <= cap else
                             "false", f"{total.normalize():f}", f"{cap.normalize():f}",
                             "t (cap)"])
    return rows


def write_downstream(config_path: str | Path, transfers_csv: str | Path,
                     dispatch_dirs: dict[int, Path], years: list[int], out_csv: str | Path,
                     declarations_csv: str | Path | None = None,
                     parties_csv: str | Path | None = None,
                     payments_csv: str | Path | None = None) -> Path:
    from gep.monitoring.settings import load_settings

    settings = load_settings(config_path)
    parties = None
    if parties_csv is not None:
        parties = {r["party_id"]: r["role"] for _, r in read_csv_rows(
            parties_csv, ("party_id", "role"), "parties")}
        for k in settings.responsibility.downstream:
            if k not in parties:
                raise ConfigError(f"responsibility.downstream.{k}", f"'{k}' is not in "
                                  "parties.csv", f"use one of {', '.join(sorted(parties))}",
                                  file=settings.source)
    declarations = None
    if declarations_csv is not None:
        from gep.rating.declarations import read_declarations

        declarations = read_declarations(declarations_csv, set(parties) if parties else None)
    rows = downstream_rows(settings, transfers_csv, dispatch_dirs, years, declarations,
                           payments_csv)
    return write_csv(out_csv, PERFORMANCE_HEADER, rows)
