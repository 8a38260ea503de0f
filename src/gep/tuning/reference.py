"""Zonal rows under the reference climate (for the settlement's land-use / climate
attribution), without InVEST: water yield from the surrogate with each scenario's own
settings, SDR / NDR from the pipeline's reference-climate runs. Cached under
``tuning/cache/zonal_reference/<year>/<key>.csv``."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from gep.paths import Paths, TuningCacheFiles
from gep.tuning.digests import file_digest, module_digest
from gep.tuning.errors import TuningError
from gep.tuning.params import AWY, digest
from gep.tuning.zonal import parties_digest

#: zonal variables the reference climate changes (the rest is taken from the actual run)
CLIMATE_VARIABLES = ("precipitation", "water_yield", "avoided_erosion", "n_retained",
                     "p_retained")
#: the climate inputs each climate-dependent model without surrogate reads
_CLIMATE_INPUTS = {"sdr": ("erosivity",), "ndr": ("precipitation",)}


def reference_task(year: int, inputs_dir: str, parties_tif: str, parties_csv: str,
                   awy: dict | None, table: str | None, pipeline_ws: dict[str, str],
                   ref_dir: str, out: str) -> str:
    """Zonal rows of ``year``'s land cover under the reference climate, for the variables the
    climate changes: water yield from the surrogate with the scenario's settings (no InVEST),
    SDR / NDR from the pipeline's reference (or actual) workspaces."""
    from gep import models
    from gep.zonal import zonal_year

    layer = Paths.input_layer
    ref = Path(ref_dir)
    with tempfile.TemporaryDirectory(prefix="gep-ref-") as tmp:
        ws = {m: Path(w) for m, w in pipeline_ws.items()}
        if awy is not None:
            from gep.tuning import surrogate as s

            d = Path(inputs_dir)
            rasters = {"lulc": layer(d, "landcover"), "eto": layer(ref, "reference_et"),
                       "precip": layer(ref, "precipitation"),
                       "soil": layer(d, "root_restricting_depth"),
                       "pawc": layer(d, "plant_available_water")}
            sur = s.WaterYieldSurrogate(rasters, s.Biophysical.read(table))
            sur.write(models.get(AWY).output(Path(tmp) / "awy", "water_yield"),
                      s.WaterYieldParams.from_mapping(awy))
            ws[AWY] = Path(tmp) / "awy"
        return str(zonal_year(year, Path(inputs_dir), Path(parties_tif), Path(parties_csv),
                              ws, Path(out),
                              input_files={"precipitation": layer(ref, "precipitation")}))


def _climate_workspaces(study, plan, a: dict, year: int) -> dict[str, str]:
    """SDR / NDR workspaces under the reference climate: the scenario's own run when the
    year's climate is the reference, else the pipeline's reference run (a target of its
    workflow)."""
    from gep.attribution.climate import same_raster

    p, ws = study.paths, {}
    for m, names in _CLIMATE_INPUTS.items():
        if m not in study.cfg.models.enabled():
            continue
        if all(same_raster(p.year_file(year, n), p.reference_file(n)) for n in names):
            ws[m] = str(study.workspace(plan.runs[a[(m, year)][0]]))
            continue
        ref_ws = p.reference_workspace(year, m)
        study.pipeline.ensure([ref_ws])
        if not ref_ws.exists():
            raise TuningError(f"{ref_ws}: no reference-climate {m} run for {year}. Fix: run "
                              "the pipeline first (gep run), which makes it")
        ws[m] = str(ref_ws)
    return ws


def reference_rows(study, plan, pool) -> dict:
    """``{"assign": (id(scenario), year) -> key, "frames": key -> zonal rows}`` for every
    (year, water-yield settings) the scenarios use."""
    from gep.invest import model_params
    from gep.paths import CLIMATE_FILES

    p, cfg = study.paths, study.cfg
    study.pipeline.ensure([p.reference_file(n) for n in CLIMATE_FILES])
    models = cfg.models.enabled()
    table = model_params(cfg, AWY)["biophysical_table"] if AWY in models else None
    fixed = {"climate": {n: file_digest(p.reference_file(n)) for n in CLIMATE_FILES},
             "parties": parties_digest(p), "table": file_digest(table) if table else None,
             "code": [module_digest("gep.zonal"), module_digest("gep.tuning.surrogate")]}
    assign, todo = {}, {}
    for sc, a in zip(plan.scenarios, plan.assign):
        for year in cfg.years:
            awy = dict(sc.settings[AWY]) if AWY in models else None
            ws = _climate_workspaces(study, plan, a, year)
            key = digest({"year": year, "awy": awy, "ws": ws,
                          "inputs": study.input_digests(year), **fixed})[:20]
            assign[(id(sc), year)] = key
            out = study.cache / "zonal_reference" / str(year) / TuningCacheFiles.zonal_name(key)
            todo.setdefault(key, (year, str(p.year_dir(year)), str(p.parties_tif),
                                  str(p.parties_csv), awy, table, ws,
                                  str(p.reference_climate), str(out)))
    missing = [t for t in todo.values() if not Path(t[-1]).exists()]
    if missing:
        study.log(f"reference-climate zonal sums: {len(missing)} (surrogate)")
    pool.map(reference_task, missing)
    return {"assign": assign, "frames": {k: pd.read_csv(t[-1]) for k, t in todo.items()}}
