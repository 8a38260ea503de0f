"""Threads, memory and run time of the rules (gep.resources) and how the workflow uses them."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from gep import resources as r
from gep.config import load_config

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def test_requests_cover_the_measured_peak_and_time_with_margin():
    for rule, (mb0, mb1, s0, s1) in r.MEASURED.items():
        for px in (64 * 64, 10**6, 16 * 10**6, 10**8):
            peak = mb0 + mb1 * px / 1e6
            assert r.mem_mb(rule, px) >= r.MEMORY_MARGIN * peak, (rule, px)
            assert r.mem_mb(rule, px) % 256 == 0
            assert r.runtime(rule, px) * 60 >= r.RUNTIME_MARGIN * (s0 + s1 * px / 1e6)
        # monotonic in the basin size
        assert r.mem_mb(rule, 10**8) >= r.mem_mb(rule, 10**6) >= r.mem_mb(rule, 10**4)
        assert r.runtime(rule, 10**8) >= r.runtime(rule, 10**6)


def test_invest_memory_follows_its_workers_and_rules_that_read_every_year_scale():
    px = 16 * 10**6
    mb0, mb1, _, _ = r.MEASURED["invest"]
    assert r.mem_mb("invest", px, n_threads=4) >= r.MEMORY_MARGIN * (mb0 + 4 * mb1 * px / 1e6)
    assert r.mem_mb("invest", px, n_threads=4) > r.mem_mb("invest", px, n_threads=1)
    # (enough years to rise above the 5-minute floor: monitoring does not scale with pixels)
    assert r.runtime("monitor", 10**8, years=600) > r.runtime("monitor", 10**8, years=3)
    assert r.runtime("invest", 10**8, years=20) == r.runtime("invest", 10**8, years=2)


def test_invest_workers():
    assert r.invest_workers(1) == -1          # InVEST's tasks in the job's own process
    assert r.invest_workers(4) == 4


def test_basin_pixels_from_demo_size_then_from_the_parties_raster(config_factory, tmp_path):
    cfg = load_config(config_factory(demo={"rows": 50, "cols": 70}, years=[2020]))
    assert r.basin_pixels(cfg) == 3500
    tif = tmp_path / "parties.tif"
    assert r.basin_pixels(cfg, tif) == 3500            # not there yet
    with rasterio.open(tif, "w", driver="GTiff", width=30, height=20, count=1, dtype="uint8",
                       crs="EPSG:32650", transform=from_origin(0, 0, 30, 30)) as ds:
        ds.write(np.zeros((1, 20, 30), np.uint8))
    assert r.basin_pixels(cfg, tif) == 600


def test_workflow_jobs_request_gep_resources(repo, tmp_path, config_copy):
    """The dry run lists each job with the mem_mb and runtime gep.resources gives for the
    basin, and the InVEST jobs pass their threads to `gep invest --workers`."""
    cfg = config_copy(tmp_path, demo={"rows": 64, "cols": 64}, years=[2020, 2021])
    out = subprocess.run(SNAKEMAKE + ["--snakefile", str(repo / "Snakefile"), "--directory",
                                      str(tmp_path), "--configfile", str(cfg), "-n", "-p",
                                      "--cores", "2", "--set-threads", "invest=2"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    jobs = re.findall(r"\nrule (\w+):\n(.*?)(?=\n\S|\Z)", out.stdout + out.stderr, re.S)
    seen = set()
    for rule, body in jobs:
        if rule == "all":
            continue
        line = re.search(r"\n    resources: (.*)", body)
        assert line, (rule, body[:300])
        mem = re.search(r"\bmem_mb=(\d+)", line.group(1))
        rt = re.search(r"\bruntime=(\d+)", line.group(1))
        assert mem and rt, (rule, line.group(1))
        threads = 2 if rule == "invest" else r.threads(rule)
        want = r.mem_mb(rule, 64 * 64, 2, threads) if rule == "invest" else \
            r.mem_mb(rule, 64 * 64, 2)
        assert int(mem.group(1)) == want, rule
        assert int(rt.group(1)) == r.runtime(rule, 64 * 64, 2), rule
        prio = re.search(r"\n    priority: (\d+)", body)
        assert prio and int(prio.group(1)) == r.priority(rule), rule
        seen.add(rule)
    assert {"invest", "zonal", "acquire_year", "report", "publish"} <= seen
    assert len(re.findall(r"gep invest .* --workers 2 ", out.stdout + out.stderr)) == 4


def test_priorities_fall_along_every_edge_of_the_rule_graph(repo, tmp_path, config_copy):
    """Longest chains first: a rule outranks every rule that waits for its outputs, so a ready
    job that others wait for is never left behind a side branch's; every rule of the demo's
    graph has a priority of its own."""
    cfg = config_copy(tmp_path, demo={"rows": 64, "cols": 64}, years=[2020, 2021])
    out = subprocess.run(SNAKEMAKE + ["--snakefile", str(repo / "Snakefile"), "--directory",
                                      str(tmp_path), "--configfile", str(cfg), "--rulegraph"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    labels = dict(re.findall(r"^\s*(\d+)\[label = \"(\w+)\"", out.stdout, re.M))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", out.stdout, re.M)
    assert len(edges) > 20 and {"invest", "report", "committee_year"} <= set(labels.values())
    for a, b in edges:
        assert r.priority(labels[a]) > r.priority(labels[b]), (labels[a], labels[b])
    assert set(labels.values()) - {"all"} <= set(r.PRIORITY)


@pytest.mark.parametrize("bad", ["0", "-3"])
def test_invest_workers_flag_rejects_no_cores(config_factory, bad):
    cfg = config_factory(demo={"rows": 64, "cols": 64}, years=[2020])
    res = subprocess.run([str(Path(sys.executable).parent / "gep"), "invest", "--config",
                          str(cfg), "--model", "annual_water_yield", "--year", "2020",
                          "--workers", bad], capture_output=True, text=True)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "--workers" in lines[0] and "Fix:" in lines[0], res.stderr
