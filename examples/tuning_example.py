"""Tuning the demo basin from Python: sweeps, sensitivity, calibration (issue 7).

Run as a script (``.venv/bin/python examples/tuning_example.py [--tiny]``) or cell by cell
in Jupyter / VS Code (the ``# %%`` markers). ``--tiny`` works on a 64 x 64 copy of the demo
basin in a temporary folder (about a minute); without it, on config/config.yaml (results in
results/demo/tuning/). Every function returns pandas objects; see docs/tuning.md.
"""
# %%
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from gep import tuning

REPO = Path(__file__).resolve().parents[1]


def tiny_copy() -> Path:
    """A 64 x 64, two-year copy of the demo config in a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="gep-tuning-example-"))
    shutil.copytree(REPO / "config", root / "config")
    cfg = root / "config" / "config.yaml"
    data = yaml.safe_load(cfg.read_text())
    data.update(results_dir=str(root / "results"), years=[2020, 2021],
                demo={"rows": 64, "cols": 64})
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
    return cfg


def main(config: Path, tiny: bool = False) -> None:
    # %% What can be tuned, and how each parameter is evaluated
    params = tuning.parameters(config)
    print(params[["name", "alias", "base", "valid", "evaluated_by"]].head(12).to_string())

    # %% A price and reward sweep: InVEST runs at most once per model and year
    res = tuning.run_sweep(config, ["prices.water_conservation.unit_price=5:9:3",
                                    "reward.rate=0.1,0.15,0.2"])
    print(res.pivot("gep_total").round(0))            # GEP per party, summed over years
    print(res.pivot("payout_net").round(0))           # net payout per account
    print(res.meta["stats"])                          # invest_runs, cached_runs, ...

    # %% A Z sweep with the surrogate (checked per pixel against one InVEST run)
    z = tuning.run_sweep(config, ["seasonality_constant=1:30:15"], surrogate=True)
    wy = z.pivot("water_yield") / 1e6                 # million m3 per party
    print(wy.round(2))
    print([round(c["max_rel_diff"], 12) for c in z.meta["surrogate_checks"]])
    da = z.to_xarray()                                # dims: Z, year, party, service
    print(da.sel(service_or_clause="gep_total").sum("year"))

    # %% Calibration of Z against synthetic runoff observations. The demo ships
    # config/demo/observed_runoff.csv (true Z = 3.6, docs/tuning.md); the tiny copy is
    # another basin, so it makes its own with the same generator.
    observed = None
    if tiny:
        from gep.tuning.calibrate import make_demo_observations

        observed = config.parent / "observed_tiny.csv"
        make_demo_observations(config, true_z=7.0, engine="surrogate").to_csv(observed,
                                                                              index=False)
    cal = tuning.run_calibration(config, observed=observed)
    print(cal.summary["parameters"]["seasonality_constant"])
    print(f"NSE {cal.summary['nse']:.4f}, PBIAS {cal.summary['pbias_percent']:.2f} %")
    print(cal.fit.head())

    # %% Morris screening over the ranges of config/tuning.yaml
    sa = tuning.run_sensitivity(config, method="morris", n=4)
    print(sa.ranked[sa.ranked.output == "overall"].to_string(index=False))
    print(sa.paths["tornado_png"])

    # %% A water-yield map at the calibrated Z (xarray)
    m = tuning.water_yield_map(config, 2020, seasonality_constant=cal.z)
    print(float(m.mean()), m.attrs["units"])


if __name__ == "__main__":
    small = "--tiny" in sys.argv
    main(tiny_copy() if small else REPO / "config" / "config.yaml", tiny=small)
