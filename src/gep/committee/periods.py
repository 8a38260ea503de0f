"""Committee periods: a month ``2024-03``, a quarter ``2024-Q1`` or a year ``2024``."""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from gep.errors import InputDataError

_RE = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$")


@dataclass(frozen=True)
class Period:
    kind: str          # month | quarter | year
    year: int
    number: int = 0    # month 1-12 or quarter 1-4

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.number}"
        return str(self.year)

    @property
    def start(self) -> dt.date:
        if self.kind == "month":
            return dt.date(self.year, self.number, 1)
        if self.kind == "quarter":
            return dt.date(self.year, 3 * self.number - 2, 1)
        return dt.date(self.year, 1, 1)

    @property
    def end(self) -> dt.date:
        if self.kind == "month":
            return dt.date(self.year, self.number,
                           calendar.monthrange(self.year, self.number)[1])
        if self.kind == "quarter":
            m = 3 * self.number
            return dt.date(self.year, m, calendar.monthrange(self.year, m)[1])
        return dt.date(self.year, 12, 31)

    @property
    def title(self) -> tuple[str, str]:
        if self.kind == "month":
            return (f"{self.year} 年 {self.number} 月议事议程",
                    f"Monthly agenda, {calendar.month_name[self.number]} {self.year}")
        if self.kind == "quarter":
            return (f"{self.year} 年第 {self.number} 季度通报",
                    f"Quarterly bulletin, Q{self.number} {self.year}")
        return f"{self.year} 年度评估", f"Annual assessment {self.year}"

    def previous_quarter(self) -> Period:
        assert self.kind == "quarter"
        if self.number == 1:
            return Period("quarter", self.year - 1, 4)
        return Period("quarter", self.year, self.number - 1)


def parse_period(text: str, years: list[int] | None = None) -> Period:
    m = _RE.match(text.strip())
    if not m:
        raise InputDataError("<command line>", f"period '{text}' is not YYYY-MM, YYYY-Qn or "
                             "YYYY", "write e.g. --period 2024-03, 2024-Q1 or 2024",
                             field="--period")
    year = int(m.group(1))
    if years is not None and year not in years:
        raise InputDataError("<command line>", f"period '{text}' lies outside the configured "
                             f"years {years[0]}-{years[-1]}", "pick a configured year",
                             field="--period")
    if m.group(2):
        return Period("month", year, int(m.group(2)))
    if m.group(3):
        return Period("quarter", year, int(m.group(3)))
    return Period("year", year)


def periods_of_year(year: int) -> list[Period]:
    return ([Period("month", year, m) for m in range(1, 13)]
            + [Period("quarter", year, q) for q in range(1, 5)] + [Period("year", year)])
