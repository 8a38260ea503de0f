"""``gep`` sub-commands of the annual GEP batch: run, validate-config, acquire, invest, zonal,
value and report (classify and demo-imagery are in :mod:`gep.pipeline.classify`, publish in
:mod:`gep.ledger.cli`). Each is a thin wrapper over a stage function; Snakemake rules call
them. (``gep report`` is here, not in ``gep.report``, whose package imports the plotting
stack: ``gep --help`` must stay light.)
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from gep.cli_common import add_config, basin, check_year, print_json, require
from gep.errors import ConfigError


def register(sub) -> None:
    p = sub.add_parser("run", help="run the whole pipeline with Snakemake")
    add_config(p)
    p.add_argument("--cores", default="all", help="CPU cores for Snakemake (default all)")
    p.add_argument("--cold", action="store_true",
                   help="start every job as a new process (no warm-start server, see "
                        "gep.warm; also GEP_WARM=0)")
    p.add_argument("snakemake_args", nargs=argparse.REMAINDER,
                   help="further Snakemake arguments after '--'")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate-config", help="check a config file; optionally write the "
                                               "JSON schema")
    add_config(p)
    p.add_argument("--write-schema", metavar="PATH", help="write the config JSON schema here")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("acquire", help="write the aligned inputs for a basin")
    add_config(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--parties", action="store_true", help="parties, basin outline, red line")
    g.add_argument("--static", action="store_true", help="static layers (DEM, soils, roads)")
    g.add_argument("--year", type=int, help="one year's layers")
    p.set_defaults(func=cmd_acquire)

    p = sub.add_parser("invest", help="run one InVEST model for one year")
    add_config(p)
    p.add_argument("--model", required=True)
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--workers", type=int, metavar="N",
                   help="cores for InVEST (its n_workers; 1 = no worker processes; "
                        "default: models.<model>.n_workers)")
    p.set_defaults(func=cmd_invest)

    p = sub.add_parser("zonal", help="per-party zonal sums of one year's model outputs")
    add_config(p)
    p.add_argument("--year", type=int, required=True)
    p.set_defaults(func=cmd_zonal)

    p = sub.add_parser("value", help="GEP valuation and increments from the zonal tables")
    add_config(p)
    p.set_defaults(func=cmd_value)

    p = sub.add_parser("report", help="the committee report (HTML)")
    add_config(p)
    p.set_defaults(func=cmd_report)


def cmd_validate(args) -> int:
    from gep.checks import check_run_inputs
    from gep.config import json_schema

    cfg = basin(args)[0]
    checked = check_run_inputs(cfg, args.config)
    if args.write_schema:
        from gep.io import write_json

        write_json(args.write_schema, json_schema())
    print(f"{args.config}: OK (basin {cfg.basin}, source {cfg.source}, years "
          f"{cfg.years[0]}-{cfg.years[-1]}, models {', '.join(cfg.models.enabled())}; "
          f"checked {', '.join(checked)})")
    return 0


def snakefile() -> Path:
    """The workflow's Snakefile: the checkout this package was installed from, or the cwd."""
    import gep

    checkout = Path(gep.__file__).resolve().parents[2]  # <checkout>/src/gep/__init__.py
    for root in (checkout, Path.cwd()):
        if (root / "Snakefile").exists():
            return root / "Snakefile"
    raise ConfigError("(installation)", "the workflow's Snakefile was not found",
                      "run gep from a gep checkout (pip install -e .)")


def _stale_state(workdir: Path) -> tuple[bool, bool]:
    """(locked, incomplete): what a killed Snakemake left in ``workdir/.snakemake``."""
    state = workdir / ".snakemake"
    locked = any((state / "locks").glob("*")) if (state / "locks").is_dir() else False
    incomplete = (any(p.is_file() for p in (state / "incomplete").rglob("*"))
                  if (state / "incomplete").is_dir() else False)
    return locked, incomplete


def cmd_run(args) -> int:
    """Snakemake with its working directory (and so its state, ``.snakemake/``) in the basin's
    results folder ``<results_dir>/<basin>/``: one run per basin at a time (a lock file), and
    after a killed run the stale Snakemake lock is removed and incomplete jobs re-run."""
    cfg = basin(args)[0]  # validate up front: a bad config stops before Snakemake starts
    extra = [a for a in args.snakemake_args if a != "--"]
    server = None
    if warm_start(args, extra):
        from gep.warm import Server

        # jobs fork from one process that has imported their libraries (gep.warm); it starts
        # importing now, beside the input checks, and the first jobs start cold until it is
        # ready
        server = Server(cfg.models.gtiff_compression)
    try:
        return _run(args, cfg, extra, server)
    finally:
        if server is not None:
            server.stop()


