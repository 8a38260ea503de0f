"""``gep sweep``, ``gep sensitivity``, ``gep calibrate`` (see docs/tuning.md).

Thin wrappers over :mod:`gep.tuning`: heavy imports happen inside the commands so ``gep
--help`` stays fast. Progress goes to stderr, the paths written to stdout.
"""
from __future__ import annotations

import argparse
import sys

DEFAULT_CONFIG = "config/config.yaml"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=DEFAULT_CONFIG,
                   help=f"basin config file (default {DEFAULT_CONFIG})")
    p.add_argument("--tuning", metavar="T.yaml",
                   help="tuning settings (default: tuning.yaml beside the config)")
    p.add_argument("--jobs", type=int, metavar="N", help="parallel processes (default: CPUs)")
    p.add_argument("--out", metavar="DIR",
                   help="output folder (default results/<basin>/tuning/<command>/)")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    p.add_argument("--executor", metavar="NAME",
                   help="run the InVEST runs as Snakemake jobs on this executor (e.g. slurm; "
                        "default: a process pool on this machine)")
    p.add_argument("--profile", metavar="DIR",
                   help="Snakemake profile for those jobs (e.g. profiles/slurm); implies the "
                        "Snakemake engine")


def _log(args):
    return None if args.quiet else (lambda msg: print(f"[tuning] {msg}", file=sys.stderr,
                                                      flush=True))


def register(subparsers) -> None:
    for add in (_add_sweep, _add_sensitivity, _add_calibrate, _add_tuning_run):
        add(subparsers)


def _add_sweep(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep", help="run the GEP batch for every combination of parameter values",
        description="Evaluate the Cartesian product of --param values (GEP per party and "
                    "service, payouts per party and clause) reusing every model run a "
                    "parameter does not touch. Grammar: name=v | name=a,b,c | name=min:max:n "
                    "| name=min:max:n:log. Example: gep sweep --param "
                    "seasonality_constant=1:30:15 --param reward.rate=0.1,0.15,0.2 "
                    "--surrogate")
    _common(p)
    p.add_argument("--param", action="append", default=[], metavar="NAME=SPEC",
                   help="parameter and values (repeat for several)")
    p.add_argument("--surrogate", action="store_true",
                   help="evaluate Z, Kc/root-depth scales, half-saturation and threat weights "
                        "with the fast surrogates (validated against InVEST per pixel)")
    p.add_argument("--quality", metavar="CSV", help="section water quality for the settlement")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--list", action="store_true", help="print every tunable parameter name")
    p.set_defaults(func=cmd_sweep)


def _add_sensitivity(subparsers) -> None:
    p = subparsers.add_parser(
        "sensitivity", help="global sensitivity (SALib Morris or Sobol') of GEP and payouts",
        description="Morris or Sobol' indices of GEP per party and net payout per party over "
                    "the ranges declared in tuning.yaml (sensitivity.parameters), a ranked "
                    "table and a tornado chart.")
    _common(p)
    p.add_argument("--method", choices=("morris", "sobol"), help="default: tuning.yaml")
    p.add_argument("--n", type=int, help="Morris trajectories or Sobol' base sample size")
    p.add_argument("--seed", type=int, help="sampling seed (default: tuning.yaml)")
    p.add_argument("--param", action="append", default=None, metavar="NAME",
                   help="restrict to these declared parameters (repeat)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--surrogate", dest="surrogate", action="store_true", default=None)
    g.add_argument("--no-surrogate", dest="surrogate", action="store_false")
    p.add_argument("--quality", metavar="CSV", help="section water quality for the settlement")
    p.add_argument("--no-tornado", action="store_true", help="skip the one-at-a-time runs")
    p.set_defaults(func=cmd_sensitivity)


def _add_calibrate(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate", help="fit Z (and optionally a Kc scale) to observed annual runoff",
        description="Least-squares fit of the seasonality constant Z (optionally a Kc scale) "
                    "to observed annual runoff year,station,runoff_m3; reports NSE, PBIAS and "
                    "the fitted values with standard errors and profile intervals.")
    _common(p)
    p.add_argument("--observed", metavar="CSV", help="default: calibration.observed")
    p.add_argument("--fit-kc", action="store_true", default=None, help="also fit a Kc scale")
    p.add_argument("--no-surrogate", action="store_true",
                   help="run InVEST for every evaluation (slow)")
    p.add_argument("--no-check", action="store_true",
                   help="skip the InVEST check run at the fitted values")
    p.set_defaults(func=cmd_calibrate)


