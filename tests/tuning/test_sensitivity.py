"""SALib indices: a parameter that does not enter a quantity scores (near) zero."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gep.errors import ConfigError
from gep.tuning.sensitivity import run_sensitivity

RANGES = """
sensitivity:
  method: sobol
  seed: 11
  sobol: {n: 16}
  morris: {trajectories: 6, levels: 4}
  parameters:
    seasonality_constant: {min: 2, max: 10}
    prices.water_conservation.unit_price: {min: 5, max: 9}
    reward.rate: {min: 0.1, max: 0.2}
    prices.carbon.co2_price: {min: 200, max: 600}
"""


@pytest.fixture(scope="module")
def basin(tiny_inputs, tmp_path_factory):
    import shutil

    root = tmp_path_factory.mktemp("sens")
    shutil.copytree(tiny_inputs.parent, root / "config")
    cfg = root / "config" / "config.yaml"
    cfg.write_text(cfg.read_text().replace(str(tiny_inputs.parents[1] / "results"),
                                           str(root / "results")))
    shutil.copytree(tiny_inputs.parents[1] / "results" / "demo" / "inputs",
                    root / "results" / "demo" / "inputs")
    (root / "config" / "tuning.yaml").write_text(RANGES)
    return cfg


def test_sobol_indices_of_parameters_that_do_not_enter_are_near_zero(basin):
    res = run_sensitivity(basin, jobs=2, tornado=False)
    idx = res.indices
    gep = idx[idx.output.str.startswith("gep_total:")]
    assert gep.output.nunique() == 5
    # the reward rate only enters payouts; carbon is disabled, so its price enters nothing
    for name in ("reward.rate", "prices.carbon.co2_price"):
        sub = gep[gep.parameter == name]
        assert np.all(np.abs(sub.S1) < 0.02) and np.all(np.abs(sub.ST) < 0.02), sub
    co2 = idx[idx.parameter == "prices.carbon.co2_price"]
    assert np.all(np.abs(co2.ST) < 0.02)
    # positive control: Z and the water price drive GEP
    for name in ("seasonality_constant", "prices.water_conservation.unit_price"):
        assert np.all(gep[gep.parameter == name].ST > 0.05)
    # the samples table holds every evaluation: N (k + 2)
    assert len(res.samples) == 16 * (4 + 2)
    ranked = res.ranked[res.ranked.output == "overall"]
    assert ranked.iloc[-1].parameter in ("reward.rate", "prices.carbon.co2_price")


def test_morris_effects_of_a_parameter_that_does_not_enter_are_exactly_zero(basin):
    quality = Path(__file__).resolve().parents[2] / "config/demo/section_quality_standin.csv"
    res = run_sensitivity(basin, method="morris", jobs=2, quality=quality)
    gep = res.indices[res.indices.output.str.startswith("gep_total:")]
    assert (gep[gep.parameter == "reward.rate"].mu_star == 0).all()
    assert (res.indices[res.indices.parameter == "prices.carbon.co2_price"].mu_star == 0).all()
    assert (gep[gep.parameter == "seasonality_constant"].mu_star > 0).all()
    # tornado: one-at-a-time swings, zero for a parameter that enters nothing
    tor = res.tornado
    assert (tor[tor.parameter == "prices.carbon.co2_price"].swing == 0).all()
    assert res.paths["tornado_png"].exists()
    assert len(res.samples) == 6 * (4 + 1)
    # issue 14: money in the CSVs is exact to the fen, so each evaluation's net payouts over
    # the accounts sum to exactly zero in the file (as in the settlement)
    import csv
    import re
    from decimal import Decimal

    with open(res.paths["samples"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    net_cols = [c for c in rows[0] if c.startswith("payout_net:")]
    money_cols = net_cols + [c for c in rows[0] if c.startswith("gep_total:")]
    assert net_cols and all(re.fullmatch(r"-?\d+\.\d\d", r[c]) for r in rows
                            for c in money_cols)
    assert all(sum(Decimal(r[c]) for c in net_cols) == 0 for r in rows)


def test_design_needing_too_many_invest_runs_stops_before_any_run(basin, tmp_path):
    tuning = tmp_path / "t.yaml"
    tuning.write_text(RANGES.replace("sensitivity:", "sensitivity:\n  max_invest_runs: 3"))
    cache = basin.parents[1] / "results" / "demo" / "tuning" / "cache" / "invest"
    before = sorted(cache.glob("*/*/*")) if cache.exists() else []
    with pytest.raises(ConfigError, match="needs about .* InVEST runs"):
        run_sensitivity(basin, tuning=tuning, surrogate=False, method="morris", jobs=1)
    after = sorted(cache.glob("*/*/*")) if cache.exists() else []
    assert after == before
