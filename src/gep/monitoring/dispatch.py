"""Daily dispatch of the upstream parties' entitlements, with escrow and alerts (每日调度).

For upstream party i and year Y:

- entitlement ``F_i`` = what the compensation engine's ``transfers.csv`` pays i in Y (clauses
  ``base`` and ``reward``, all payers); ``f_ik`` the part funded by payer k;
- each payer's part is scheduled evenly over the days of the year (largest remainder, exact
  to the fen): ``s_ikd``; the day's schedule is ``S_id = sum_k s_ikd`` (so ``sum_d S_id =
  F_i`` exactly);
- the day's index is that of the party's outlet section(s) in ``daily_index.csv`` (the lowest
  if several); on a normal day ``paid = round_half_up_fen(S_id * pace(index))`` (exact),
  on an anomaly day (a failed standard, flow below the ecological minimum, too few valid
  readings, or no monitoring row at all) ``paid = 0`` and an alert is written per cause;
- ``withheld = S_id - paid`` goes into the escrow account; the day's payment is split among
  the payers in proportion to their schedule (largest remainder), so each payer's daily
  transfers add up to its schedule exactly;
- at year end the annual P index (``gep.compensation.p_index`` on ``section_quality.csv``)
  decides: ``P <= 1`` releases the escrow to the party, otherwise each payer gets back
  exactly what it put into the party's escrow ("forfeited back to the payers in the
  proportions they funded").

Balances, to the fen: for every party, ``paid + withheld = scheduled = F_i`` and
``released + forfeited = escrow = withheld``.
"""
from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

from gep.errors import InputDataError
from gep.io import check_out_dir, read_csv_rows, write_csv
from gep.money import D, fmt, split, to_fen
from gep.paths import DispatchFiles, MonitoringFiles
from gep.tables import (
    PLAUSIBLE_MG_L,
    check_concentration,
    parse_decimal,
    suggest,
    unknown_id_fix,
)

TRANSFER_HEADER = ("transfer_id", "year", "clause", "from_account", "to_account", "amount_cny",
                   "explanation")
DISBURSEMENT_HEADER = ("date", "party_id", "scheduled_cny", "paid_cny", "withheld_cny", "index",
                       "reason", "pace", "anomaly")
ALERT_HEADER = ("date", "party_id", "cause", "section", "station", "indicator", "value", "limit",
                "unit", "n_valid", "day_withheld_cny", "message")
SETTLEMENT_HEADER = ("year", "party_id", "entitlement_cny", "paid_cny", "withheld_cny",
                     "anomaly_days", "reduced_pace_days", "P", "p_met", "released_cny",
                     "forfeited_cny")
ENTITLEMENT_CLAUSES = ("base", "reward")
ZERO = Decimal("0.00")


def pace(index: Decimal, points: list[tuple[float, float]]) -> Fraction:
    """Share of the day's schedule paid at ``index``: piecewise linear through ``points``.

    Exact rational arithmetic (a slope such as 0.5 / 0.3 has no finite decimal), so
    ``paid = round_half_up(scheduled * pace)`` is decided on the exact product and a day
    exactly half a fen from a boundary never tips the wrong way.
    """
    pts = [(Fraction(D(x)), Fraction(D(y))) for x, y in points]
    i = min(max(Fraction(D(index)), pts[0][0]), pts[-1][0])
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if x0 <= i <= x1:
            return y0 + (y1 - y0) * (i - x0) / (x1 - x0)
    return pts[-1][1]  # pragma: no cover (clamped above)


def _fen(x: Fraction) -> Decimal:
    """Round an exact non-negative amount half-up to the fen."""
    cents, rest = divmod(x * 100, 1)
    if rest >= Fraction(1, 2):
        cents += 1
    return Decimal(int(cents)) / 100 + ZERO


def _as_decimal(share: Fraction, places: int = 4) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 40
        return (Decimal(share.numerator) / Decimal(share.denominator)).quantize(
            Decimal(1).scaleb(-places))


@dataclass
class _Day:
    index: Decimal | None = None
    anomaly: bool = False
    reasons: list[str] | None = None
    sections: list[str] | None = None


