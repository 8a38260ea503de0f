"""Issue 10 rules: reward on the land-use basis, the high-water mark, the excess tier from the
undiscounted ratio S, and bad input. Expected values by hand (exact fractions)."""
from __future__ import annotations

import subprocess
import sys
from fractions import Fraction as F

import pytest

from gep.compensation import allocate
from gep.errors import ConfigError, InputDataError

from .helpers import agreement_dict, amounts, fen, quality_rows, read_outputs, write_case, \
    write_csv

CPI = {2021: F("1.02"), 2022: F("1.02") * F("1.01"), 2023: F("1.02") * F("1.01") * F("1.002"),
       2024: F("1.02") * F("1.01") * F("1.002") * F("1.002")}
YEARS = (2021, 2022, 2023, 2024)


def attribution(path, rows):
    """rows: (year, party, service, total, land_use) -> an attribution table."""
    return write_csv(path, ["year", "party_id", "service", "total", "land_use", "climate"],
                     [[y, p, s, str(t), str(lu), str(F(t) - F(lu))] for y, p, s, t, lu in
                      ((y, p, s, F(t), F(lu)) for y, p, s, t, lu in rows)])


def run(tmp_path, agreement, rows, factors=None):
    factors = factors or {y: "0.8" for y in YEARS}   # S = 0.8: e = 1, tier factor 1
    paths = write_case(tmp_path / "in", agreement, None, quality_rows(factors))
    att = attribution(tmp_path / "in" / "attribution.csv", rows)
    out = tmp_path / "out"
    allocate(paths["agreement_path"], None, paths["quality_path"], out, attribution_path=att)
    return read_outputs(out)


def reward_of(transfers, year, party):
    return sum(amounts(transfers, year=year, clause="reward", to_account=party).values(),
               F(0))


# up_a's land-use changes: a gain, a loss, a recovery of that loss, a new gain; climate adds
# large swings the land-use basis ignores. up_b never changes its land.
LOSS_AND_RECOVERY = {2021: 100000, 2022: -300000, 2023: 200000, 2024: 150000}
CLIMATE = {2021: 5000000, 2022: -2000000, 2023: 4000000, 2024: -1000000}


def rows_loss_and_recovery():
    rows = []
    for y in YEARS:
        lu = LOSS_AND_RECOVERY[y]
        rows.append((y, "up_a", "water_conservation", lu + CLIMATE[y], lu))
        rows.append((y, "up_a", "biodiversity", 0, 0))
        rows.append((y, "up_b", "water_conservation", CLIMATE[y], 0))
        rows.append((y, "up_b", "biodiversity", 0, 0))
    return rows


def test_high_water_mark_pays_a_recovered_loss_once(tmp_path):
    agr = agreement_dict(base_payment=0, reward={"rate": 0.15, "services": [
        "water_conservation", "biodiversity"]})          # defaults: land_use, high-water mark
    transfers, _, summary = run(tmp_path, agr, rows_loss_and_recovery())
    assert summary["rules"]["reward_basis"] == "land_use"
    assert summary["rules"]["reward_baseline"] == "high_water_mark"
    # levels 100,000 / -200,000 / 0 / 150,000; best earlier level 0 / 100,000 / 100,000 /
    # 100,000: gains above it 100,000 / 0 / 0 / 50,000
    assert reward_of(transfers, 2021, "up_a") == fen(F("0.15") * 100000 * CPI[2021]) \
        == F("15300.00")
    assert reward_of(transfers, 2022, "up_a") == 0
    assert reward_of(transfers, 2023, "up_a") == 0          # the recovery is not paid again
    assert reward_of(transfers, 2024, "up_a") == fen(F("0.15") * 50000 * CPI[2024])
    assert not [t for t in transfers if t["clause"] == "reward" and t["to_account"] == "up_b"]
    p = summary["by_year"]["2024"]["parties"]["up_a"]
    assert (p["level"], p["high_water_mark"], p["increment"]) == ("150000.00", "100000.00",
                                                                  "50000.00")
    assert p["change_land_use"] == "150000.00" and p["change_climate"] == "-1000000.00"


def test_previous_year_baseline_pays_every_gain(tmp_path):
    agr = agreement_dict(base_payment=0, reward={
        "rate": 0.15, "services": ["water_conservation", "biodiversity"],
        "baseline": "previous_year"})
    transfers, _, _ = run(tmp_path, agr, rows_loss_and_recovery())
    assert reward_of(transfers, 2023, "up_a") == fen(F("0.15") * 200000 * CPI[2023]) \
        == F("30967.81")
    assert reward_of(transfers, 2024, "up_a") == fen(F("0.15") * 150000 * CPI[2024]) \
        == F("23272.31")


