"""Wall time and CPU of the whole demo pipeline after installation (issue 17: <= 30 s for the
300 x 300 demo on 2 cores), and where the time goes.

    .venv/bin/python benchmarks/bench_demo.py [--size 300] [--cores 2] [--config FILE]

Runs ``gep run`` on a copy of the demo config in a scratch folder (a fresh results folder, so
every job runs), with every rule's ``gep`` command wrapped (``GEP_COMMAND``, the wrapper of
bench_rules.py) to record each job's wall time and CPU time. Prints: the run's wall time, the
CPU seconds of all its processes (Snakemake's own included), the job count, per rule the jobs
and their summed CPU seconds, and what is left for Snakemake and the wrappers. On a machine
shared with other work the wall time grows with the load; the CPU seconds do not (much):
``CPU / cores`` is the wall time a quiet machine of this kind could reach at best.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
WRAPPER = Path(__file__).resolve().parent / "bench_rules.py"


def run(size: int, cores: int, config: Path, keep: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"gep-demo-{size}-"))
    try:
        shutil.copytree(config.parent, tmp / "config")
        cfg = tmp / "config" / config.name
        data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
        data.update(demo={**data["demo"], "rows": size, "cols": size}, results_dir="../results")
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        record = tmp / "jobs.jsonl"
        env = dict(os.environ, GEP_COMMAND=" ".join(
            shlex.quote(x) for x in (sys.executable, str(WRAPPER), "wrap", str(record))))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "gep", "run", "--config", str(cfg),
                            "--cores", str(cores)], capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode:
            raise SystemExit(r.stdout[-3000:] + r.stderr[-3000:])
        jobs = [json.loads(line) for line in record.read_text().splitlines()]
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        planned = sum(1 for line in r.stderr.splitlines() if line.startswith("rule ")
                      or line.startswith("localrule "))
        return {"wall": wall, "cpu": cpu, "jobs": jobs, "snakemake_jobs": planned,
                "folder": str(tmp)}
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=300, help="demo rows = cols (default 300)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    a = ap.parse_args()
    res = run(a.size, a.cores, a.config.resolve(), a.keep)
    per_rule: dict[str, dict] = {}
    for j in res["jobs"]:
        r = per_rule.setdefault(j["rule"], {"jobs": 0, "cpu": 0.0, "wall": 0.0})
        r["jobs"] += 1
        r["cpu"] += j["seconds"]
        r["wall"] += j["wall"]
    job_cpu = sum(r["cpu"] for r in per_rule.values())
    load = os.getloadavg()[0]
    print(f"demo {a.size}x{a.size}, {a.cores} cores, load average at the end {load:.1f}")
    print(f"wall {res['wall']:.1f} s | CPU {res['cpu']:.1f} s (jobs {job_cpu:.1f} s, "
          f"Snakemake + wrappers {res['cpu'] - job_cpu:.1f} s) | CPU/cores "
          f"{res['cpu'] / a.cores:.1f} s | Snakemake jobs {res['snakemake_jobs']} "
          f"(gep commands {len(res['jobs'])})")
    print(f"{'rule (gep command)':<22} {'jobs':>4} {'CPU s':>7} {'wall s':>7}")
    for rule, r in sorted(per_rule.items(), key=lambda kv: -kv[1]["cpu"]):
        print(f"{rule:<22} {r['jobs']:>4} {r['cpu']:>7.1f} {r['wall']:>7.1f}")
    if a.keep:
        print(f"kept {res['folder']}")
    if a.json:
        print(json.dumps({k: v for k, v in res.items() if k != "folder"}))


if __name__ == "__main__":
    main()
