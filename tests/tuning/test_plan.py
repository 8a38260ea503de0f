"""Planning (gep.tuning.plan): which runs a study reads, which of them are the pipeline's
own (asked of its workflow), and where the surrogate is checked."""
from __future__ import annotations

import pytest

from gep.tuning.plan import distance, make_plan, pipeline_targets
from gep.tuning.study import Study

AWY, HQ = "annual_water_yield", "habitat_quality"


def scenarios(study, name, values):
    p = study.space.resolve(name)
    return [study.space.scenario({p: v}) for v in values]


@pytest.mark.parametrize("surrogate, models", [(False, [HQ]), (True, [AWY, HQ])])
def test_pipeline_targets_are_the_workspaces_at_the_configs_parameters(tiny_inputs,
                                                                       surrogate, models):
    s = Study(tiny_inputs, surrogate=surrogate)
    got = pipeline_targets(s, scenarios(s, "seasonality_constant", [3.0, 9.0]))
    assert got == [s.paths.workspace(y, m) for m in models for y in s.cfg.years]
    # a price sweep reads the pipeline's runs of every model
    got = pipeline_targets(s, scenarios(s, "prices.water_conservation.unit_price", [5.0]))
    assert got == [s.paths.workspace(y, m) for m in (AWY, HQ) for y in s.cfg.years]


def test_surrogate_plan_reads_the_pipelines_runs_and_checks_the_farthest_value(
        tiny_inputs, monkeypatch):
    s = Study(tiny_inputs, surrogate=True)
    asked = []
    monkeypatch.setattr(s.pipeline, "ensure", lambda targets: asked.extend(targets) or set())
    plan = make_plan(s, scenarios(s, "seasonality_constant", [3.0, 9.0]))
    base = s.space.base_settings[AWY]["seasonality_constant"]
    assert base == 5.0                                  # the demo's Z (the check below)
    years = s.cfg.years
    # InVEST runs: each model at the config's parameters (the pipeline's), plus the check
    own = [r for r in plan.runs.values() if r.pipeline]
    assert sorted((r.model, r.year) for r in own) == sorted(
        (m, y) for m in (AWY, HQ) for y in years)
    [check] = plan.checks
    extra = plan.runs[check.check_key]
    assert not extra.pipeline and extra.year == s.check_year
    assert extra.settings["seasonality_constant"] == 9.0    # |9-5| > |3-5|
    assert set(asked) >= {s.paths.workspace(y, m) for m in (AWY, HQ) for y in years}
    assert all(a[(AWY, y)][1]["seasonality_constant"] in (3.0, 9.0)
               for a in plan.assign for y in years)


def test_distance_is_relative_and_counts_only_surrogate_settings():
    ref = {"seasonality_constant": 5.0, "kc_scale": 1.0, "n_workers": 1}
    assert distance(AWY, {"seasonality_constant": 7.5, "kc_scale": 1.0, "n_workers": 9},
                    ref) == pytest.approx(0.5)