def _run(args, cfg, extra: list[str], server) -> int:
    import fcntl

    from gep.checks import check_run_inputs

    check_run_inputs(cfg, args.config)
    sm = shutil.which("snakemake", path=str(Path(sys.executable).parent)) or "snakemake"
    workdir = cfg.out
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("results_dir", f"cannot create {workdir} ({exc.strerror})",
                          "point results_dir at a writable folder", file=args.config) from None
    base = [sm, "--snakefile", str(snakefile()), "--directory", str(workdir),
            "--configfile", str(Path(args.config).resolve())]
    lock_path = workdir / ".gep-run.lock"
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError("(run)", f"another gep run is working on {workdir}",
                              "wait for it to finish (two runs would overwrite each other's "
                              "files)", file=args.config) from None
        # We hold the basin's lock, so no Snakemake of ours runs here: a Snakemake lock or an
        # incomplete-job marker is what a killed run left behind.
        locked, incomplete = _stale_state(workdir)
        if locked or incomplete:
            print(f"gep run: the previous run in {workdir} was interrupted; "
                  + ("removing its stale Snakemake lock and " if locked else "")
                  + "re-running its incomplete jobs", file=sys.stderr)
        if locked:
            # What `snakemake --unlock` does (Snakemake 9 FilePersistence: one file per lock
            # in .snakemake/locks/), without paying for a second Snakemake start-up.
            for f in (workdir / ".snakemake" / "locks").glob("*"):
                f.unlink()
        cmd = [*base, "--cores", str(args.cores), "--rerun-incomplete", *extra]
        print(" ".join(shlex.quote(c) for c in cmd), file=sys.stderr)
        # the rules call `gep` from the PATH: this installation's first, so that
        # `.venv/bin/gep run` works without activating the environment
        env = dict(os.environ, PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        if server is not None:
            env.update(server.env)
        return subprocess.call(cmd, env=env)


#: Snakemake options that send jobs elsewhere, or run none: no warm-start server for them
REMOTE = ("--profile", "--executor", "-e", "--slurm", "--cluster", "--kubernetes")
NO_JOBS = ("-n", "--dry-run", "--dryrun", "--dag", "--rulegraph", "--filegraph", "--summary",
           "--detailed-summary", "--unlock", "--lint", "--list-rules", "--report")


def warm_start(args, extra: list[str]) -> bool:
    """Whether ``gep run`` starts the warm-start server: not with ``--cold`` or
    ``GEP_WARM=0``, not when Snakemake submits the jobs to a cluster, not when it runs none
    (a dry run, a graph, a report)."""
    if getattr(args, "cold", False) or os.environ.get("GEP_WARM") == "0":
        return False
    return not any(a == r or a.startswith(r + "=") for a in extra for r in REMOTE + NO_JOBS)


def cmd_acquire(args) -> int:
    from gep import acquire

    cfg = basin(args)[0]
    if args.parties:
        out = acquire.acquire_parties(cfg)
    elif args.static:
        out = acquire.acquire_static(cfg)
    else:
        check_year(args.year, cfg, args.config)
        out = acquire.acquire_year(cfg, args.year)
    print_json(out)
    return 0


def cmd_invest(args) -> int:
    from gep.checks import check_landcover_for_model
    from gep.invest import model_params, run_model
    from gep.models import gtiff
    from gep.resources import invest_workers

    if args.workers is not None and args.workers < 1:  # the command line first: no I/O
        raise ConfigError("--workers", f"{args.workers} is not a number of cores",
                          "give 1 or more")
    cfg, p = basin(args)
    if args.model not in cfg.models.enabled():
        raise ConfigError(f"models.{args.model}", "is not an enabled model",
                          f"use one of {', '.join(cfg.models.enabled())}", file=args.config)
    check_year(args.year, cfg, args.config)
    landcover = p.year_file(args.year, "landcover")
    if not landcover.exists():
        raise ConfigError("years", f"no land cover for {args.year} at {landcover}",
                          f"run gep acquire --year {args.year} first", file=args.config)
    check_landcover_for_model(cfg, args.model, landcover)
    params = model_params(cfg, args.model)
    if args.workers is not None:
        params["n_workers"] = invest_workers(args.workers)
    gtiff.select(cfg.models.gtiff_compression)   # before InVEST imports pygeoprocessing
    ws = run_model(args.model, p.year_dir(args.year), params,
                   p.workspace(args.year, args.model), args.year,
                   report=cfg.models.invest_reports)
    print(ws)
    return 0


def cmd_zonal(args) -> int:
    from gep.zonal import zonal_year

    cfg, p = basin(args)
    check_year(args.year, cfg, args.config)
    ws = {m: p.workspace(args.year, m) for m in cfg.models.enabled()}
    require([p.parties_raster, p.parties_csv, p.year_file(args.year, "landcover")],
            f"gep acquire --year {args.year}")
    require(ws.values(), f"gep invest --year {args.year} for each enabled model")
    print(zonal_year(args.year, p.year_dir(args.year), p.parties_raster, p.parties_csv, ws,
                     p.zonal(args.year)))
    return 0


def cmd_value(args) -> int:
    from gep.valuation import value

    cfg, p = basin(args)
    require([p.zonal(y) for y in cfg.years], "gep zonal --year <year> for each year")
    out = value([p.zonal(y) for y in cfg.years], cfg.path(cfg.valuation.prices),
                cfg.path(cfg.valuation.runoff_coefficients), p.gep_csv, p.increments_csv)
    print("\n".join(map(str, out)))
    return 0


def cmd_report(args) -> int:
    from gep.report import build_report

    cfg, p = basin(args)
    require([p.gep_csv, p.increments_csv], "gep value")
    require([p.parties_gpkg], "gep acquire --parties")
    print(build_report(cfg))
    return 0
