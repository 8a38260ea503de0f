"""Valuation and settlement in memory (gep.tuning.downstream / settlement) against the
pipeline's file-based stages (gep value, gep attribute, gep allocate) on the demo config."""
from __future__ import annotations

import copy
import csv
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gep.config import load_config
from gep.paths import Paths
from gep.tuning.downstream import (
    GEP_TOTAL,
    PAYOUT_NET,
    Settling,
    downstream_task,
    prices_from_mapping,
)

VARIABLES = {"precipitation": "m3", "water_yield": "m3",
             "habitat_quality": "ha (habitat-quality weighted)"}


def synthetic_zonals(cfg, scale: float = 1.0, seed: int = 7) -> list[pd.DataFrame]:
    """Zonal tables of the config's years for the basin's parties and every land cover of the
    runoff table (seeded quantities; ``scale`` multiplies water yield: another climate)."""
    p = Paths(cfg)
    parties = pd.read_csv(p.party_file("parties.csv"))["party_id"].astype(str)
    codes = pd.read_csv(cfg.path(cfg.valuation.runoff_coefficients))["lucode"].astype(int)
    rng = np.random.default_rng(seed)
    frames = []
    for year in cfg.years:
        rows = []
        for party in parties:
            for code in codes:
                for v, unit in VARIABLES.items():
                    q = float(rng.uniform(1e5, 1e7)) if v != "habitat_quality" \
                        else float(rng.uniform(10, 500))
                    if v == "water_yield":
                        q *= scale
                    rows.append((year, party, int(code), v, q, unit, 0))
        frames.append(pd.DataFrame(rows, columns=["year", "party_id", "lucode", "variable",
                                                  "quantity", "unit", "nodata_pixels"]))
    return frames


def write_zonals(frames, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for z in frames:
        path = folder / f"zonal_{int(z['year'].iloc[0])}.csv"
        z.to_csv(path, index=False, float_format="%.17g")
        out.append(path)
    return out


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def pipeline_files(cfg, prices: dict, agreement: dict, quality: Path, actual, reference,
                   tmp: Path) -> dict[str, Path]:
    """What the pipeline's stages write for these zonal tables, prices and agreement."""
    from gep.attribution.attribute import attribute
    from gep.compensation import allocate
    from gep.valuation import value

    (tmp / "prices.yaml").write_text(yaml.safe_dump(prices, allow_unicode=True))
    (tmp / "agreement.yaml").write_text(yaml.safe_dump(agreement, allow_unicode=True,
                                                       sort_keys=False))
    runoff = cfg.path(cfg.valuation.runoff_coefficients)
    gep, inc = value(write_zonals(actual, tmp / "zonal"), tmp / "prices.yaml", runoff,
                     tmp / "gep.csv", tmp / "increments.csv")
    _, att = attribute(gep, write_zonals(reference, tmp / "zonal_ref"), tmp / "prices.yaml",
                       runoff, tmp / "gep_reference.csv", tmp / "attribution.csv")
    paths = allocate(tmp / "agreement.yaml", inc, quality, tmp / "out",
                     attribution_path=att)
    return {"gep": gep, **paths}


@pytest.fixture(scope="module")
def demo(tiny_inputs):
    from gep.tuning.params import ParameterSpace

    cfg = load_config(tiny_inputs)
    space = ParameterSpace(cfg, str(tiny_inputs))
    quality = Path(cfg.config_dir) / "demo" / "section_quality_standin.csv"
    return cfg, space, quality


@pytest.mark.parametrize("unit_price", [None, 9.5])
def test_in_memory_downstream_equals_the_pipelines_files(demo, tmp_path, unit_price):
    from gep.compensation import validate_agreement
    from gep.valuation import load_runoff

    cfg, space, quality = demo
    prices = copy.deepcopy(space.prices_data)
    if unit_price is not None:
        prices["services"]["water_conservation"]["unit_price"] = unit_price
    agreement = space.agreement_data
    actual, reference = synthetic_zonals(cfg), synthetic_zonals(cfg, scale=0.9)
    files = pipeline_files(cfg, prices, agreement, quality, actual, reference, tmp_path)

    gep, pay = downstream_task(
        actual, prices_from_mapping(prices, "prices.yaml"),
        load_runoff(cfg.path(cfg.valuation.runoff_coefficients)),
        Settling(validate_agreement(agreement), str(quality)), reference)

    # every valued service and the physical water yield, exactly as gep_by_party.csv has them
    want, totals = {}, {}
    for r in read_rows(files["gep"]):
        key = (int(r["year"]), r["party_id"])
        if r["value_cny_constant"]:
            want[key + (r["service"], "CNY")] = Decimal(r["value_cny_constant"])
            totals[key] = totals.get(key, Decimal(0)) + Decimal(r["value_cny_constant"])
        elif r["service"] == "water_yield":
            want[key + ("water_yield", "m3")] = Decimal(r["quantity"])
    want.update({k + (GEP_TOTAL, "CNY"): v for k, v in totals.items()})
    got = {(y, p, s, u): v for y, p, s, v, u in gep}
    assert set(got) == set(want)
    for k, v in want.items():
        assert Decimal(repr(got[k])) == v, k
    # the statement and each account's net, exactly as statement.csv / summary.json have them
    stmt = {(int(r["year"]), r["party_id"], r["clause"]): Decimal(r["amount_cny"])
            for r in read_rows(files["statement"])}
    summary = json.loads(Path(files["summary"]).read_text())
    clauses = {(y, p, c): Decimal(repr(v)) for y, p, c, v, _ in pay if c != PAYOUT_NET}
    assert clauses == stmt and stmt
    nets = {(y, p): Decimal(repr(v)) for y, p, c, v, _ in pay if c == PAYOUT_NET}
    accounts = [a["id"] for a in summary["accounts"]]
    assert set(nets) == {(int(y), a) for y in summary["years"] for a in accounts}
    for (y, a), v in nets.items():
        assert v == sum((s for (sy, sp, _), s in stmt.items() if sy == y and sp == a),
                        Decimal(0))


def test_prices_from_mapping_equals_the_price_file(demo):
    from gep.valuation import load_prices

    cfg, space, _ = demo
    a = prices_from_mapping(space.prices_raw, str(space.prices_path))
    b = load_prices(space.prices_path)
    assert (a.price_year, a.base_year, a.cpi, a.services) == \
        (b.price_year, b.base_year, b.cpi, b.services)
    bad = {k: v for k, v in space.prices_raw.items() if k != "cpi"}
    from gep.errors import ConfigError

    with pytest.raises(ConfigError, match="cpi"):
        prices_from_mapping(bad, "p.yaml")


def test_without_agreement_only_gep_rows(demo):
    from gep.valuation import load_runoff

    cfg, space, _ = demo
    gep, pay = downstream_task(synthetic_zonals(cfg), prices_from_mapping(space.prices_raw),
                               load_runoff(cfg.path(cfg.valuation.runoff_coefficients)))
    assert pay == []
    units = {(s, u) for _, _, s, _, u in gep}
    assert ("water_yield", "m3") in units and (GEP_TOTAL, "CNY") in units
