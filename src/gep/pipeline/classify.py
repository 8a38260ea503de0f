"""``gep classify`` and ``gep demo-imagery``: land-cover classification from the command line.

Thin wrappers over :mod:`gep.landcover`; every option can come from the config file
(``classification:`` block) or be given explicitly, explicit options winning.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from gep.cli_common import Basin, add_config, config_given
from gep.errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "classify",
        help="train a random forest on imagery + labelled samples, assess it, predict land cover",
        description="Random-forest land-cover classification (ESA WorldCover codes) with a "
                    "held-out accuracy assessment. Writes model.joblib, metrics.json, "
                    "confusion_matrix.csv, confusion_matrix.png, samples.csv into --out-dir "
                    "and the land-cover GeoTIFF to --landcover-out.",
    )
    add_config(p, "basin configuration: when given, its classification block supplies "
                  "every option not given here")
    p.add_argument("--year", type=int, help="year whose classification.imagery to use")
    p.add_argument("--imagery", type=Path, help="multi-band imagery GeoTIFF")
    p.add_argument("--training", type=Path, help="labelled points or polygons (GeoPackage...)")
    p.add_argument("--label-field", help="field with WorldCover codes (default: class)")
    p.add_argument("--out-dir", type=Path,
                   help="model and metrics folder (default: results/<basin>/landcover/<year>)")
    p.add_argument("--landcover-out", type=Path,
                   help="output GeoTIFF (default: <out-dir>/landcover.tif)")
    p.add_argument("--grid-like", type=Path,
                   help="write the land cover on this raster's grid (e.g. the basin DEM)")
    p.add_argument("--n-estimators", type=int)
    p.add_argument("--test-fraction", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--block-size", type=int, default=256, help="prediction tile side (px)")
    p.add_argument("--jobs", type=int, default=1, help="random-forest worker threads")
    p.set_defaults(func=_classify)

    d = subparsers.add_parser(
        "demo-imagery",
        help="synthetic 6-band imagery and training points from a WorldCover raster",
        description="Make synthetic blue/green/red/nir/swir1/swir2 reflectance imagery and "
                    "labelled training points from a land-cover raster, so classification "
                    "runs offline on the demo basin.",
    )
    d.add_argument("--landcover", type=Path, required=True)
    d.add_argument("--imagery-out", type=Path, required=True)
    d.add_argument("--training-out", type=Path, required=True)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--samples-per-class", type=int, default=150)
    d.set_defaults(func=_demo_imagery)


def _classify(args: argparse.Namespace) -> int:
    from gep import landcover
    from gep.sources.base import Grid

    opts = {"imagery": args.imagery, "training": args.training, "label_field": args.label_field,
            "n_estimators": args.n_estimators, "test_fraction": args.test_fraction,
            "seed": args.seed, "out_dir": args.out_dir}
    if config_given(args):
        b = Basin(args)
        cfg = b.cfg
        c = cfg.classification
        if opts["imagery"] is None:
            if args.year is None:
                raise ConfigError("--year", "needed to pick classification.imagery",
                                  "pass --year or --imagery")
            if args.year not in c.imagery:
                raise ConfigError(f"classification.imagery.{args.year}",
                                  f"no imagery for year {args.year}",
                                  f"add '{args.year}: <imagery.tif>'", file=str(args.config))
            opts["imagery"] = cfg.path(c.imagery[args.year])
        if opts["training"] is None:
            opts["training"] = cfg.path(c.training)
        defaults = {"label_field": c.label_field, "n_estimators": c.n_estimators,
                    "test_fraction": c.test_fraction, "seed": c.seed}
        for k, v in defaults.items():
            if opts[k] is None:
                opts[k] = v
        if opts["out_dir"] is None:
            opts["out_dir"] = b.paths.classification(args.year)
    for k in ("imagery", "training", "out_dir"):
        if opts[k] is None:
            flag = "--" + k.replace("_", "-")
            raise ConfigError(flag, "missing", f"pass {flag} or --config with a classification "
                              "block")
    grid = Grid.from_raster(args.grid_like) if args.grid_like else None
    paths = landcover.classify(
        opts["imagery"], opts["training"], opts["out_dir"], args.landcover_out,
        label_field=opts["label_field"] or "class",
        n_estimators=opts["n_estimators"] or 200,
        test_fraction=opts["test_fraction"] if opts["test_fraction"] is not None else 0.3,
        seed=opts["seed"] or 0, grid=grid, block_size=args.block_size, n_jobs=args.jobs)
    m = json.loads(Path(paths["metrics"]).read_text(encoding="utf-8"))
    print(f"overall accuracy {m['overall_accuracy']:.3f}, kappa {m['kappa']:.3f} "
          f"({m['n_test']} held-out samples); land cover: {paths['landcover']}")
    return 0


def _demo_imagery(args: argparse.Namespace) -> int:
    from gep import landcover

    img, trn = landcover.demo_imagery(args.landcover, args.imagery_out, args.training_out,
                                      seed=args.seed, samples_per_class=args.samples_per_class)
    print(f"imagery: {img}; training points: {trn}")
    return 0
