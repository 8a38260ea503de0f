"""SDR + NDR with and without DEM-product reuse, and how far the results are from fresh InVEST.

    nice -n 10 .venv/bin/python benchmarks/bench_dem_reuse.py [--size 1000] [--years 3]
                                                             [--algorithm MFD]

Generates the demo basin at ``size x size`` in a scratch folder, then runs SDR and NDR for
every year twice through ``gep.invest.run_model``: fresh (``reuse_dem_products: false``, what
bare InVEST does) and with reuse, starting from an empty product cache. Prints the wall time of
each run, the totals, the time saved, and the largest per-pixel difference (absolute and
relative) over every raster InVEST declares in its file registry. Figures on a shared machine
are noisy: report them with the load they were measured under (printed).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
MODELS = ("sdr", "ndr")


def make_basin(tmp: Path, size: int, years: list[int], algorithm: str):
    from gep.acquire import acquire_parties, acquire_static, acquire_year
    from gep.config import load_config

    shutil.copytree(REPO / "config", tmp / "config")
    cfg_file = tmp / "config" / "config.yaml"
    data = yaml.safe_load(cfg_file.read_text())
    data.update(demo={**data["demo"], "rows": size, "cols": size}, years=years,
                results_dir=str(tmp / "results"))
    data["models"]["sdr"] = {"enabled": True, "flow_dir_algorithm": algorithm}
    data["models"]["ndr"] = {"enabled": True, "flow_dir_algorithm": algorithm}
    cfg_file.write_text(yaml.safe_dump(data, allow_unicode=True))
    cfg = load_config(cfg_file)
    acquire_parties(cfg)
    acquire_static(cfg)
    for y in years:
        acquire_year(cfg, y)
    return cfg


def run_all(cfg, years: list[int], out: Path, reuse: bool) -> dict[tuple[int, str], float]:
    from gep.invest import model_params, run_model
    from gep.paths import Paths

    p = Paths(cfg)
    times = {}
    for y in years:
        for m in MODELS:
            params = model_params(cfg, m) | {"reuse_dem_products": reuse}
            t0 = time.perf_counter()
            run_model(m, p.year_dir(y), params, out / str(y) / m, y, report=False)
            times[(y, m)] = time.perf_counter() - t0
            print(f"  {'reuse' if reuse else 'fresh'} {y} {m}: {times[(y, m)]:7.1f} s",
                  flush=True)
    return times


def max_difference(fresh: Path, reused: Path) -> tuple[float, float, int]:
    """Largest |a - b| and |a - b| / |a| over every registry raster (nodata/NaN equal)."""
    from osgeo import gdal

    worst_abs = worst_rel = 0.0
    n = 0
    for reg in fresh.glob("*/*/file_registry.json"):
        ws = reg.parent
        for value in json.loads(reg.read_text()).values():
            f = Path(str(value))
            if f.suffix != ".tif":
                continue
            rel = f.relative_to(ws)
            other = reused / ws.relative_to(fresh) / rel
            a = gdal.Open(str(ws / rel)).ReadAsArray().astype(np.float64)
            b = gdal.Open(str(other)).ReadAsArray().astype(np.float64)
            both = np.isfinite(a) & np.isfinite(b)
            if not np.array_equal(np.isfinite(a), np.isfinite(b)):
                worst_abs = worst_rel = float("inf")
            d = np.abs(a[both] - b[both])
            if d.size:
                worst_abs = max(worst_abs, float(d.max()))
                scale = np.abs(a[both])
                nz = scale > 0
                if nz.any():
                    worst_rel = max(worst_rel, float((d[nz] / scale[nz]).max()))
            n += 1
    return worst_abs, worst_rel, n


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1000)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--algorithm", choices=["MFD", "D8"], default="MFD")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    a = ap.parse_args(argv)
    years = list(range(2020, 2020 + a.years))
    tmp = Path(tempfile.mkdtemp(prefix=f"gep-dem-reuse-{a.size}-"))
    try:
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
              f"{a.size} x {a.size}, {a.years} years, {a.algorithm}", flush=True)
        t0 = time.perf_counter()
        cfg = make_basin(tmp, a.size, years, a.algorithm)
        print(f"basin generated in {time.perf_counter() - t0:.1f} s", flush=True)
        fresh = run_all(cfg, years, tmp / "fresh", reuse=False)
        reused = run_all(cfg, years, tmp / "reuse", reuse=True)
        from gep.paths import Paths

        cache = Path(Paths(cfg).dem_products)
        steps = len(list(cache.glob("*/manifest.json")))
        size_mb = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) / 1e6
        tf, tr = sum(fresh.values()), sum(reused.values())
        first = sum(v for (y, _), v in reused.items() if y == years[0])
        later = tr - first
        later_fresh = sum(v for (y, _), v in fresh.items() if y != years[0])
        abs_d, rel_d, n = max_difference(tmp / "fresh", tmp / "reuse")
        print(f"\nSDR+NDR, {a.years} years at {a.size} x {a.size} ({a.algorithm}):")
        print(f"  fresh InVEST       {tf:8.1f} s")
        print(f"  with reuse         {tr:8.1f} s  (first year {first:.1f} s, later years "
              f"{later:.1f} s vs {later_fresh:.1f} s fresh)")
        print(f"  saved              {tf - tr:8.1f} s  ({100 * (tf - tr) / tf:.0f} %)")
        print(f"  product cache      {steps} steps, {size_mb:.0f} MB")
        print(f"  max difference vs fresh over {n} rasters: abs {abs_d:.3g}, rel {rel_d:.3g}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS of this process {rss:.0f} MB; load average now "
              f"{os.getloadavg()[0]:.1f}")
    finally:
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