def _add_tuning_run(subparsers) -> None:
    p = subparsers.add_parser(
        "tuning-run", help="one InVEST run of a tuning study (the job --executor submits)",
        description="Run the InVEST model of a task file written by a sweep, sensitivity "
                    "study or calibration run with --executor/--profile, into its workspace "
                    "in the study's run cache.")
    p.add_argument("task", metavar="TASK.json")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="cores for InVEST (its n_workers)")
    p.set_defaults(func=cmd_tuning_run)


def cmd_sweep(args) -> int:
    if args.list:
        from gep.config import load_config
        from gep.tuning.params import ALIASES, ParameterSpace

        space = ParameterSpace(load_config(args.config), args.config)
        for name in space.names():
            p = space.params[name]
            alias = [a for a, c in ALIASES.items() if c == name and a != "z"]
            extra = f"  (alias {alias[0]})" if alias else ""
            flag = "  [surrogate]" if p.surrogate else ""
            print(f"{name} = {p.base:g}   {p.bounds_text()}{extra}{flag}")
        return 0
    from gep.tuning.sweep import run_sweep

    res = run_sweep(args.config, args.param, tuning=args.tuning, surrogate=args.surrogate,
                    jobs=args.jobs, out_dir=args.out, plots=not args.no_plots,
                    quality=args.quality, log=_log(args), executor=args.executor,
                    profile=args.profile)
    st = res.meta["stats"]
    print(f"{res.meta['combinations']} combinations, {len(res.table)} rows; InVEST runs: "
          f"{st['invest_runs']} new, {st['cached_runs']} cached, {st['adopted_runs']} reused "
          f"from the pipeline; {st['seconds']:.1f} s")
    for p in res.paths.values():
        print(p)
    return 0


def cmd_sensitivity(args) -> int:
    from gep.tuning.sensitivity import run_sensitivity

    res = run_sensitivity(args.config, tuning=args.tuning, method=args.method, n=args.n,
                          seed=args.seed, surrogate=args.surrogate, parameters=args.param,
                          jobs=args.jobs, out_dir=args.out, tornado=not args.no_tornado,
                          quality=args.quality, log=_log(args), executor=args.executor,
                          profile=args.profile)
    top = res.ranked[res.ranked["output"] == "overall"].head(5)
    print("most influential overall: " + ", ".join(
        f"{r.parameter} ({r.normalised:.2f})" for r in top.itertuples()))
    for p in res.paths.values():
        print(p)
    return 0


def cmd_calibrate(args) -> int:
    from gep.tuning.calibrate import run_calibration

    res = run_calibration(args.config, tuning=args.tuning, observed=args.observed,
                          fit_kc=args.fit_kc, surrogate=not args.no_surrogate,
                          check=False if args.no_check else None, out_dir=args.out,
                          jobs=args.jobs, log=_log(args), executor=args.executor,
                          profile=args.profile)
    s = res.summary
    z = s["parameters"]["seasonality_constant"]
    lo, hi = z["ci_profile"]
    ci = f"[{'open' if lo is None else f'{lo:.3g}'}, {'open' if hi is None else f'{hi:.3g}'}]"
    print(f"Z = {z['value']:.4g} +- {z['se']:.2g} (profile {s['confidence']:.0%} CI {ci}); "
          f"NSE {s['nse']:.4f}; PBIAS {s['pbias_percent']:.2f} %")
    if "kc_scale" in s["parameters"]:
        k = s["parameters"]["kc_scale"]
        print(f"kc_scale = {k['value']:.4g} +- {k['se']:.2g}")
    print(f"suggested: {s['suggestion']}")
    for p in res.paths.values():
        print(p)
    return 0


def cmd_tuning_run(args) -> int:
    from gep.tuning.engine import run_task_file

    print(run_task_file(args.task, args.workers))
    return 0
