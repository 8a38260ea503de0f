"""Readers for the engine's input tables, checked against the agreement.

Plain ``csv`` rather than pandas on purpose: amounts must be parsed from their text into exact
Decimals (never through float), every error must name the line and field, and importing
``gep.compensation`` must stay light for the daily dispatch.

Decisions on parties (documented in docs/compensation.md):

- ``increments.csv`` comes from the GEP stage, which values every party of the basin. Rows for
  downstream accounts are ignored: they are not in the reward. A party id the agreement does not
  name, or a service gep does not value, is an error (with "did you mean" for another case or a
  near miss): ignoring it once turned ``Shanyuan`` into a silent loss of its reward. Every
  *upstream* account must have rows for every settled year when the agreement has a reward.
- ``performance.csv`` and ``incidents.csv`` are written for the agreement: a row naming an
  account the agreement does not have is an error.
- Every file is read by :func:`gep.tables.read_table` (UTF-8, no thousands separators, as many
  fields as the header); concentrations must be plausible (:data:`gep.tables.PLAUSIBLE_MG_L`,
  widened per indicator by ``water_quality_bet.plausible_mg_l``); money is at most
  :data:`gep.tables.MAX_MONEY_CNY`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from gep.compensation.agreement import Agreement
from gep.compensation.schedule import Schedule
from gep.errors import ConfigError, InputDataError
from gep.services import VALUED_SERVICES
from gep.tables import (
    PLAUSIBLE_MG_L,
    check_concentration,
    parse_decimal,
    read_table,
    suggest,
)

INCREMENTS_COLUMNS = ("year", "party_id", "service", "delta_value_cny_constant")
ATTRIBUTION_COLUMNS = ("year", "party_id", "service", "total", "land_use", "climate")
QUALITY_COLUMNS = ("year", "section", "indicator", "concentration_mg_l")
PERFORMANCE_COLUMNS = ("year", "party_id", "target", "met")
INCIDENTS_COLUMNS = ("date", "party_id", "damage_cny", "description")


@dataclass(frozen=True)
class Incident:
    line: int
    date: dt.date
    party_id: str
    damage: Decimal
    description: str

    @property
    def year(self) -> int:
        return self.date.year


@dataclass
class EngineInputs:
    """Everything the engine needs besides the agreement, already validated."""

    years: list[int]
    #: year -> indicator -> annual mean concentration (mg/L) at the bet's section
    quality: dict[int, dict[str, Decimal]]
    #: year -> party_id -> service -> delta value (CNY, constant prices) on the reward's basis
    increments: dict[int, dict[str, dict[str, Decimal]]] = field(default_factory=dict)
    #: year -> party_id -> service -> {"total", "land_use", "climate"} (attribution table)
    attribution: dict[int, dict[str, dict[str, dict[str, Decimal]]]] = field(
        default_factory=dict)
    #: year -> party_id -> list of (target, met)
    performance: dict[int, dict[str, list[tuple[str, bool]]]] = field(default_factory=dict)
    incidents: list[Incident] = field(default_factory=list)


# -- generic CSV helpers ------------------------------------------------------------------------
def _rows(path: Path, columns: tuple[str, ...], what: str) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` after the checks of :func:`gep.tables.read_table`."""
    for row in read_table(path, columns, what):
        yield row.line, row.values


def _year(path: Path, line: int, value: str) -> int:
    if not value.isdigit():
        raise InputDataError(str(path), f"'{value}' is not a year", "write a four-digit year",
                             line=line, field="year")
    year = int(value)
    if not 1900 <= year <= 2200:
        raise InputDataError(str(path), f"year {year} is out of range",
                             "write a four-digit year", line=line, field="year")
    return year


def _decimal(path: Path, line: int, name: str, value: str, *, min_value: Decimal | None = None,
             positive: bool = False, money: bool = False) -> Decimal:
    return parse_decimal(value, file=str(path), field=name, line=line, min_value=min_value,
                         positive=positive, money=money)


def _unknown_account(path: Path, line: int, party: str, allowed: list[str], what: str):
    guess = suggest(party, allowed)
    fix = (f"did you mean '{guess}'? Ids are matched exactly (case too)" if guess else
           f"use one of {', '.join(allowed)}, or add it to the agreement's accounts")
    return InputDataError(str(path), f"party '{party}' is not an account of the agreement"
                          f" ({what})", fix, line=line, field="party_id")


