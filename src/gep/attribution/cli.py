"""``gep reference-climate``, ``gep reference`` and ``gep attribute`` (see gep.attribution)."""
from __future__ import annotations

DEFAULT_CONFIG = "config/config.yaml"


def register(sub) -> None:
    p = sub.add_parser("reference-climate", help="per-pixel mean climate of the reference "
                                                 "years (attribution.reference_years)")
    p.add_argument("--config", default=DEFAULT_CONFIG, help="basin config file")
    p.set_defaults(func=_climate)

    p = sub.add_parser("reference", help="one year's land cover under the reference climate: "
                                         "model runs and zonal sums")
    p.add_argument("--config", default=DEFAULT_CONFIG, help="basin config file")
    p.add_argument("--year", type=int, required=True)
    p.set_defaults(func=_reference)

    p = sub.add_parser("attribute", help="split every GEP change into land use and climate "
                                         "(gep/attribution.csv)")
    p.add_argument("--config", default=DEFAULT_CONFIG, help="basin config file")
    p.set_defaults(func=_attribute)


def _cfg(args):
    from gep.config import load_config

    return load_config(args.config)


def _climate(args) -> int:
    from gep.attribution.climate import reference_climate

    for path in reference_climate(_cfg(args)).values():
        print(path)
    return 0


def _reference(args) -> int:
    from gep.attribution.reference import reference_year

    print(reference_year(_cfg(args), args.year))
    return 0


def _attribute(args) -> int:
    from gep.attribution.attribute import attribute
    from gep.paths import Paths

    cfg = _cfg(args)
    p = Paths(cfg)
    out = attribute(p.gep_csv, [p.zonal_reference(y) for y in cfg.years],
                    cfg.path(cfg.valuation.prices), cfg.path(cfg.valuation.runoff_coefficients),
                    p.gep_reference_csv, p.attribution_csv)
    print("\n".join(map(str, out)))
    return 0
