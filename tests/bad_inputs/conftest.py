"""Session fixtures of the bad-input catalogue: small good inputs for each command and, where a
command is cheap, a real previous result to pre-populate the output folder with.

Everything is built once per session; each case copies what it changes into its own folder.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .harness import REPO, gep

# -- allocate -------------------------------------------------------------------------------------
UPSTREAM = ("shanyuan", "linxi", "yunling")
DOWNSTREAM = ("xiahe", "nanzhou")
YEARS = (2021, 2022, 2023, 2024)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def increments_text() -> str:
    lines = ["year,party_id,service,delta_value_cny_constant"]
    for y in YEARS:
        for i, p in enumerate(UPSTREAM + DOWNSTREAM):
            lines.append(f"{y},{p},water_conservation,{15071498.10 + 1000 * i + y:.2f}")
            lines.append(f"{y},{p},biodiversity,{-2345.67 * (i + 1):.2f}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    """``world/alloc`` good inputs of gep allocate; ``world/alloc_out`` its real result."""
    w = tmp_path_factory.mktemp("bad_inputs_world")
    a = w / "alloc"
    a.mkdir()
    # the demo agreement with the reward on the total change, so that allocate reads the
    # increments table (the catalogue's subject); the attribution table has its own cases
    text = (REPO / "config" / "agreement.yaml").read_text(encoding="utf-8")
    assert "basis: land_use" in text
    write(a / "agreement.yaml", text.replace("basis: land_use", "basis: total"))
    shutil.copy(REPO / "config" / "demo" / "section_quality_standin.csv", a / "quality.csv")
    write(a / "increments.csv", increments_text())
    write(a / "performance.csv", "year,party_id,target,met\n2021,shanyuan,redline,true\n")
    write(a / "incidents.csv", "date,party_id,damage_cny,description\n"
                               "2022-03-01,xiahe,1000.00,spill\n")
    res = gep(allocate_argv(a, w / "alloc_out"))
    assert res.returncode == 0, res.stderr
    return w


def allocate_argv(inputs: Path, out: Path) -> list[str]:
    return ["allocate", "--agreement", inputs / "agreement.yaml",
            "--increments", inputs / "increments.csv", "--quality", inputs / "quality.csv",
            "--performance", inputs / "performance.csv", "--incidents", inputs / "incidents.csv",
            "--out", out]


# -- monitor and dispatch -------------------------------------------------------------------------
STATIONS = ("station,party_id,section,role,lon,lat\n"
            "bnd,,boundary,section,118.9,29.8\n"
            "up_out,up_a,up_a_outlet,outlet,118.7,29.9\n")
CLEAN = {"codmn": (2.0, 0.05, "mg/L"), "nh3n": (0.10, 0.01, "mg/L"),
         "tp": (0.03, 0.002, "mg/L"), "tn": (1.0, 0.02, "mg/L"), "do": (8.0, 0.1, "mg/L"),
         "ph": (7.5, 0.05, "pH"), "turbidity": (5.0, 0.2, "NTU"), "flow": (50.0, 1.0, "m3/s")}
DISPATCH_AGREEMENT = """\
agreement: cli
base_year: 2020
cpi: {2021: 0.0}
accounts:
  - {id: central, role: central}
  - {id: fund, role: fund}
  - {id: up_a, role: upstream, base_weight: 1}
  - {id: down, role: downstream, benefit_weight: 1}
funding: {central: 0.5, downstream: 0.5}
base_payment: 730
tiers: {basic: 0.5, performance: 0.3, excess: 0.2}
excess_margin: 0.15
water_quality_bet:
  section: boundary
  k0: 0.85
  indicators:
    codmn: {weight: 0.25, baseline_mg_l: 2.0}
    nh3n: {weight: 0.25, baseline_mg_l: 0.1}
    tp: {weight: 0.25, baseline_mg_l: 0.03}
    tn: {weight: 0.25, baseline_mg_l: 1.0}
