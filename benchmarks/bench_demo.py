"""Wall time and CPU of the whole demo pipeline after installation (issue 17: <= 30 s for the
300 x 300 demo on 2 cores), and where the time goes.

    .venv/bin/python benchmarks/bench_demo.py [--size 300] [--cores 2] [--config FILE] [--cold]

Runs ``gep run`` on a copy of the demo config in a scratch folder (a fresh results folder, so
every job runs) twice: first as a user runs it, for the wall time; then from scratch with
every rule's ``gep`` command wrapped (``GEP_COMMAND``, the wrapper of
bench_rules.py) to record each job's wall time and CPU time. Prints: the run's wall time, the
CPU seconds of all its processes (Snakemake's own included), the job count, per rule the jobs,
their summed CPU seconds and the largest peak memory of one job, and what is left for
Snakemake and the wrappers. On a machine shared with other work the wall time grows with the
load; the CPU seconds do not (much): ``CPU / cores`` is the wall time a quiet machine of this
kind could reach at best.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import machine_speed  # benchmarks/machine_speed.py: this script's folder is on sys.path
import yaml

REPO = Path(__file__).resolve().parents[1]
WRAPPER = Path(__file__).resolve().parent / "bench_rules.py"


def planned(cfg: Path, cores: int) -> list[dict]:
    """The run's jobs from a dry run of ``gep run``: rule, argv of its gep command, inputs,
    outputs, priority and threads."""
    r = subprocess.run([sys.executable, "-m", "gep", "run", "--config", str(cfg), "--cores",
                        str(cores), "--", "--dry-run", "--printshellcmds"],
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(r.stdout[-3000:] + r.stderr[-3000:])
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", r.stdout + r.stderr):
        m = re.match(r"(?:local)?rule (\w+):\n", block)
        if not m:
            continue
        field = dict(re.findall(r"^    (\w+): (.*)$", block, re.M))
        cmd = re.search(r"^Shell command: (.*)$", block, re.M)
        jobs.append({"rule": m.group(1),
                     "argv": shlex.split(cmd.group(1).split(" > ")[0])[1:] if cmd else None,
                     "input": set(field.get("input", "").split(", ")) - {""},
                     "output": set(field.get("output", "").split(", ")) - {""},
                     "priority": int(field.get("priority", 0)),
                     "threads": int(field.get("threads", 1))})
    return jobs


def simulate(jobs: list[dict], seconds: dict, cores: int) -> float:
    """Wall time of ``jobs`` on ``cores`` idle cores as Snakemake schedules them (the ready jobs
    of highest priority first), each taking its measured CPU seconds spread over its threads;
    Snakemake's own time left out."""
    threads = [min(cores, j["threads"]) for j in jobs]
    producer = {f: i for i, j in enumerate(jobs) for f in j["output"]}
    waits = [{producer[f] for f in j["input"] if f in producer} for j in jobs]
    done, running, now, free = set(), [], 0.0, cores
    while len(done) < len(jobs):
        ready = sorted((i for i in range(len(jobs)) if i not in done
                        and all(i != r for _, r in running) and waits[i] <= done),
                       key=lambda i: -jobs[i]["priority"])
        for i in ready:
            if threads[i] <= free:
                free -= threads[i]
                cost = seconds.get(tuple(jobs[i]["argv"] or ()), 0.0)
                running.append((now + cost / threads[i], i))
        running.sort()
        end, i = running.pop(0)
        now, free = end, free + threads[i]
        done.add(i)
    return now