def test_total_basis_pays_the_weather(tmp_path):
    agr = agreement_dict(base_payment=0, reward={
        "rate": 0.15, "services": ["water_conservation"], "basis": "total",
        "baseline": "previous_year"})
    transfers, _, _ = run(tmp_path, agr, rows_loss_and_recovery())
    # up_b changed no land but the wet 2021 raised its actual GEP by 5,000,000
    assert reward_of(transfers, 2021, "up_b") == fen(F("0.15") * 5000000 * CPI[2021])


def test_excess_tier_is_not_earned_by_standing_still(tmp_path):
    # every concentration exactly at its baseline: S = 1, P = 0.85 (bet won), e = 0
    agr = agreement_dict(reward=None)
    paths = write_case(tmp_path / "in", agr, None, quality_rows({2021: "1"}))
    allocate(out_dir=tmp_path / "out", **paths)
    transfers, _, summary = read_outputs(tmp_path / "out")
    info = summary["by_year"]["2021"]
    assert (info["P"], info["S"], info["e"], info["target_met"]) == ("0.850000", "1.000000",
                                                                     "0.000000", True)
    # tier factor basic 0.5 + performance 0.3 x 1 = 0.8 of B = 1,020,000 x 1/3
    base_a = sum(amounts(transfers, clause="base", to_account="up_a").values())
    assert base_a == fen(F(1020000) / 3 * F(4, 5)) == F("272000.00")


def test_excess_tier_scales_with_improvement_below_the_baseline(tmp_path):
    # S = 0.9: e = 0.1 / 0.15 = 2/3; S = 0.85 or below: e = 1
    agr = agreement_dict(reward=None)
    paths = write_case(tmp_path / "in", agr, None, quality_rows({2021: "0.9", 2022: "0.85"}))
    allocate(out_dir=tmp_path / "out", **paths)
    _, _, summary = read_outputs(tmp_path / "out")
    assert summary["by_year"]["2021"]["e"] == "0.666667"
    assert summary["by_year"]["2022"]["e"] == "1.000000"


@pytest.mark.parametrize("basis", ["foo", "landuse", 3])
def test_unknown_reward_basis_is_named_with_its_choices(tmp_path, basis):
    agr = agreement_dict(reward={"rate": 0.15, "services": ["water_conservation"],
                                 "basis": basis})
    paths = write_case(tmp_path / "in", agr, None, quality_rows({2021: "0.8"}))
    with pytest.raises(ConfigError) as exc:
        allocate(out_dir=tmp_path / "out", **paths)
    assert exc.value.key == "reward.basis"
    assert "land_use" in str(exc.value) and "total" in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_land_use_basis_refuses_an_increments_file(tmp_path):
    agr = agreement_dict(reward={"rate": 0.15, "services": ["water_conservation"]})
    paths = write_case(tmp_path / "in", agr, [[2021, "up_a", "water_conservation", "1"],
                                              [2021, "up_b", "water_conservation", "1"]],
                       quality_rows({2021: "0.8"}))
    with pytest.raises(ConfigError) as exc:
        allocate(out_dir=tmp_path / "out", **paths)
    assert exc.value.key == "reward.basis" and "--attribution" in exc.value.fix


def test_inconsistent_attribution_row_is_refused(tmp_path):
    agr = agreement_dict()
    paths = write_case(tmp_path / "in", agr, None, quality_rows({2021: "0.8"}))
    att = write_csv(tmp_path / "in" / "attribution.csv",
                    ["year", "party_id", "service", "total", "land_use", "climate"],
                    [[2021, "up_a", "water_conservation", "10.00", "4.00", "6.00"],
                     [2021, "up_b", "water_conservation", "10.00", "4.00", "5.99"]])
    with pytest.raises(InputDataError) as exc:
        allocate(paths["agreement_path"], None, paths["quality_path"], tmp_path / "out",
                 attribution_path=att)
    assert exc.value.line == 3 and exc.value.field == "climate"


def test_cli_bad_basis_is_one_line_exit_2(tmp_path):
    agr = agreement_dict(reward={"rate": 0.15, "services": ["water_conservation"],
                                 "basis": "foo"})
    paths = write_case(tmp_path / "in", agr, None, quality_rows({2021: "0.8"}))
    r = subprocess.run([sys.executable, "-m", "gep", "allocate", "--agreement",
                        str(paths["agreement_path"]), "--quality", str(paths["quality_path"]),
                        "--out", str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "reward.basis" in lines[0] and "Fix:" in lines[0]