"""
TRANSFERS = ("transfer_id,year,clause,from_account,to_account,amount_cny,explanation\n"
             "x,2021,base,central,up_a,365.00,\n"
             "y,2021,base,down,up_a,365.00,\n")


def readings_text(days=("2021-03-01", "2021-03-02")) -> str:
    lines = ["timestamp,station,indicator,value,unit"]
    for st in ("bnd", "up_out"):
        for ind, (mean, delta, unit) in CLEAN.items():
            for d in days:
                for h in range(24):
                    v = mean + (delta if h % 2 else -delta)
                    lines.append(f"{d}T{h:02d}:00:00+08:00,{st},{ind},{v:.4f},{unit}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def mon_world(tmp_path_factory) -> Path:
    """``mon`` good monitor inputs, ``mon_out`` its result; ``disp`` good dispatch inputs,
    ``disp_out`` its result."""
    import yaml

    w = tmp_path_factory.mktemp("bad_inputs_mon")
    m = w / "mon"
    m.mkdir()
    data = yaml.safe_load((REPO / "config" / "monitoring.yaml").read_text(encoding="utf-8"))
    data["flow"]["ecological_min_m3s"] = {"boundary": 30.0, "up_a_outlet": 5.0}
    data["target_class"]["sections"] = {"boundary": "II"}
    data["responsibility"]["parties"] = {"up_a": {}}
    write(m / "monitoring.yaml", yaml.safe_dump(data, allow_unicode=True))
    write(m / "stations.csv", STATIONS)
    write(m / "readings.csv", readings_text())
    res = gep(monitor_argv(m, w / "mon_out"))
    assert res.returncode == 0, res.stderr
    d = w / "disp"
    d.mkdir()
    write(d / "agreement.yaml", DISPATCH_AGREEMENT)
    write(d / "transfers.csv", TRANSFERS)
    shutil.copy(w / "mon_out" / "section_quality.csv", d / "quality.csv")
    shutil.copy(w / "mon_out" / "daily_index.csv", d / "daily_index.csv")
    shutil.copy(w / "mon_out" / "anomalies.csv", d / "anomalies.csv")
    shutil.copy(m / "monitoring.yaml", d / "monitoring.yaml")
    res = gep(dispatch_argv(d, w / "disp_out"))
    assert res.returncode == 0, res.stderr
    return w


def monitor_argv(inputs: Path, out: Path) -> list[str]:
    return ["monitor", "--readings", inputs / "readings.csv", "--stations",
            inputs / "stations.csv", "--config", inputs / "monitoring.yaml", "--out", out]


def dispatch_argv(inputs: Path, out: Path, *extra: str) -> list[str]:
    return ["dispatch", "--transfers", inputs / "transfers.csv", "--daily-index",
            inputs / "daily_index.csv", "--agreement", inputs / "agreement.yaml", "--quality",
            inputs / "quality.csv", "--year", "2021", "--config", inputs / "monitoring.yaml",
            "--out", out, *extra]


# -- classify -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def lc_world(tmp_path_factory) -> Path:
    """``img.tif`` and ``train.gpkg`` (demo imagery of a 48 x 48 map) and ``lc_out``, a real
    classification."""
    import numpy as np

    from gep import landcover as L
    from gep.sources.base import Grid, write_raster

    w = tmp_path_factory.mktemp("bad_inputs_lc")
    codes = np.array([10, 30, 40, 80], dtype="uint8")
    rng = np.random.default_rng(5)
    lc = codes[np.kron(rng.integers(0, 4, (6, 6)), np.ones((8, 8), int))].astype("uint8")
    write_raster(w / "lc.tif", lc, Grid("EPSG:32650", 700_000.0, 3_310_000.0, 30.0, 48, 48),
                 255, "uint8")
    L.demo_imagery(w / "lc.tif", w / "img.tif", w / "train.gpkg", seed=1,
                   samples_per_class=30)
    res = gep(["classify", "--imagery", w / "img.tif", "--training", w / "train.gpkg",
               "--out-dir", w / "lc_out", "--n-estimators", "10"])
    assert res.returncode == 0, res.stderr
    return w


# -- basin config: sweep, sensitivity, calibrate, zonal, value ------------------------------------
@pytest.fixture(scope="session")
def basin_world(tmp_path_factory, config_copy) -> Path:
    """A tiny demo-basin config with its parties, static layers and 2020 acquired and 2020's
    models run (what ``gep zonal --year 2020`` reads): the config path."""
    from gep import acquire
    from gep.config import load_config
    from gep.invest import model_params, run_model
    from gep.paths import Paths

    root = tmp_path_factory.mktemp("bad_inputs_basin")
    path = config_copy(root, demo={"rows": 32, "cols": 32}, years=[2020, 2021])
    cfg = load_config(path)
    acquire.acquire_parties(cfg)
    acquire.acquire_static(cfg)
    acquire.acquire_year(cfg, 2020)
    p = Paths(cfg)
    for model in cfg.models.enabled():
        run_model(model, p.year_dir(2020), model_params(cfg, model), p.workspace(2020, model),
                  2020, report=False)
    return path
