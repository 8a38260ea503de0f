"""The agreement model: the shipped files load, and every bad key is named with its fix."""
from __future__ import annotations

import copy
import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from gep.compensation import load_agreement, p_index, validate_agreement
from gep.errors import ConfigError, InputDataError

from .helpers import ISSUE_AGREEMENT, agreement_dict

ROOT = Path(__file__).resolve().parents[2]

ISSUE_TEXT = """
agreement: demo-basin
currency: CNY
base_year: 2020
cpi: {2021: 0.009, 2022: 0.020, 2023: 0.002, 2024: 0.002}   # annual CPI change (NBS)
accounts:
  - {id: central, role: central}
  - {id: basin_fund, role: fund}
  - {id: up_a, role: upstream, base_weight: 1}
  - {id: up_b, role: upstream, base_weight: 2}
  - {id: down_x, role: downstream, benefit_weight: 3}
  - {id: down_y, role: downstream, benefit_weight: 1}
funding: {central: 0.5, downstream: 0.5}    # downstream share split by benefit_weight
base_payment: 200000000                     # per year, in base_year prices
reward: {rate: 0.15, services: [water_conservation, biodiversity]}
tiers: {basic: 0.5, performance: 0.3, excess: 0.2}
excess_margin: 0.15
water_quality_bet:
  section: boundary
  k0: 0.85
  indicators:
    codmn: {weight: 0.25, baseline_mg_l: 2.0}
    nh3n:  {weight: 0.25, baseline_mg_l: 0.12}
    tp:    {weight: 0.25, baseline_mg_l: 0.025}
    tn:    {weight: 0.25, baseline_mg_l: 1.10}
  clawback: {min_rate: 0.10, max_rate: 0.30, p_at_max: 1.20, lookback_years: 1}
punitive_multiplier: 3
"""


