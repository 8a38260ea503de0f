"""The demo DAG and a sweep through Snakemake's SLURM executor on a real one-node Slurm.

Run by `make test-cluster` (tests/cluster/slurm.sh starts munged, slurmctld and slurmd and sets
GEP_SLURM_TEST=1 and SLURM_CONF); skipped otherwise. The Slurm has no accounting database:
the executor polls job states with squeue, and `sacct --completion` reads the job-completion
log (jobcomp/filetxt) to prove the jobs ran as Slurm jobs.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(os.environ.get("GEP_SLURM_TEST") != "1",
                       reason="needs the one-node Slurm of `make test-cluster`"),
]

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
BIN = str(Path(sys.executable).parent)
TINY = {"demo": {"rows": 64, "cols": 64}, "years": [2020, 2021]}


def env() -> dict:
    # jobs call `gep` from the PATH (sbatch passes the environment on): the venv's bin first
    return dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))


def slurm_profile(root: Path, repo: Path) -> Path:
    """profiles/slurm with what a Slurm without accounting database and a fast test need."""
    prof = root / "profile"
    prof.mkdir()
    data = yaml.safe_load((repo / "profiles" / "slurm" / "config.yaml").read_text())
    data.update({"slurm-status-command": "squeue",
                 "slurm-init-seconds-before-status-checks": 1,
                 "seconds-between-status-checks": 2, "latency-wait": 10, "jobs": 8,
                 "slurm-logdir": str(root / "slurm-logs"), "retries": 0})
    (prof / "config.yaml").write_text(yaml.safe_dump(data))
    return prof


def run(cmd: list[str], cwd: Path | None = None) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, env=env(), cwd=cwd)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return r.stdout + r.stderr


def completed_jobs(name: str | None = None, workdir: Path | None = None) -> list[dict]:
    """Slurm's own record of finished jobs (sacct over the job-completion log)."""
    out = subprocess.run(["sacct", "--completion", "--parsable2", "--noheader",
                          "--format=JobID,JobName,State,WorkDir"],
                         capture_output=True, text=True, check=True).stdout
    rows = [dict(zip(("id", "name", "state", "workdir"), line.split("|")))
            for line in out.splitlines() if line.strip()]
    if name is not None:
        rows = [r for r in rows if r["name"] == name]
    if workdir is not None:
        rows = [r for r in rows if Path(r["workdir"]).resolve() == workdir.resolve()]
    return rows


def planned(out: str) -> dict[str, int]:
    stats = out[out.index("Job stats:"):]
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, flags=re.M) if m.group(1) != "total"}


def ledger_entries(db: Path) -> list[tuple[str, bytes]]:
    with sqlite3.connect(db) as con:
        return list(con.execute("SELECT type, entry FROM entries ORDER BY idx"))


@pytest.fixture(scope="module")
def runs(repo, tmp_path_factory, config_copy):
    """The tiny demo run locally and through the SLURM executor, in two folders."""
    out = {}
    # one installation's keys for both runs: the signer and the portal's secret, from which its
    # public pseudonyms in the ledger derive
    keys = tmp_path_factory.mktemp("keys")
    for mode in ("local", "slurm"):
        root = tmp_path_factory.mktemp(mode)
        cfg = config_copy(root, **TINY, ledger={"key_dir": str(keys)})
        base = SNAKEMAKE + ["--snakefile", str(repo / "Snakefile"), "--directory", str(root),
                            "--configfile", str(cfg)]
        if mode == "local":
            log = run(base + ["--cores", "2"])
        else:
            prof = slurm_profile(root, repo)
            dry = run(base + ["--profile", str(prof), "-n"])
            log = run(base + ["--profile", str(prof)])
            out["dry"] = dry
        out[mode] = (root, root / "results" / "demo", log)
    return out


