"""``gep allocate``: settle a compensation agreement (see docs/compensation.md).

Inputs and outputs default to the basin's (``--config``, through ``Paths``); flags override.
"""
from __future__ import annotations

import argparse
import json

from gep.cli_common import Basin, add_config, add_out, print_written
from gep.paths import MonitoringFiles


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "allocate",
        help="settle a compensation agreement: who pays whom, how much and why",
        description="Apply a compensation agreement to the GEP increments and the boundary "
                    "section's water quality; write transfers.csv, statement.csv and "
                    "summary.json to results/<basin>/compensation (or --out). Nothing is "
                    "written if any input is invalid.")
    add_config(p, "basin configuration (default config/config.yaml); every file below "
                  "defaults to the basin's")
    p.add_argument("--agreement", metavar="A.yaml",
                   help="agreement YAML (default: compensation.agreement)")
    p.add_argument("--increments", metavar="increments.csv",
                   help="GEP increments (year,party_id,service,delta_value_cny_constant); "
                        "needed when the agreement has a reward clause (default: gep value's)")
    p.add_argument("--attribution", metavar="attribution.csv",
                   help="GEP changes split into land use and climate "
                        "(year,party_id,service,total,land_use,climate); the reward reads "
                        "its reward.basis column. Needed for reward.basis: land_use "
                        "(default: gep attribute's, when it exists)")
    p.add_argument("--quality", metavar=MonitoringFiles.section_quality,
                   help="annual means (year,section,indicator,concentration_mg_l) (default: "
                        "gep monitor's, or compensation.quality without monitoring)")
    p.add_argument("--performance", metavar=MonitoringFiles.performance,
                   help="targets met (year,party_id,target,met) (default: gep monitor's, or "
                        "compensation.performance)")
    p.add_argument("--incidents", metavar="incidents.csv",
                   help="damage incidents (date,party_id,damage_cny,description) (default: "
                        "compensation.incidents)")
    add_out(p, "results/<basin>/compensation")
    p.set_defaults(func=_run)


def _monitored(b: Basin) -> bool:
    return b.cfg.monitoring.enabled


def c(b: Basin):
    """The basin config's compensation block."""
    return b.cfg.compensation


def _run(args: argparse.Namespace) -> int:
    from gep.compensation.allocate import allocate

    b = Basin(args)
    agreement = b.path(args.agreement, "--agreement", lambda b: b.cfg.path(c(b).agreement))
    quality = b.path(args.quality, "--quality", lambda b: (
        b.paths.monitoring.section_quality if _monitored(b) else b.cfg.path(c(b).quality)))
    out = b.path(args.out, "--out", lambda b: b.paths.compensation)
    increments = b.optional(args.increments, lambda b: b.paths.increments_csv)
    attribution = b.optional(args.attribution, lambda b: (
        b.paths.attribution_csv if b.paths.attribution_csv.exists() else None))
    performance = b.optional(args.performance, lambda b: (
        b.paths.monitoring.performance if _monitored(b) else b.cfg.path(c(b).performance)))
    incidents = b.optional(args.incidents, lambda b: b.cfg.path(c(b).incidents))
    paths = allocate(agreement, increments, quality, out, performance_path=performance,
                     incidents_path=incidents, attribution_path=attribution)
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    for year in summary["years"]:
        info = summary["by_year"][str(year)]
        t = info["totals"]
        verdict = "met" if info["target_met"] else f"missed, clawback rate {info['clawback_rate']}"
        print(f"{year}: P {info['P']} ({verdict}); paid to upstream {t['paid_to_upstream']}, "
              f"clawback {t['clawback']}, penalties {t['penalty']}, {t['transfers']} transfers")
    print_written(paths)
    return 0