def dispatch(transfers_csv: str | Path, daily_index_csv: str | Path,
             agreement_path: str | Path, quality_csv: str | Path, year: int,
             out_dir: str | Path, config_path: str | Path,
             anomalies_csv: str | Path | None = None,
             entitlement_year: int | None = None) -> dict[str, Path]:
    """Write ``disbursements.csv``, ``alerts.csv``, ``settlement.csv`` and
    ``ledger_transfers.csv`` for ``year`` into ``out_dir``; returns their paths.

    ``anomalies_csv`` defaults to ``anomalies.csv`` beside the daily index (written by
    ``gep monitor``); it gives each alert its station and values. ``entitlement_year``
    (default: ``year``) picks the engine year whose payments are dispatched.
    """
    from gep.compensation import load_agreement, p_index
    from gep.monitoring.settings import load_settings

    settings = load_settings(config_path)
    agreement = load_agreement(agreement_path)
    year = int(year)
    ent_year = year if entitlement_year is None else int(entitlement_year)
    upstream = [a.id for a in agreement.accounts_with("upstream")]
    escrow = settings.dispatch.escrow_account
    if escrow in agreement.account_ids:
        raise InputDataError(str(agreement_path), f"account '{escrow}' of the agreement "
                             "clashes with the escrow account", "rename dispatch."
                             "escrow_account in the monitoring configuration",
                             field="accounts")
    check_out_dir(out_dir)
    funding = _entitlements(Path(transfers_csv), ent_year, upstream, agreement.account_ids)
    days = _read_daily_index(Path(daily_index_csv), year, upstream, agreement.account_ids)
    if anomalies_csv is None:
        sibling = MonitoringFiles(Path(daily_index_csv).parent).anomalies
        anomalies_csv = sibling if sibling.is_file() else None
    details = _read_anomalies(Path(anomalies_csv), year) if anomalies_csv else {}
    conc = _read_quality(Path(quality_csv), year, agreement)
    p = p_index(agreement, conc, source=str(quality_csv))

    run = _YearRun(year=year, dates=year_dates(year), days=days, details=details,
                   pace_points=settings.dispatch.pace, escrow=escrow, aid=agreement.agreement,
                   p=p)
    for party in upstream:
        run.party(party, funding.get(party, {}))
    return run.write(DispatchFiles(out_dir))


@dataclass
class _YearRun:
    """One year's dispatch: the day rows of every upstream party, then its escrow settled."""

    year: int
    dates: list[dt.date]
    days: dict
    details: dict
    pace_points: list
    escrow: str
    aid: str
    p: Decimal
    disb: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    settle: list = field(default_factory=list)
    ledger: list = field(default_factory=list)

    def party(self, party: str, payers: dict[str, Decimal]) -> None:
        """Pay, reduce or pause each day of ``party``'s schedule, then settle its escrow."""
        sched = schedule(payers, self.dates)
        paid_by = defaultdict(lambda: ZERO)
        withheld_by = defaultdict(lambda: ZERO)
        n_anomaly = n_reduced = 0
        for d in self.dates:
            day = self.days.get((party, d), no_data_day())
            out = dispatch_day(party, d, day, payers, sched, self.pace_points, self.escrow,
                               self.aid, self.year, self.details)
            n_anomaly += out.anomaly
            n_reduced += out.reduced
            for k in payers:
                paid_by[k] += out.paid_by[k]
                withheld_by[k] += out.withheld_by[k]
            self.ledger.extend(out.ledger)
            self.disb.append(out.disbursement)
            self.alerts.extend(out.alerts)
        self.settle_party(party, payers, sum(paid_by.values(), ZERO), withheld_by,
                          sum(withheld_by.values(), ZERO), n_anomaly, n_reduced)

    def settle_party(self, party: str, payers: dict[str, Decimal], paid: Decimal,
                     withheld_by: dict, held: Decimal, n_anomaly: int, n_reduced: int) -> None:
        """``party``'s year is paid: settle its escrow and add its settlement.csv row (the
        batch above, and the daily runs' year end, gep.operations.settlement)."""
        total = sum(payers.values(), ZERO)
        assert paid + held == total, "the year's payments do not balance"
        released, forfeited = self.settle_escrow(party, payers, withheld_by, held)
        p, year = self.p, self.year
        self.settle.append((year, party, fmt(total), fmt(paid), fmt(held), n_anomaly,
                            n_reduced, f"{p:.4f}", "true" if p <= 1 else "false",
                            fmt(released), fmt(forfeited)))

    def settle_escrow(self, party: str, payers: dict[str, Decimal], withheld_by: dict,
                      held: Decimal) -> tuple[Decimal, Decimal]:
        """At year end, P <= 1 releases the escrow to the party; otherwise each payer gets
        back what it put in. Returns (released, forfeited)."""
        from gep.compensation import transfer_id

        aid, year, escrow, p = self.aid, self.year, self.escrow, self.p
        released = forfeited = ZERO
        if held > 0 and p <= 1:
            released = held
            self.ledger.append((transfer_id(aid, year, "release", escrow, party), year,
                                "release", escrow, party, fmt(held),
                                (f"{year} settlement: P = {p:.4f} <= 1, "
                                 f"the escrow of {party} is released to it")))
        elif held > 0:
            for k in payers:
                if withheld_by[k] > 0:
                    forfeited += withheld_by[k]
                    self.ledger.append((transfer_id(aid, year, "forfeit", escrow, k, party),
                                        year, "forfeit", escrow, k, fmt(withheld_by[k]),
                                        (f"{year} settlement: P = {p:.4f} > 1, the escrow of "
                                         f"{party} goes back to {k}, which funded it")))
        assert released + forfeited == held
        return released, forfeited

    def write(self, out: DispatchFiles) -> dict[str, Path]:
        Path(out).mkdir(parents=True, exist_ok=True)
        return {
            "disbursements": write_csv(out.disbursements, DISBURSEMENT_HEADER, self.disb,
                                       bom=True),
            "alerts": write_csv(out.alerts, ALERT_HEADER, self.alerts, bom=True),
            "settlement": write_csv(out.settlement, SETTLEMENT_HEADER, self.settle, bom=True),
            "ledger_transfers": write_csv(out.ledger_transfers, TRANSFER_HEADER, self.ledger),
        }


