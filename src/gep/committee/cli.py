"""``gep execution``, ``gep bulletin`` and ``gep agreement file`` (docs/committee.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from gep.cli_common import add_config, basin, help_action, print_written


def register(subparsers) -> None:
    e = subparsers.add_parser(
        "execution", help="agreement execution rate (协议执行率): execution.csv",
        description="List the agreement's obligations falling due in each configured year "
                    "(settlement transfers, responsibility-list targets, monthly data "
                    "delivery), decide which were executed, and write committee/"
                    "obligations.csv and committee/execution.csv.")
    add_config(e)
    e.set_defaults(func=_execution)

    b = subparsers.add_parser(
        "bulletin", help="the committee's monthly agenda, quarterly bulletin or annual "
                         "assessment (HTML + PDF)",
        description="Build committee papers under results/<basin>/committee/: --period "
                    "2024-03 (monthly agenda 议事), 2024-Q1 (quarterly bulletin 通报) or 2024 "
                    "(annual assessment 评估); --year Y builds all 17 papers of Y; --index "
                    "rebuilds index.html. Needs `gep execution` first.")
    add_config(b)
    b.add_argument("--period", action="append", default=[], metavar="PERIOD",
                   help="YYYY-MM, YYYY-Qn or YYYY (repeatable)")
    b.add_argument("--year", type=int, action="append", default=[], metavar="YEAR",
                   help="every period of YEAR: 12 agendas, 4 bulletins, 1 assessment")
    b.add_argument("--index", action="store_true", help="(re)build committee/index.html")
    pdf = b.add_mutually_exclusive_group()
    pdf.add_argument("--no-pdf", action="store_true", help="HTML only")
    pdf.add_argument("--pdf", action="store_true", help="PDF too, even when committee.pdf "
                     "is false")
    b.set_defaults(func=_bulletin)

    a = subparsers.add_parser("agreement", help="the agreement's filing (备案)")
    sub = a.add_subparsers(dest="agreement_command", metavar="ACTION")
    a.set_defaults(func=help_action(a))
    f = sub.add_parser(
        "file", help="record the agreement's filing with a body in the sunshine ledger",
        description="Record that the agreement was filed (备案) with --body on --date under "
                    "--reference: its SHA-256, the body and the reference go into the "
                    "sunshine ledger and committee/filings.csv; the report shows the filing. "
                    "Flags default to the basin config's compensation.agreement and "
                    "committee.filing.")
    add_config(f)
    f.add_argument("--agreement", metavar="YAML", help="the agreement file")
    f.add_argument("--body", metavar="NAME", help="e.g. the municipal people's congress "
                   "standing committee")
    f.add_argument("--date", metavar="YYYY-MM-DD")
    f.add_argument("--reference", metavar="REF", help="the body's reference number")
    f.add_argument("--db", metavar="FILE", help="ledger database (default results/<basin>/"
                   "ledger/ledger.db)")
    f.set_defaults(func=_file)


def _execution(args: argparse.Namespace) -> int:
    from gep.committee.execution import write_execution

    cfg, p = basin(args)
    paths = write_execution(cfg, p)
    import csv

    with open(paths["execution"], newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["party_id"] == "basin" and r["obligation"] == "all":
                flag = "" if float(r["rate"]) >= cfg.committee.execution_target else \
                    "  BELOW TARGET"
                print(f"{r['year']}: executed {r['executed']} of {r['due']} "
                      f"({float(r['rate']) * 100:.2f} %){flag}")
    print_written(paths)
    return 0


def _bulletin(args: argparse.Namespace) -> int:
    from gep.committee.bulletin import build, build_index
    from gep.committee.periods import parse_period, periods_of_year
    from gep.errors import InputDataError

    cfg, p = basin(args)
    periods = [parse_period(t, list(cfg.years)) for t in args.period]
    for y in args.year:
        if y not in cfg.years:
            raise InputDataError("<command line>", f"year {y} is not a configured year",
                                 f"use one of {', '.join(map(str, cfg.years))}",
                                 field="--year")
        periods += periods_of_year(y)
    if not periods and not args.index:
        raise InputDataError("<command line>", "nothing to build", "pass --period, --year or "
                             "--index", field="--period")
    for path in build(cfg, p, periods, pdf=args.pdf or (cfg.committee.pdf and not args.no_pdf)):
        print(f"wrote {path}")
    if args.index:
        print(f"wrote {build_index(cfg, p)}")
    return 0


def _file(args: argparse.Namespace) -> int:
    from gep.committee.filing import file_agreement
    from gep.errors import InputDataError

    cfg, p = basin(args)
    fil = cfg.committee.filing
    agreement = Path(args.agreement) if args.agreement else cfg.path(cfg.compensation.agreement)
    values = {"body": args.body or (fil.body if fil else None),
              "date": args.date or (fil.date if fil else None),
              "reference": args.reference or (fil.reference if fil else None)}
    for k, v in values.items():
        if not v:
            raise InputDataError("<command line>", f"--{k} is missing", f"pass --{k} or set "
                                 f"committee.filing.{k} in the config", field=f"--{k}")
    if agreement is None:
        raise InputDataError("<command line>", "--agreement is missing", "pass --agreement "
                             "or set compensation.agreement", field="--agreement")
    db = Path(args.db) if args.db else p.ledger.db
    r = file_agreement(agreement, values["body"], values["date"], values["reference"], db,
                       p.filings_csv)
    print(f"agreement {r['agreement_id']} (sha256 {r['sha256']}) filed with {r['body']} on "
          f"{r['date']}, reference {r['reference']}: ledger entry {r['ledger_index']} "
          f"({r['status']})")
    print(f"wrote {p.filings_csv}")
    return 0
