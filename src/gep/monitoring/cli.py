"""``gep monitor``, ``gep dispatch``, ``gep monitor-demo`` and ``gep downstream``
(see docs/monitoring.md).

Every command takes the basin ``--config`` and finds its files through ``Paths``; path flags
override them. The monitoring settings are ``--settings`` (default: the basin config's
``monitoring.config``). The former form, ``--config`` naming the monitoring settings with
every path given, still works: such a file is read as ``--settings``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from gep.cli_common import (
    DEFAULT_CONFIG,
    Basin,
    add_config,
    add_out,
    config_given,
    forget_config,
    note,
    print_written,
)
from gep.errors import ConfigError, InputDataError
from gep.paths import InputFiles, MonitoringFiles

_CONFIG_HELP = (f"basin configuration (default {DEFAULT_CONFIG}); every file below defaults "
                "to the basin's. (A monitoring settings file here is read as --settings, the "
                "former form.)")
_SETTINGS_HELP = "monitoring settings (default: the basin config's monitoring.config)"


def register(subparsers) -> None:
    _register_monitor(subparsers)
    _register_dispatch(subparsers)
    _register_demo(subparsers)
    _register_downstream(subparsers)


def _register_monitor(subparsers) -> None:
    p = subparsers.add_parser(
        "monitor",
        help="QA/QC sensor readings; daily index, compliance and responsibility lists",
        description="Ingest water-quality and flow readings, run the QARTOD tests of ioos_qc, "
                    "compute daily GB 3838-2002 compliance, the daily ecological performance "
                    "index and the annual products for the compensation engine. Writes "
                    "readings_qc.parquet, daily_index.csv, daily_compliance.csv, "
                    "anomalies.csv, section_quality.csv and performance.csv to "
                    "results/<basin>/monitoring (or --out); nothing is written if any input "
                    "is invalid.")
    add_config(p, _CONFIG_HELP)
    p.add_argument("--settings", metavar="FILE", help=_SETTINGS_HELP)
    p.add_argument("--readings", metavar="FILE",
                   help="readings in long form (timestamp,station,indicator,value,unit), "
                        "CSV or Parquet (default: monitoring.readings, or the demo basin's)")
    p.add_argument("--stations", metavar="FILE",
                   help="stations table (station,party_id,section,role,lon,lat) (default: "
                        "monitoring.stations, or the demo basin's)")
    add_out(p, "results/<basin>/monitoring")
    p.add_argument("--inputs", metavar="DIR",
                   help="basin inputs directory: takes <year>/landcover.tif, parties.tif, "
                        "parties.csv and redline.tif from it for the red-line natural-cover "
                        "target (default: results/<basin>/inputs when the basin config is "
                        "read)")
    p.add_argument("--landcover", action="append", default=[], metavar="YEAR=PATH",
                   help="land cover of a year (repeatable); with --parties-raster, "
                        "--parties-csv and --redline instead of --inputs")
    p.add_argument("--parties-raster", metavar="FILE", help=InputFiles.parties_tif)
    p.add_argument("--parties-csv", metavar="FILE", help=InputFiles.parties_csv)
    p.add_argument("--redline", metavar="FILE", help=InputFiles.redline_tif)
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes for the QA/QC tests (default 1)")
    p.set_defaults(func=_monitor)


def _register_dispatch(subparsers) -> None:
    d = subparsers.add_parser(
        "dispatch",
        help="pay upstream entitlements day by day, withholding anomaly days into escrow",
        description="Spread each upstream party's annual entitlement (from the compensation "
                    "engine's transfers.csv) over the days of --year, paced by the daily "
                    "index; withhold anomaly days into escrow with an alert; settle the escrow "
                    "on the year's P index. Writes disbursements.csv, alerts.csv, "
                    "settlement.csv and ledger_transfers.csv to results/<basin>/dispatch/"
                    "<year> (or --out).")
    add_config(d, _CONFIG_HELP)
    d.add_argument("--settings", metavar="FILE", help=_SETTINGS_HELP)
    d.add_argument("--year", required=True, type=int, help="year to dispatch")
    d.add_argument("--entitlement-year", type=int, metavar="YEAR",
                   help="engine year whose payments are dispatched (default: the year before "
                        "--year, as the settlement schedule pays it; in the former "
                        "--config monitoring.yaml form: --year)")
    d.add_argument("--transfers", metavar="FILE",
                   help="compensation transfers.csv (default: gep allocate's)")
    d.add_argument("--daily-index", metavar="FILE",
                   help="daily_index.csv (default: gep monitor's); anomalies.csv beside it "
                        "gives the alerts their stations and values")
    d.add_argument("--anomalies", metavar="FILE",
                   help="anomalies.csv (default: beside --daily-index)")
    d.add_argument("--agreement", metavar="FILE",
                   help="agreement YAML (default: compensation.agreement)")
    d.add_argument("--quality", metavar="FILE",
                   help="section_quality.csv, for the year's P index (default: gep monitor's)")
    add_out(d, "results/<basin>/dispatch/<year>")
    d.set_defaults(func=_dispatch)


def _register_demo(subparsers) -> None:
    g = subparsers.add_parser(
        "monitor-demo",
        help="write the demo basin's synthetic sensor readings and stations table",
        description="Hourly readings at the boundary section and each party's outlet, with "
                    "seasonality and injected faults, deterministic from --seed.")
    add_config(g)
    g.add_argument("--years", type=int, nargs="+", metavar="YEAR",
                   help="default: the basin's years")
    g.add_argument("--readings", metavar="FILE",
                   help="output Parquet file (default results/<basin>/monitoring/demo/)")
    g.add_argument("--stations", metavar="FILE",
                   help="output CSV file (default results/<basin>/monitoring/demo/)")
    g.add_argument("--seed", type=int, help="default: the basin's demo.seed")
    g.set_defaults(func=_demo)


def _register_downstream(subparsers) -> None:
    p = subparsers.add_parser(
        "downstream", help="responsibility lists of the downstream parties",
        description="Downstream parties' lists (下游责任清单): compensation owed under the "
                    "agreement against what was paid on time through the daily dispatch, and "
                    "the declared emissions of their enterprises against a cap. Writes "
                    "monitoring/responsibility_downstream.csv (see docs/committee.md).")
    add_config(p)
    p.add_argument("--declarations", metavar="CSV", help="override the declarations file")
    add_out(p, f"results/<basin>/monitoring/{MonitoringFiles.downstream}", folder=False)
    p.set_defaults(func=_downstream)


def _is_monitoring_settings(path: str) -> bool:
    """Whether ``path`` holds monitoring settings rather than a basin config."""
    import yaml

    try:  # a guess only: the loader then reports bad bytes or syntax in its own words
        text = Path(path).read_bytes().decode("utf-8", errors="replace")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "basin" not in data and \
        bool({"indicators", "dispatch", "standard", "index"} & set(data))


def _former_config(args: argparse.Namespace) -> bool:
    """The former form ``--config monitoring.yaml``: read it as --settings. True if so."""
    if args.settings is None and config_given(args) and _is_monitoring_settings(args.config):
        note(args.command, f"{args.config} holds monitoring settings: reading it as "
             "--settings (--config names the basin configuration now)")
        args.settings = args.config
        forget_config(args)
        return True
    return False


def _settings(b: Basin) -> Path:
    return b.path(b.args.settings, "--settings", lambda b: b.cfg.path(b.cfg.monitoring.config))


def _sensor_file(kind: str):
    """The basin's readings or stations: monitoring.<kind>, else the demo basin's."""
    def default(b: Basin):
        given = getattr(b.cfg.monitoring, kind)
        if given is not None:
            return b.cfg.path(given)
        if b.cfg.source == "demo":
            return getattr(b.paths.monitoring_demo, kind)
        raise ConfigError(f"monitoring.{kind}", "no sensor readings for a non-demo basin",
                          f"set monitoring.readings and monitoring.stations, or pass --{kind}",
                          file=b.file)
    return default


def _landcover_args(args: argparse.Namespace, inputs: Path | None) -> dict:
    kw: dict = {}
    if inputs is not None:
        kw = _from_inputs(Path(inputs))
    if args.landcover:
        by_year = {}
        for item in args.landcover:
            year, sep, path = item.partition("=")
            if not sep or not year.strip().isdigit():
                raise InputDataError("<command line>", f"--landcover '{item}' is not "
                                     "YEAR=PATH", "write e.g. --landcover 2021=lc2021.tif",
                                     field="--landcover")
            by_year[int(year)] = Path(path)
        kw["landcover_by_year"] = by_year
    for opt, name in (("parties_raster", "parties_raster"), ("parties_csv", "parties_csv"),
                      ("redline", "redline_raster")):
        if getattr(args, opt):
            kw[name] = Path(getattr(args, opt))
    return kw


def _from_inputs(root: Path) -> dict:
    """The red-line target's files in a basin inputs folder."""
    f = InputFiles(root)
    years = f.landcover_by_year()
    kw = {"landcover_by_year": years or None, "parties_raster": f.parties_raster,
          "parties_csv": f.parties_csv, "redline_raster": f.redline_raster}
    for name in ("parties_raster", "parties_csv", "redline_raster"):
        if not kw[name].is_file():
            raise InputDataError(str(kw[name]), "missing from --inputs",
                                 "run the acquire stage first, or pass the files one by one")
    if not years:
        raise InputDataError(str(root), "no <year>/landcover.tif under --inputs",
                             "run the acquire stage first")
    return kw