def year_dates(year: int) -> list[dt.date]:
    return [dt.date(year, 1, 1) + dt.timedelta(days=i)
            for i in range((dt.date(year + 1, 1, 1) - dt.date(year, 1, 1)).days)]


def schedule(payers: dict[str, Decimal], dates: list[dt.date]) -> dict[str, dict]:
    """Each payer's part scheduled evenly over ``dates`` (largest remainder, to the fen)."""
    return {k: split(f, [(d, 1) for d in dates]) for k, f in payers.items()}


def no_data_day() -> _Day:
    """The day of a party without any monitoring row: an anomaly, nothing paid."""
    return _Day(anomaly=True, reasons=["no monitoring data"])


@dataclass
class DayOutcome:
    """One party's one day: its disbursements.csv row, alerts.csv rows, ledger transfers."""

    disbursement: tuple
    alerts: list
    ledger: list
    paid_by: dict
    withheld_by: dict
    anomaly: bool
    reduced: bool


def dispatch_day(party: str, d: dt.date, day: _Day, payers: dict[str, Decimal],
                 sched: dict[str, dict], pace_points, escrow: str, aid: str, year: int,
                 details: dict) -> DayOutcome:
    """Pay, reduce or pause ``party``'s schedule of day ``d`` (the rules of this module)."""
    from gep.compensation import transfer_id

    ledger, paid_by, withheld_by = [], {}, {}
    s_k = {k: sched[k][d] for k in payers}
    s_d = sum(s_k.values(), ZERO)
    if day.anomaly or day.index is None:
        share = Fraction(0)
    else:
        share = pace(day.index, pace_points)
    paid_d = _fen(Fraction(s_d) * share)
    if paid_d > 0:
        paid_k = split(paid_d, [(k, s_k[k]) for k in payers])
    else:
        paid_k = {k: ZERO for k in payers}
    withheld_d = s_d - paid_d
    for k in payers:
        wk = s_k[k] - paid_k[k]
        assert wk >= 0, "a payer's daily payment exceeds its schedule"
        paid_by[k] = paid_k[k]
        withheld_by[k] = wk
        if paid_k[k] > 0:
            ledger.append((transfer_id(aid, year, "disburse", k, party, d.isoformat()),
                           year, "disburse", k, party, fmt(paid_k[k]),
                           (f"{d}: daily disbursement to {party}, {_pct(share)} of "
                            f"the day's schedule {fmt(s_d)} (index "
                            f"{_idx(day.index)}), funded by {k}")))
        if wk > 0:
            ledger.append((transfer_id(aid, year, "withhold", k, escrow,
                                       f"{party}|{d.isoformat()}"),
                           year, "withhold", k, escrow, fmt(wk),
                           (f"{d}: withheld into escrow for {party} ("
                            f"{_why(day, share)}), funded by {k}")))
    reason = _why(day, share) if (day.anomaly or share < 1) else ""
    disb = (d.isoformat(), party, fmt(s_d), fmt(paid_d), fmt(withheld_d),
            _idx(day.index), reason,
            "0" if day.anomaly else str(_as_decimal(share)),
            "true" if day.anomaly else "false")
    alerts = _alerts(party, d, day, details, withheld_d) if day.anomaly else []
    anomaly = bool(day.anomaly or day.index is None)
    return DayOutcome(disbursement=disb, alerts=alerts, ledger=ledger, paid_by=paid_by,
                      withheld_by=withheld_by, anomaly=anomaly,
                      reduced=(not anomaly) and share < 1)