def test_issue_form_loads_with_exact_decimals(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text(ISSUE_TEXT, encoding="utf-8")
    a = load_agreement(path)
    assert a.cpi[2021] == Decimal("0.009")            # not 0.00899999999...
    assert a.water_quality_bet.indicators["tn"].baseline_mg_l == Decimal("1.10")
    assert a.base_payment == 200000000
    # payers of each upstream payment: central 0.5, downstream 0.5 split 3:1
    assert a.payer_weights() == [("central", Decimal("0.5")), ("down_x", Decimal("0.375")),
                                 ("down_y", Decimal("0.125"))]


def test_demo_agreement_has_the_demo_parties():
    a = load_agreement(ROOT / "config" / "agreement.yaml")
    roles = {x.id: x.role for x in a.accounts}
    assert roles == {"central": "central", "basin_fund": "fund", "shanyuan": "upstream",
                     "linxi": "upstream", "yunling": "upstream", "xiahe": "downstream",
                     "nanzhou": "downstream"}
    assert a.base_year == 2020 and a.water_quality_bet.section == "boundary"
    # NBS CPI changes listed in the domain notes
    assert a.cpi == {2021: Decimal("0.009"), 2022: Decimal("0.020"), 2023: Decimal("0.002"),
                     2024: Decimal("0.002")}
    assert a.cpi_factor(2024) == Decimal("1.009") * Decimal("1.02") * Decimal("1.002") ** 2


def test_xinan_round1_expresses_the_bet():
    a = load_agreement(ROOT / "config" / "agreements" / "xinan_round1.yaml")
    assert a.water_quality_bet.k0 == Decimal("0.85")
    assert set(a.water_quality_bet.indicators) == {"codmn", "nh3n", "tp", "tn"}
    assert all(i.weight == Decimal("0.25") for i in a.water_quality_bet.indicators.values())
    legs = {(f.clause, f.when, f.from_account, f.to_account, f.amount)
            for f in a.fixed_transfers}
    assert legs == {("bet", "p_le_1", "zhejiang", "anhui", Decimal(100000000)),
                    ("bet", "p_gt_1", "anhui", "zhejiang", Decimal(100000000)),
                    ("grant", "always", "central", "anhui", Decimal(300000000))}
    assert a.account("anhui").role == "upstream" and a.account("zhejiang").role == "downstream"
    assert not a.pays_upstream  # no base or reward clause in round 1


def test_p_index_hand_computed():
    a = validate_agreement(agreement_dict())
    # 0.85 * (0.25 * 2.2/2.0 + 0.25 * 1 + 0.25 * 1 + 0.25 * 1) = 0.85 * 1.025 = 0.87125
    conc = {"codmn": Decimal("2.2"), "nh3n": Decimal("0.12"), "tp": Decimal("0.025"),
            "tn": Decimal("1.10"), "do": Decimal("7.5")}  # extra indicators are ignored
    assert p_index(a, conc) == Decimal("0.87125")
    assert p_index(a, {k: float(v) for k, v in conc.items()}) == Decimal("0.87125")
    with pytest.raises(InputDataError, match="missing indicator.*tp"):
        p_index(a, {k: v for k, v in conc.items() if k != "tp"})


def _set(data: dict, path: str, value) -> dict:
    """Return a copy of ``data`` with ``path`` (dots; list indices as ints) set or deleted."""
    data = copy.deepcopy(data)
    keys = [int(k) if k.isdigit() else k for k in path.split(".")]
    node = data
    for k in keys[:-1]:
        node = node[k]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return data


_DELETE = object()

BAD = [
    # (path, value, key named in the error, fragment of the problem or fix)
    ("accounts.2.base_weight", -1, r"accounts\[2\] \(up_a\)\.base_weight", "cannot be negative"),
    ("water_quality_bet.indicators.tp.weight", -0.25, "indicators.tp.weight",
     "cannot be negative"),
    ("funding", {"central": 0.5, "downstream": 0.4}, "funding",
     "central 0.5 \\+ downstream 0.4 = 0.9"),
    ("tiers", {"basic": 0.5, "performance": 0.3, "excess": 0.3}, "tiers", "add up to 1"),
    ("water_quality_bet.indicators.tn.weight", 0.5, "water_quality_bet.indicators",
     "add up to 1"),
    ("water_quality_bet.indicators.tn.baseline_mg_l", 0, "tn.baseline_mg_l", "positive"),
    ("accounts.4.base_weight", 1, r"accounts\[4\] \(down_x\)\.base_weight",
     "upstream accounts only"),
    ("accounts.3.id", "up_a", r"accounts\[3\] \(up_a\)\.id", "used twice"),
    ("accounts.0.role", "treasury", r"accounts\[0\] \(central\)\.role", "allowed values"),
    ("reward.rate", 15, "reward.rate", "fractions between 0 and 1"),
    ("tiers.bonus", 0.1, "tiers.bonus", "remove it or check its spelling"),
    ("base_payment", "lots", "base_payment", "not a number"),
    ("water_quality_bet.clawback.min_rate", 0.4, "water_quality_bet.clawback",
     "min_rate <= max_rate"),
    ("water_quality_bet.clawback.p_at_max", 1, "p_at_max", "positive|greater than 1"),
    ("funding", _DELETE, "funding", "add funding"),
    ("accounts.1", _DELETE, "punitive_multiplier", "no account has role 'fund'"),
    ("fixed_transfers", [{"clause": "bet", "from": "down_x", "to": "nobody", "amount": 1}],
     r"fixed_transfers\[0\]\.to", "'nobody' is not an account"),
    ("water_quality_bet.k0", _DELETE, "water_quality_bet.k0", "add this key"),
]


@pytest.mark.parametrize("path, value, key, fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_agreement_names_key_and_fix(tmp_path, path, value, key, fragment):
    data = _set(ISSUE_AGREEMENT, path, value)
    file = tmp_path / "agreement.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_agreement(file)
    msg = str(exc.value)
    assert msg.startswith(f"{file}: ")
    assert exc.value.file == str(file)
    assert re.search(key, exc.value.key), (exc.value.key, msg)
    assert re.search(fragment, msg), msg
    assert exc.value.fix  # every error says how to fix it


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_agreement(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("agreement: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_agreement(bad)
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping of keys"):
        load_agreement(bad)


def test_thirds_written_to_nine_places_are_accepted():
    data = agreement_dict(tiers={"basic": 0.333333333, "performance": 0.333333333,
                                 "excess": 0.333333334})
    assert validate_agreement(data).tiers.excess == Decimal("0.333333334")
