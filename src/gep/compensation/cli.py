"""``gep allocate``: settle a compensation agreement (see docs/compensation.md)."""
from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "allocate",
        help="settle a compensation agreement: who pays whom, how much and why",
        description="Apply a compensation agreement to the GEP increments and the boundary "
                    "section's water quality; write transfers.csv, statement.csv and "
                    "summary.json to --out. Nothing is written if any input is invalid.",
    )
    p.add_argument("--agreement", required=True, metavar="A.yaml",
                   help="agreement YAML, e.g. config/agreement.yaml")
    p.add_argument("--increments", metavar="increments.csv",
                   help="GEP increments (year,party_id,service,delta_value_cny_constant); "
                        "required when the agreement has a reward clause")
    p.add_argument("--attribution", metavar="attribution.csv",
                   help="GEP changes split into land use and climate "
                        "(year,party_id,service,total,land_use,climate); the reward reads "
                        "its reward.basis column. Needed for reward.basis: land_use")
    p.add_argument("--quality", required=True, metavar="section_quality.csv",
                   help="annual means (year,section,indicator,concentration_mg_l)")
    p.add_argument("--performance", metavar="performance.csv",
                   help="targets met (year,party_id,target,met)")
    p.add_argument("--incidents", metavar="incidents.csv",
                   help="damage incidents (date,party_id,damage_cny,description)")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from gep.compensation.allocate import allocate

    paths = allocate(args.agreement, args.increments, args.quality, args.out,
                     performance_path=args.performance, incidents_path=args.incidents,
                     attribution_path=args.attribution)
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    for year in summary["years"]:
        info = summary["by_year"][str(year)]
        t = info["totals"]
        verdict = "met" if info["target_met"] else f"missed, clawback rate {info['clawback_rate']}"
        print(f"{year}: P {info['P']} ({verdict}); paid to upstream {t['paid_to_upstream']}, "
              f"clawback {t['clawback']}, penalties {t['penalty']}, {t['transfers']} transfers")
    for path in paths.values():
        print(f"wrote {path}")
    return 0