def test_dry_run_lists_every_job_with_its_resources(runs):
    dry = runs["dry"]
    jobs = planned(dry)
    assert jobs["invest"] == 4 and jobs["zonal"] == 2 and jobs["publish"] == 1
    blocks = [b for b in dry.split("\nrule ")[1:] if not b.startswith("all:")]
    assert len(blocks) == sum(n for r, n in jobs.items() if r != "all")
    for b in blocks:
        assert re.search(r"resources: .*mem_mb=\d+.*runtime=\d+", b), b[:300]


def test_slurm_run_equals_local_run(runs):
    _, local, _ = runs["local"]
    _, slurm, _ = runs["slurm"]
    for f in ("gep/gep_by_party.csv", "gep/increments.csv", "compensation/statement.csv",
              "compensation/transfers.csv"):
        assert (slurm / f).read_bytes() == (local / f).read_bytes(), f
    a, b = ledger_entries(local / "ledger" / "ledger.db"), ledger_entries(
        slurm / "ledger" / "ledger.db")
    assert [t for t, _ in a] == [t for t, _ in b]
    assert any(t == "transfer" for t, _ in a)
    # transfers and alerts byte for byte; data digests equal except the committee report's
    # (its HTML embeds the run's time), and the ledger root then differs only through it
    differing = [(ea, eb) for (t, ea), (_, eb) in zip(a, b) if ea != eb]
    for ea, eb in differing:
        ra, rb = (json.loads(e) for e in (ea, eb))
        assert ra["type"] == "digest" and ra["kind"] == rb["kind"] == "report", (ra, rb)
    if not differing:
        assert (slurm / "ledger" / "checkpoint").read_text().split("\n")[:3] == \
            (local / "ledger" / "checkpoint").read_text().split("\n")[:3]


def test_compute_jobs_ran_as_slurm_jobs(runs):
    root, _, log = runs["slurm"]
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    done = completed_jobs(name=run_id)
    expected = sum(n for r, n in planned(runs["dry"]).items() if r not in ("all", "publish"))
    assert len(done) == expected, done
    assert all(r["state"] == "COMPLETED" for r in done)
    # publish signs with the basin's key: a local rule, never a Slurm job
    assert "localrule publish" in log


def test_sweep_runs_its_invest_runs_as_slurm_jobs(repo, tmp_path, config_copy):
    """A Z sweep with --profile (SLURM executor): each missing InVEST run is a Slurm job (the
    swept ones of the study's runs.smk, the config's own ones of the pipeline's workflow), and
    the table equals the same sweep on the local process pool."""
    tables = {}
    for mode in ("local", "slurm"):
        root = tmp_path / mode
        root.mkdir()
        cfg = config_copy(root, **TINY)
        cmd = [str(Path(BIN) / "gep"), "sweep", "--config", str(cfg), "--param",
               "seasonality_constant=3,7", "--no-plots", "--out", str(root / "sweep")]
        if mode == "slurm":
            cmd += ["--profile", str(slurm_profile(root, repo))]
        log = run(cmd)
        m = re.search(r"InVEST runs: (\d+) new", log)
        assert m and int(m.group(1)) == 6, log[-2000:]   # 2 Z x 2 years + habitat 2 years
        tables[mode] = pd.read_csv(root / "sweep" / "sweep.csv")
        if mode == "slurm":
            cache = root / "results" / "demo" / "tuning" / "cache"
            done = completed_jobs(workdir=cache)            # the swept runs: 2 Z x 2 years
            assert len(done) == 4 and all(r["state"] == "COMPLETED" for r in done), done
            # the config's own runs (habitat quality) and the inputs are the pipeline's: jobs
            # of its workflow on the same profile, in the basin's results folder
            own = completed_jobs(workdir=root / "results" / "demo")
            assert len(own) >= 2 and all(r["state"] == "COMPLETED" for r in own), own
            assert len(list(cache.glob("invest/*/*/*/gep_run.json"))) == 6
            shutil.rmtree(cache / "invest")
    pd.testing.assert_frame_equal(tables["local"], tables["slurm"], check_exact=False,
                                  rtol=1e-9)