def _monitor(args: argparse.Namespace) -> int:
    from gep.monitoring.pipeline import monitor

    former = _former_config(args)
    b = Basin(args)
    settings = _settings(b)
    readings = b.path(args.readings, "--readings", _sensor_file("readings"))
    stations = b.path(args.stations, "--stations", _sensor_file("stations"))
    out = b.path(args.out, "--out", lambda b: b.paths.monitoring)
    own_files = args.landcover or args.parties_raster or args.parties_csv or args.redline
    inputs = args.inputs if own_files or former else b.optional(args.inputs,
                                                                lambda b: b.paths.inputs)
    paths = monitor(readings, stations, settings, out, workers=args.workers,
                    **_landcover_args(args, inputs))
    print_written(paths)
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    import csv

    from gep.monitoring.dispatch import dispatch

    former = _former_config(args)
    if args.out is not None:
        _refuse_daily_year(Path(args.out))  # before anything is read
    b = Basin(args)
    out = b.path(args.out, "--out", lambda b: b.paths.dispatch(args.year))
    _refuse_daily_year(out)
    agreement = b.path(args.agreement, "--agreement",
                       lambda b: b.cfg.path(b.cfg.compensation.agreement))
    ent_year = args.entitlement_year
    if ent_year is None and not former:
        ent_year = _scheduled_entitlement(agreement, args.year)
    paths = dispatch(b.path(args.transfers, "--transfers",
                            lambda b: b.paths.compensation.transfers),
                     b.path(args.daily_index, "--daily-index",
                            lambda b: b.paths.monitoring.daily_index),
                     agreement,
                     b.path(args.quality, "--quality",
                            lambda b: b.paths.monitoring.section_quality),
                     args.year, out, _settings(b), anomalies_csv=args.anomalies,
                     entitlement_year=ent_year)
    with open(paths["settlement"], newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            verdict = "released" if row["p_met"] == "true" else "forfeited"
            print(f"{row['year']} {row['party_id']}: entitled {row['entitlement_cny']}, paid "
                  f"{row['paid_cny']}, withheld {row['withheld_cny']} on "
                  f"{row['anomaly_days']} anomaly days; P {row['P']}, escrow {verdict}")
    print_written(paths)
    return 0


def _refuse_daily_year(out: Path) -> None:
    from gep.paths import DispatchFiles

    daily = DispatchFiles(out).daily_runs
    if daily.is_file():  # issue 18: the year is paid day by day; never overwrite those rows
        raise InputDataError(str(daily), "this year is paid day by day by `gep daily`; the "
                             "batch would overwrite its disbursements", "replay the year "
                             "into another --out to audit it (docs/operations.md)", field="out")


def _scheduled_entitlement(agreement: Path, year: int) -> int:
    """The settled year the schedule pays out during ``year``."""
    from gep.compensation import load_agreement
    from gep.compensation.schedule import Schedule

    a = load_agreement(agreement)
    ent = Schedule.of(a).entitlement_year(year)
    if ent is None:
        end = f" to end_year {a.end_year}" if a.end_year is not None else ""
        raise InputDataError("<command line>", f"{year} pays out no settled year (the "
                             f"agreement settles base_year {a.base_year} + 1{end})",
                             "pass a --year after a settled year, or --entitlement-year",
                             field="--year")
    return ent


def _demo(args: argparse.Namespace) -> int:
    from gep.monitoring.demo import generate

    b = Basin(args)
    years = args.years or b.cfg.years
    seed = args.seed if args.seed is not None else (
        b.cfg.demo.seed if b.explicit or b.available else 20240601)
    readings = b.path(args.readings, "--readings", lambda b: b.paths.monitoring_demo.readings)
    stations = b.path(args.stations, "--stations", lambda b: b.paths.monitoring_demo.stations)
    print_written(generate(years, readings, stations, seed=seed))
    return 0


def _downstream(args: argparse.Namespace) -> int:
    from gep.compensation.schedule import dispatch_years
    from gep.monitoring.downstream import write_downstream

    b = Basin(args)
    cfg, p = b.cfg, b.paths
    decl = Path(args.declarations) if args.declarations else None
    if decl is None and cfg.rating.enabled:
        decl = (cfg.path(cfg.rating.declarations) if cfg.rating.declarations is not None
                else p.demo_declarations)
    out = write_downstream(
        cfg.path(cfg.monitoring.config), p.compensation.transfers,
        {y: p.dispatch(y) for y in dispatch_years(cfg)}, list(cfg.years),
        Path(args.out) if args.out else p.downstream_csv, declarations_csv=decl,
        parties_csv=p.parties_csv, payments_csv=cfg.path(cfg.committee.payments))
    print(f"wrote {out}")
    return 0