def _pct(share: Fraction) -> str:
    return f"{_as_decimal(share * 100, 2)} %"


def _idx(index: Decimal | None) -> str:
    return "" if index is None else f"{index:.4f}"


def _why(day: _Day, share: Fraction) -> str:
    if day.anomaly:
        causes = "; ".join(r for r in (day.reasons or []) if r)
        return f"anomaly: {causes}" if causes else "anomaly"
    return f"reduced pace {_pct(share)} at index {_idx(day.index)}"


def _alerts(party: str, d: dt.date, day: _Day, details: dict, withheld: Decimal) -> list:
    rows = []
    for sec in day.sections or []:
        for a in details.get((sec, d), []):
            rows.append((d.isoformat(), party, a["cause"], sec, a["station"], a["indicator"],
                         a["value"], a["limit"], a["unit"], a["n_valid"], fmt(withheld),
                         a["message"]))
    if not rows:
        cause = "no_data" if day.sections is None else "anomaly"
        sec = ";".join(day.sections or [])
        rows.append((d.isoformat(), party, cause, sec, "", "", "", "", "", "", fmt(withheld),
                     "; ".join(r for r in (day.reasons or []) if r) or cause))
    return rows


# -- readers ------------------------------------------------------------------------------------
def _rows(path: Path, columns: tuple[str, ...], what: str):
    return read_csv_rows(path, columns, what)


