"""``gep gis``: the GeoPackage of GEP per party and its QGIS style (see :mod:`gep.gis`)."""
from __future__ import annotations

import json

DEFAULT_CONFIG = "config/config.yaml"


def register(sub) -> None:
    p = sub.add_parser("gis", help="GEP per party as a GeoPackage (one layer per year, the "
                                   "responsibility lists) with a QGIS style")
    p.add_argument("--config", default=DEFAULT_CONFIG,
                   help=f"basin config file (default {DEFAULT_CONFIG})")
    p.add_argument("--out", metavar="GPKG", help="default results/<basin>/gep/gep_by_party.gpkg")
    p.set_defaults(func=cmd_gis)


def cmd_gis(args) -> int:
    from pathlib import Path

    from gep.config import load_config
    from gep.gis import export_gpkg
    from gep.paths import Paths

    p = Paths(load_config(args.config))
    out = Path(args.out) if args.out else p.gep_gpkg
    qml = out.with_suffix(".qml") if args.out else p.gep_qml
    paths = export_gpkg(p.party_file("parties.gpkg"), p.gep_csv, out, qml,
                        performance_csv=p.monitoring / "performance.csv",
                        attribution_csv=p.attribution_csv)
    print(json.dumps({k: str(v) for k, v in paths.items()}, indent=1))
    return 0
