"""Model adapters (gep.models): the registry, InVEST's own checks of every adapter's args, the
config sections, and an adapter defined here plugging into invest, zonal and valuation."""
from __future__ import annotations

import importlib
import pkgutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gep import models
from gep.errors import ConfigError
from gep.models.base import ModelAdapter, ModelConfig, Service, Valued, Variable, total
from gep.sources.base import Grid, write_raster


# -- InVEST's own validation of every adapter's args -----------------------------------------
@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory, config_copy):
    """A 32 x 32 demo basin's inputs for 2020, every model enabled."""
    from gep import acquire
    from gep.config import load_config
    from gep.paths import Paths

    tmp = tmp_path_factory.mktemp("adapters")
    path = config_copy(tmp, demo={"rows": 32, "cols": 32}, years=[2020],
                       models={m: {"enabled": True} for m in models.ADAPTERS})
    cfg = load_config(path)
    acquire.acquire_static(cfg)
    acquire.acquire_parties(cfg)
    acquire.acquire_year(cfg, 2020)
    return cfg, Paths(cfg)


@pytest.mark.parametrize("model_id", list(models.ADAPTERS))
def test_build_args_pass_invest_validate(demo_inputs, model_id, tmp_path):
    from gep.invest import build_args, model_params

    cfg, p = demo_inputs
    adapter = models.get(model_id)
    args = adapter.build_args(p.year_dir(2020), model_params(cfg, model_id), tmp_path, 2020)
    assert args["workspace_dir"] == str(tmp_path)
    # every path argument names an existing file (inputs, tables, the threats copy)
    paths = [v for k, v in args.items() if k.endswith("_path") and isinstance(v, str)]
    assert paths and all(Path(v).is_file() for v in paths), paths
    assert adapter.invest_module().validate(args) == []
    # the old entry point of gep.invest builds the very same args
    assert build_args(model_id, p.year_dir(2020), model_params(cfg, model_id), tmp_path) == args


def test_climate_arguments_are_invest_arguments(demo_inputs, tmp_path):
    """The reference climate replaces args the model really has."""
    cfg, p = demo_inputs
    from gep.invest import model_params

    for a in models.ADAPTERS.values():
        if a.climate:
            args = a.build_args(p.year_dir(2020), model_params(cfg, a.id), tmp_path / a.id)
            for layer, arg in a.climate.items():
                assert Path(args[arg]) == p.year_file(2020, layer)


# -- registry and config ----------------------------------------------------------------------
def test_every_adapter_module_is_registered():
    """A file of gep/models defining ADAPTER is in the registry (adding a model = its file
    plus its name in MODEL_MODULES)."""
    found = []
    for m in pkgutil.iter_modules(models.__path__):
        mod = importlib.import_module(f"gep.models.{m.name}")
        if isinstance(getattr(mod, "ADAPTER", None), ModelAdapter):
            found.append(m.name)
    assert sorted(found) == sorted(models.MODEL_MODULES) == sorted(models.ADAPTERS)
    assert all(models.get(i).id == i for i in models.ADAPTERS)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ConfigError) as e:
        models.get("water_yield")
    assert "models.water_yield" in str(e.value) and "annual_water_yield" in str(e.value)


def test_config_sections_round_trip_through_the_registry(tmp_path):
    from gep.config import MODEL_IDS, Config, dump_resolved, validate

    assert MODEL_IDS == tuple(models.ADAPTERS)
    section_types = Config.model_fields["models"].annotation.model_fields
    # one section per adapter, in the registry's order, besides the switches of every model
    switches = {"invest_reports", "gtiff_compression"}
    assert [k for k in section_types if k not in switches] == list(models.ADAPTERS)
    data = {"basin": "t", "years": [2020], "models": {
        "sdr": {"enabled": True, "k_param": 1.5}, "habitat_quality": {"enabled": False}}}
    cfg = validate(data, config_dir=tmp_path)
    for i, a in models.ADAPTERS.items():
        section = getattr(cfg.models, i)
        assert type(section) is a.config and isinstance(section, ModelConfig)
        assert section_types[i].annotation is a.config
    assert cfg.models.sdr.k_param == 1.5
    assert cfg.models.enabled() == ["annual_water_yield", "sdr"]
    again = validate(yaml.safe_load(yaml.safe_dump(dump_resolved(cfg))))
    assert again.models == cfg.models


def test_a_section_refuses_unknown_keys_naming_them():
    from gep.config import validate

    with pytest.raises(ConfigError) as e:
        validate({"basin": "t", "years": [2020], "models": {"ndr": {"k_parm": 2}}})
    assert "models.ndr.k_parm" in str(e.value)


