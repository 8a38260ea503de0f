"""Planning a study: which InVEST runs, surrogate sets and per-pixel checks the scenarios
need. Nothing runs here except the pipeline's workflow, asked for the inputs and the
pipeline's own runs the plan uses (run keys digest the inputs, so they must exist first)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from gep.tuning.params import Scenario, digest, is_surrogate_key
from gep.tuning.runs import RunSpec
from gep.tuning.surrogate_steps import SURROGATE_VARIABLES


@dataclass
class CheckSpec:
    model: str
    year: int
    ref_key: str
    reference: dict
    settings: dict
    check_key: str | None      # None: compare with the reference run itself


@dataclass
class Plan:
    scenarios: list[Scenario]
    runs: dict[str, RunSpec]
    #: per scenario: (model, year) -> (key of the run it reads, surrogate settings or None)
    assign: list[dict]
    checks: list[CheckSpec]


def distance(model: str, s: dict, ref: dict) -> float:
    """How far surrogate settings ``s`` are from the run's ``ref`` (relative, summed)."""
    return sum(abs(s[k] - ref[k]) / max(abs(ref[k]), 1e-9) for k in s
               if is_surrogate_key(model, k))


def run_settings(study, scenario: Scenario) -> dict[str, tuple[dict, dict | None]]:
    """model -> (settings of the InVEST run the scenario reads, surrogate settings or None)."""
    out = {}
    for model in study.cfg.models.enabled():
        settings = scenario.settings[model]
        use = study.surrogate and model in SURROGATE_VARIABLES
        ref = study.space.reference(model, settings) if use else settings
        out[model] = (ref, settings if (use and ref != settings) else None)
    return out


def pipeline_targets(study, scenarios: Sequence[Scenario]) -> list:
    """The pipeline's own workspaces the scenarios read (every year of such a model)."""
    from gep.tuning.pipeline import is_pipeline_run

    seen: dict[str, bool] = {}
    models = set()
    for sc in scenarios:
        for model, (ref, _) in run_settings(study, sc).items():
            k = digest([model, ref])
            if k not in seen:
                params, tables = study.space.invest_params(model, ref)
                seen[k] = is_pipeline_run(study.cfg, model, params, tables)
            if seen[k]:
                models.add(model)
    return [study.paths.workspace(y, m) for m in sorted(models) for y in study.cfg.years]


def _assign(study, scenarios: Sequence[Scenario]) -> tuple[dict[str, RunSpec], list[dict]]:
    runs: dict[str, RunSpec] = {}
    assign = []
    for sc in scenarios:
        a = {}
        for model, (ref, sur) in run_settings(study, sc).items():
            for year in study.cfg.years:
                spec = study.run_spec(model, year, ref)
                runs.setdefault(spec.key, spec)
                a[(model, year)] = (spec.key, sur)
        assign.append(a)
    return runs, assign


def _checks(study, runs: dict[str, RunSpec], assign: list[dict]) -> list[CheckSpec]:
    """Per-pixel checks of the surrogates on the check year: against an InVEST run at the
    swept value farthest from the run's (``swept``), or the run itself (``reference``)."""
    mode = study.tuning.surrogate.check
    if not study.surrogate or mode == "none":
        return []
    year = study.check_year
    groups: dict[tuple[str, str], list[dict]] = {}
    for a in assign:
        for (model, y), (key, sur) in a.items():
            if y == year and sur is not None:
                groups.setdefault((model, key), []).append(sur)
    checks = []
    for (model, key), surs in groups.items():
        ref = runs[key].settings
        if mode == "reference":
            checks.append(CheckSpec(model, year, key, ref, ref, None))
        else:  # the swept check reads the reference run's inputs too
            far = max(surs, key=lambda s: distance(model, s, ref))
            spec = study.run_spec(model, year, far)
            runs.setdefault(spec.key, spec)
            checks.append(CheckSpec(model, year, key, ref, far, spec.key))
    return checks


def make_plan(study, scenarios: Sequence[Scenario]) -> Plan:
    """The plan of ``scenarios``; the pipeline's workflow first brings the inputs and the
    pipeline's runs the plan reads up to date."""
    from gep.tuning.pipeline import input_targets

    study.pipeline.ensure(input_targets(study.cfg, study.paths)
                          + pipeline_targets(study, scenarios))
    runs, assign = _assign(study, scenarios)
    return Plan(list(scenarios), runs, assign, _checks(study, runs, assign))


def scenario_values(plan_or_scenarios, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per scenario with a column per parameter (``labels`` renames canonical names)."""
    scs = plan_or_scenarios.scenarios if isinstance(plan_or_scenarios, Plan) \
        else plan_or_scenarios
    labels = labels or {}
    rows = [{labels.get(k, k): v for k, v in sc.values} for sc in scs]
    df = pd.DataFrame(rows)
    df.index.name = "scenario"
    return df
