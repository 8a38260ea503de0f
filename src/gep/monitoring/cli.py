"""``gep monitor``, ``gep dispatch`` and ``gep monitor-demo`` (see docs/monitoring.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from gep.errors import InputDataError

DEFAULT_CONFIG = "config/monitoring.yaml"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "monitor",
        help="QA/QC sensor readings; daily index, compliance and responsibility lists",
        description="Ingest water-quality and flow readings, run the QARTOD tests of ioos_qc, "
                    "compute daily GB 3838-2002 compliance, the daily ecological performance "
                    "index and the annual products for the compensation engine. Writes "
                    "readings_qc.parquet, daily_index.csv, daily_compliance.csv, "
                    "anomalies.csv, section_quality.csv and performance.csv to --out; "
                    "nothing is written if any input is invalid.")
    p.add_argument("--readings", required=True, metavar="FILE",
                   help="readings in long form (timestamp,station,indicator,value,unit), "
                        "CSV or Parquet")
    p.add_argument("--stations", required=True, metavar="FILE",
                   help="stations table (station,party_id,section,role,lon,lat)")
    p.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE",
                   help=f"monitoring configuration (default {DEFAULT_CONFIG})")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.add_argument("--inputs", metavar="DIR",
                   help="basin inputs directory (results/<basin>/inputs): takes "
                        "<year>/landcover.tif, parties.tif, parties.csv and redline.tif "
                        "from it for the red-line natural-cover target")
    p.add_argument("--landcover", action="append", default=[], metavar="YEAR=PATH",
                   help="land cover of a year (repeatable); with --parties-raster, "
                        "--parties-csv and --redline instead of --inputs")
    p.add_argument("--parties-raster", metavar="FILE", help="parties.tif")
    p.add_argument("--parties-csv", metavar="FILE", help="parties.csv")
    p.add_argument("--redline", metavar="FILE", help="redline.tif")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes for the QA/QC tests (default 1)")
    p.set_defaults(func=_monitor)

    d = subparsers.add_parser(
        "dispatch",
        help="pay upstream entitlements day by day, withholding anomaly days into escrow",
        description="Spread each upstream party's annual entitlement (from the compensation "
                    "engine's transfers.csv) over the days of --year, paced by the daily "
                    "index; withhold anomaly days into escrow with an alert; settle the escrow "
                    "on the year's P index. Writes disbursements.csv, alerts.csv, "
                    "settlement.csv and ledger_transfers.csv to --out.")
    d.add_argument("--transfers", required=True, metavar="FILE",
                   help="compensation transfers.csv (gep allocate)")
    d.add_argument("--daily-index", required=True, metavar="FILE",
                   help="daily_index.csv (gep monitor); anomalies.csv beside it gives the "
                        "alerts their stations and values")
    d.add_argument("--anomalies", metavar="FILE",
                   help="anomalies.csv (default: beside --daily-index)")
    d.add_argument("--agreement", required=True, metavar="FILE", help="agreement YAML")
    d.add_argument("--quality", required=True, metavar="FILE",
                   help="section_quality.csv (gep monitor), for the year's P index")
    d.add_argument("--year", required=True, type=int, help="year to dispatch")
    d.add_argument("--entitlement-year", type=int, metavar="YEAR",
                   help="engine year whose payments are dispatched (default: --year)")
    d.add_argument("--config", default=DEFAULT_CONFIG, metavar="FILE",
                   help=f"monitoring configuration (default {DEFAULT_CONFIG})")
    d.add_argument("--out", required=True, metavar="DIR", help="output directory")
    d.set_defaults(func=_dispatch)

    g = subparsers.add_parser(
        "monitor-demo",
        help="write the demo basin's synthetic sensor readings and stations table",
        description="Hourly readings at the boundary section and each party's outlet, with "
                    "seasonality and injected faults, deterministic from --seed.")
    g.add_argument("--years", required=True, type=int, nargs="+", metavar="YEAR")
    g.add_argument("--readings", required=True, metavar="FILE", help="output Parquet file")
    g.add_argument("--stations", required=True, metavar="FILE", help="output CSV file")
    g.add_argument("--seed", type=int, default=20240601)
    g.set_defaults(func=_demo)
    _register_downstream(subparsers)


def _register_downstream(subparsers) -> None:
    p = subparsers.add_parser(
        "downstream", help="responsibility lists of the downstream parties",
        description="Downstream parties' lists (下游责任清单): compensation owed under the "
                    "agreement against what was paid on time through the daily dispatch, and "
                    "the declared emissions of their enterprises against a cap. Writes "
                    "monitoring/responsibility_downstream.csv (see docs/committee.md).")
    p.add_argument("--config", default="config/config.yaml", metavar="FILE",
                   help="basin configuration (default config/config.yaml)")
    p.add_argument("--declarations", metavar="CSV", help="override the declarations file")
    p.add_argument("--out", metavar="CSV", help="override the output file")
    p.set_defaults(func=_downstream)


def _downstream(args: argparse.Namespace) -> int:
    from gep.config import load_config
    from gep.monitoring.downstream import write_downstream
    from gep.paths import Paths
    from gep.publish import dispatch_years

    cfg = load_config(args.config)
    p = Paths(cfg)
    decl = Path(args.declarations) if args.declarations else None
    if decl is None and cfg.rating.enabled:
        decl = (cfg.path(cfg.rating.declarations) if cfg.rating.declarations is not None
                else p.demo_declarations)
    out = write_downstream(
        cfg.path(cfg.monitoring.config), p.compensation / "transfers.csv",
        {y: p.dispatch(y) for y in dispatch_years(cfg)}, list(cfg.years),
        Path(args.out) if args.out else p.downstream_csv, declarations_csv=decl,
        parties_csv=p.party_file("parties.csv"), payments_csv=cfg.path(cfg.committee.payments))
    print(f"wrote {out}")
    return 0


def _landcover_args(args: argparse.Namespace) -> dict:
    kw: dict = {}
    if args.inputs:
        root = Path(args.inputs)
        years = {int(p.parent.name): p for p in sorted(root.glob("*/landcover.tif"))
                 if p.parent.name.isdigit()}
        kw = {"landcover_by_year": years or None, "parties_raster": root / "parties.tif",
              "parties_csv": root / "parties.csv", "redline_raster": root / "redline.tif"}
        for name in ("parties_raster", "parties_csv", "redline_raster"):
            if not kw[name].is_file():
                raise InputDataError(str(kw[name]), "missing from --inputs",
                                     "run the acquire stage first, or pass the files one by one")
        if not years:
            raise InputDataError(str(root), "no <year>/landcover.tif under --inputs",
                                 "run the acquire stage first")
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


def _monitor(args: argparse.Namespace) -> int:
    from gep.monitoring.pipeline import monitor

    paths = monitor(args.readings, args.stations, args.config, args.out,
                    workers=args.workers, **_landcover_args(args))
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    import csv

    from gep.monitoring.dispatch import dispatch

    daily = Path(args.out) / "daily_runs.csv"
    if daily.is_file():  # issue 18: the year is paid day by day; never overwrite those rows
        raise InputDataError(str(daily), "this year is paid day by day by `gep daily`; the "
                             "batch would overwrite its disbursements", "replay the year "
                             "into another --out to audit it (docs/operations.md)", field="out")
    paths = dispatch(args.transfers, args.daily_index, args.agreement, args.quality, args.year,
                     args.out, args.config, anomalies_csv=args.anomalies,
                     entitlement_year=args.entitlement_year)
    with open(paths["settlement"], newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            verdict = "released" if row["p_met"] == "true" else "forfeited"
            print(f"{row['year']} {row['party_id']}: entitled {row['entitlement_cny']}, paid "
                  f"{row['paid_cny']}, withheld {row['withheld_cny']} on "
                  f"{row['anomaly_days']} anomaly days; P {row['P']}, escrow {verdict}")
    for path in paths.values():
        print(f"wrote {path}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gep.monitoring.demo import generate

    paths = generate(args.years, Path(args.readings), Path(args.stations), seed=args.seed)
    for path in paths.values():
        print(f"wrote {path}")
    return 0
