"""Peak memory and wall time of every Snakemake job of the demo DAG at two basin sizes: the
figures behind ``gep.resources`` (each rule's ``mem_mb`` and ``runtime``).

    .venv/bin/python benchmarks/bench_rules.py [--sizes 200 1000] [--years 2020 2021 2022]

For each size the whole demo DAG runs in a scratch folder on one core (one job at a time, so
the figures are per job), with every rule's ``gep`` command wrapped by this script
(``GEP_COMMAND``, read by workflow/rules/common.smk): the wrapper records the command's wall
time, CPU time (user + system: what the job needs on a core of its own, unlike the wall time
on a machine shared with other work) and the peak resident memory of the process and its
children (``getrusage``). Run time below means CPU seconds. It prints
per rule: the figures at each size and the linear fit per million basin pixels that
``gep.resources.MEASURED`` holds (docs/scaling.md keeps the last measured table).
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


def rule_of(argv: list[str]) -> str:
    """The workflow rule a ``gep`` command line belongs to."""
    sub = argv[0]
    if sub == "acquire":
        return ("acquire_parties" if "--parties" in argv else
                "acquire_static" if "--static" in argv else "acquire_year")
    if sub == "bulletin":
        return "committee_index" if "--index" in argv else "committee_year"
    if sub == "agreement":
        return "agreement_file"
    if sub == "portal" and argv[1:2] == ["seed"]:
        return "portal_seed"
    return {"monitor-demo": "monitor_demo_data", "rate-demo": "rating_demo_declarations",
            "reference-climate": "reference_climate"}.get(sub, sub)


def wrap(record: str, argv: list[str]) -> int:
    """Run ``gep ARGV``; append {rule, argv, seconds, peak_mb} to ``record``."""
    t0 = time.perf_counter()
    # a job that `gep run`'s warm-start server runs (gep.warm) is a fork of the server, not
    # our child: its client writes the job's own figures to GEP_JOB_RUSAGE
    fd, job_ru = tempfile.mkstemp(prefix="gep-job-ru-")
    os.close(fd)
    rc = subprocess.call([sys.executable, "-m", "gep", *argv],  # the venv of this script
                         env=dict(os.environ, GEP_JOB_RUSAGE=job_ru))
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, peak_kb, warm = ru.ru_utime + ru.ru_stime, ru.ru_maxrss, False
    lines = Path(job_ru).read_text().splitlines()
    os.unlink(job_ru)
    if lines:
        job = json.loads(lines[-1])
        cpu, peak_kb, warm = cpu + job["utime"] + job["stime"], job["maxrss_kb"], True
    with open(record, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"rule": rule_of(argv), "argv": argv, "wall": round(wall, 2),
                             "seconds": round(cpu, 2), "peak_mb": round(peak_kb / 1024, 1),
                             "warm": warm}) + "\n")
    return rc


def measure(size: int, years: list[int]) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix=f"gep-rules-{size}-"))
    try:
        shutil.copytree(REPO / "config", tmp / "config")
        cfg = tmp / "config" / "config.yaml"
        data = yaml.safe_load(cfg.read_text())
        data.update(demo={**data["demo"], "rows": size, "cols": size}, years=years,
                    results_dir="../results")
        cfg.write_text(yaml.safe_dump(data, allow_unicode=True))
        record = tmp / "rules.jsonl"
        env = dict(os.environ, GEP_COMMAND=" ".join(
            shlex.quote(x) for x in (sys.executable, str(Path(__file__).resolve()), "wrap",
                                     str(record))))
        sm = str(Path(sys.executable).parent / "snakemake")
        r = subprocess.run([sm, "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp),
                            "--configfile", str(cfg), "--cores", "1"],
                           capture_output=True, text=True, env=env)
        if r.returncode:
            raise SystemExit(r.stdout[-3000:] + r.stderr[-3000:])
        return [json.loads(line) for line in record.read_text().splitlines()]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "wrap":
        raise SystemExit(wrap(sys.argv[2], sys.argv[3:]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs=2, default=[200, 1000])
    ap.add_argument("--years", type=int, nargs="+", default=[2020, 2021, 2022])
    a = ap.parse_args()
    per_size = {}
    for size in a.sizes:
        per_rule: dict[str, dict] = {}
        for rec in measure(size, a.years):
            r = per_rule.setdefault(rec["rule"], {"peak_mb": 0.0, "seconds": 0.0, "jobs": 0})
            r["peak_mb"] = max(r["peak_mb"], rec["peak_mb"])
            r["seconds"] = max(r["seconds"], rec["seconds"])
            r["jobs"] += 1
        per_size[size] = per_rule
    s0, s1 = a.sizes
    p0, p1 = s0 * s0 / 1e6, s1 * s1 / 1e6
    print(f"{'rule':<18} {'jobs':>4} | {s0}²: {'peak MB':>8} {'s':>6} | {s1}²: {'peak MB':>8} "
          f"{'s':>6} | fit: MB = a + b*Mpx, s = c + d*Mpx")
    fits = {}
    for rule in sorted(per_size[s1]):
        m0, m1 = per_size[s0].get(rule), per_size[s1][rule]
        if m0 is None:
            continue
        b = max(0.0, (m1["peak_mb"] - m0["peak_mb"]) / (p1 - p0))
        d = max(0.0, (m1["seconds"] - m0["seconds"]) / (p1 - p0))
        fits[rule] = (round(max(m0["peak_mb"] - b * p0, 1.0)), round(b), round(
            max(m0["seconds"] - d * p0, 0.1), 1), round(d, 1))
        print(f"{rule:<18} {m1['jobs']:>4} | {m0['peak_mb']:>13.0f} {m0['seconds']:>6.1f} | "
              f"{m1['peak_mb']:>14.0f} {m1['seconds']:>6.1f} | {fits[rule]}")
    print("MEASURED = {")
    for rule, f in fits.items():
        print(f"    {rule!r}: {f},")
    print("}")


if __name__ == "__main__":
    main()
