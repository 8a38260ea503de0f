"""The settlement's inputs built in memory (gep.tuning.settlement)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from gep.compensation import load_agreement
from gep.errors import InputDataError
from gep.tuning.settlement import attribution_from_rows, payout_rows


@pytest.fixture(scope="module")
def agreement(repo):
    return load_agreement(repo / "config" / "agreement.yaml")


def rows_for(agreement, years, skip=None):
    out = []
    for y in years:
        for acc in agreement.accounts_with("upstream"):
            if (y, acc.id) == skip:
                continue
            out.append(dict(year=y, party_id=acc.id, service="water_conservation",
                            total="10.00", land_use="7.50", climate="2.50"))
    return out


def test_attribution_rows_become_the_engines_nested_decimals(agreement):
    att = attribution_from_rows(rows_for(agreement, [2021, 2022]), agreement, [2021, 2022])
    up = agreement.accounts_with("upstream")[0].id
    assert att[2022][up]["water_conservation"] == {
        "total": Decimal("10.00"), "land_use": Decimal("7.50"), "climate": Decimal("2.50")}


def test_an_upstream_account_without_gep_for_a_settled_year_is_refused(agreement):
    up = agreement.accounts_with("upstream")[-1].id
    with pytest.raises(InputDataError, match=f"upstream account '{up}' has no rows for 2022"):
        attribution_from_rows(rows_for(agreement, [2021, 2022], skip=(2022, up)), agreement,
                              [2021, 2022])


def test_payouts_of_a_demo_settlement_net_to_zero_each_year(agreement, repo):
    from gep.compensation import settle
    from gep.compensation.inputs import read_quality, settled_years
    from gep.tuning.settlement import engine_inputs

    quality = repo / "config" / "demo" / "section_quality_standin.csv"
    years = settled_years(agreement, read_quality(quality, agreement), quality)
    inputs = engine_inputs(agreement, rows_for(agreement, [agreement.base_year] + years),
                           quality)
    assert inputs.years == years
    pay = payout_rows(settle(agreement, inputs))
    for y in years:
        nets = [Decimal(repr(v)) for py, _, c, v, _ in pay if c == "payout_net" and py == y]
        assert len(nets) == len(agreement.accounts) and sum(nets) == 0
    assert any(v != 0 for _, _, c, v, _ in pay if c == "payout_net")   # money did move
