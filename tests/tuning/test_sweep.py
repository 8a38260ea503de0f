"""Sweeps: what re-runs (nothing, for prices), the tidy table, surrogate = InVEST."""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gep.config import load_config
from gep.paths import Paths
from gep.tuning.sweep import run_sweep

MODELS = ("annual_water_yield", "habitat_quality")


def invest_workspaces(cfg_path) -> dict[Path, tuple[int, int]]:
    """Every InVEST workspace in the tuning cache -> (inode, mtime_ns) of its gep_run.json."""
    cache = load_config(cfg_path).out / "tuning" / "cache" / "invest"
    out = {}
    for rec in cache.glob("*/*/*/gep_run.json"):
        st = rec.stat()
        out[rec.parent] = (st.st_ino, st.st_mtime_ns)
    return out


def values(table, what, **where):
    sub = table[table.service_or_clause == what]
    for k, v in where.items():
        sub = sub[np.isclose(sub[k], v)] if isinstance(v, float) else sub[sub[k] == v]
    return sub


@pytest.fixture(scope="module")
def price_sweep(tiny_inputs, tmp_path_factory):
    """A basin whose first sweep is over a price: its InVEST runs, and the sweep."""
    import shutil

    from gep.tuning.engine import Study

    root = tmp_path_factory.mktemp("price")
    shutil.copytree(tiny_inputs.parent, root / "config")
    cfg_path = root / "config" / "config.yaml"
    text = cfg_path.read_text().replace(str(tiny_inputs.parents[1] / "results"),
                                        str(root / "results"))
    cfg_path.write_text(text)
    shutil.copytree(tiny_inputs.parents[1] / "results" / "demo" / "inputs",
                    root / "results" / "demo" / "inputs")
    assert not invest_workspaces(cfg_path)
    res = run_sweep(cfg_path, ["prices.water_conservation.unit_price=5,7.06,9"], jobs=2)
    Study(cfg_path)  # the config still loads
    return cfg_path, res


def test_first_price_sweep_runs_each_model_once_per_year(price_sweep):
    cfg_path, res = price_sweep
    ws = invest_workspaces(cfg_path)
    cfg = load_config(cfg_path)
    # one workspace per model and year, not one per price value
    assert sorted((p.parent.parent.name, p.parent.name) for p in ws) == sorted(
        (str(y), m) for y in cfg.years for m in MODELS)
    assert res.meta["stats"]["invest_runs"] == len(cfg.years) * len(MODELS)


def test_second_price_and_reward_sweep_reruns_no_invest_model(price_sweep):
    cfg_path, _ = price_sweep
    before = invest_workspaces(cfg_path)
    res = run_sweep(cfg_path, ["prices.biodiversity.standard_equivalent_value=3000,3500",
                               "reward.rate=0.1,0.2"], jobs=2)
    after = invest_workspaces(cfg_path)
    assert after == before          # same workspaces, untouched (inode and mtime)
    assert res.meta["stats"]["invest_runs"] == 0
    assert res.meta["combinations"] == 4


