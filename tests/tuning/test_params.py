"""Parameter names, the sweep grammar, and validation that stops before any work."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.config import load_config
from gep.errors import ConfigError
from gep.tuning.params import ParameterSpace, parse_sweep, parse_values


@pytest.fixture(scope="module")
def space(tmp_path_factory, tiny_config_copy):
    path = tiny_config_copy(tmp_path_factory.mktemp("params"))
    return ParameterSpace(load_config(path), str(path))


def error(space, *texts) -> str:
    with pytest.raises(ConfigError) as e:
        parse_sweep(space, list(texts))
    return str(e.value)


# -- grammar --------------------------------------------------------------------------------------
def test_range_list_and_log_grammar():
    assert parse_values("1:30:15", "k") == pytest.approx(list(np.linspace(1, 30, 15)))
    assert parse_values("0.1, 0.15,0.2", "k") == [0.1, 0.15, 0.2]
    assert parse_values("1:100:3:log", "k") == pytest.approx([1, 10, 100])
    assert parse_values("7", "k") == [7.0]


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(-1e6, 1e6), width=st.floats(1e-3, 1e6), n=st.integers(2, 60))
def test_range_is_inclusive_and_evenly_spaced(lo, width, n):
    hi = lo + width
    vals = parse_values(f"{lo!r}:{hi!r}:{n}", "k")
    assert len(vals) == n
    assert vals[0] == pytest.approx(lo) and vals[-1] == pytest.approx(hi)
    steps = np.diff(vals)
    assert np.all(steps > 0)
    assert steps == pytest.approx(np.full(n - 1, width / (n - 1)), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("spec, fragment", [
    ("30:1:5", "min 30 is greater than max 1"),
    ("1:1:3", "min equals max"),
    ("1:30:1", "at least 2 values"),
    ("1:x:3", "max 'x' is not a number"),
    ("1:30:2.5", "count '2.5' is not a whole number"),
    ("1:30", "is not min:max:n"),
    ("0:10:3:log", "log range needs min > 0"),
    ("1,,2", "empty value"),
    ("2,3,2", "value 2 is given twice"),
    ("", "no values given"),
])
def test_bad_specs_name_the_problem(spec, fragment):
    with pytest.raises(ConfigError) as e:
        parse_values(spec, "--param seasonality_constant")
    assert fragment in str(e.value)
    assert "--param seasonality_constant" in str(e.value)


# -- names and valid ranges ----------------------------------------------------------------
def test_aliases_and_canonical_names_resolve_to_the_same_parameter(space):
    a = space.resolve("seasonality_constant")
    assert a is space.resolve("Z")
    assert a is space.resolve("models.annual_water_yield.seasonality_constant")
    assert a.base == 5.0 and a.surrogate
    assert space.resolve("threats.built.weight").name == \
        "models.habitat_quality.threats.built.weight"
    assert space.resolve("agreement.reward.rate") is space.resolve("reward.rate")
    assert space.resolve("prices.water_conservation.unit_price").base == 7.06
    assert not space.resolve("prices.water_conservation.unit_price").surrogate


def test_unknown_name_suggests_the_closest(space):
    msg = error(space, "seasonality_constnt=3")
    assert "no tunable parameter has this name" in msg
    assert "did you mean seasonality_constant" in msg


def test_parameter_of_a_disabled_model_is_refused(space):
    assert "model 'sdr' is not enabled" in error(space, "models.sdr.k_param=2")


@pytest.mark.parametrize("text, fragment", [
    ("seasonality_constant=0.5,5", "value 0.5 is outside the valid range 1 <= value <= 30"),
    ("seasonality_constant=1:40:4", "value 40 is outside the valid range 1 <= value <= 30"),
    ("half_saturation_constant=0,0.3", "value 0 is outside the valid range 0 < value"),
    ("threats.road.weight=1.5", "value 1.5 is outside the valid range 0 <= value <= 1"),
    ("models.habitat_quality.threats.crop.max_dist=0", "0 < value"),
    ("kc_scale=-0.2", "value -0.2 is outside the valid range 0 < value"),
    ("prices.water_conservation.unit_price=-1", "prices cannot be negative"),
    ("reward.rate=1.5", "the agreement would be invalid: reward.rate"),
    ("tiers.basic=1.2", "add up to 1.2, more than 1"),
    ("prices.cpi.2021=-1", "value -1 is outside the valid range -1 < value"),
])
def test_out_of_range_values_are_refused(space, text, fragment):
    assert fragment in error(space, text)


def test_invest_own_range_is_checked_too(space):
    """The config allows any half-saturation constant > 0; InVEST says the same. A model field
    without a gep bound still goes through InVEST's MODEL_SPEC check."""
    p = space.resolve("half_saturation_constant")
    assert p.invest_check is not None
    assert p.invest_check.validate(-1.0)          # InVEST's own message for a bad value
    assert "InVEST: value > 0" in p.range_text


def test_param_given_twice_is_refused(space):
    assert "given twice" in error(space, "Z=3", "seasonality_constant=4")


def test_shares_are_rescaled_to_sum_to_one(space):
    """tiers.basic = 0.6: performance and excess keep their 3:2 ratio and fill 0.4."""
    (s,) = parse_sweep(space, ["tiers.basic=0.6"])
    sc = space.scenario({s.param: 0.6})
    tiers = sc.agreement["tiers"]
    assert tiers["basic"] == 0.6
    assert tiers["performance"] == pytest.approx(0.4 * 0.3 / 0.5)
    assert tiers["excess"] == pytest.approx(0.4 * 0.2 / 0.5)
    assert sum(tiers.values()) == pytest.approx(1.0, abs=1e-12)


def test_cli_stops_with_one_message_and_writes_nothing(tmp_path, tiny_config_copy, capsys):
    from gep.cli import main

    cfg = tiny_config_copy(tmp_path)
    code = main(["sweep", "--config", str(cfg), "--param", "reward.rate=0.1,0.2",
                 "--param", "seasonality_constant=1:40:4"])
    err = capsys.readouterr().err
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("gep sweep: error:")
    assert "seasonality_constant" in lines[0] and "1 <= value <= 30" in lines[0]
    assert "Fix:" in lines[0]
    assert not (tmp_path / "results").exists()      # no input acquired, no model run


def test_list_prints_every_tunable_name(tmp_path, tiny_config_copy, capsys):
    from gep.cli import main

    cfg = tiny_config_copy(tmp_path)
    assert main(["sweep", "--config", str(cfg), "--list"]) == 0
    names = {ln.split(" = ")[0] for ln in capsys.readouterr().out.splitlines()}
    assert {"models.annual_water_yield.seasonality_constant", "reward.rate", "tiers.basic",
            "prices.water_conservation.unit_price",
            "models.habitat_quality.threats.built.weight"} <= names
