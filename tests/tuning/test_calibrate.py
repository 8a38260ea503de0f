"""Calibration of Z against runoff: recovers the demo's true Z; metrics; bad observations."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gep.errors import ConfigError, InputDataError
from gep.tuning.calibrate import (
    DEMO_TRUE_Z,
    make_demo_observations,
    nse,
    pbias,
    read_observed,
    run_calibration,
)

REPO = Path(__file__).resolve().parents[2]
REPO_OBS = REPO / "config" / "demo" / "observed_runoff.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo basin exactly as shipped (config/config.yaml: 300 x 300, 2020-2024), with its
    results in a scratch folder."""
    import shutil

    import yaml

    root = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "config", root / "config")
    cfg = root / "config" / "config.yaml"
    data = yaml.safe_load(cfg.read_text())
    data["results_dir"] = str(root / "results")
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
    return cfg


def test_calibration_recovers_the_demo_true_z(demo):
    res = run_calibration(demo, check=False)          # the committed observations
    z = res.summary["parameters"]["seasonality_constant"]
    assert abs(z["value"] - DEMO_TRUE_Z) / DEMO_TRUE_Z < 0.05
    lo, hi = z["ci_profile"]
    assert lo is not None and hi is not None and lo < DEMO_TRUE_Z < hi
    assert z["se"] > 0 and z["ci_wald"][0] < z["value"] < z["ci_wald"][1]
    assert res.summary["n_observations"] == 25
    # metrics recomputed here from the fit table
    f = res.fit
    assert res.summary["nse"] == pytest.approx(
        1 - ((f.simulated_m3 - f.observed_m3) ** 2).sum()
        / ((f.observed_m3 - f.observed_m3.mean()) ** 2).sum())
    assert res.summary["nse"] > 0.99
    assert abs(res.summary["pbias_percent"]) < 1
    assert res.paths["plot"].exists() and res.paths["profile"].exists()


def test_committed_observations_are_reproducible(demo):
    """config/demo/observed_runoff.csv is what make_demo_observations writes (generated with
    InVEST; the surrogate, equal to InVEST per pixel, reproduces it here)."""
    committed = pd.read_csv(REPO_OBS)
    again = make_demo_observations(demo, engine="surrogate")
    m = committed.merge(again, on=["year", "station"], validate="one_to_one")
    assert len(m) == len(committed) == 25
    # Not bit-stable across machines: runoff is float32 per pixel (InVEST's rasters; machine
    # epsilon 1.2e-7) summed over ~10^4-10^5 pixels, and the summation order (numpy's SIMD
    # width, FMA) differs between CPUs, so the sums may differ by a few float32 ulps of the
    # total: measured up to 3 m3 on totals of ~1.5e7 m3 (2e-7). A relative tolerance of 1e-6
    # covers that with margin, while any change to the model, the data or the noise (a 1%
    # observation error is 1e-2) is still four orders of magnitude larger; + 1 m3 for the
    # rounding to whole m3.
    diff = np.abs(m.runoff_m3_x - m.runoff_m3_y)
    assert (diff <= 1e-6 * m.runoff_m3_x.abs() + 1).all(), m[diff > 1]


def test_calibration_with_check_on_a_tiny_basin(fresh_basin, tmp_path):
    """Noise-free observations at Z = 8 on another basin; the fit finds 8 and the InVEST check
    at the fitted value agrees with the surrogate per pixel."""
    cfg = fresh_basin()
    obs = make_demo_observations(cfg, true_z=8.0, noise_cv=0.0, engine="surrogate")
    path = tmp_path / "obs.csv"
    obs.to_csv(path, index=False)
    res = run_calibration(cfg, observed=path, check=True)
    assert res.z == pytest.approx(8.0, rel=0.01)
    chk = res.summary["surrogate_check"]
    assert chk["ok"] and chk["max_rel_diff"] < 1e-6 and chk["n_pixels"] > 1000


def test_nse_and_pbias_formulas():
    obs = np.array([10.0, 20.0, 30.0])
    assert nse(obs, obs) == 1.0
    assert nse(obs, np.full(3, 20.0)) == pytest.approx(0.0)      # the mean scores 0
    assert nse(obs, np.array([12.0, 18.0, 33.0])) == pytest.approx(1 - 17 / 200)
    assert pbias(obs, obs * 0.9) == pytest.approx(10.0)            # under-estimate: positive
    assert pbias(obs, obs * 1.05) == pytest.approx(-5.0)


@pytest.mark.parametrize("content, fragment", [
    ("year,station\n2020,outlet\n", "missing column(s) runoff_m3"),
    ("year,station,runoff_m3\n2020,nowhere,5\n2021,outlet,6\n", "station 'nowhere'"),
    ("year,station,runoff_m3\n2019,outlet,5\n2021,outlet,6\n", "year 2019 is not a year"),
    ("year,station,runoff_m3\n2020,outlet,-5\n2021,outlet,6\n", "must be a positive volume"),
    ("year,station,runoff_m3\n2020,outlet,5\n2020,outlet,6\n", "appears twice"),
])
def test_bad_observations_name_line_and_field(tmp_path, content, fragment):
    p = tmp_path / "obs.csv"
    p.write_text(content)
    with pytest.raises(InputDataError) as e:
        read_observed(p, [2020, 2021], ["outlet", "boundary"])
    assert fragment in str(e.value)
    assert str(p) in str(e.value)


def test_unknown_party_in_stations_is_refused(fresh_basin, tmp_path):
    cfg = fresh_basin()
    tuning = tmp_path / "tuning.yaml"
    tuning.write_text("calibration:\n  stations: {gauge: [atlantis]}\n")
    # the observations are read first (before any model work), so they must be valid here
    obs = tmp_path / "obs.csv"
    obs.write_text("year,station,runoff_m3\n2020,gauge,5\n2021,gauge,6\n")
    with pytest.raises(ConfigError, match="unknown party 'atlantis'"):
        run_calibration(cfg, tuning=tuning, observed=obs)
