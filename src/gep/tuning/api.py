"""Notebook-friendly functions: the same operations as the ``gep`` commands, returning pandas
(and xarray) objects.

    from gep import tuning
    tuning.parameters("config/config.yaml")                       # DataFrame of names
    res = tuning.run_sweep("config/config.yaml", ["seasonality_constant=2:10:9"],
                           surrogate=True)
    res.table, res.pivot("gep_total"), res.to_xarray()
    sa = tuning.run_sensitivity("config/config.yaml", method="morris")
    sa.ranked, sa.tornado
    cal = tuning.run_calibration("config/config.yaml")
    cal.summary["parameters"], cal.fit, cal.profile
    tuning.water_yield_map("config/config.yaml", 2020, seasonality_constant=3.6)  # DataArray
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gep.tuning.calibrate import CalibrationResult, run_calibration
from gep.tuning.sensitivity import SensitivityResult, run_sensitivity
from gep.tuning.sweep import SweepResult, run_sweep

__all__ = ["CalibrationResult", "SensitivityResult", "SweepResult", "parameters",
           "run_calibration", "run_sensitivity", "run_sweep", "water_yield_map"]


def parameters(config: str | Path) -> pd.DataFrame:
    """Every tunable parameter: name, base value, valid range, unit, surrogate or InVEST."""
    from gep.config import load_config
    from gep.tuning.params import ALIASES, ParameterSpace

    space = ParameterSpace(load_config(config), str(config))
    rows = []
    for name in space.names():
        p = space.params[name]
        rows.append({"name": name, "alias": next((a for a, c in ALIASES.items()
                                                  if c == name and a != "z"), ""),
                     "target": p.target, "base": p.base, "valid": p.bounds_text(),
                     "range_source": p.range_text, "unit": p.unit,
                     "evaluated_by": "surrogate" if p.surrogate else
                     ("InVEST" if p.target == "model" else "valuation/settlement")})
    return pd.DataFrame(rows)


def water_yield_map(config: str | Path, year: int, seasonality_constant: float,
                    kc_scale: float = 1.0, root_depth_scale: float = 1.0):
    """Per-pixel annual water yield (mm) from the surrogate, as an xarray DataArray on the
    basin grid (x, y = pixel-centre coordinates in the grid's CRS; NaN outside)."""
    import numpy as np
    import xarray as xr

    from gep.config import load_config
    from gep.paths import Paths
    from gep.tuning.surrogate import AWY_NODATA, WaterYieldSurrogate

    cfg = load_config(config)
    sur = WaterYieldSurrogate.from_inputs(
        Paths(cfg).year_dir(year), cfg.path(cfg.models.annual_water_yield.biophysical_table))
    arr = sur.array({"seasonality_constant": seasonality_constant, "kc_scale": kc_scale,
                     "root_depth_scale": root_depth_scale}).astype(np.float64)
    arr[arr == AWY_NODATA] = np.nan
    g = sur.grid
    x = g.x0 + (np.arange(g.width) + 0.5) * g.pixel_size
    y = g.y0 - (np.arange(g.height) + 0.5) * g.pixel_size
    return xr.DataArray(arr, coords={"y": y, "x": x}, dims=("y", "x"), name="water_yield",
                        attrs={"units": "mm", "crs": g.crs, "year": year,
                               "seasonality_constant": seasonality_constant,
                               "kc_scale": kc_scale, "root_depth_scale": root_depth_scale})
