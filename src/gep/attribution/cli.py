"""``gep reference-climate``, ``gep reference`` and ``gep attribute`` (see gep.attribution)."""
from __future__ import annotations

from gep.cli_common import add_config, basin


def register(sub) -> None:
    p = sub.add_parser("reference-climate", help="per-pixel mean climate of the reference "
                                                 "years (attribution.reference_years)")
    add_config(p)
    p.set_defaults(func=_climate)

    p = sub.add_parser("reference", help="one year's land cover under the reference climate: "
                                         "model runs and zonal sums")
    add_config(p)
    p.add_argument("--year", type=int, required=True)
    p.set_defaults(func=_reference)

    p = sub.add_parser("attribute", help="split every GEP change into land use and climate "
                                         "(gep/attribution.csv)")
    add_config(p)
    p.set_defaults(func=_attribute)


def _cfg(args):
    return basin(args)[0]


def _climate(args) -> int:
    from gep.attribution.climate import reference_climate

    for path in reference_climate(_cfg(args)).values():
        print(path)
    return 0


def _reference(args) -> int:
    from gep.attribution.reference import reference_year
    from gep.models import gtiff

    cfg = _cfg(args)
    gtiff.select(cfg.models.gtiff_compression)   # before InVEST's functions are imported
    print(reference_year(cfg, args.year))
    return 0


def _attribute(args) -> int:
    from gep.attribution.attribute import attribute

    cfg, p = basin(args)
    out = attribute(p.gep_csv, [p.zonal_reference(y) for y in cfg.years],
                    cfg.path(cfg.valuation.prices), cfg.path(cfg.valuation.runoff_coefficients),
                    p.gep_reference_csv, p.attribution_csv)
    print("\n".join(map(str, out)))
    return 0
