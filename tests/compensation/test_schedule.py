"""One settlement schedule (gep.compensation.schedule) for allocate, dispatch and publish."""
from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from gep.compensation.schedule import Schedule

from .helpers import ISSUE_AGREEMENT

REPO = Path(__file__).resolve().parents[2]


def test_settled_and_dispatched_years_by_hand():
    s = Schedule(2020, 2022)
    years = list(range(2018, 2026))
    assert s.settled(years) == [2021, 2022]          # after base_year, up to end_year
    assert s.dispatched(years) == [2022, 2023]       # the year after each settled year
    assert [s.entitlement_year(y) for y in (2021, 2022, 2023, 2024)] == [None, 2021, 2022, None]
    open_ended = Schedule(2020)
    assert open_ended.settled(years) == [2021, 2022, 2023, 2024, 2025]
    assert open_ended.dispatched(years) == [2022, 2023, 2024, 2025]
    # a dispatch year needs its settled year among the years run
    assert open_ended.dispatched([2021, 2023, 2024]) == [2024]


@pytest.mark.parametrize("end", [None, 2021, 2023, 2030])
@pytest.mark.parametrize("last", [2021, 2022, 2024])
def test_the_engine_settles_what_the_schedule_says(end, last):
    """compensation.inputs (allocate) and the schedule agree, end_year included."""
    from gep.compensation import validate_agreement
    from gep.compensation.inputs import settled_years

    data = copy.deepcopy(ISSUE_AGREEMENT)
    if end is not None:
        data["end_year"] = end
    a = validate_agreement(data)
    full = {i: Decimal("1") for i in a.water_quality_bet.indicators}
    quality = {y: dict(full) for y in range(2019, last + 1)}
    expected = [y for y in range(2019, last + 1) if y > 2020 and (end is None or y <= end)]
    assert settled_years(a, quality, "q.csv") == expected
    assert Schedule.of(a).through(last) == expected


def test_publish_and_the_rules_honour_end_year(tmp_path):
    """gep publish (and the dispatch rule's years) stop after the agreement's end_year."""
    from gep.config import load_config
    from gep.publish import dispatch_years, settled_years

    agreement = yaml.safe_load((REPO / "config" / "agreement.yaml").read_text(encoding="utf-8"))
    agreement["end_year"] = 2022
    path = tmp_path / "agreement.yaml"
    path.write_text(yaml.safe_dump(agreement, allow_unicode=True), encoding="utf-8")
    cfg = load_config(REPO / "config" / "config.yaml",
                      overrides={"compensation": {"agreement": str(path)}})
    base = agreement["base_year"]
    assert settled_years(cfg) == [y for y in cfg.years if base < y <= 2022]
    assert dispatch_years(cfg) == [y for y in cfg.years if base < y - 1 <= 2022]
    assert max(dispatch_years(cfg)) == 2023 and 2024 in cfg.years