def test_services_come_from_the_adapters():
    from gep.services import SERVICE_NAMES, VALUED_SERVICES

    ids = [s.id for a in models.ADAPTERS.values() for s in a.services]
    assert list(SERVICE_NAMES) == ids and len(set(ids)) == len(ids)
    assert set(VALUED_SERVICES) == {s.id for s in models.services() if s.valued}
    assert "water_yield" not in VALUED_SERVICES and "carbon_sequestration" in VALUED_SERVICES


def test_zonal_variables_are_the_adapters():
    from gep import zonal

    names = [v.name for v in zonal.VARIABLES]
    assert names == [v.name for a in models.ADAPTERS.values() for v in a.variables]
    assert len(set(names)) == len(names)
    for a in models.ADAPTERS.values():
        for v in a.variables:
            assert v.model in (None, a.id)
            if v.model is not None:   # the file it reads is one of the adapter's outputs
                assert v.path in a.outputs.values()


# -- an adapter defined in this test module plugs in -----------------------------------------
class ToyConfig(ModelConfig):
    enabled: bool = False
    factor: float = 2.0


def _toy_args(inputs, params, workspace):
    return {"lulc_path": inputs.layer("landcover"), "factor": params["factor"]}


def _toy_value(party, ctx):
    q = total(party, "toy")
    return [Valued("toy_service", q, "t", q * Decimal("3.5"))]


TOY = ModelAdapter(
    id="toy", module="natcap.invest.carbon", config=ToyConfig, args=_toy_args,
    outputs={"toy": "out/toy.tif"},
    variables=(Variable("toy", "toy", "out/toy.tif", "t", lambda v, a: v * a / 10000.0),),
    services=(Service("toy_service", "玩具", "Toy", valued=True),),
    value=_toy_value)

GRID = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, 5, 4)


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(models.ADAPTERS, "toy", TOY)
    return TOY


def test_toy_adapter_builds_args_through_invest(toy, tmp_path):
    from gep.invest import build_args

    args = build_args("toy", tmp_path / "inputs" / "2020", {"factor": 4.0}, tmp_path / "ws")
    assert args == {"workspace_dir": str(tmp_path / "ws"), "results_suffix": "", "n_workers": -1,
                    "lulc_path": str(tmp_path / "inputs" / "2020" / "landcover.tif"),
                    "factor": 4.0}


def test_toy_adapter_is_summed_and_valued(toy, tmp_path):
    from gep.valuation import Prices, value_year
    from gep.zonal import zonal_year

    rng = np.random.default_rng(3)
    inputs = tmp_path / "inputs" / "2020"
    lc = rng.choice([10, 30], size=(4, 5)).astype(np.uint8)
    parties = np.array([[1, 1, 2, 2, 2]] * 4, dtype=np.int16)
    vals = rng.uniform(0, 10, (4, 5)).astype(np.float32)
    write_raster(inputs / "landcover.tif", lc, GRID, 255)
    write_raster(inputs / "precipitation.tif", np.full((4, 5), 1000, np.float32), GRID, -1.0)
    write_raster(tmp_path / "parties.tif", parties, GRID, -1)
    write_raster(tmp_path / "ws" / "out" / "toy.tif", vals, GRID, -1.0)
    pd.DataFrame({"index": [1, 2], "party_id": ["a", "b"]}).to_csv(tmp_path / "parties.csv",
                                                                   index=False)
    out = zonal_year(2020, inputs, tmp_path / "parties.tif", tmp_path / "parties.csv",
                     {"toy": tmp_path / "ws"}, tmp_path / "zonal.csv")
    z = pd.read_csv(out)
    assert list(z["variable"].unique()) == ["area", "precipitation", "toy"]
    for label, pid in ((1, "a"), (2, "b")):
        expect = float(vals[parties == label].astype(np.float64).sum()) * 900.0 / 1e4
        got = z[(z.party_id == pid) & (z.variable == "toy")]
        assert got["quantity"].sum() == pytest.approx(expect, rel=1e-12)
        assert set(got["unit"]) == {"t"}
    prices = Prices(2020, 2020, {}, {}, "prices.yaml")
    rows = value_year(z, prices, {})
    toy_rows = [r for r in rows if r["service"] == "toy_service"]
    assert [r["party_id"] for r in toy_rows] == ["a", "b"]
    for r in toy_rows:
        qty = z[(z.party_id == r["party_id"]) & (z.variable == "toy")]["quantity"]
        expect = sum((Decimal(repr(float(x))) for x in qty), Decimal(0)) * Decimal("3.5")
        assert Decimal(r["value_cny_constant"]) == expect.quantize(Decimal("0.01"),
                                                                   rounding="ROUND_HALF_UP")
