"""Issue 14 item 9: ``gep run`` killed at random points (SIGKILL to its whole process group,
as a power cut or the OOM killer would) recovers with a plain re-run, and publishes exactly
what an uninterrupted run publishes.

The basin is the smallest DAG that still runs every published stage (32 x 32 demo, two years,
annual water yield, compensation, report, ledger). One uninterrupted reference run measures
the length T of a run, and a second, no-op ``gep run`` on it the start-up cost S (gep's checks
and Snakemake building its DAG). Kill points u_1 < ... < u_n are drawn (seeded) uniformly over
the useful part [0, T - S] of a run; each re-run in one folder resumes where the last one
stopped, so it is killed S (minus a random part of S, so some kills land in the start-up) plus
u_k - u_(k-1) after it starts: the kills walk along the whole DAG (acquire, InVEST, zonal,
valuation, allocation, report, ledger appends and signing). Folders of PER_FOLDER kill points
each take KILLS kills in all; each folder is then finished by a plain re-run (or was finished by
a re-run that ended before its kill time) and its published files and ledger root compared
with the reference's.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from .run_helpers import basin_folder, gep_env, gep_run, gep_run_cmd, published

pytestmark = pytest.mark.slow

KILLS = 20
PER_FOLDER = 10
SEED = 20261202


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    keys = tmp_path_factory.mktemp("keys")  # shared by every run: one installation's keys
    cfg = basin_folder(root / "cfg", minimal=True, rows=32, keys=keys)
    t0 = time.monotonic()
    r = gep_run(cfg, cwd=root)
    length = time.monotonic() - t0
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    t0 = time.monotonic()
    r = gep_run(cfg, cwd=root)  # nothing to do: the start-up cost alone
    startup = time.monotonic() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    return published(cfg.parent / "results" / "demo"), length, startup, keys


def _start(cfg, cwd):
    return subprocess.Popen(gep_run_cmd(cfg), cwd=cwd, env=gep_env(), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_killed_runs_recover_with_a_plain_rerun(reference, tmp_path):
    expected, length, startup, keys = reference
    useful = max(length - startup, 1.0)
    rng = random.Random(SEED)
    kills, interrupted_said, folder = [], 0, 0

    def check(cfg, stderr, where):
        got = published(cfg.parent / "results" / "demo")
        different = [k for k in expected if got[k] != expected[k]]
        assert not different, f"{where}: {different}\n{stderr[-2000:]}"

    while len(kills) < KILLS:
        folder += 1
        cfg = basin_folder(tmp_path / f"basin{folder}", minimal=True, rows=32, keys=keys)
        points = sorted(rng.uniform(0, useful) for _ in range(PER_FOLDER))
        previous, finished = 0.0, False
        for k, point in enumerate(points):
            if len(kills) >= KILLS:
                break
            wait = max(0.05, startup - rng.uniform(0, startup / 2) + point - previous)
            previous = point
            proc = _start(cfg, tmp_path)
            try:
                _, stderr = proc.communicate(timeout=wait)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                kills.append((folder, round(point, 1)))
                continue
            # finished before its kill time: that plain re-run completed the killed run
            assert proc.returncode == 0, stderr[-3000:]
            interrupted_said += "was interrupted" in stderr
            check(cfg, stderr, f"folder {folder}, run {k} finished early")
            finished = True
            break
        if not finished:
            proc = _start(cfg, tmp_path)
            _, stderr = proc.communicate(timeout=1800)
            assert proc.returncode == 0, stderr[-3000:]
            interrupted_said += "was interrupted" in stderr
            check(cfg, stderr, f"folder {folder}, after its kills")
    print(f"\n{len(kills)} kills (folder, point in s) {kills}; run {length:.1f} s, "
          f"start-up {startup:.1f} s")
    # a kill after Snakemake took its lock leaves it behind; the re-run says it recovers
    assert interrupted_said >= 1


def test_a_second_gep_run_on_the_same_basin_is_refused(tmp_path):
    """While one gep run works on a basin, another exits 2 naming the folder (two runs
    would overwrite each other's files); the first is not disturbed."""
    cfg = basin_folder(tmp_path / "cfg", minimal=True, rows=32)
    first = _start(cfg, tmp_path)
    try:
        lock = cfg.parent / "results" / "demo" / ".gep-run.lock"
        deadline = time.monotonic() + 120
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # the first run has validated and holds the lock by now
        if first.poll() is not None:
            pytest.skip("the first run finished before the second started")
        r = gep_run(cfg, cwd=tmp_path)
        lines = r.stderr.strip().splitlines()
        if first.poll() is None:
            assert r.returncode == 2, r.stderr
            assert len(lines) == 1 and "another gep run is working on" in lines[0]
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate()