def plausible_overrides(agreement: Agreement) -> dict[str, tuple[Decimal, Decimal]]:
    """``water_quality_bet.plausible_mg_l`` as indicator -> (low, high)."""
    return {k: (v[0], v[1]) for k, v in agreement.water_quality_bet.plausible_mg_l.items()}


# -- readers ------------------------------------------------------------------------------------
def read_quality(path: str | Path, agreement: Agreement) -> dict[int, dict[str, Decimal]]:
    """Annual mean concentrations at the bet's section (other sections are ignored)."""
    path = Path(path)
    section = agreement.water_quality_bet.section
    out: dict[int, dict[str, Decimal]] = {}
    sections: set[str] = set()
    bet = list(agreement.water_quality_bet.indicators)
    overrides = plausible_overrides(agreement)
    for line, row in _rows(path, QUALITY_COLUMNS, "section quality"):
        sections.add(row["section"])
        if row["section"] != section:
            if suggest(row["section"], [section], case_only=True) == section:
                raise InputDataError(str(path), f"section '{row['section']}' is not the "
                                     f"bet's section", f"did you mean '{section}'? Ids are "
                                     "matched exactly (case too)", line=line, field="section")
            continue
        year = _year(path, line, row["year"])
        ind = row["indicator"]
        if ind not in bet and suggest(ind, bet, case_only=True) is not None:
            raise InputDataError(str(path), f"indicator '{ind}' is not an indicator of the "
                                 f"bet ({', '.join(bet)})", f"did you mean "
                                 f"'{suggest(ind, bet, case_only=True)}'? Ids are matched "
                                 "exactly (case too)",
                                 line=line, field="indicator")
        conc = _decimal(path, line, "concentration_mg_l", row["concentration_mg_l"],
                        min_value=Decimal(0))
        if ind in bet or ind in PLAUSIBLE_MG_L:
            check_concentration(conc, ind, file=str(path), line=line,
                                field="concentration_mg_l", overrides=overrides)
        per_year = out.setdefault(year, {})
        if ind in per_year:
            raise InputDataError(str(path), f"indicator '{ind}' appears twice for {year} at "
                                 f"section '{section}'", "keep one annual mean per year, "
                                 "section and indicator", line=line, field="indicator")
        per_year[ind] = conc
    if not out:
        found = ", ".join(sorted(sections)) or "none"
        raise InputDataError(str(path), f"no rows for section '{section}' (sections found: "
                             f"{found})", "set water_quality_bet.section to the monitored "
                             "section, or add its rows", field="section")
    return out


def settled_years(agreement: Agreement, quality: dict[int, dict[str, Decimal]],
                  quality_path: str | Path) -> list[int]:
    """Years base_year+1 .. last year with quality data at the section (capped by end_year).

    Every settled year must have every indicator of the bet: a missing indicator is an error,
    never a zero. CPI is checked here too when a clause is indexed.
    """
    last = max(quality)
    if agreement.end_year is not None:
        last = min(last, agreement.end_year)
    first = agreement.base_year + 1
    if last < first:
        raise InputDataError(str(quality_path), f"no water-quality year after base_year "
                             f"{agreement.base_year} (last year found {max(quality)})",
                             f"add annual means for {first} onwards", field="year")
    years = Schedule.of(agreement).through(max(quality))
    needed = list(agreement.water_quality_bet.indicators)
    for y in years:
        have = quality.get(y, {})
        missing = [i for i in needed if i not in have]
        if missing:
            raise InputDataError(str(quality_path), f"missing indicator(s) "
                                 f"{', '.join(missing)} for {y} at section "
                                 f"'{agreement.water_quality_bet.section}'",
                                 f"add the annual mean concentration (mg/L) of each of "
                                 f"{', '.join(needed)} for every year from {first} to {last}",
                                 field="indicator")
    if agreement.base_payment > 0 or agreement.reward is not None or \
            any(ft.cpi_indexed for ft in agreement.fixed_transfers):
        agreement.cpi_factor(last)  # raises ConfigError naming the missing cpi year
    return years


