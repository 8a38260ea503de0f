"""InVEST runners: argument builders and a path-in/path-out ``run_model``.

Each model runs in a fresh workspace ``results/<basin>/invest/<year>/<model_id>/`` (InVEST's own
output layout, untouched). The workspace is built under a temporary name and renamed when
InVEST returns, so a crash never leaves a workspace that looks finished, and taskgraph's cache
never reuses results computed from other inputs. Arguments are validated with the model's own
``validate(args)`` before anything runs.

The model runs exactly as the InVEST Workbench and ``invest run`` run it, through
``MODEL_SPEC.execute`` with its log file (``InVEST-<model>-log-<time>.txt``), the saved file
registry (``file_registry.json``), metadata beside every output (``*.yml``) and InVEST's own
HTML report where the model has one (``<model>_report.html``). The workspace also holds the
parameter set ``<model>.invs.json`` (paths relative to the workspace), which the Workbench
opens ("Open" > the file) to show, check or re-run that year's model.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from gep.config import MODEL_IDS, Config
from gep.errors import ConfigError, GepError
from gep.io import atomic_dir

LOG = logging.getLogger(__name__)

#: natcap.invest module of each model id
MODULES = {
    "annual_water_yield": "natcap.invest.annual_water_yield",
    "habitat_quality": "natcap.invest.habitat_quality",
    "sdr": "natcap.invest.sdr.sdr",
    "ndr": "natcap.invest.ndr.ndr",
    "carbon": "natcap.invest.carbon",
}


class InvestError(GepError, RuntimeError):
    """InVEST refused its arguments or failed while running."""


def model_params(cfg: Config, model_id: str) -> dict[str, Any]:
    """The model's parameters from the config, with table paths resolved: the Snakemake
    ``params`` of the model's rule, so changing one model's parameters re-runs that model only.
    """
    if model_id not in MODEL_IDS:
        raise ConfigError(f"models.{model_id}", "unknown model", f"use one of {MODEL_IDS}")
    m = getattr(cfg.models, model_id).model_dump(mode="json")
    m.pop("enabled", None)
    for k, v in list(m.items()):
        if k.endswith("_table"):
            m[k] = str(cfg.path(v).resolve())
    return m


def table_inputs(cfg: Config, model_id: str) -> list[str]:
    return [v for k, v in model_params(cfg, model_id).items() if k.endswith("_table")]


def build_args(model_id: str, inputs: Path, params: dict[str, Any], workspace: Path,
               year: int | None = None, previous_inputs: Path | None = None) -> dict[str, Any]:
    """InVEST ``args`` for one model from a year's input folder (see gep.acquire)."""
    i = Path(inputs)
    base = {"workspace_dir": str(workspace), "results_suffix": "", "n_workers": -1}
    basin = i.parent / "basin.gpkg"
    if model_id == "annual_water_yield":
        return base | {
            "lulc_path": str(i / "landcover.tif"),
            "precipitation_path": str(i / "precipitation.tif"),
            "eto_path": str(i / "reference_et.tif"),
            "depth_to_root_rest_layer_path": str(i / "root_restricting_depth.tif"),
            "pawc_path": str(i / "plant_available_water.tif"),
            "watersheds_path": str(basin),
            "sub_watersheds_path": str(i.parent / "subwatersheds.gpkg"),
            "biophysical_table_path": params["biophysical_table"],
            "seasonality_constant": params["seasonality_constant"],
            "n_workers": params.get("n_workers", -1),
        }
    if model_id == "habitat_quality":
        threats = _threats_table_for(i, params["threats_table"], workspace)
        return base | {
            "lulc_cur_path": str(i / "landcover.tif"),
            "threats_table_path": str(threats),
            "sensitivity_table_path": params["sensitivity_table"],
            "half_saturation_constant": params["half_saturation_constant"],
        }
    if model_id == "sdr":
        return base | {
            "dem_path": str(i / "dem.tif"),
            "erosivity_path": str(i / "erosivity.tif"),
            "erodibility_path": str(i / "erodibility.tif"),
            "lulc_path": str(i / "landcover.tif"),
            "watersheds_path": str(basin),
            "biophysical_table_path": params["biophysical_table"],
            "threshold_flow_accumulation": params["threshold_flow_accumulation"],
            "k_param": params["k_param"],
            "sdr_max": params["sdr_max"],
            "ic_0_param": params["ic_0_param"],
            "l_max": params["l_max"],
            "flow_dir_algorithm": params["flow_dir_algorithm"],
        }
    if model_id == "ndr":
        return base | {
            "dem_path": str(i / "dem.tif"),
            "lulc_path": str(i / "landcover.tif"),
            "runoff_proxy_path": str(i / "precipitation.tif"),
            "watersheds_path": str(basin),
            "biophysical_table_path": params["biophysical_table"],
            "calc_n": True,
            "calc_p": True,
            "threshold_flow_accumulation": params["threshold_flow_accumulation"],
            "k_param": params["k_param"],
            "subsurface_critical_length_n": params["subsurface_critical_length_n"],
            "subsurface_eff_n": params["subsurface_eff_n"],
            "flow_dir_algorithm": params["flow_dir_algorithm"],
        }
    if model_id == "carbon":
        return base | {
            "lulc_bas_path": str(i / "landcover.tif"),
            "carbon_pools_path": params["carbon_pools_table"],
            "calc_sequestration": False,
            "do_valuation": False,
        }
    raise ConfigError(f"models.{model_id}", "unknown model", f"use one of {MODEL_IDS}")


