"""Enterprise declarations: one row per enterprise and year, checked completely up front.

``year,enterprise_id,name,party_id,sector,revenue_cny,env_investment_cny,pollutant_baseline_t,
pollutant_reduction_t,green_tech_share,emissions_t,verified``. Money is exact (Decimal, at most
two decimals); tonnes and shares are decimals. The first bad value stops with one
``InputDataError`` naming the file, line and field and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from gep.errors import InputDataError
from gep.io import read_csv_rows
from gep.money import FEN

DECLARATION_COLUMNS = ("year", "enterprise_id", "name", "party_id", "sector", "revenue_cny",
                       "env_investment_cny", "pollutant_baseline_t", "pollutant_reduction_t",
                       "green_tech_share", "emissions_t", "verified")
_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")
TRUE, FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


@dataclass(frozen=True)
class Declaration:
    year: int
    enterprise_id: str
    name: str
    party_id: str
    sector: str
    revenue_cny: Decimal
    env_investment_cny: Decimal
    pollutant_baseline_t: Decimal
    pollutant_reduction_t: Decimal
    green_tech_share: Decimal
    emissions_t: Decimal
    verified: bool
    line: int

    @property
    def env_investment_share(self) -> Decimal:
        return self.env_investment_cny / self.revenue_cny

    @property
    def pollutant_reduction_rate(self) -> Decimal:
        return self.pollutant_reduction_t / self.pollutant_baseline_t


def _num(src: str, line: int, field: str, text: str) -> Decimal:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise InputDataError(src, f"'{text}' is not a number", "write a plain decimal, e.g. "
                             "1250000.00", line=line, field=field) from None
    if not d.is_finite():
        raise InputDataError(src, f"'{text}' is not finite", "write a plain decimal",
                             line=line, field=field)
    return d


NUMBER_FIELDS = ("revenue_cny", "env_investment_cny", "pollutant_baseline_t",
                 "pollutant_reduction_t", "green_tech_share", "emissions_t")


def read_declarations(path: str | Path, parties: set[str] | None = None) -> list[Declaration]:
    """Read and check every row; ``parties`` (when given) are the known party ids."""
    src = str(path)
    out: list[Declaration] = []
    seen: dict[tuple[int, str], int] = {}
    for line, row in read_csv_rows(path, DECLARATION_COLUMNS, "declarations"):
        def bad(field, problem, fix, line=line):
            return InputDataError(src, problem, fix, line=line, field=field)

        year, eid = _check_identity(row, line, seen, parties, bad)
        vals = {f: _num(src, line, f, row[f]) for f in NUMBER_FIELDS}
        _check_amounts(row, vals, bad)
        _check_pollutants(row, vals, bad)
        v = row["verified"].lower()
        if v not in TRUE | FALSE:
            raise bad("verified", f"'{row['verified']}' is not true or false",
                      "write true or false")
        out.append(Declaration(year, eid, row["name"], row["party_id"], row["sector"],
                               line=line, verified=v in TRUE, **vals))
    if not out:
        raise InputDataError(src, "no declarations", "add one row per enterprise and year")
    return out


def _check_identity(row: dict, line: int, seen: dict[tuple[int, str], int],
                    parties: set[str] | None, bad) -> tuple[int, str]:
    """(year, enterprise id) of a row: a year, a well-formed id declared once per year, and a
    known party. Records the row in ``seen``."""
    try:
        year = int(row["year"])
    except ValueError:
        raise bad("year", f"'{row['year']}' is not a year", "write four digits, e.g. "
                  "2024") from None
    eid = row["enterprise_id"]
    if not _ID.match(eid):
        raise bad("enterprise_id", f"'{eid}' is empty or has characters other than "
                  "letters, digits, '_', '.', '-'", "use a registry code such as "
                  "E-0001 (it names the certificate file)")
    if (year, eid) in seen:
        raise bad("enterprise_id", f"enterprise '{eid}' is declared twice for {year} "
                  f"(first on line {seen[(year, eid)]})", "keep one row per enterprise "
                  "and year")
    seen[(year, eid)] = line
    party = row["party_id"]
    if parties is not None and party not in parties:
        raise bad("party_id", f"unknown party '{party}'", "use one of "
                  f"{', '.join(sorted(parties))}")
    return year, eid


def _check_amounts(row: dict, vals: dict[str, Decimal], bad) -> None:
    """Revenue and environmental investment: exact to the fen, revenue > 0, 0 <= investment
    <= revenue, green-tech share in [0, 1]."""
    for f in ("revenue_cny", "env_investment_cny"):
        if vals[f] != vals[f].quantize(FEN):
            raise bad(f, f"{row[f]} has more than two decimal places", "amounts are "
                      "exact to the fen (0.01 CNY)")
    if vals["revenue_cny"] <= 0:
        raise bad("revenue_cny", f"revenue {row['revenue_cny']} is not positive",
                  "declare the year's revenue in CNY (> 0)")
    if vals["env_investment_cny"] < 0:
        raise bad("env_investment_cny", "environmental investment is negative",
                  "declare 0 or more")
    if vals["env_investment_cny"] > vals["revenue_cny"]:
        raise bad("env_investment_cny", "environmental investment share of revenue is "
                  "above 1", "check the amounts: the share must lie in [0, 1]")
    if not Decimal(0) <= vals["green_tech_share"] <= 1:
        raise bad("green_tech_share", f"share {row['green_tech_share']} is outside "
                  "[0, 1]", "write a share such as 0.35, not a percentage")


def _check_pollutants(row: dict, vals: dict[str, Decimal], bad) -> None:
    """Baseline > 0, 0 <= reduction <= baseline, emissions >= 0 (tonnes)."""
    if vals["pollutant_baseline_t"] <= 0:
        raise bad("pollutant_baseline_t", "baseline is not positive",
                  "declare the baseline emissions in tonnes (> 0)")
    if vals["pollutant_reduction_t"] < 0:
        raise bad("pollutant_reduction_t", "reduction is negative", "declare 0 or more")
    if vals["pollutant_reduction_t"] > vals["pollutant_baseline_t"]:
        raise bad("pollutant_reduction_t", f"reduction {row['pollutant_reduction_t']} t "
                  f"is larger than the baseline {row['pollutant_baseline_t']} t",
                  "a reduction cannot exceed the baseline")
    if vals["emissions_t"] < 0:
        raise bad("emissions_t", "emissions are negative", "declare 0 or more")