def read_increments(path: str | Path | None, agreement: Agreement,
                    years: list[int]) -> dict[int, dict[str, dict[str, Decimal]]]:
    """GEP increments by year, party and service. See the module docstring on parties."""
    if path is None:
        if agreement.reward is not None:
            raise ConfigError("reward", "the agreement has a GEP reward but no increments "
                              "file was given", "pass --increments results/<basin>/gep/"
                              "increments.csv", file=agreement.source)
        return {}
    path = Path(path)
    out: dict[int, dict[str, dict[str, Decimal]]] = {}
    ids = agreement.account_ids
    for line, row in _rows(path, INCREMENTS_COLUMNS, "GEP increments"):
        year = _year(path, line, row["year"])
        party, service = row["party_id"], row["service"]
        if not party:
            raise InputDataError(str(path), "empty party_id", "fill in the party id",
                                 line=line, field="party_id")
        if party not in ids:
            raise _unknown_account(path, line, party, ids, "GEP increments")
        if service not in VALUED_SERVICES:
            guess = suggest(service, VALUED_SERVICES)
            raise InputDataError(str(path), f"service '{service}' is not a service gep "
                                 "values", f"did you mean '{guess}'? Ids are matched exactly "
                                 "(case too)" if guess else
                                 f"use one of {', '.join(VALUED_SERVICES)}", line=line,
                                 field="service")
        value = _decimal(path, line, "delta_value_cny_constant",
                         row["delta_value_cny_constant"], money=True)
        _store_once(out, year, party, service, value, path, line)
    if agreement.reward is not None:
        all_parties = {p for per_year in out.values() for p in per_year}
        for acc in agreement.accounts_with("upstream"):
            if acc.id not in all_parties:
                raise InputDataError(str(path), f"upstream account '{acc.id}' named in the "
                                     "agreement has no rows", "check the party_id spelling "
                                     f"against the agreement (parties found: "
                                     f"{', '.join(sorted(all_parties)) or 'none'})",
                                     field="party_id")
            for y in years:
                if acc.id not in out.get(y, {}):
                    raise InputDataError(str(path), f"upstream account '{acc.id}' has no rows "
                                         f"for {y}", f"add its increments for {y} (0 when "
                                         "unchanged); every settled year needs them",
                                         field="year")
    return out


def _store_once(out: dict, year: int, party: str, service: str, value, path: Path,
                line: int) -> None:
    """``out[year][party][service] = value``; a second row for the same key is an error."""
    per = out.setdefault(year, {}).setdefault(party, {})
    if service in per:
        raise InputDataError(str(path), f"service '{service}' appears twice for party "
                             f"'{party}' in {year}", "keep one row per year, party and "
                             "service", line=line, field="service")
    per[service] = value


def read_attribution(path: str | Path, agreement: Agreement, years: list[int]
                     ) -> dict[int, dict[str, dict[str, dict[str, Decimal]]]]:
    """The GEP stage's attribution table: per year, party and service the change of actual GEP
    (``total``), of reference-climate GEP (``land_use``) and ``climate = total - land_use``
    (checked exactly). Parties as in :func:`read_increments`."""
    path = Path(path)
    out: dict[int, dict[str, dict[str, dict[str, Decimal]]]] = {}
    for line, row in _rows(path, ATTRIBUTION_COLUMNS, "GEP attribution"):
        year = _year(path, line, row["year"])
        party, service = row["party_id"], row["service"]
        if not party:
            raise InputDataError(str(path), "empty party_id", "fill in the party id",
                                 line=line, field="party_id")
        vals = {k: _decimal(path, line, k, row[k]) for k in ("total", "land_use", "climate")}
        if vals["climate"] != vals["total"] - vals["land_use"]:
            raise InputDataError(str(path), f"climate {vals['climate']} is not total "
                                 f"{vals['total']} - land_use {vals['land_use']}",
                                 "regenerate the table with gep attribute", line=line,
                                 field="climate")
        _store_once(out, year, party, service, vals, path, line)
    check_attribution_covers_upstream(out, agreement, years, str(path))
    return out


def check_attribution_covers_upstream(attribution: dict, agreement: Agreement,
                                      years: list[int], source: str) -> None:
    """With a reward, every upstream account needs attribution rows for every settled year
    (the table read from a file, or built in memory by a tuning study)."""
    if agreement.reward is None:
        return
    all_parties = {p for per_year in attribution.values() for p in per_year}
    for acc in agreement.accounts_with("upstream"):
        for y in years:
            if acc.id not in attribution.get(y, {}):
                raise InputDataError(source, f"upstream account '{acc.id}' has no rows "
                                     f"for {y}", "check the party_id spelling against the "
                                     "agreement (parties found: "
                                     f"{', '.join(sorted(all_parties)) or 'none'}) and "
                                     "that the GEP years cover every settled year",
                                     field="party_id")


def increments_on_basis(attribution: dict, agreement: Agreement) -> dict:
    """The reward's increments: the attribution's column ``reward.basis`` per year, party and
    service (``land_use`` when the agreement has no reward)."""
    basis = agreement.reward.basis if agreement.reward is not None else "land_use"
    return {y: {p: {s: v[basis] for s, v in per.items()} for p, per in by.items()}
            for y, by in attribution.items()}


