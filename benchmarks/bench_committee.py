"""Time the committee's papers: one year's 17 papers (12 agendas, 4 bulletins, 1 assessment)
as HTML only and as HTML + PDF (WeasyPrint), on an existing run.

    python benchmarks/bench_committee.py --config config/config.yaml [--year 2024]

Needs the run's results (make demo). Prints seconds per year and per PDF.
"""
from __future__ import annotations

import argparse
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
    t0 = time.perf_counter()
    build(cfg, p, periods, pdf=False)
    t1 = time.perf_counter()
    build(cfg, p, periods, pdf=True)
    t2 = time.perf_counter()
    n = len(periods)
    pdf = (t2 - t1) - (t1 - t0)
    print(f"committee papers {year}: {n} papers; HTML only {t1 - t0:.1f} s; HTML + PDF "
          f"{t2 - t1:.1f} s ({pdf / n:.2f} s per PDF); all {len(cfg.years)} years about "
          f"{(t2 - t1) * len(cfg.years):.0f} s of CPU")


if __name__ == "__main__":
    main()
