"""Points rules of config/portal.yaml, as one pure function (the service stores its result
as an append-only points entry)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from gep.portal.settings import PointsRules


@dataclass(frozen=True)
class Award:
    points: int
    reason: str
    base: int = 0
    distance: int = 0
    findings: int = 0


def patrol_award(rules: PointsRules, km_in_party: float, confirmed_findings: int,
                 earlier_today: int, day: date) -> Award:
    """Points for one accepted patrol.

    ``earlier_today``: accepted patrols of the same chief on the same local day that already
    earned points. Past ``daily_patrol_limit`` the patrol earns 0 and the reason says why.
    """
    if earlier_today >= rules.daily_patrol_limit:
        return Award(0, f"daily limit reached: {rules.daily_patrol_limit} accepted patrol(s) "
                        f"per day already earned points on {day.isoformat()} "
                        f"(每日积分巡河次数已满)")
    whole_km = math.floor(km_in_party + 1e-9)
    base = rules.per_patrol
    distance = rules.per_km * whole_km
    capped = min(base + distance, rules.max_per_patrol)
    distance = capped - base if capped >= base else 0
    base = min(base, capped)
    found = rules.per_confirmed_finding * confirmed_findings
    total = base + distance + found
    reason = (f"accepted patrol on {day.isoformat()}: {base} + {whole_km} km x "
              f"{rules.per_km} (cap {rules.max_per_patrol}) = {base + distance}; "
              f"{confirmed_findings} confirmed finding(s) x {rules.per_confirmed_finding} = "
              f"{found}")
    return Award(total, reason, base, distance, found)
