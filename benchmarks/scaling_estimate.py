"""Expected wall time of a provincial batch (many basins x years) on N cluster nodes, derived
from the per-job figures gep.resources holds (measured by bench_rules.py).

    .venv/bin/python benchmarks/scaling_estimate.py [--basins 20] [--years 5]
        [--pixels 16e6] [--cores-per-node 32] [--job-overhead 3] [--latency 40]
        [--nodes 1 2 4 8 16]

Model: every job of one basin's DAG (acquire, InVEST per model and year, zonal per year,
valuation, settlement, monitoring, dispatch, report, publish) occupies one core for its
measured CPU time plus ``--job-overhead`` seconds (Snakemake's start-up inside the job: 2.4 CPU
seconds measured here). Each step of a chain of dependent jobs also waits ``--latency`` seconds
for Slurm (the executor's 5 s pause before each sbatch, scheduling, status polling every
10-40 s: the one-node Slurm of `make test-cluster` showed 35-70 s per step on a loaded 2-core
machine). The batch takes the longer of (a) all jobs' core-seconds over the cluster's cores
and (b) one basin's critical path (its longest chain of dependent jobs).
"""
from __future__ import annotations

import argparse

from gep import resources as r

# one basin's jobs: rule -> count (per year where noted), two models
MODELS = 2


def jobs(years: int) -> dict[str, int]:
    return {"acquire_parties": 1, "acquire_static": 1, "acquire_year": years,
            "invest": MODELS * years, "zonal": years, "value": 1, "allocate": 1,
            "monitor_demo_data": 1, "monitor": 1, "dispatch": max(0, years - 2), "report": 1,
            "publish": 1}


CHAIN = ("acquire_parties", "acquire_static", "acquire_year", "invest", "zonal", "value",
         "allocate", "dispatch", "report", "publish")


def cpu(rule: str, pixels: float, years: int) -> float:
    _, _, s0, s1 = r.MEASURED[rule]
    scale = max(1.0, years / r.MEASURED_YEARS) if rule in r.PER_YEARS else 1.0
    return (s0 + s1 * pixels / 1e6) * scale


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--basins", type=int, default=20)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--pixels", type=float, default=16e6)
    ap.add_argument("--cores-per-node", type=int, default=32)
    ap.add_argument("--job-overhead", type=float, default=3.0)
    ap.add_argument("--latency", type=float, default=40.0)
    ap.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    a = ap.parse_args()
    per_basin = sum(n * (cpu(rule, a.pixels, a.years) + a.job_overhead)
                    for rule, n in jobs(a.years).items())
    path = sum(cpu(rule, a.pixels, a.years) + a.job_overhead + a.latency for rule in CHAIN)
    total = a.basins * per_basin
    print(f"{a.basins} basins x {a.years} years, {a.pixels / 1e6:g} M pixels each: "
          f"{a.basins * sum(jobs(a.years).values())} jobs, {total / 3600:.2f} core-hours; "
          f"critical path {path / 60:.1f} min")
    print(f"{'nodes':>5} {'cores':>6} {'wall (min)':>11}")
    for n in a.nodes:
        cores = n * a.cores_per_node
        print(f"{n:>5} {cores:>6} {max(path, total / cores) / 60:>11.1f}")


if __name__ == "__main__":
    main()
