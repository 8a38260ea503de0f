"""``gep gis``: the GeoPackage of GEP per party and its QGIS style (see :mod:`gep.gis`)."""
from __future__ import annotations

from gep.cli_common import add_config, add_out, basin, print_json


def register(sub) -> None:
    p = sub.add_parser("gis", help="GEP per party as a GeoPackage (one layer per year, the "
                                   "responsibility lists) with a QGIS style")
    add_config(p)
    add_out(p, "results/<basin>/gep/gep_by_party.gpkg; its QGIS style beside it", folder=False)
    p.set_defaults(func=cmd_gis)


def cmd_gis(args) -> int:
    from pathlib import Path

    from gep.gis import export_gpkg

    p = basin(args)[1]
    out = Path(args.out) if args.out else p.gep_gpkg
    qml = out.with_suffix(".qml") if args.out else p.gep_qml
    print_json(export_gpkg(p.parties_gpkg, p.gep_csv, out, qml,
                           performance_csv=p.monitoring.performance,
                           attribution_csv=p.attribution_csv))
    return 0
