"""The pipeline's workflow as the one judge of staleness (gep.tuning.pipeline): which runs
are the pipeline's own, and what Snakemake re-makes."""
from __future__ import annotations

import os

import pytest

from gep.config import load_config
from gep.paths import Paths
from gep.tuning.errors import TuningError
from gep.tuning.pipeline import Pipeline, input_targets, is_pipeline_run


def test_only_the_configs_own_arguments_are_the_pipelines_run(tiny_inputs):
    from gep.invest import model_params

    cfg = load_config(tiny_inputs)
    own = model_params(cfg, "annual_water_yield")
    assert is_pipeline_run(cfg, "annual_water_yield", dict(own), {})
    assert is_pipeline_run(cfg, "annual_water_yield", own | {"n_workers": 7}, {})
    assert not is_pipeline_run(cfg, "annual_water_yield",
                               own | {"seasonality_constant": own["seasonality_constant"] + 1},
                               {})
    assert not is_pipeline_run(cfg, "annual_water_yield", dict(own),
                               {"biophysical_table": "lucode,kc\n"})


def test_command_is_gep_run_on_targets_relative_to_the_results(tiny_inputs, tmp_path):
    cfg = load_config(tiny_inputs)
    ws = Paths(cfg).workspace(2020, "habitat_quality")
    cmd = Pipeline(cfg, str(tiny_inputs), tmp_path, 3, executor="slurm").command([ws])
    i = cmd.index("run")
    assert cmd[i + 1:i + 5] == ["--config", str(tiny_inputs.resolve()), "--cores", "3"]
    assert cmd[-1] == os.path.join("invest", "2020", "habitat_quality")
    assert cmd[cmd.index("--executor") + 1] == "slurm" and cmd.index("--") < cmd.index(
        "--executor")
    # a study built from a Config object hands gep run the resolved config
    cmd = Pipeline(cfg, None, tmp_path, 1).command([ws])
    resolved = cmd[cmd.index("--config") + 1]
    assert load_config(resolved).out == cfg.out


@pytest.mark.slow
def test_snakemake_remakes_a_missing_input_and_nothing_else(fresh_basin, tmp_path):
    cfg = load_config(fresh_basin())
    targets = input_targets(cfg, Paths(cfg))
    first = Pipeline(cfg, None, tmp_path, 2)
    assert first.ensure(targets) == set()                  # all present and up to date
    log = tmp_path / "logs" / "pipeline.log"
    stamp = log.stat().st_mtime_ns
    assert first.ensure(targets) == set() and log.stat().st_mtime_ns == stamp   # not asked
    lost = Paths(cfg).year_file(2021, "precipitation")
    keep = {t: t.stat().st_mtime_ns for t in targets if t != lost}
    lost.unlink()
    assert Pipeline(cfg, None, tmp_path, 2).ensure(targets) >= {lost}
    assert lost.exists()
    assert all(t.stat().st_mtime_ns == m for t, m in keep.items() if t.parent != lost.parent)


def test_a_target_no_rule_makes_stops_the_study_with_snakemakes_words(tiny_inputs, tmp_path):
    cfg = load_config(tiny_inputs)
    with pytest.raises(TuningError, match="(?s)pipeline's workflow failed.*MissingRule"):
        Pipeline(cfg, str(tiny_inputs), tmp_path, 1).ensure([cfg.out / "no" / "such.csv"])


def test_inside_a_running_workflow_existing_targets_are_used_as_they_are(tiny_inputs,
                                                                         tmp_path):
    """A study run by a rule of the pipeline (`calibrate`) must not start a second workflow
    on the basin: while `gep run` holds the basin, present targets are taken as they are."""
    import fcntl

    cfg = load_config(tiny_inputs)
    targets = input_targets(cfg, Paths(cfg))
    pipe = Pipeline(cfg, str(tiny_inputs), tmp_path, 1)
    assert not pipe.busy()
    with open(cfg.out / ".gep-run.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert pipe.busy()
        assert pipe.ensure(targets) == set()
        assert not (tmp_path / "logs" / "pipeline.log").exists()      # no gep run started
    assert not pipe.busy()
