"""The settlement schedule: which years an agreement settles and which years pay them out.

One answer for the engine (``gep allocate``), the daily dispatch (``gep dispatch``, ``gep
daily``), the ledger (``gep publish``), the committee and the Snakemake rules:

* year ``t`` is *settled* when ``base_year < t`` and, if the agreement has an ``end_year``,
  ``t <= end_year``;
* a settled year ``t`` is paid out day by day during ``t + 1`` (its P index is known only at
  the end of ``t``), so ``t + 1`` is a *dispatch year*, and the escrow of ``t + 1`` is settled
  on P of ``t + 1`` (docs/monitoring.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from gep.compensation.agreement import Agreement
    from gep.config import Config


@dataclass(frozen=True)
class Schedule:
    base_year: int
    end_year: int | None = None

    @classmethod
    def of(cls, agreement: "Agreement") -> "Schedule":
        return cls(agreement.base_year, agreement.end_year)

    def settles(self, year: int) -> bool:
        """Whether the agreement settles ``year``."""
        return self.base_year < year and (self.end_year is None or year <= self.end_year)

    def settled(self, years: Iterable[int]) -> list[int]:
        """The years of ``years`` the agreement settles."""
        return [y for y in years if self.settles(y)]

    def through(self, last: int) -> list[int]:
        """Every settled year from ``base_year + 1`` up to ``last`` (capped by ``end_year``)."""
        if self.end_year is not None:
            last = min(last, self.end_year)
        return list(range(self.base_year + 1, last + 1))

    def entitlement_year(self, year: int) -> int | None:
        """The settled year whose payments are paid out during ``year`` (None: nothing)."""
        return year - 1 if self.settles(year - 1) else None

    def dispatched(self, years: Iterable[int]) -> list[int]:
        """The years of ``years`` that pay out a settled year also among ``years``."""
        years = list(years)
        settled = set(self.settled(years))
        return [y for y in years if y - 1 in settled]


def for_config(cfg: "Config") -> Schedule | None:
    """The schedule of the basin's agreement (None when the basin has none)."""
    if cfg.compensation.agreement is None:
        return None
    from gep.compensation.agreement import load_agreement

    return Schedule.of(load_agreement(cfg.path(cfg.compensation.agreement)))


def settled_years(cfg: "Config") -> list[int]:
    """Configured years the compensation engine settles."""
    s = for_config(cfg)
    return s.settled(cfg.years) if s is not None else []


def dispatch_years(cfg: "Config") -> list[int]:
    """Configured years whose days pay out the previous year's settlement."""
    s = for_config(cfg)
    return s.dispatched(cfg.years) if s is not None else []