def test_table_is_tidy_and_prices_scale_values(price_sweep):
    cfg_path, res = price_sweep
    t = res.table
    assert list(t.columns) == ["prices.water_conservation.unit_price", "year", "party_id",
                               "service_or_clause", "value", "unit"]
    assert not t.duplicated(["prices.water_conservation.unit_price", "year", "party_id",
                             "service_or_clause"]).any()
    wc5 = values(t, "water_conservation", **{"prices.water_conservation.unit_price": 5.0})
    wc9 = values(t, "water_conservation", **{"prices.water_conservation.unit_price": 9.0})
    m = wc5.merge(wc9, on=["year", "party_id"])
    # value = quantity x price x CPI index, rounded to the fen: linear in the price
    assert np.allclose(m.value_y, m.value_x * 9 / 5, rtol=0, atol=0.02)
    # physical water yield does not depend on a price
    wy = values(t, "water_yield").pivot_table(index=["year", "party_id"],
                                              columns="prices.water_conservation.unit_price",
                                              values="value")
    assert np.allclose(wy.to_numpy(), wy.to_numpy()[:, :1])
    # GEP total is the sum of the valued services
    per = t[t.unit == "CNY"].pivot_table(index=["prices.water_conservation.unit_price", "year",
                                                "party_id"], columns="service_or_clause",
                                         values="value")
    per = per[per["gep_total"].notna()]           # accounts like 'central' have no GEP
    services = [c for c in ("water_conservation", "biodiversity") if c in per.columns]
    assert len(per) and np.allclose(per[services].sum(axis=1), per["gep_total"], atol=0.011)
    # every settled year's payouts sum to zero over the accounts (money moves, none is made)
    net = values(t, "payout_net").groupby(["prices.water_conservation.unit_price", "year"])
    assert np.allclose(net["value"].sum(), 0.0, atol=0.005)
    assert (res.paths["table"]).exists() and (res.paths["meta"]).exists()
    assert any(str(k).startswith("plot:") for k in res.paths)


def test_sweep_reuses_the_pipelines_workspaces_and_reproduces_its_gep(fresh_basin, tmp_path):
    """After the pipeline's InVEST stage, a price sweep hard-links its workspaces (no run),
    and at the config's own price reproduces the pipeline's gep_by_party.csv to the fen."""
    from gep.invest import model_params, run_model
    from gep.valuation import value
    from gep.zonal import zonal_year

    cfg_path = fresh_basin()
    cfg = load_config(cfg_path)
    p = Paths(cfg)
    for y in cfg.years:                       # what the Snakemake rules run
        for m in MODELS:
            run_model(m, p.year_dir(y), model_params(cfg, m), p.workspace(y, m), y)
        zonal_year(y, p.year_dir(y), p.party_file("parties.tif"), p.party_file("parties.csv"),
                   {m: p.workspace(y, m) for m in MODELS}, p.zonal(y))
    value([p.zonal(y) for y in cfg.years], cfg.path(cfg.valuation.prices),
          cfg.path(cfg.valuation.runoff_coefficients), p.gep_csv, p.increments_csv)
    pipeline = {(y, m): os.stat(p.workspace(y, m) / "gep_run.json") for y in cfg.years
                for m in MODELS}

    res = run_sweep(cfg_path, ["prices.water_conservation.unit_price=7.06,8"], jobs=1)
    assert res.meta["stats"]["invest_runs"] == 0
    assert res.meta["stats"]["adopted_runs"] == len(cfg.years) * len(MODELS)
    cached = invest_workspaces(cfg_path)
    assert {v[0] for v in cached.values()} == {st.st_ino for st in pipeline.values()}
    for (y, m), st in pipeline.items():       # the pipeline's own files are untouched
        assert os.stat(p.workspace(y, m) / "gep_run.json").st_mtime_ns == st.st_mtime_ns

    gep = pd.read_csv(p.gep_csv, dtype={"value_cny_constant": str})
    gep = gep[gep.value_cny_constant.notna()]
    at_base = values(res.table, "water_conservation",
                     **{"prices.water_conservation.unit_price": 7.06})
    for r in gep[gep.service == "water_conservation"].itertuples():
        got = at_base[(at_base.year == r.year) & (at_base.party_id == r.party_id)].value
        assert Decimal(repr(float(got.iloc[0]))) == Decimal(r.value_cny_constant)


