"""The reference climate: per-pixel mean of each climate layer over the reference years."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from gep.config import Config
from gep.errors import InputDataError
from gep.paths import CLIMATE_FILES, Paths
from gep.sources.base import Grid, iter_windows, open_cog


def _nodata_mask(a: np.ndarray, nodata) -> np.ndarray:
    bad = ~np.isfinite(a)
    if nodata is not None and np.isfinite(nodata):
        bad |= a == nodata
    return bad


def mean_raster(sources: list[Path], out: Path) -> Path:
    """Per-pixel mean of ``sources`` (same grid), float64 sums cast to float32, block by block.

    A pixel that is nodata in any year is nodata in the mean. The mean of identical years is
    the same float32 value bit for bit (float32 values add exactly in float64 for any
    realistic number of years, and the correctly rounded division returns the value).
    """
    if not sources:
        raise ValueError("mean_raster: no source rasters")
    grid = Grid.from_raster(sources[0])
    for s in sources[1:]:
        if Grid.from_raster(s) != grid:
            raise InputDataError(s, f"not on the grid of {sources[0]}",
                                 "acquire every year on the basin grid (gep acquire)")
    dss = [rasterio.open(s) for s in sources]
    try:
        nodata = dss[0].nodata
        fill = np.float32(nodata if nodata is not None else -1.0)
        with open_cog(out, grid.profile("float32", float(fill))) as dst:  # atomic, COG
            for w in iter_windows(grid):
                total = np.zeros((int(w.height), int(w.width)), np.float64)
                bad = np.zeros(total.shape, bool)
                for ds in dss:
                    a = ds.read(1, window=w).astype(np.float64)
                    bad |= _nodata_mask(a, ds.nodata)
                    total += np.where(np.isfinite(a), a, 0.0)
                m = (total / len(dss)).astype(np.float32)
                m[bad] = fill
                dst.write(m, 1, window=w)
    finally:
        for ds in dss:
            ds.close()
    return Path(out)


def reference_climate(cfg: Config, paths: Paths | None = None) -> dict[str, Path]:
    """Write ``inputs/reference/{precipitation,reference_et,erosivity}.tif``."""
    p = paths or Paths(cfg)
    years = cfg.reference_years
    out = {}
    for name in CLIMATE_FILES:
        srcs = [p.year_file(y, name) for y in years]
        for s in srcs:
            if not s.exists():
                raise InputDataError(s, "missing (a reference year's climate layer)",
                                     "acquire the year first (gep acquire --year)")
        out[name] = mean_raster(srcs, p.reference_file(name))
    return out


def same_raster(a: Path, b: Path) -> bool:
    """True when two rasters on one grid hold the same values (and nodata) everywhere."""
    ga, gb = Grid.from_raster(a), Grid.from_raster(b)
    if ga != gb:
        return False
    with rasterio.open(a) as da, rasterio.open(b) as db:
        for w in iter_windows(ga):
            x = da.read(1, window=w, masked=True)
            y = db.read(1, window=w, masked=True)
            mx, my = np.ma.getmaskarray(x), np.ma.getmaskarray(y)
            if not np.array_equal(mx, my):
                return False
            if not np.array_equal(np.asarray(x)[~mx].astype(np.float32),
                                  np.asarray(y)[~my].astype(np.float32)):
                return False
    return True
