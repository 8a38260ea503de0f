"""How fast this machine is right now, on a fixed piece of the batch's own kind of work.

    .venv/bin/python benchmarks/machine_speed.py [--repeat 3]

The 2-core VMs the benchmarks run on do not always run at the same speed: the same tree's
4000² batch took 318.6 s one morning and 362.5 s that afternoon, with nothing else running
and no CPU steal reported. A figure measured on a slow afternoon and one measured on a fast
evening are not comparable, and neither says by itself whether a change or the machine moved.

:func:`calibrate` times (CPU seconds of this process, the fastest of ``repeat`` rounds) a fixed
workload of what the batch spends its time on: InVEST's C++ routing (pygeoprocessing's pit
filling, MFD flow direction and flow accumulation on a 1000 x 1000 synthetic DEM), GeoTIFFs
written and read in ZSTD (a 2000 x 2000 float raster, eight times), and numpy's element-wise
passes over it. The same inputs every time (fixed seed). ``bench_batch.py`` and
``bench_demo.py`` print it before they run, so their figures can be set beside each other:
a batch that took 10 % longer on a machine whose calibration also took 10 % longer did not
get slower.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path


def _dem(n: int):
    import numpy as np

    rng = np.random.default_rng(17)
    y, x = np.mgrid[0:n, 0:n] / n
    dem = 800.0 * (1.0 - y) + 120.0 * np.abs(x - 0.5) + rng.normal(0.0, 3.0, (n, n))
    return dem.astype(np.float32)


def _write(path: Path, array, options: list[str]) -> None:
    from osgeo import gdal, osr

    rows, cols = array.shape
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, 1, gdal.GDT_Float32,
                                              options)
    ds.SetGeoTransform((500000.0, 30.0, 0.0, 3300000.0, 0.0, -30.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32650)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(-1.0)
    band.WriteArray(array)
    ds = None


def _round(folder: Path, dem) -> dict[str, float]:
    import numpy as np
    import pygeoprocessing.routing as routing
    from osgeo import gdal

    tiled = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"]
    out = {}
    t = time.process_time()
    _write(folder / "dem.tif", dem, tiled)
    routing.fill_pits((str(folder / "dem.tif"), 1), str(folder / "filled.tif"),
                      working_dir=str(folder))
    routing.flow_dir_mfd((str(folder / "filled.tif"), 1), str(folder / "fdir.tif"),
                         working_dir=str(folder))
    routing.flow_accumulation_mfd((str(folder / "fdir.tif"), 1), str(folder / "acc.tif"))
    out["routing"] = time.process_time() - t

    big = np.random.default_rng(18).random((2000, 2000), dtype=np.float32)
    t = time.process_time()
    for i in range(8):
        _write(folder / f"z{i}.tif", big, tiled + ["COMPRESS=ZSTD", "ZSTD_LEVEL=1"])
        gdal.Open(str(folder / f"z{i}.tif")).ReadAsArray()
    out["zstd"] = time.process_time() - t

    t = time.process_time()
    for _ in range(6):      # the kind of element-wise pass InVEST's raster_map makes
        np.where(big > 0.5, np.sqrt(big) * 3.1, np.power(big, 1.61)).astype(np.float32)
    out["numpy"] = time.process_time() - t
    return out


def calibrate(repeat: int = 3) -> dict[str, float]:
    """CPU seconds of the fixed workload, per part and in all (each part the fastest of
    ``repeat`` rounds). Lower is faster."""
    dem = _dem(1000)
    best: dict[str, float] = {}
    for _ in range(max(1, repeat)):
        folder = Path(tempfile.mkdtemp(prefix="gep-speed-"))
        try:
            for k, v in _round(folder, dem).items():
                best[k] = min(best.get(k, v), v)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    best["total"] = sum(best.values())
    return best


def line(repeat: int = 3) -> str:
    """One line for a benchmark's output."""
    f = calibrate(repeat)
    return (f"machine speed (benchmarks/machine_speed.py, CPU s, lower is faster): "
            f"{f['total']:.2f} (routing {f['routing']:.2f}, ZSTD {f['zstd']:.2f}, "
            f"numpy {f['numpy']:.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    print(line(ap.parse_args().repeat))


if __name__ == "__main__":
    main()
