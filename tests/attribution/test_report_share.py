"""The report's sentence: the share of the reward pool that comes from land use."""
from __future__ import annotations

import pytest

from gep.report.sections import land_use_share


def _summary(basis, parties):
    return {"rules": {"reward_basis": basis},
            "by_year": {"2021": {"parties": parties}}}


def test_land_use_basis_is_all_land_use():
    s = _summary("land_use", {"a": {"entitlement_reward": "30.00", "increment": "200.00"}})
    assert land_use_share(s) == (1.0, 30.0)


def test_total_basis_counts_the_land_use_part_of_each_gain():
    # a: gain 100 of which 40 from land use, entitled 15; b: gain 50 while its land-use change
    # is negative (all weather), entitled 7.5; c: land-use change above its gain counts fully
    s = _summary("total", {
        "a": {"entitlement_reward": "15.00", "increment": "100.00", "change_land_use": "40.00"},
        "b": {"entitlement_reward": "7.50", "increment": "50.00", "change_land_use": "-10.00"},
        "c": {"entitlement_reward": "1.50", "increment": "10.00", "change_land_use": "25.00"},
        "d": {"entitlement_reward": "0.00", "increment": "0.00", "change_land_use": "5.00"}})
    share, pool = land_use_share(s)
    assert pool == pytest.approx(24.0)
    assert share == pytest.approx((15 * 0.4 + 0 + 1.5) / 24.0)


def test_no_reward_has_no_share():
    s = _summary("land_use", {"a": {"entitlement_reward": "0.00", "increment": "0.00"}})
    assert land_use_share(s) == (None, 0.0)
