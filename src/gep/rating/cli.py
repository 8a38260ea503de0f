"""``gep rate`` and ``gep rate-demo`` (enterprise eco star rating; docs/committee.md)."""
from __future__ import annotations

import argparse
from pathlib import Path

from gep.cli_common import Basin, add_config, add_out, print_written


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "rate", help="eco star rating of water-using enterprises (生态反哺星级认证)",
        description="Score enterprise declarations with the star-rating rules, award stars "
                    "and incentives, write ratings.csv and a bilingual certificate page per "
                    "enterprise and year. Nothing is written if a declaration or a rule is "
                    "bad. Paths default to the basin's (--config); flags override them.")
    add_config(p)
    p.add_argument("--declarations", metavar="CSV", help="declarations (year,enterprise_id,"
                   "name,party_id,sector,revenue_cny,env_investment_cny,pollutant_baseline_t,"
                   "pollutant_reduction_t,green_tech_share,emissions_t,verified)")
    p.add_argument("--rules", metavar="YAML", help="star-rating rules (config/star_rating.yaml)")
    p.add_argument("--parties", metavar="CSV", help="parties.csv: declarations must name one "
                   "of its party_id values")
    add_out(p, "results/<basin>/rating: ratings.csv, certificates/")
    p.set_defaults(func=_rate)

    d = subparsers.add_parser("rate-demo", help="write the demo basin's enterprise "
                              "declarations (about 60 enterprises)")
    add_config(d)
    add_out(d, "results/<basin>/rating/demo/declarations.csv", folder=False)
    d.set_defaults(func=_demo)


def declarations_path(cfg, p) -> Path:
    if cfg.rating.declarations is not None:
        return cfg.path(cfg.rating.declarations)
    return p.demo_declarations


def party_ids(parties_csv: Path) -> set[str]:
    from gep.io import read_csv_rows

    return {row["party_id"] for _, row in read_csv_rows(parties_csv, ("party_id",),
                                                        "parties")}


def _rate(args: argparse.Namespace) -> int:
    from gep.errors import InputDataError
    from gep.paths import RatingFiles
    from gep.rating.declarations import read_declarations
    from gep.rating.rules import load_rules
    from gep.rating.score import write_outputs

    b = Basin(args)
    rules = load_rules(b.path(args.rules, "--rules", lambda b: b.cfg.path(b.cfg.rating.rules)))
    decl = b.path(args.declarations, "--declarations",
                  lambda b: declarations_path(b.cfg, b.paths))
    out = b.path(args.out, "--out", lambda b: b.paths.rating)
    parties_csv = Path(args.parties) if args.parties else (
        b.paths.parties_csv if b.available else None)
    parties = None
    if parties_csv is not None:
        if not parties_csv.is_file():
            raise InputDataError(str(parties_csv), "parties table does not exist",
                                 "run the acquire stage first, or pass --parties")
        parties = party_ids(parties_csv)
    declarations = read_declarations(decl, parties)
    cfg = b.cfg_or_none()
    files = RatingFiles(out)
    paths = write_outputs(declarations, rules, files.ratings, files.certificates,
                          basin=cfg.basin if cfg else "")
    print(f"rated {len(declarations)} declarations")
    print_written(paths)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gep.rating.demo import generate

    b = Basin(args)
    cfg, p = b.cfg, b.paths
    parties = None
    if p.parties_csv.is_file():
        parties = sorted(party_ids(p.parties_csv))
    out = generate(cfg.years, Path(args.out) if args.out else p.demo_declarations,
                   n=cfg.rating.demo_enterprises, seed=cfg.demo.seed, parties=parties)
    print(f"wrote {out}")
    return 0
