"""Sweep time with and without the water-yield surrogate, at several basin sizes.

For each size, a demo basin of N x N pixels (one year, water yield only, no settlement) is
built in a scratch folder and swept over Z = 1..30 (``--values`` evenly spaced values):

- ``invest``: ``gep sweep`` without the surrogate: one InVEST run per value (process pool);
- ``surrogate (warm)``: after the pipeline's own InVEST run at the config's Z (what a
  scientist has after ``snakemake``): the sweep reuses that run, runs InVEST once more at the
  swept value farthest from the config (the per-pixel check), and evaluates every value with
  the surrogate;
- ``surrogate (cold)``: the same with nothing cached (the reference run is made too);
- ``surrogate compute``: the surrogate's zonal pass alone for all values.

It prints the wall times, the speed-ups against the InVEST sweep and against running InVEST
``values`` times one after the other (the issue's yardstick: ``values`` x one run), and the
surrogate checks' largest per-pixel relative difference.

    .venv/bin/python benchmarks/bench_tuning.py                    # 256 and 1000 px, 30 values
    .venv/bin/python benchmarks/bench_tuning.py --sizes 2000       # the issue's target
    .venv/bin/python benchmarks/bench_tuning.py --sizes 2000 --skip-invest-sweep
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def make_basin(root: Path, n: int) -> Path:
    import yaml

    from gep.config import deep_merge

    cdir = root / "config"
    shutil.copytree(REPO / "config", cdir, dirs_exist_ok=True)
    data = yaml.safe_load((cdir / "config.yaml").read_text())
    data = deep_merge(data, {
        "results_dir": str(root / "results"), "years": [2020],
        "demo": {"rows": n, "cols": n},
        "models": {"habitat_quality": {"enabled": False}},
        "compensation": {"agreement": None}})
    (cdir / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return cdir / "config.yaml"


def bench(n: int, values: int, jobs: int, invest_sweep: bool, keep: bool) -> dict:
    import numpy as np

    from gep import acquire
    from gep.config import load_config
    from gep.invest import model_params, run_model
    from gep.paths import Paths
    from gep.tuning.surrogate import WaterYieldSurrogate
    from gep.tuning.sweep import run_sweep

    root = Path(tempfile.mkdtemp(prefix=f"gep-bench-{n}-"))
    out: dict = {"size": n, "values": values}
    try:
        cfg_path = make_basin(root, n)
        cfg = load_config(cfg_path)
        p = Paths(cfg)
        t = time.perf_counter()
        acquire.acquire_parties(cfg)
        acquire.acquire_static(cfg)
        acquire.acquire_year(cfg, 2020)
        out["acquire_s"] = time.perf_counter() - t
        spec = [f"seasonality_constant=1:30:{values}"]

        # cold: nothing cached, no pipeline workspace
        t = time.perf_counter()
        cold = run_sweep(cfg_path, spec, surrogate=True, jobs=jobs, plots=False)
        out["surrogate_cold_s"] = time.perf_counter() - t
        out["max_rel_diff"] = max(c["max_rel_diff"] for c in cold.meta["surrogate_checks"])
        shutil.rmtree(cfg.out / "tuning")

        # the pipeline's own run at the config's Z: one InVEST run, timed
        ws = p.workspace(2020, "annual_water_yield")
        t = time.perf_counter()
        run_model("annual_water_yield", p.year_dir(2020),
                  model_params(cfg, "annual_water_yield"), ws, 2020)
        out["one_invest_run_s"] = time.perf_counter() - t

        # warm: the sweep reuses the pipeline's run
        t = time.perf_counter()
        warm = run_sweep(cfg_path, spec, surrogate=True, jobs=jobs, plots=False)
        out["surrogate_warm_s"] = time.perf_counter() - t
        out["warm_invest_runs"] = warm.meta["stats"]["invest_runs"]

        # the surrogate's compute alone: one pass for all values
        sur = WaterYieldSurrogate.from_workspace(
            ws, cfg.path(cfg.models.annual_water_yield.biophysical_table))
        zs = [{"seasonality_constant": float(z)} for z in np.linspace(1, 30, values)]
        t = time.perf_counter()
        sur.zonal(2020, p.year_dir(2020), p.party_file("parties.tif"),
                  p.party_file("parties.csv"), zs)
        out["surrogate_compute_s"] = time.perf_counter() - t

        if invest_sweep:
            shutil.rmtree(cfg.out / "tuning")
            t = time.perf_counter()
            full = run_sweep(cfg_path, spec, surrogate=False, jobs=jobs, plots=False)
            out["invest_sweep_s"] = time.perf_counter() - t
            out["invest_runs"] = full.meta["stats"]["invest_runs"]
            out["invest_run_seconds_sum"] = full.meta["stats"]["invest_seconds"]
            m = full.table.merge(warm.table, on=["seasonality_constant", "year", "party_id",
                                                 "service_or_clause"])
            out["max_table_rel_diff"] = float(
                ((m.value_x - m.value_y).abs() / m.value_x.abs().clip(lower=1e-9)).max())
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 1000])
    ap.add_argument("--values", type=int, default=30)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--skip-invest-sweep", action="store_true",
                    help="estimate the InVEST sweep as values x one run instead of running it")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folders")
    args = ap.parse_args(argv)
    # import InVEST, GDAL and gep's stages once, so the first size's timings exclude imports
    import natcap.invest.annual_water_yield.annual_water_yield  # noqa: F401

    import gep.tuning.sweep  # noqa: F401
    import gep.valuation  # noqa: F401
    import gep.zonal  # noqa: F401
    print(f"# {args.values}-value Z sweep, one year, water yield only; {args.jobs} process(es);"
          f" load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    for n in args.sizes:
        r = bench(n, args.values, args.jobs, not args.skip_invest_sweep, args.keep)
        seq = r["values"] * r["one_invest_run_s"]
        print(f"\n## {n} x {n} pixels (acquire {r['acquire_s']:.1f} s)")
        print(f"one InVEST run (pipeline)          {r['one_invest_run_s']:8.1f} s")
        print(f"InVEST x {r['values']} one after the other (est.) {seq:8.1f} s")
        if "invest_sweep_s" in r:
            print(f"gep sweep, InVEST ({r['invest_runs']} runs, {args.jobs} procs)"
                  f"    {r['invest_sweep_s']:8.1f} s   (sum of run times "
                  f"{r['invest_run_seconds_sum']:.1f} s)")
        print(f"gep sweep --surrogate, cold          {r['surrogate_cold_s']:8.1f} s   "
              "(reference + check InVEST runs)")
        print(f"gep sweep --surrogate, warm          {r['surrogate_warm_s']:8.1f} s   "
              f"({r['warm_invest_runs']} InVEST run: the check)")
        print(f"surrogate compute, {r['values']} values         "
              f"{r['surrogate_compute_s']:8.2f} s")
        print(f"speed-up vs {r['values']} sequential runs: warm "
              f"{seq / r['surrogate_warm_s']:.1f}x, cold {seq / r['surrogate_cold_s']:.1f}x")
        if "invest_sweep_s" in r:
            print(f"speed-up vs the InVEST sweep: warm "
                  f"{r['invest_sweep_s'] / r['surrogate_warm_s']:.1f}x, cold "
                  f"{r['invest_sweep_s'] / r['surrogate_cold_s']:.1f}x; tables agree to "
                  f"{r['max_table_rel_diff']:.1e} (relative)")
        print(f"surrogate vs InVEST per pixel: max relative difference {r['max_rel_diff']:.1e}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
