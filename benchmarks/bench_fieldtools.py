"""What fitting the field's tools costs: COG rasters, and InVEST's own report and metadata.

    .venv/bin/python benchmarks/bench_fieldtools.py [--cog-size 4000] [--invest-size 1000]

1. Writing one N x N float32 raster: gep's COG (tiled GeoTIFF written, then translated with
   overviews by GDAL's COG driver) against the plain tiled DEFLATE GeoTIFF gep wrote before.
2. One demo year at N x N: each InVEST model gep runs by default, through
   ``MODEL_SPEC.execute`` with log, metadata, registry and report, against the same without
   the HTML report (``run_model(..., report=False)``, what the tuning cache does).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]


def bench_cog(size: int) -> None:
    import rasterio

    from gep.sources.base import Grid, write_raster

    grid = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, size, size)
    a = np.random.default_rng(1).uniform(500, 2500, (size, size)).astype("float32")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        with rasterio.open(Path(d) / "plain.tif", "w", **grid.profile("float32", -9999.0)) as ds:
            ds.write(a, 1)
        plain = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_raster(Path(d) / "cog.tif", a, grid, -9999.0)
        cog = time.perf_counter() - t0
        mb = {n: (Path(d) / n).stat().st_size / 2**20 for n in ("plain.tif", "cog.tif")}
    print(f"raster {size}x{size} float32: plain GeoTIFF {plain:.2f} s ({mb['plain.tif']:.0f} MiB), "
          f"COG with overviews {cog:.2f} s ({mb['cog.tif']:.0f} MiB)")


def bench_invest(size: int, year: int = 2020) -> None:
    from gep import acquire
    from gep.config import load_config
    from gep.invest import model_params, run_model
    from gep.paths import Paths

    tmp = Path(tempfile.mkdtemp(prefix=f"gep-bench-tools-{size}-"))
    try:
        shutil.copytree(REPO / "config", tmp / "config")
        cfg_path = tmp / "config" / "config.yaml"
        data = yaml.safe_load(cfg_path.read_text())
        data.update(demo={**data["demo"], "rows": size, "cols": size}, years=[year],
                    results_dir=str(tmp / "results"))
        cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True))
        cfg = load_config(cfg_path)
        p = Paths(cfg)
        acquire.acquire_parties(cfg)
        acquire.acquire_static(cfg)
        acquire.acquire_year(cfg, year)
        for m in cfg.models.enabled():
            times = {False: [], True: []}
            for report in (True, False, False, True):  # best of two, alternating
                t0 = time.perf_counter()
                run_model(m, p.year_dir(year), model_params(cfg, m),
                          tmp / f"ws-{m}-{report}", year, report=report)
                times[report].append(time.perf_counter() - t0)
            times = {k: min(v) for k, v in times.items()}
            print(f"InVEST {m} {size}x{size}: {times[False]:.1f} s without its HTML report, "
                  f"{times[True]:.1f} s with it (+{times[True] - times[False]:.1f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cog-size", type=int, default=4000)
    ap.add_argument("--invest-size", type=int, default=1000)
    a = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    bench_cog(a.cog_size)
    bench_invest(a.invest_size)


if __name__ == "__main__":
    main()
