"""Write the demo basin's synthetic runoff observations: config/demo/observed_runoff.csv.

Annual water yield of the demo basin (config/config.yaml, all years) is simulated by InVEST
3.20.2 with the seasonality constant Z = gep.tuning.calibrate.DEMO_TRUE_Z (the other
parameters as in the config), summed over the parties draining to each station declared in
config/tuning.yaml, then multiplied by (1 + DEMO_NOISE_CV * N(0, 1)) from a generator seeded
with DEMO_SEED and rounded to whole m3. docs/tuning.md explains the choices.

    .venv/bin/python benchmarks/make_demo_observations.py            # scratch results dir
    .venv/bin/python benchmarks/make_demo_observations.py --check    # compare, write nothing

The inputs and InVEST runs go to a scratch results folder (not results/), so the script does
not disturb a pipeline run. ``--engine surrogate`` uses the water-yield surrogate instead
(identical per pixel; faster).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from gep.config import load_config
    from gep.tuning.calibrate import DEMO_NOISE_CV, DEMO_SEED, DEMO_TRUE_Z, make_demo_observations

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "config" / "config.yaml"))
    ap.add_argument("--out", default=str(REPO / "config" / "demo" / "observed_runoff.csv"))
    ap.add_argument("--results-dir", help="scratch results folder (default: a temp folder)")
    ap.add_argument("--engine", choices=("invest", "surrogate"), default="invest")
    ap.add_argument("--check", action="store_true",
                    help="regenerate and compare with --out instead of writing it")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="gep-obs-") as tmp:
        results = args.results_dir or tmp
        cfg = load_config(args.config, overrides={"results_dir": str(Path(results).resolve())})
        obs = make_demo_observations(cfg, engine=args.engine,
                                     log=lambda m: print(m, file=sys.stderr))
    print(f"true Z = {DEMO_TRUE_Z}, noise CV = {DEMO_NOISE_CV}, seed = {DEMO_SEED}, "
          f"{len(obs)} observations", file=sys.stderr)
    if args.check:
        import pandas as pd

        old = pd.read_csv(args.out)
        same = old.equals(obs.reset_index(drop=True)[list(old.columns)])
        print("identical" if same else "DIFFERENT", file=sys.stderr)
        return 0 if same else 1
    from gep.io import write_csv

    write_csv(args.out, ("year", "station", "runoff_m3"),
              obs[["year", "station", "runoff_m3"]].itertuples(index=False))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
