"""Time the annual GEP batch at two basin sizes, beside the bare InVEST calls.

    .venv/bin/python benchmarks/bench_batch.py [--sizes 200 1000] [--years 2020 2021]
    nice -n 10 .venv/bin/python benchmarks/bench_batch.py --size 4000 --years 5 --all-models

``--years`` takes years (2020 2021) or a count (5: 2020-2024). ``--all-models`` enables
SDR, NDR and carbon beside water yield and habitat quality; ``--no-reports`` turns InVEST's
HTML reports off (``models.invest_reports``); ``--cold`` starts every job as a new process
(``gep run --cold``; by default the jobs fork from gep's warm-start server, as in ``gep run``);
``--split`` runs the GEP tables and the attribution as two Snakemake invocations to time the
attribution alone (issue 10's slowdown).

For each size: generate the demo basin in a scratch folder, run the Snakemake DAG up to the GEP
tables and the attribution (acquire, InVEST, zonal, valuation, the reference-climate runs and
the attribution table) with 2 cores in one invocation, as ``gep run`` does, and read back how
long each InVEST ``execute`` took, its CPU seconds, peak memory, the DEM products reused and
the CPU seconds that reuse saved (recorded by gep in ``gep_run.json``). Orchestration overhead
= wall time of the batch minus the InVEST time (spread over the cores the jobs ran on). Also
printed: CPU seconds (user + sys of every process, the warm-start server's jobs included)
beside the wall time, the steadier figure on a shared machine, the load average before and
after, and the machine's speed on a fixed workload (``machine_speed.py``) to set runs of
different days beside each other.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import machine_speed  # benchmarks/machine_speed.py: this script's folder is on sys.path
import yaml

REPO = Path(__file__).resolve().parents[1]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


#: the attribution's jobs (issue 10): the reference climate, the reference runs, the table
ATTRIBUTION_COMMANDS = (["reference-climate"], ["reference"], ["attribute"])


def timeline(log: str) -> list[dict]:
    """The jobs of a Snakemake log: rule, wildcards, start and end (seconds from the first
    start; the log's clock has whole seconds)."""
    from datetime import datetime

    jobs, when, current = {}, None, None
    for line in log.splitlines():
        m = re.match(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", line)
        if m:
            when = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y").timestamp()
            continue
        m = re.match(r"^(?:local)?rule (\w+):$", line)
        if m:
            current = {"rule": m.group(1), "start": when, "wildcards": ""}
            continue
        m = re.match(r"^\s+jobid: (\d+)$", line)
        if m and current is not None:
            jobs[int(m.group(1))] = current
            continue
        m = re.match(r"^\s+wildcards: (.*)$", line)
        if m and current is not None:
            current["wildcards"] = m.group(1)
            continue
        m = re.match(r"^Finished jobid: (\d+)", line)
        if m and int(m.group(1)) in jobs:
            jobs[int(m.group(1))]["end"] = when
    done = [j for j in jobs.values() if "end" in j and j["start"] is not None]
    t0 = min((j["start"] for j in done), default=0.0)
    return [dict(j, start=j["start"] - t0, end=j["end"] - t0) for j in done]


def print_idle(jobs: list[dict], cores: int) -> None:
    """Where the cores idled: core-seconds without a job, in the batch's first, middle and
    last thirds, and the jobs that ran alone at its end."""
    if not jobs:
        return
    end = int(max(j["end"] for j in jobs))
    busy = [0] * (end + 1)
    for j in jobs:
        for t in range(int(j["start"]), int(j["end"])):
            busy[t] += 1
    idle = [max(0, cores - b) for b in busy[:end]]
    third = max(1, end // 3)
    parts = [sum(idle[:third]), sum(idle[third:2 * third]), sum(idle[2 * third:])]
    tail = sorted(jobs, key=lambda j: j["end"])[-4:]
    print(f"{'':>6} idle core-seconds (Snakemake's log, whole seconds): {sum(idle)} of "
          f"{cores * end} (first third {parts[0]}, middle {parts[1]}, last {parts[2]}); last "
          f"jobs: " + ", ".join(f"{j['rule']}[{j['wildcards']}] {j['start']:.0f}-{j['end']:.0f} s"
                               for j in tail), flush=True)


def _jobs(path: Path) -> list[dict]:
    """The jobs the warm-start server ran (command, CPU seconds), as their clients recorded
    them; none in a cold run."""
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{"argv": r["argv"], "cpu": r["utime"] + r["stime"]} for r in rows]


def run(size: int, years: list[int], cores: int, all_models: bool = False,
        reports: bool = True, cold: bool = False, split: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"gep-bench-{size}-"))
    server = None
    try:
        shutil.copytree(REPO / "config", tmp / "config")
        cfg = tmp / "config" / "config.yaml"
        data = yaml.safe_load(cfg.read_text())
        data.update(demo={**data["demo"], "rows": size, "cols": size}, years=years,
                    results_dir="../results")
        models = data.setdefault("models", {})
        models["invest_reports"] = reports
        if all_models:
            for m in ("sdr", "ndr", "carbon"):
                models[m] = {**(models.get(m) or {}), "enabled": True}
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
        out = tmp / "results" / "demo"
        # relative to --directory. By default one invocation to the GEP tables and the
        # attribution, as `gep run` does (the attribution's jobs fill the cores beside the
        # last years' models). With split=True three: the GEP tables, then the land-use /
        # climate attribution (reference climate, reference runs, attribution table), so the
        # attribution's wall time is measured on its own (issue 10's slowdown), and a no-op
        # invocation of the attribution target ("nothing to be done") for Snakemake's own
        # start-up and DAG building, which the second step pays only because it is separate.
        gep_t, attr_t = "results/demo/gep/gep_by_party.csv", "results/demo/gep/attribution.csv"
        steps = [[gep_t], [attr_t], [attr_t]] if split else [[gep_t, attr_t]]
        sm = str(Path(sys.executable).parent / "snakemake")
        walls, cpus, jobs = [], [], []
        env = dict(os.environ, PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        preload_cpu = 0.0
        if not cold:
            # as `gep run` does: the jobs fork from one process that has imported their
            # libraries (gep.warm). They are its children, not ours: each job's client writes
            # the job's command and CPU time to GEP_JOB_RUSAGE, summed per step here
            from gep.warm import Server

            server = Server()
            env.update(server.env)
        for i, targets in enumerate(steps):
            ru_file = tmp / f"jobs-rusage-{i}.jsonl"
            env["GEP_JOB_RUSAGE"] = str(ru_file)
            t0, c0 = time.perf_counter(), _children_cpu()
            r = subprocess.run([sm, *targets, "--snakefile", str(REPO / "Snakefile"),
                                "--directory", str(tmp), "--configfile", str(cfg),
                                "--cores", str(cores)], capture_output=True, text=True,
                               env=env)
            if r.returncode:
                raise SystemExit(r.stdout[-2000:] + r.stderr[-2000:])
            walls.append(time.perf_counter() - t0)
            step_jobs = _jobs(ru_file)
            jobs += step_jobs
            cpus.append(_children_cpu() - c0 + sum(j["cpu"] for j in step_jobs))
        if server is not None:
            # the server's own CPU (its imports): what reaches us when it ends, less its jobs'
            c0 = _children_cpu()
            server.stop()
            server = None
            preload_cpu = _children_cpu() - c0 - sum(j["cpu"] for j in jobs)
            cpus[0] += preload_cpu
        invest, runs = {}, []
        for f in [*out.glob("invest/*/*/gep_run.json"), *out.glob("reference/*/*/gep_run.json")]:
            r = json.loads(f.read_text())
            runs.append(r)
            if f.parent.parent.parent == out / "invest":      # the year runs, not reference
                invest[(r["year"], r["model"])] = r["execute_seconds"]
        logs = sorted((tmp / ".snakemake" / "log").glob("*.snakemake.log"))
        res = dict(size=size, invest=invest, runs=runs, split=split, cpu=sum(cpus[:2]),
                   timeline=timeline(logs[0].read_text()) if logs and not split else [],
                   preload_cpu=preload_cpu, warm=not cold, jobs=jobs,
                   cpu_attribution_jobs=sum(j["cpu"] for j in jobs
                                            if j["argv"][:1] in ATTRIBUTION_COMMANDS))
        if split:
            res.update(wall=walls[0] + walls[1], gep=walls[0], attribution=walls[1],
                       startup=walls[2], cpu_gep=cpus[0], cpu_attribution=cpus[1],
                       cpu_startup=cpus[2])
        else:
            res.update(wall=walls[0])
        return res
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 1000])
    ap.add_argument("--size", type=int, help="one size (instead of --sizes)")
    ap.add_argument("--years", type=int, nargs="+", default=[2020, 2021],
                    help="years, or one count of years from 2020")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--all-models", action="store_true",
                    help="enable SDR, NDR and carbon too (all five models)")
    ap.add_argument("--no-reports", action="store_true",
                    help="models.invest_reports: false (no InVEST HTML reports)")
    ap.add_argument("--cold", action="store_true",
                    help="every job a new process (as gep run --cold; default: gep run's "
                         "warm-start server, gep.warm)")
    ap.add_argument("--split", action="store_true",
                    help="the GEP tables and the attribution as two Snakemake invocations, "
                         "to time the attribution alone (issue 10)")
    a = ap.parse_args()
    if a.size:
        a.sizes = [a.size]
    years = a.years
    if len(years) == 1 and years[0] < 1000:
        years = list(range(2020, 2020 + years[0]))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; years "
          f"{years[0]}-{years[-1]}; reports {'off' if a.no_reports else 'on'}", flush=True)
    print(machine_speed.line(), flush=True)
    print(f"{'size':>6} {'pixels':>10} {'batch s':>8} {'InVEST s (sum)':>15} "
          f"{'InVEST s / cores':>17} {'overhead s':>11}  per model")
    for size in a.sizes:
        r = run(size, years, a.cores, a.all_models, not a.no_reports, a.cold, a.split)
        total = sum(r["invest"].values())
        per_model = {}
        for (_, m), s in r["invest"].items():
            per_model[m] = per_model.get(m, 0.0) + s
        overhead = r["wall"] - total / a.cores
        detail = ", ".join(f"{m} {s:.1f}" for m, s in sorted(per_model.items()))
        print(f"{size:>6} {size * size:>10,} {r['wall']:>8.1f} {total:>15.1f} "
              f"{total / a.cores:>17.1f} {overhead:>11.1f}  {detail}", flush=True)
        warm = (f"warm start (server's imports {r['preload_cpu']:.1f} CPU s)" if r["warm"]
                else "cold start")
        print(f"{'':>6} CPU s (user+sys, every process): {r['cpu']:.1f}, of which the "
              f"attribution's jobs {r['cpu_attribution_jobs']:.1f}"
              f"{'' if r['warm'] else ' (counted only with the warm start)'}; {warm}; "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        if r["split"]:
            net = r["attribution"] - r["startup"]
            print(f"{'':>6} split: GEP tables {r['gep']:.1f} s wall ({r['cpu_gep']:.1f} CPU s), "
                  f"attribution {r['attribution']:.1f} s ({r['cpu_attribution']:.1f} CPU s); "
                  f"net of Snakemake's start-up (a no-op invocation: {r['startup']:.1f} s wall, "
                  f"{r['cpu_startup']:.1f} CPU s): {net:.1f} s wall, "
                  f"{r['cpu_attribution'] - r['cpu_startup']:.1f} CPU s; the batch "
                  f"{100 * net / r['gep']:.1f} % slower (issue 10: at most 25 %)", flush=True)
        print_idle(r["timeline"], a.cores)
        print_commands(r["jobs"])
        print_runs(r["runs"], a.cores)
    print(f"load average now {os.getloadavg()[0]:.1f}")


def print_commands(jobs: list[dict]) -> None:
    """CPU seconds per gep command over the jobs the warm-start server ran (none cold)."""
    by: dict[str, list[float]] = {}
    for j in jobs:
        name = " ".join(a for a in j["argv"][:2] if not a.startswith("-"))
        by.setdefault(name, []).append(j["cpu"])
    if by:
        order = sorted(by.items(), key=lambda x: -sum(x[1]))
        print(f"{'':>6} jobs' CPU s by command: "
              + ", ".join(f"{n} {sum(c):.1f} ({len(c)})" for n, c in order), flush=True)


def print_runs(runs: list[dict], cores: int = 2) -> None:
    """Per model over every InVEST run of the batch (reference-climate runs included): runs,
    wall and CPU seconds of ``execute``, largest peak memory, DEM product steps reused and the
    CPU seconds that reuse saved (what the reused steps took when they were computed, less
    copying them; recorded by gep in ``gep_run.json``); then the saving in all."""
    by: dict[str, dict] = {}
    for r in runs:
        m = by.setdefault(r["model"], dict(n=0, wall=0.0, cpu=0.0, rss=0.0, reused=0,
                                           computed=0, saved=0.0))
        m["n"] += 1
        m["wall"] += r["execute_seconds"]
        m["cpu"] += r.get("execute_cpu_seconds", float("nan"))
        m["rss"] = max(m["rss"], r.get("peak_rss_mb", 0.0))
        dem = r.get("dem_products") or {}
        m["reused"] += dem.get("reused", 0)
        m["computed"] += dem.get("computed", 0)
        m["saved"] += dem.get("saved_cpu_seconds", 0.0)
    print(f"  {'model':<20} {'runs':>4} {'wall s':>8} {'CPU s':>8} {'peak MB':>8} "
          f"{'DEM steps reused/computed':>26} {'saved CPU s':>12}")
    for name, m in sorted(by.items()):
        print(f"  {name:<20} {m['n']:>4} {m['wall']:>8.1f} {m['cpu']:>8.1f} {m['rss']:>8.0f} "
              f"{m['reused']:>13}/{m['computed']:<12} {m['saved']:>12.1f}")
    saved = sum(m["saved"] for m in by.values())
    if saved:
        print(f"  time saved by reusing DEM products: {saved:.1f} CPU s (about "
              f"{saved / cores:.1f} s of wall time on {cores} busy cores)")


if __name__ == "__main__":
    main()