def _int(path: Path, line: int, field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputDataError(str(path), f"'{text}' is not an integer", "write a year",
                             line=line, field=field) from None


def _dec(path: Path, line: int, field: str, text: str, money: bool = False) -> Decimal:
    return parse_decimal(text, file=str(path), field=field, line=line, money=money)


def _date(path: Path, line: int, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputDataError(str(path), f"'{text}' is not a date", "write YYYY-MM-DD",
                             line=line, field="date") from None


def _entitlements(path: Path, year: int, upstream: list[str],
                  accounts: list[str]) -> dict[str, dict[str, Decimal]]:
    out: dict[str, dict[str, Decimal]] = {}
    years: set[int] = set()
    for line, row in _rows(path, TRANSFER_HEADER, "compensation transfers"):
        for side in ("from_account", "to_account"):
            if row[side] not in accounts:
                raise InputDataError(str(path), f"'{row[side]}' is not an account of the "
                                     "agreement", unknown_id_fix(row[side], accounts,
                                                                 "the agreement"),
                                     line=line, field=side)
        row_year = _int(path, line, "year", row["year"])
        years.add(row_year)
        if row_year != year:
            continue
        if row["clause"] not in ENTITLEMENT_CLAUSES or row["to_account"] not in upstream:
            continue
        amount = _dec(path, line, "amount_cny", row["amount_cny"], money=True)
        if amount < 0 or to_fen(amount) != amount:
            raise InputDataError(str(path), f"amount {row['amount_cny']} is not a positive "
                                 "amount in fen", "amounts have two decimals and are "
                                 "positive", line=line, field="amount_cny")
        per = out.setdefault(row["to_account"], {})
        per[row["from_account"]] = per.get(row["from_account"], ZERO) + amount
    if year not in years:
        found = ", ".join(str(y) for y in sorted(years)) or "none"
        raise InputDataError(str(path), f"no settlement for {year} (years settled: {found})",
                             "pass --entitlement-year with a settled year, or run gep "
                             f"allocate with water-quality data for {year}", field="year")
    return out


def _read_daily_index(path: Path, year: int, upstream: list[str],
                      agreement_ids: list[str]) -> dict:
    cols = ("date", "section", "index", "anomaly", "reason", "party_id")
    out: dict[tuple[str, dt.date], _Day] = {}
    seen_parties: set[str] = set()
    any_year = False
    for line, row in _rows(path, cols, "daily index"):
        d = _date(path, line, row["date"])
        if d.year != year:
            continue
        any_year = True
        party = row["party_id"]
        if party not in upstream:
            if party and party not in agreement_ids and suggest(party, agreement_ids,
                                                                case_only=True):
                raise InputDataError(str(path), f"party '{party}' is not an account of the "
                                     "agreement", unknown_id_fix(party, agreement_ids,
                                                                 "the agreement"),
                                     line=line, field="party_id")
            continue
        seen_parties.add(party)
        if row["anomaly"] not in ("true", "false"):
            raise InputDataError(str(path), f"anomaly '{row['anomaly']}' is not true or false",
                                 "write true or false", line=line, field="anomaly")
        idx = _dec(path, line, "index", row["index"]) if row["index"] else None
        if idx is not None and not 0 <= idx <= 1:
            raise InputDataError(str(path), f"index {idx} is outside [0, 1]",
                                 "recompute the daily index with gep monitor", line=line,
                                 field="index")
        day = out.setdefault((party, d), _Day(reasons=[], sections=[]))
        day.sections.append(row["section"])
        if idx is None:
            day.anomaly = True
            day.reasons.append(row["reason"] or f"no index at {row['section']}")
        elif day.index is None or idx < day.index:
            day.index = idx
        if row["anomaly"] == "true":
            day.anomaly = True
            day.reasons.append(row["reason"])
    if not any_year:
        raise InputDataError(str(path), f"no rows for {year}", f"run gep monitor on readings "
                             f"covering {year}, or dispatch a year the index covers",
                             field="date")
    missing = [p for p in upstream if p not in seen_parties]
    if missing:
        raise InputDataError(str(path), f"no section of upstream party "
                             f"'{missing[0]}' in {year}", "give the party an outlet station "
                             "(role outlet, party_id) in the stations file", field="party_id")
    return out


def _read_anomalies(path: Path, year: int) -> dict:
    cols = ("date", "section", "station", "cause", "indicator", "value", "limit", "unit",
            "n_valid", "message")
    out: dict[tuple[str, dt.date], list[dict]] = {}
    for line, row in _rows(path, cols, "anomalies"):
        d = _date(path, line, row["date"])
        if d.year == year:
            out.setdefault((row["section"], d), []).append(row)
    return out


def _read_quality(path: Path | str, year: int, agreement,
                  rows=None) -> dict[str, Decimal]:
    """The bet section's annual means of ``year`` from section_quality.csv at ``path``, or
    from ``rows`` ((line, {column: text}) as that file's reader yields them; ``path`` then
    names where they come from in messages)."""
    from gep.compensation.inputs import plausible_overrides

    section = agreement.water_quality_bet.section
    overrides = plausible_overrides(agreement)
    bet = agreement.water_quality_bet.indicators
    out: dict[str, Decimal] = {}
    cols = ("year", "section", "indicator", "concentration_mg_l")
    for line, row in rows if rows is not None else _rows(path, cols, "section quality"):
        if row["section"] != section or _int(path, line, "year", row["year"]) != year:
            continue
        conc = _dec(path, line, "concentration_mg_l", row["concentration_mg_l"])
        if row["indicator"] in bet or row["indicator"] in PLAUSIBLE_MG_L:
            check_concentration(conc, row["indicator"], file=str(path), line=line,
                                field="concentration_mg_l", overrides=overrides)
        out[row["indicator"]] = conc
    if not out:
        raise InputDataError(str(path), f"no annual means for section '{section}' in {year}",
                             "run gep monitor on that year's readings (the escrow is settled "
                             "on the year's P index)", field="year")
    return out
