"""One year's land cover valued under the reference climate: model runs and zonal sums."""
from __future__ import annotations

import csv
import json
import logging
import tempfile
from pathlib import Path

from gep import models
from gep.attribution.climate import same_raster
from gep.config import Config
from gep.errors import ConfigError
from gep.io import atomic_dir, write_csv
from gep.models import annual_water_yield as awy
from gep.paths import Paths

LOG = logging.getLogger(__name__)

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
        # ZSTD as the SDR / NDR surrogates write: a tenth of DEFLATE's CPU, same pixels
        sur.write(awy.ADAPTER.output(tmp, "water_yield"), z, compress="zstd", zstd_level=1)
        (tmp / Paths.REFERENCE_RECORD).write_text(json.dumps(
            {"model": awy.ID, "year": year, "method": "surrogate",
             "reference_years": cfg.reference_years, "seasonality_constant": z.seasonality_constant,
             "inputs": {k: str(v) for k, v in rasters.items()}}, indent=2))
    return workspace


def reference_year(cfg: Config, year: int, paths: Paths | None = None) -> Path:
    """Run the climate-dependent models of ``year`` under the reference climate and write the
    year's reference zonal table (``gep/zonal_reference/<year>.csv``); returns its path."""
    from gep.attribution.surrogates import reference_run

    p = paths or Paths(cfg)
    if year not in cfg.years:
        raise ConfigError("years", f"{year} is not a configured year", f"use one of {cfg.years}")
    workspaces: dict[str, Path] = {}
    reused: list[str] = []
    for model in cfg.models.enabled():
        actual = p.workspace(year, model)
        climate = models.get(model).climate
        if not climate or _same_climate(p, year, model):
            workspaces[model] = actual       # climate-independent, or the climate is the same
            reused.append(model)
            continue
        ws = p.reference_workspace(year, model)
        if model == awy.ID:
            _water_yield_surrogate(cfg, p, year, ws)
        else:   # SDR, NDR: the actual run's intermediates, else InVEST again
            reference_run(cfg, p, year, model, ws)
        workspaces[model] = ws
    return reference_zonal(p, year, workspaces, reused)


def reference_zonal(p: Paths, year: int, workspaces: dict[str, Path],
                    reused: list[str]) -> Path:
    """The year's reference zonal table. The variables of models whose actual run is reused
    (``reused``) are the year's own zonal table's rows (``gep/zonal/<year>.csv``, the same
    rasters summed over the same bins), so only the area, the input layers (the reference
    precipitation) and the re-run models are summed again (and a reused model whose
    variable masks one of those, water yield); the whole table is summed when the year's
    table is missing or its bins differ (the log says why)."""
    from gep.zonal import zonal_year

    out, actual = p.zonal_reference(year), p.zonal(year)
    inputs = {"precipitation": p.reference_file("precipitation")}

    def full() -> Path:
        return zonal_year(year, p.year_dir(year), p.parties_tif, p.parties_csv, workspaces,
                          out, input_files=inputs)

    # a model whose variable masks another (water yield masks the precipitation, which is
    # always summed again) is summed with it, or the other would be summed unmasked
    anchors = {v.same_pixels_as for v in models.variables() if v.same_pixels_as}
    kept = [m for m in reused if not any(v.name in anchors for v in models.get(m).variables)]
    if not kept:
        return full()
    if not actual.exists():
        LOG.info("reference zonal %s: %s is missing, summing every variable", year, actual)
        return full()
    summed = {m: ws for m, ws in workspaces.items() if m not in kept}
    with tempfile.TemporaryDirectory() as tmp:
        partial = _rows(zonal_year(year, p.year_dir(year), p.parties_tif, p.parties_csv,
                                   summed, Path(tmp) / "partial.csv", input_files=inputs))
    own = _rows(actual)
    taken = {v.name for m in kept for v in models.get(m).variables if v.model == m}
    header = own.pop("")[0]
    if partial.pop("")[0] != header or partial.get("area") != own.get("area") \
            or set(own) != set(partial) | taken:
        LOG.info("reference zonal %s: %s has other bins or variables, summing every "
                 "variable", year, actual)
        return full()
    return write_csv(out, header, [row for name in own
                                   for row in (own if name in taken else partial)[name]])


def _rows(path: Path) -> dict[str, list[list[str]]]:
    """A zonal table's rows by variable, in the file's order (the header under "")."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        out: dict[str, list[list[str]]] = {"": [header]}
        col = header.index("variable")
        for row in reader:
            out.setdefault(row[col], []).append(row)
    return out
