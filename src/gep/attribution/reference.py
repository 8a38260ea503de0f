"""One year's land cover valued under the reference climate: model runs and zonal sums."""
from __future__ import annotations

import json
from pathlib import Path

from gep import models
from gep.attribution.climate import same_raster
from gep.config import Config
from gep.errors import ConfigError
from gep.io import atomic_dir
from gep.models import annual_water_yield as awy
from gep.paths import Paths

#: climate layers each climate-dependent model reads, and the InVEST argument naming them
#: (a snapshot of the adapters' ``climate``, for old callers)
CLIMATE_ARGS = {a.id: dict(a.climate) for a in models.ADAPTERS.values() if a.climate}


def _same_climate(p: Paths, year: int, model: str) -> bool:
    return all(same_raster(p.year_file(year, name), p.reference_file(name))
               for name in models.get(model).climate)


def _water_yield_surrogate(cfg: Config, p: Paths, year: int, workspace: Path) -> Path:
    """Per-pixel water yield of ``year``'s land cover under the reference climate, written
    where InVEST writes it (the adapter's ``water_yield`` output), with the surrogate."""
    from gep.invest import model_params
    from gep.tuning.surrogate import Biophysical, WaterYieldParams, WaterYieldSurrogate

    params = model_params(cfg, awy.ID)
    rasters = {"lulc": p.year_file(year, "landcover"),
               "eto": p.reference_file("reference_et"),
               "precip": p.reference_file("precipitation"),
               "soil": p.year_file(year, "root_restricting_depth"),
               "pawc": p.year_file(year, "plant_available_water")}
    sur = WaterYieldSurrogate(rasters, Biophysical.read_csv(params["biophysical_table"]))
    z = WaterYieldParams(float(params["seasonality_constant"]))
    with atomic_dir(workspace) as tmp:
        sur.write(awy.ADAPTER.output(tmp, "water_yield"), z)
        (tmp / Paths.REFERENCE_RECORD).write_text(json.dumps(
            {"model": awy.ID, "year": year, "method": "surrogate",
             "reference_years": cfg.reference_years, "seasonality_constant": z.seasonality_constant,
             "inputs": {k: str(v) for k, v in rasters.items()}}, indent=2))
    return workspace


def reference_year(cfg: Config, year: int, paths: Paths | None = None) -> Path:
    """Run the climate-dependent models of ``year`` under the reference climate and write the
    year's reference zonal table (``gep/zonal_reference/<year>.csv``); returns its path."""
    from gep.attribution.surrogates import reference_run
    from gep.zonal import zonal_year

    p = paths or Paths(cfg)
    if year not in cfg.years:
        raise ConfigError("years", f"{year} is not a configured year", f"use one of {cfg.years}")
    workspaces: dict[str, Path] = {}
    for model in cfg.models.enabled():
        actual = p.workspace(year, model)
        climate = models.get(model).climate
        if not climate or _same_climate(p, year, model):
            workspaces[model] = actual       # climate-independent, or the climate is the same
            continue
        ws = p.reference_workspace(year, model)
        if model == awy.ID:
            _water_yield_surrogate(cfg, p, year, ws)
        else:   # SDR, NDR: the actual run's intermediates, else InVEST again
            reference_run(cfg, p, year, model, ws)
        workspaces[model] = ws
    return zonal_year(year, p.year_dir(year), p.parties_tif,
                      p.parties_csv, workspaces, p.zonal_reference(year),
                      input_files={"precipitation": p.reference_file("precipitation")})
