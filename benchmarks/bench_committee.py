"""Time the committee's papers: one year's 17 papers (12 agendas, 4 bulletins, 1 assessment)
as HTML only and as HTML + PDF (WeasyPrint), in this process; then every year's papers in one
``gep bulletin --year Y1 --year Y2 ...`` process (one start-up and font configuration,
gep.pdf; the workflow runs one ``committee_year`` job per year). On an existing run.

    python benchmarks/bench_committee.py --config config/config.yaml [--year 2024]

Needs the run's results (make demo). Prints CPU seconds (this process's, and the child's).
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from gep.committee.bulletin import build
from gep.committee.periods import periods_of_year
from gep.config import load_config
from gep.paths import Paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="config/config.yaml")
    ap.add_argument("--year", type=int)
    args = ap.parse_args()
    cfg = load_config(args.config)
    p = Paths(cfg)
    year = args.year or cfg.years[-1]
    periods = periods_of_year(year)
    t0 = time.process_time()
    build(cfg, p, periods, pdf=False)
    t1 = time.process_time()
    build(cfg, p, periods, pdf=True)
    t2 = time.process_time()
    n = len(periods)
    pdf = (t2 - t1) - (t1 - t0)
    print(f"committee papers {year}: {n} papers; CPU s: HTML only {t1 - t0:.1f}; HTML + PDF "
          f"{t2 - t1:.1f} ({pdf / n:.2f} per PDF)")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    years = [a for y in cfg.years for a in ("--year", str(y))]
    subprocess.run([sys.executable, "-m", "gep", "-q", "bulletin", "--config", args.config,
                    *years], check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"all {len(cfg.years)} years' papers in one process: "
          f"{cpu:.1f} CPU s, {cpu / len(cfg.years):.1f} per year")

if __name__ == "__main__":
    main()