def _threats_table_for(inputs: Path, table: str, workspace: Path) -> Path:
    """InVEST resolves the threats table's ``cur_path`` relative to the table; our table names
    files of the year's input folder, so write a copy into the workspace whose paths lead
    from there to that folder (kept there: it records exactly which rasters the model read)."""
    import pandas as pd

    df = pd.read_csv(table)
    if "cur_path" not in df.columns:
        raise ConfigError("models.habitat_quality.threats_table",
                          f"{table} has no 'cur_path' column",
                          "add cur_path naming each threat raster, e.g. threat_built.tif")
    out = Path(workspace) / "gep_threats.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    # relative to the table (InVEST resolves them so): the results folder stays movable and
    # the parameter set of the workspace opens anywhere
    df["cur_path"] = [Path(os.path.relpath((inputs / p).resolve(), out.parent.resolve()))
                      .as_posix() for p in df["cur_path"]]
    df.to_csv(out, index=False)
    return out


def run_model(model_id: str, inputs: Path, params: dict[str, Any], workspace: Path,
              year: int | None = None, report: bool = True,
              overrides: dict[str, Any] | None = None) -> Path:
    """Validate and run one InVEST model into ``workspace`` (replaced atomically).

    ``overrides`` replaces InVEST arguments after they are built from ``inputs`` (e.g. the
    reference climate's ``erosivity_path``). Runs ``MODEL_SPEC.execute`` with InVEST's log
    file, metadata, saved file registry and (if ``report`` and the model has a reporter)
    InVEST's HTML report; writes the parameter set ``<model_id>.invs.json`` and
    ``gep_run.json`` (arguments and wall time) beside them.
    """
    from natcap.invest import datastack

    from gep.log import invest_progress
    from gep.models import dem_products

    workspace = Path(workspace)
    module = importlib.import_module(MODULES[model_id])
    spec = module.MODEL_SPEC
    with atomic_dir(workspace) as tmp:
        args = build_args(model_id, inputs, params, tmp, year)
        args.update(overrides or {})
        problems = module.validate(args)
        if problems:
            keys, msg = problems[0]
            raise InvestError(f"InVEST {model_id} rejected {', '.join(keys)}: {msg} "
                              f"(inputs {inputs}; check models.{model_id} in the config)")
        LOG.info("InVEST %s %s: running in %s", model_id, year or "", workspace)
        t0 = time.perf_counter()
        with invest_progress(model_id, year), dem_products.reuse(model_id, inputs, params):
            spec.execute(args, create_logfile=True, generate_metadata=True,
                         save_file_registry=True, check_outputs=False,
                         generate_report=bool(report and spec.reporter))
        elapsed = time.perf_counter() - t0
        datastack.build_parameter_set(args, spec.model_id, str(tmp / parameter_set_name(
            model_id)), relative=True)
        _rewrite_workspace_paths(tmp, workspace)
        record = {k: v for k, v in args.items() if k != "workspace_dir"}
        record = {k: (str(v).replace(str(tmp), str(workspace))) if isinstance(v, str) else v
                  for k, v in record.items()}
        (tmp / "gep_run.json").write_text(json.dumps(
            {"model": model_id, "year": year, "args": record, "execute_seconds": elapsed,
             "invest_version": _invest_version(),
             "parameter_set": parameter_set_name(model_id)}, indent=2))
        LOG.info("InVEST %s %s: done in %.1f s", model_id, year or "", elapsed)
    return workspace


def parameter_set_name(model_id: str) -> str:
    """The parameter set file of a workspace: ``<InVEST model id>.invs.json``."""
    return f"{importlib.import_module(MODULES[model_id]).MODEL_SPEC.model_id}.invs.json"


#: text files InVEST writes with the workspace's path in them (registry, metadata, report, log)
_TEXT_SUFFIXES = {".json", ".yml", ".yaml", ".html", ".txt"}


def _rewrite_workspace_paths(tmp: Path, final: Path) -> None:
    """InVEST records absolute paths of the (temporary) workspace in its file registry,
    metadata, report and log; point them at the workspace's final name."""
    old, new = str(tmp), str(final)
    for f in tmp.rglob("*"):
        if f.suffix.lower() in _TEXT_SUFFIXES and f.is_file():
            try:
                text = f.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            if old in text:
                f.write_text(text.replace(old, new), encoding="utf-8")


def _invest_version() -> str:
    try:
        from importlib.metadata import version

        return version("natcap.invest")
    except Exception:  # pragma: no cover
        return "unknown"