_TRUE = {"true": True, "false": False, "1": True, "0": False}


def read_performance(path: str | Path | None,
                     agreement: Agreement) -> dict[int, dict[str, list[tuple[str, bool]]]]:
    """Performance targets (责任清单) met or not, by year and party. Unknown party: error."""
    if path is None:
        return {}
    path = Path(path)
    ids = agreement.account_ids
    out: dict[int, dict[str, list[tuple[str, bool]]]] = {}
    for line, row in _rows(path, PERFORMANCE_COLUMNS, "performance"):
        year = _year(path, line, row["year"])
        party, target = row["party_id"], row["target"]
        if party not in ids:
            raise _unknown_account(path, line, party, ids, "performance targets")
        if not target:
            raise InputDataError(str(path), "empty target", "name the target",
                                 line=line, field="target")
        met = _TRUE.get(row["met"].lower())
        if met is None:
            raise InputDataError(str(path), f"'{row['met']}' is not true or false",
                                 "write true or false", line=line, field="met")
        targets = out.setdefault(year, {}).setdefault(party, [])
        if any(t == target for t, _ in targets):
            raise InputDataError(str(path), f"target '{target}' appears twice for '{party}' "
                                 f"in {year}", "keep one row per year, party and target",
                                 line=line, field="target")
        targets.append((target, met))
    return out


def read_incidents(path: str | Path | None, agreement: Agreement,
                   years: list[int]) -> list[Incident]:
    """Ecological-damage incidents; each costs the party ``punitive_multiplier * damage``."""
    if path is None:
        return []
    path = Path(path)
    responsible = [a.id for a in agreement.accounts if a.role in ("upstream", "downstream")]
    out: list[Incident] = []
    for line, row in _rows(path, INCIDENTS_COLUMNS, "incidents"):
        party = row["party_id"]
        if party not in responsible:
            if party in agreement.account_ids:
                raise InputDataError(str(path), f"account '{party}' is a "
                                     f"{agreement.account(party).role} account and cannot be "
                                     "held responsible for damage", "name the upstream or "
                                     "downstream party responsible", line=line,
                                     field="party_id")
            raise _unknown_account(path, line, party, responsible, "incidents")
        try:
            date = dt.date.fromisoformat(row["date"])
        except ValueError:
            raise InputDataError(str(path), f"'{row['date']}' is not a date",
                                 "write it as YYYY-MM-DD", line=line, field="date") from None
        if date.year not in years:
            raise InputDataError(str(path), f"incident dated {date} is outside the settled "
                                 f"years {years[0]}-{years[-1]}", "settle it in a run whose "
                                 "water-quality data cover its year, or correct the date",
                                 line=line, field="date")
        damage = _decimal(path, line, "damage_cny", row["damage_cny"], positive=True,
                          money=True)
        out.append(Incident(line, date, party, damage, row["description"]))
    if out and agreement.punitive_multiplier is None:
        raise ConfigError("punitive_multiplier", f"{path} lists incidents but the agreement "
                          "has no punitive_multiplier", "add punitive_multiplier: 3 and a fund "
                          "account, or drop --incidents", file=agreement.source)
    return out


def read_inputs(agreement: Agreement, increments_path, quality_path, performance_path=None,
                incidents_path=None, attribution_path=None) -> EngineInputs:
    """Read and check every input file; raise before anything is computed or written.

    The reward reads the attribution table when given (column ``reward.basis``); an
    increments file alone serves only ``reward.basis: total`` (its deltas are totals)."""
    quality = read_quality(quality_path, agreement)
    years = settled_years(agreement, quality, quality_path)
    attribution: dict = {}
    if attribution_path is not None:
        attribution = read_attribution(attribution_path, agreement, years)
        increments = increments_on_basis(attribution, agreement)
    else:
        if agreement.reward is not None and agreement.reward.basis == "land_use" and \
                increments_path is not None:
            raise ConfigError("reward.basis", "land_use needs the attribution table "
                              "(year,party_id,service,total,land_use,climate), but only an "
                              "increments file was given", "pass --attribution results/"
                              "<basin>/gep/attribution.csv, or set reward.basis: total",
                              file=agreement.source)
        increments = read_increments(increments_path, agreement, years)
    return EngineInputs(
        years=years,
        quality={y: quality[y] for y in years},
        increments=increments,
        attribution=attribution,
        performance=read_performance(performance_path, agreement),
        incidents=read_incidents(incidents_path, agreement, years),
    )
