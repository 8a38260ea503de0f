"""Bad input gives one clear error (file, line/field, fix) and writes nothing."""
from __future__ import annotations

import re

import pytest

from gep.compensation import allocate
from gep.errors import ConfigError, GepError, InputDataError

from .helpers import agreement_dict, quality_rows, read_outputs, write_case


def good_increments(years=(2021, 2022)):
    return [[y, p, s, "1000"] for y in years for p in ("up_a", "up_b")
            for s in ("water_conservation", "biodiversity")]


GOOD_QUALITY = quality_rows({2021: "0.9", 2022: "1.1"})


def case(**changes):
    """Inputs of a valid two-year case, with some replaced."""
    spec = {"agreement": agreement_dict(), "increments": good_increments(),
            "quality": GOOD_QUALITY, "performance": [[2021, "up_a", "redline", "true"]],
            "incidents": [["2022-03-01", "down_x", "100", "spill"]]}
    spec.update(changes)
    return spec


CASES = {
    "unknown party in performance": (
        case(performance=[[2021, "up_a", "redline", "true"], [2021, "ghost", "flow", "true"]]),
        InputDataError, (r"performance\.csv, line 3, field 'party_id': party 'ghost' is not an "
                        r"account")),
    "unknown party in incidents": (
        case(incidents=[["2022-03-01", "ghost", "100", "x"]]),
        InputDataError, r"incidents\.csv, line 2, field 'party_id': party 'ghost'"),
    "fund held responsible": (
        case(incidents=[["2022-03-01", "basin_fund", "100", "x"]]),
        InputDataError, r"'basin_fund' is a fund account and cannot be held responsible"),
    "upstream party without GEP rows": (
        case(increments=[r for r in good_increments() if r[1] != "up_b"]),
        InputDataError, (r"increments\.csv, field 'party_id': upstream account 'up_b' named "
                        r"in the agreement has no rows")),
    "upstream party missing a year": (
        case(increments=[r for r in good_increments() if (r[0], r[1]) != (2022, "up_a")]),
        InputDataError, r"upstream account 'up_a' has no rows for 2022"),
    "missing indicator": (
        case(quality=[r for r in GOOD_QUALITY if (r[0], r[2]) != (2022, "tn")]),
        InputDataError, r"quality\.csv, field 'indicator': missing indicator\(s\) tn for 2022"),
    "negative weight": (
        case(agreement=agreement_dict(accounts=[
            {"id": "central", "role": "central"}, {"id": "basin_fund", "role": "fund"},
            {"id": "up_a", "role": "upstream", "base_weight": 1},
            {"id": "up_b", "role": "upstream", "base_weight": -2},
            {"id": "down_x", "role": "downstream", "benefit_weight": 3},
            {"id": "down_y", "role": "downstream", "benefit_weight": 1}])),
        ConfigError, r"accounts\[3\] \(up_b\)\.base_weight: .*greater than or equal to 0"),
    "funding shares not summing to 1": (
        case(agreement=agreement_dict(funding={"central": 0.6, "downstream": 0.6})),
        ConfigError, (r"funding: shares must add up to 1, but central 0\.6 \+ downstream 0\.6 "
                     r"= 1\.2")),
    "tier shares not summing to 1": (
        case(agreement=agreement_dict(tiers={"basic": 0.5, "performance": 0.3,
                                             "excess": 0.1})),
        ConfigError, r"tiers: shares must add up to 1"),
    "negative concentration": (
        case(quality=[r if (r[0], r[2]) != (2021, "tp") else [2021, "boundary", "tp", "-0.1"]
                      for r in GOOD_QUALITY]),
        InputDataError, r"field 'concentration_mg_l': -0\.1 is below 0"),
    "duplicate indicator": (
        case(quality=GOOD_QUALITY + [[2021, "boundary", "tp", "0.02"]]),
        InputDataError, r"indicator 'tp' appears twice for 2021"),
    "no rows for the section": (
        case(quality=quality_rows({2021: "0.9", 2022: "1.1"}, section="jiekou")),
        InputDataError, r"no rows for section 'boundary' \(sections found: jiekou\)"),
    "amount not a number": (
        case(increments=good_increments() + [[2021, "up_a", "carbon_sequestration", "12,5"]]),
        InputDataError, r"line 10, field 'delta_value_cny_constant': '12,5' has a decimal comma"),
    "NaN amount": (
        case(increments=good_increments() + [[2021, "up_a", "carbon_sequestration", "nan"]]),
        InputDataError, r"'nan' is not a finite number"),
    "duplicate increment": (
        case(increments=good_increments() + [[2021, "up_a", "biodiversity", "1"]]),
        InputDataError, r"service 'biodiversity' appears twice for party 'up_a' in 2021"),
    "met not boolean": (
        case(performance=[[2021, "up_a", "redline", "yes"]]),
        InputDataError, r"field 'met': 'yes' is not true or false"),
    "bad incident date": (
        case(incidents=[["01/03/2022", "down_x", "100", "x"]]),
        InputDataError, r"field 'date': '01/03/2022' is not a date.*YYYY-MM-DD"),
    "incident outside settled years": (
        case(incidents=[["2019-03-01", "down_x", "100", "x"]]),
        InputDataError, r"incident dated 2019-03-01 is outside the settled years 2021-2022"),
    "non-positive damage": (
        case(incidents=[["2022-03-01", "down_x", "0", "x"]]),
        InputDataError, r"field 'damage_cny': 0 must be positive"),
    "incidents without punitive clause": (
        case(agreement=agreement_dict(punitive_multiplier=None)),
        ConfigError, (r"punitive_multiplier: .*lists incidents but the agreement has no "
                     r"punitive_multiplier")),
    "reward without increments": (
        case(increments=None),
        ConfigError, r"reward: the agreement has a GEP reward but no increments file"),
    "missing CPI year": (
        case(agreement=agreement_dict(cpi={2021: 0.01})),
        ConfigError, r"cpi\.2022: no CPI change for 2022"),
    "no year after base year": (
        case(quality=quality_rows({2019: "1", 2020: "1"})),
        InputDataError, r"no water-quality year after base_year 2020"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_clear_error_and_writes_nothing(tmp_path, name):
    spec, error, pattern = CASES[name]
    if spec["agreement"].get("punitive_multiplier", 0) is None:
        del spec["agreement"]["punitive_multiplier"]
    paths = write_case(tmp_path / "in", spec["agreement"], spec["increments"],
                       spec["quality"], spec["performance"], spec["incidents"])
    out = tmp_path / "out"
    with pytest.raises(GepError) as exc:
        allocate(out_dir=out, **paths)
    assert type(exc.value) is error
    assert re.search(pattern, str(exc.value)), str(exc.value)
    assert "Fix: " in str(exc.value)
    assert not out.exists()


def test_a_failed_run_leaves_earlier_outputs_untouched(tmp_path):
    spec = case()
    paths = write_case(tmp_path / "in", spec["agreement"], spec["increments"],
                       spec["quality"], spec["performance"], spec["incidents"])
    out = tmp_path / "out"
    allocate(out_dir=out, **paths)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = write_case(tmp_path / "bad", spec["agreement"], spec["increments"],
                     [r for r in GOOD_QUALITY if r[2] != "codmn"])
    with pytest.raises(InputDataError):
        allocate(out_dir=out, **bad)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert read_outputs(out)[2]["years"] == [2021, 2022]