def test_surrogate_sweep_equals_invest_sweep(fresh_basin):
    cfg_path = fresh_basin()
    spec = ["seasonality_constant=2.5,9", "kc_scale=1.1"]
    direct = run_sweep(cfg_path, spec, jobs=2, plots=False)
    fast = run_sweep(cfg_path, spec, jobs=2, plots=False, surrogate=True)
    assert direct.meta["stats"]["invest_runs"] == 2 * 2 * 1 + 2   # AWY x2 Z x2 years, HQ x2
    # the surrogate sweep ran only the config's reference runs (the check reused the direct
    # run at the farthest value) and validated per pixel on the check year
    assert fast.meta["stats"]["invest_runs"] == 2
    checks = fast.meta["surrogate_checks"]
    assert {c["model"] for c in checks} == {"annual_water_yield"}
    assert all(c["ok"] and c["max_rel_diff"] < 1e-6 for c in checks)
    assert any(c["params"]["seasonality_constant"] == 9.0 for c in checks)
    key = ["seasonality_constant", "kc_scale", "year", "party_id", "service_or_clause"]
    m = direct.table.merge(fast.table, on=key, validate="one_to_one")
    assert len(m) == len(direct.table) == len(fast.table)
    assert np.allclose(m.value_x, m.value_y, rtol=1e-9, atol=0.011)


def test_without_water_quality_data_gep_is_swept_and_payouts_are_skipped(price_sweep, tmp_path):
    from gep.errors import ConfigError

    cfg_path, _ = price_sweep
    tuning = tmp_path / "tuning.yaml"
    tuning.write_text("compensation: {quality: null}\n")
    res = run_sweep(cfg_path, ["prices.water_conservation.unit_price=6,8"], tuning=tuning,
                    jobs=1, plots=False)
    assert res.meta["stats"]["invest_runs"] == 0
    assert "payouts not computed" in res.meta["stats"]["payouts_skipped"]
    assert set(res.table.unit) == {"CNY", "m3"}
    assert not res.table.service_or_clause.isin(["payout_net", "base", "reward"]).any()
    with pytest.raises(ConfigError, match="no payout can be computed"):
        run_sweep(cfg_path, ["reward.rate=0.1,0.2"], tuning=tuning, jobs=1)


def test_sweep_csv_writes_money_to_the_fen_and_payouts_sum_to_exactly_zero(price_sweep):
    # issue 14: money as %.10g floats made a year's payouts sum to -0.03 CNY in sweep.csv
    import csv
    import re

    cfg_path, _ = price_sweep
    # a sweep of its own (prices and the reward rate: no model re-runs) into its own folder
    res = run_sweep(cfg_path, ["prices.water_conservation.unit_price=5,7.06",
                               "reward.rate=0.1,0.15"], jobs=2,
                    out_dir=cfg_path.parents[1] / "fen_sweep", plots=False)
    with open(res.paths["table"], newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    money = [r for r in rows if r["unit"] == "CNY"]
    assert money and all(re.fullmatch(r"-?\d+\.\d\d", r["value"]) for r in money)
    net: dict[tuple, Decimal] = {}
    clause: dict[tuple, Decimal] = {}
    for r in money:
        key = (r["prices.water_conservation.unit_price"], r["reward.rate"], r["year"])
        if r["service_or_clause"] == "payout_net":
            net[key] = net.get(key, Decimal(0)) + Decimal(r["value"])
        elif r["service_or_clause"] in ("base", "reward", "bet", "grant", "clawback", "penalty"):
            clause[key] = clause.get(key, Decimal(0)) + Decimal(r["value"])
    assert net and all(v == 0 for v in net.values()), net
    assert clause and all(v == 0 for v in clause.values()), clause
    # the file's amounts are the in-memory amounts to the fen
    t = res.table[res.table.unit == "CNY"]
    assert len(t) == len(money)
    for r, v in zip(money, t["value"]):
        assert Decimal(r["value"]) == Decimal(repr(float(v))).quantize(Decimal("0.01"))


def test_sweep_refuses_a_design_beyond_max_combinations_before_running(fresh_basin):
    from gep.errors import ConfigError

    cfg = fresh_basin()
    with pytest.raises(ConfigError, match=r"sweep.max_combinations: the sweep has 100,000 "
                                          r"combinations"):
        run_sweep(cfg, ["seasonality_constant=1:30:10000", "reward.rate=0.1:0.2:10"])
    assert not (load_config(cfg).out / "tuning" / "cache" / "invest").exists()
