"""The surrogate steps of a study: one pass over the rasters per (model, year, run) for all
the surrogate settings that read that run, and the per-pixel checks against InVEST (the
surrogates themselves are :mod:`gep.tuning.surrogate`)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from gep.tuning.params import AWY, HQ, digest

#: variables of the zonal table each surrogate replaces
SURROGATE_VARIABLES = {AWY: "water_yield", HQ: "habitat_quality"}


def surrogate_params(model: str, settings: dict, reference: dict):
    """The surrogate's parameters for ``settings`` (threat weights only when they differ
    from the run's, so that D is recomputed only then)."""
    from gep.tuning import surrogate as s

    if model == AWY:
        return s.WaterYieldParams(settings["seasonality_constant"],
                                  settings.get("kc_scale", 1.0),
                                  settings.get("root_depth_scale", 1.0))
    weights = tuple(sorted((k.split(".")[1], v) for k, v in settings.items()
                           if k.startswith("threats.") and k.endswith(".weight")))
    ref_w = tuple(sorted((k.split(".")[1], v) for k, v in reference.items()
                         if k.startswith("threats.") and k.endswith(".weight")))
    return s.HabitatParams(settings["half_saturation_constant"],
                           weights if weights != ref_w else None)


def build_surrogate(model: str, workspace: str | Path, biophysical_table: str | None,
                    memory_mb: float = 2000.0):
    from gep.tuning import surrogate as s

    if model == AWY:
        return s.WaterYieldSurrogate.from_workspace(workspace, biophysical_table,
                                                    memory_mb=memory_mb)
    return s.HabitatQualitySurrogate.from_workspace(workspace)


def surrogate_task(model: str, year: int, workspace: str, table: str | None, inputs_dir: str,
                   parties_tif: str, parties_csv: str, settings: list[dict], reference: dict,
                   memory_mb: float, threads: int = 1) -> list[pd.DataFrame]:
    sur = build_surrogate(model, workspace, table, memory_mb)
    plist = [surrogate_params(model, s, reference) for s in settings]
    return sur.zonal(year, inputs_dir, parties_tif, parties_csv, plist, threads=threads)


def check_task(model: str, year: int, ref_ws: str, table: str | None, check_ws: str,
               settings: dict, reference: dict, tolerance: float) -> dict:
    from gep.tuning import surrogate as s

    sur = build_surrogate(model, ref_ws, table)
    p = surrogate_params(model, settings, reference)
    fn = s.check_water_yield if model == AWY else s.check_habitat_quality
    return fn(sur, check_ws, p, year, tolerance).as_dict()


def _table(spec) -> str | None:
    return spec.params.get("biophysical_table") if spec.model == AWY else None


def surrogate_rows(study, plan, pool) -> dict[tuple, pd.DataFrame]:
    """(model, year, run key, settings digest) -> the surrogate's zonal rows."""
    groups: dict[tuple[str, int, str], dict[str, dict]] = {}
    for a in plan.assign:
        for (model, year), (key, sur) in a.items():
            if sur is not None:
                groups.setdefault((model, year, key), {})[digest(sur)] = sur
    p = study.paths
    threads = max(1, study.jobs // max(1, len(groups)))   # spare cores go to threads
    tasks, index = [], []
    for (model, year, key), surs in groups.items():
        spec = plan.runs[key]
        tasks.append((model, year, str(study.workspace(spec)), _table(spec),
                      str(p.year_dir(year)), str(p.parties_tif),
                      str(p.parties_csv), list(surs.values()), spec.settings,
                      study.tuning.surrogate.memory_mb, threads))
        index.append([(model, year, key, d) for d in surs])
    out = {}
    for keys, frames in zip(index, pool.map(surrogate_task, tasks)):
        out.update(dict(zip(keys, frames)))
        study.stats["surrogate_sets"] += len(frames)
    return out


def run_checks(study, plan, pool) -> list[dict]:
    """Compare each surrogate with InVEST per pixel; raise on the first disagreement."""
    if not plan.checks:
        return []
    from gep.tuning import surrogate as s

    tasks = []
    for c in plan.checks:
        ref_ws = study.workspace(plan.runs[c.ref_key])
        check_ws = ref_ws if c.check_key is None else study.workspace(plan.runs[c.check_key])
        tasks.append((c.model, c.year, str(ref_ws), _table(plan.runs[c.ref_key]),
                      str(check_ws), c.settings, c.reference, study.tuning.surrogate.tolerance))
    results = pool.map(check_task, tasks)
    for r in results:
        study.log(f"surrogate check {r['model']} {r['year']} {r['params']}: max relative "
                  f"difference {r['max_rel_diff']:.2e} over {r['n_pixels']} pixels")
        if not r["ok"]:
            s.require(s.Check(**{k: v for k, v in r.items() if k != "ok"}))
    return results
