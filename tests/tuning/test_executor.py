"""A study's InVEST runs as Snakemake jobs (the engine `--executor`/`--profile` select): the
same results as the local process pool, every run a job of gep/tuning/runs.smk."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from gep.tuning.engine import SnakemakeRunner, Study


@pytest.mark.slow
def test_sweep_on_snakemake_local_executor_equals_process_pool(fresh_basin):
    from gep.tuning.sweep import run_sweep

    param = ["seasonality_constant=3,7"]
    pool = run_sweep(fresh_basin(), param, plots=False, jobs=2)
    cfg = fresh_basin()
    smk = run_sweep(cfg, param, plots=False, jobs=2, executor="local")
    assert smk.meta["stats"]["invest_runs"] == pool.meta["stats"]["invest_runs"] == 6
    pd.testing.assert_frame_equal(smk.table, pool.table, check_exact=False, rtol=1e-9)
    results = cfg.parents[1] / "results" / "demo"
    cache = results / "tuning" / "cache"
    # each swept run was a Snakemake job (its log) of the generated workflow, written by gep
    logs = sorted(cache.glob("logs/*/*/*.log"))
    runs = sorted(r for r in cache.glob("invest/*/*/*/gep_run.json")
                  if not (r.parent / "gep_tuning.json").exists())
    assert len(logs) == len(runs) == 4                      # Z = 3, 7 x 2 years
    assert {p.stem for p in logs} == {p.parent.name for p in runs}
    for r in runs:
        assert json.loads(r.read_text())["model"] == r.parents[1].name
    # the config's own habitat-quality runs were jobs of the pipeline's workflow (its rule,
    # its logs), linked into the cache
    own = sorted(results.glob("logs/invest/*/*.log"))
    assert [(p.parent.name, p.stem) for p in own] == [("2020", "habitat_quality"),
                                                       ("2021", "habitat_quality")]
    assert len(list(cache.glob("invest/*/habitat_quality/*/gep_tuning.json"))) == 2


def test_runner_command_and_task_index(tmp_path):
    r = SnakemakeRunner(tmp_path, executor="slurm", jobs=None, pixels=4_000_000)
    cmd = r.command(tmp_path / "t.json", ["invest/2020/annual_water_yield/abc"])
    assert cmd[cmd.index("--executor") + 1] == "slurm"
    assert cmd[cmd.index("--jobs") + 1] == "100"            # cluster default
    assert cmd[cmd.index("--workflow-profile") + 1] == "none"
    assert cmd[-1] == "invest/2020/annual_water_yield/abc"
    p = SnakemakeRunner(tmp_path, profile="/x/profiles/slurm", jobs=7)
    cmd = p.command(tmp_path / "t.json", [])
    assert cmd[cmd.index("--profile") + 1] == "/x/profiles/slurm"
    assert "--executor" not in cmd and cmd[cmd.index("--jobs") + 1] == "7"
    with pytest.raises(ValueError):
        SnakemakeRunner(tmp_path)


def test_failed_job_raises_with_the_snakemake_output(tmp_path):
    from gep.tuning.engine import TuningError

    ws = tmp_path / "invest" / "2020" / "annual_water_yield" / "0123abcd"
    r = SnakemakeRunner(tmp_path, executor="local", jobs=1)
    bad = ("annual_water_yield", 2020, str(tmp_path / "no-inputs"),
           {"seasonality_constant": 5.0, "biophysical_table": str(tmp_path / "none.csv")},
           str(ws))
    with pytest.raises(TuningError, match="Snakemake jobs failed"):
        r.submit([bad])()
    assert not ws.exists()


def test_study_with_executor_uses_the_runner(tiny_inputs):
    assert Study(tiny_inputs).runner is None
    s = Study(tiny_inputs, executor="slurm", jobs=3)
    assert isinstance(s.runner, SnakemakeRunner) and s.runner.jobs == 3
    assert s.runner.workdir == s.cache