def run(size: int, cores: int, config: Path, keep: bool, cold: bool = False) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"gep-demo-{size}-"))
    try:
        shutil.copytree(config.parent, tmp / "config")
        cfg = tmp / "config" / config.name
        data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        data.update(demo={**data["demo"], "rows": size, "cols": size}, results_dir="../results")
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        plan = planned(cfg, cores)
        # first as a user runs it (`gep run`, nothing wrapped): the wall time; then again
        # from scratch with every job wrapped, for the per-rule figures (the wrapper is one
        # more Python process per job, about 0.05 CPU s each)
        plain_cmd = [sys.executable, "-m", "gep", "run", "--config", str(cfg), "--cores",
                     str(cores), *(["--cold"] if cold else [])]
        t0 = time.perf_counter()
        r = subprocess.run(plain_cmd, capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "GEP_COMMAND"})
        plain_wall = time.perf_counter() - t0
        if r.returncode:
            raise SystemExit(r.stdout[-3000:] + r.stderr[-3000:])
        shutil.rmtree(tmp / "results")
        record = tmp / "jobs.jsonl"
        env = dict(os.environ, GEP_COMMAND=" ".join(
            shlex.quote(x) for x in (sys.executable, str(WRAPPER), "wrap", str(record))))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "gep", "run", "--config", str(cfg),
                            "--cores", str(cores), *(["--cold"] if cold else [])],
                           capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode:
            raise SystemExit(r.stdout[-3000:] + r.stderr[-3000:])
        jobs = [json.loads(line) for line in record.read_text().splitlines()]
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        n_planned = sum(1 for line in r.stderr.splitlines() if line.startswith("rule ")
                      or line.startswith("localrule "))
        ideal = simulate(plan, {tuple(j["argv"]): j["seconds"] for j in jobs}, cores)
        return {"plain_wall": plain_wall, "wall": wall, "cpu": cpu, "jobs": jobs,
                "snakemake_jobs": n_planned,
                "ideal_wall": ideal, "folder": str(tmp)}
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=300, help="demo rows = cols (default 300)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--cold", action="store_true",
                    help="gep run --cold: every job a new process (no warm-start server)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    a = ap.parse_args()
    speed = machine_speed.line()
    res = run(a.size, a.cores, a.config.resolve(), a.keep, a.cold)
    per_rule: dict[str, dict] = {}
    for j in res["jobs"]:
        r = per_rule.setdefault(j["rule"], {"jobs": 0, "cpu": 0.0, "wall": 0.0, "peak": 0.0})
        r["jobs"] += 1
        r["cpu"] += j["seconds"]
        r["wall"] += j["wall"]
        r["peak"] = max(r["peak"], j.get("peak_mb") or 0.0)
    job_cpu = sum(r["cpu"] for r in per_rule.values())
    load = os.getloadavg()[0]
    print(f"demo {a.size}x{a.size}, {a.cores} cores, load average at the end {load:.1f}")
    print(speed)
    print(f"gep run: {res['plain_wall']:.1f} s wall ({'cold' if a.cold else 'warm'} start)")
    print(f"instrumented run: wall {res['wall']:.1f} s | CPU {res['cpu']:.1f} s (jobs "
          f"{job_cpu:.1f} s, "
          f"Snakemake + wrappers {res['cpu'] - job_cpu:.1f} s) | CPU/cores "
          f"{res['cpu'] / a.cores:.1f} s | Snakemake jobs {res['snakemake_jobs']} "
          f"(gep commands {len(res['jobs'])})")
    print(f"on {a.cores} idle cores, the jobs' CPU seconds in Snakemake's order (priorities "
          f"and dependencies of this run's DAG, Snakemake's own time left out): "
          f"{res['ideal_wall']:.1f} s")
    print(f"{'rule (gep command)':<24} {'jobs':>4} {'CPU s':>7} {'wall s':>7} {'peak MB':>8}")
    for rule, r in sorted(per_rule.items(), key=lambda kv: -kv[1]["cpu"]):
        print(f"{rule:<24} {r['jobs']:>4} {r['cpu']:>7.1f} {r['wall']:>7.1f} "
              f"{r['peak']:>8.0f}")
    if a.keep:
        print(f"kept {res['folder']}")
    if a.json:
        print(json.dumps({k: v for k, v in res.items() if k != "folder"}))


if __name__ == "__main__":
    main()
