"""InVEST runner: a path-in/path-out ``run_model`` for every model of :mod:`gep.models` (each
model's adapter builds its arguments and names its module).

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

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from gep import models
from gep.config import Config
from gep.errors import GepError
from gep.io import atomic_dir
from gep.paths import Paths

LOG = logging.getLogger(__name__)


#: natcap.invest module of each model id (from the adapters; kept for callers of the old name)
MODULES = {a.id: a.module for a in models.ADAPTERS.values()}


class InvestError(GepError, RuntimeError):
    """InVEST refused its arguments or failed while running."""


def model_params(cfg: Config, model_id: str) -> dict[str, Any]:
    """The model's parameters from the config, with table paths resolved: the Snakemake
    ``params`` of the model's rule, so changing one model's parameters re-runs that model only.
    """
    models.get(model_id)  # an unknown model: ConfigError naming the known ones
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
    """InVEST ``args`` for one model from a year's input folder (see gep.acquire); the
    model's adapter (``gep.models.<model_id>``) builds them."""
    return models.get(model_id).build_args(inputs, params, workspace, year)


def run_model(model_id: str, inputs: Path, params: dict[str, Any], workspace: Path,
              year: int | None = None, report: bool = True,
              overrides: dict[str, Any] | None = None) -> Path:
    """Validate and run one InVEST model into ``workspace`` (replaced atomically).

    ``overrides`` replaces InVEST arguments after they are built from ``inputs`` (e.g. the
    reference climate's ``erosivity_path``). Runs ``MODEL_SPEC.execute`` with InVEST's log
    file, metadata, saved file registry and (if ``report`` and the model has a reporter)
    InVEST's HTML report; writes the parameter set ``<model_id>.invs.json`` and
    ``gep_run.json`` (arguments, wall and CPU time, peak memory) beside them.

    InVEST's report reads each raster by its size, not its file's
    (:mod:`gep.models.report_rasters`); its watershed tables clip rasters by a window copy
    where that gives the same pixels (:mod:`gep.models.zonal_clip`), and it aligns rasters
    already on the grid by a copy (:mod:`gep.models.aligned_copy`); habitat quality's distance
    transforms keep their scratch rasters uncompressed (:mod:`gep.models.edt_scratch`). InVEST
    writes GeoTIFFs in the codec of the process (:mod:`gep.models.gtiff`, recorded in
    ``gep_run.json``).
    """
    import contextlib

    from gep.log import invest_progress
    from gep.models import (aligned_copy, dem_products, edt_scratch, gtiff, lazy_reporters,
                            report_rasters, zonal_clip)

    workspace = Path(workspace)
    module = models.get(model_id).invest_module()
    spec = module.MODEL_SPEC
    report = bool(report and spec.reporter)
    if report:
        lazy_reporters.load(spec.reporter)   # its real code (and natcap.invest.reports)
    with atomic_dir(workspace) as tmp:
        args = build_args(model_id, inputs, params, tmp, year)
        args.update(overrides or {})
        # InVEST's validation checks files in a thread and waits for its answer without end
        # when the check raises, as it does for a pathlib.Path: hand it strings
        args = {k: os.fspath(v) if isinstance(v, os.PathLike) else v for k, v in args.items()}
        problems = module.validate(args)
        if problems:
            keys, msg = problems[0]
            raise InvestError(f"InVEST {model_id} rejected {', '.join(keys)}: {msg} "
                              f"(inputs {inputs}; check models.{model_id} in the config)")
        LOG.info("InVEST %s %s: running in %s", model_id, year or "", workspace)
        t0, cpu0 = time.perf_counter(), _cpu_seconds()
        aligned0 = dict(aligned_copy.COUNTS)
        with (invest_progress(model_id, year),
              report_rasters.sized_by_raster() if report else contextlib.nullcontext(),
              zonal_clip.translated(),
              aligned_copy.copied(),
              edt_scratch.uncompressed_scratch(),
              dem_products.reuse(model_id, inputs, params) as reuse):
            spec.execute(args, create_logfile=True, generate_metadata=True,
                         save_file_registry=True, check_outputs=False,
                         generate_report=report)
        figures = {"execute_seconds": time.perf_counter() - t0,
                   "execute_cpu_seconds": round(_cpu_seconds() - cpu0, 3),
                   "peak_rss_mb": _peak_rss_mb(), "report": report,
                   "gtiff_compression": gtiff.in_force(),
                   "aligned": {k: v - aligned0[k] for k, v in aligned_copy.COUNTS.items()},
                   "dem_products": None if reuse is None else {
                       "reused": len(reuse.reused), "computed": len(reuse.computed),
                       "saved_cpu_seconds": round(reuse.saved_cpu_seconds, 3)}}
        write_parameter_set(args, spec.model_id, tmp / parameter_set_name(model_id))
        _rewrite_workspace_paths(tmp, workspace)
        _write_run_record(tmp, workspace, model_id, year, args, figures)
        LOG.info("InVEST %s %s: done in %.1f s", model_id, year or "",
                 figures["execute_seconds"])
    return workspace


def _write_run_record(tmp: Path, workspace: Path, model_id: str, year: int | None,
                      args: dict[str, Any], figures: dict[str, Any]) -> None:
    """``gep_run.json``: the arguments (with the workspace's final name), InVEST's version and
    the run's figures (wall and CPU seconds of ``execute``, peak memory, DEM products reused)."""
    record = {k: v for k, v in args.items() if k != "workspace_dir"}
    record = {k: (str(v).replace(str(tmp), str(workspace))) if isinstance(v, str) else v
              for k, v in record.items()}
    (tmp / Paths.RUN_RECORD).write_text(json.dumps(
        {"model": model_id, "year": year, "args": record, **figures,
         "invest_version": _invest_version(),
         "parameter_set": parameter_set_name(model_id)}, indent=2))


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children (InVEST's worker
    processes with ``n_workers`` >= 1)."""
    import resource

    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def _peak_rss_mb() -> float:
    """Peak resident memory (MB) of this process or its largest finished child."""
    import resource

    return round(max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                     resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024, 1)


def write_parameter_set(args: dict[str, Any], invest_model_id: str, path: Path) -> dict:
    """Write InVEST's parameter set ``path`` (paths relative to its folder), the file
    ``natcap.invest.datastack.build_parameter_set(args, model_id, path, relative=True)``
    writes, byte for byte (``tests/models/test_invest_speed.py`` compares them).

    Not through ``datastack`` itself: importing it imports ``natcap.invest.models``, which
    imports every InVEST model and its report stack (about 5 s of each job's start-up).
    """
    folder = os.path.dirname(str(path))

    def _recurse(value):
        if isinstance(value, dict):
            return {k: _recurse(v) for k, v in value.items()}
        if isinstance(value, list):
            return [_recurse(v) for v in value]
        if isinstance(value, str) and os.path.exists(value):
            norm = os.path.normpath(value)
            if norm == "." or folder == norm:
                return "."
            return os.path.relpath(norm, folder).replace("\\", "/")
        return value

    data = {"model_id": invest_model_id, "args": _recurse(args)}
    with open(path, "w", encoding="UTF-8") as fh:
        fh.write(json.dumps(data, indent=4, sort_keys=True))
    return data


def parameter_set_name(model_id: str) -> str:
    """The parameter set file of a workspace: ``<InVEST model id>.invs.json``."""
    return f"{models.get(model_id).invest_module().MODEL_SPEC.model_id}.invs.json"


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
