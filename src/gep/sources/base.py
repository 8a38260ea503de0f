"""What every source delivers: the same aligned stack of GeoTIFFs on the basin grid.

A *source* (``demo``, ``local``, ``earthengine``) provides three functions::

    acquire_parties(cfg, out_dir) -> Path        # writes out_dir/parties.gpkg (field party_id)
    acquire_static(cfg, grid, out_dir) -> dict   # dem, root depth, plant-available water
    acquire_year(cfg, grid, year, out_dir) -> dict  # landcover, precipitation, reference_et

and the grid itself comes from :func:`grid_for` (demo: from ``demo`` settings; others: the
parties' bounds snapped outwards to whole pixels, in ``grid.crs`` at ``grid.pixel_size``).
Every raster is written with :func:`write_raster` (or block by block with
:func:`open_cog`): a Cloud-Optimized GeoTIFF (GDAL's COG driver: 256 x 256 tiles, ZSTD,
internal overviews when larger than a tile), nodata set, atomically. A COG is a GeoTIFF, so
InVEST and pygeoprocessing read it as any other; QGIS and web viewers read its overviews.
Units: precipitation and reference ET in mm/yr, depth in mm, PAWC as a 0-1 fraction,
DEM in metres, land cover in ESA WorldCover codes (uint8, nodata 255).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from gep.io import atomic_path

LANDCOVER_NODATA = 255
FLOAT_NODATA = -9999.0

LAYER_UNITS = {
    "landcover": "WorldCover code",
    "precipitation": "mm/yr",
    "reference_et": "mm/yr",
    "dem": "m",
    "root_restricting_depth": "mm",
    "plant_available_water": "fraction (0-1)",
}
CATEGORICAL = {"landcover"}


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: CRS, upper-left corner, pixel size, shape."""

    crs: str
    x0: float
    y0: float
    pixel_size: float
    width: int
    height: int

    @property
    def transform(self) -> Affine:
        return Affine(self.pixel_size, 0.0, self.x0, 0.0, -self.pixel_size, self.y0)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0 - self.height * self.pixel_size,
                self.x0 + self.width * self.pixel_size, self.y0)

    @property
    def pixel_area_m2(self) -> float:
        return self.pixel_size * self.pixel_size

    @classmethod
    def from_bounds(cls, crs: str, bounds: tuple[float, float, float, float],
                    pixel_size: float) -> "Grid":
        """Snap ``bounds`` outwards to whole multiples of ``pixel_size``."""
        xmin, ymin, xmax, ymax = bounds
        x0 = math.floor(xmin / pixel_size) * pixel_size
        y0 = math.ceil(ymax / pixel_size) * pixel_size
        width = max(1, math.ceil((xmax - x0) / pixel_size))
        height = max(1, math.ceil((y0 - ymin) / pixel_size))
        return cls(crs, x0, y0, pixel_size, width, height)

    @classmethod
    def from_raster(cls, path: str | Path) -> "Grid":
        with rasterio.open(path) as ds:
            t = ds.transform
            if t.b != 0 or t.d != 0 or t.e >= 0 or abs(t.a + t.e) > 1e-9 * abs(t.a):
                raise ValueError(f"{path}: not a north-up square-pixel grid")
            return cls(ds.crs.to_string(), t.c, t.f, t.a, ds.width, ds.height)

    def profile(self, dtype: str, nodata: float | int) -> dict:
        """A GeoTIFF creation profile for this grid (tiled, compressed, nodata set)."""
        tiled = self.width >= 256 and self.height >= 256
        prof = dict(driver="GTiff", width=self.width, height=self.height, count=1,
                    dtype=dtype, crs=CRS.from_user_input(self.crs), transform=self.transform,
                    nodata=nodata, compress="deflate", BIGTIFF="IF_SAFER")
        if tiled:
            prof.update(tiled=True, blockxsize=256, blockysize=256)
        return prof


def write_raster(path: str | Path, array: np.ndarray, grid: Grid, nodata: float | int,
                 dtype: str | None = None, description: str | None = None) -> Path:
    """Write one band atomically on ``grid``, as a Cloud-Optimized GeoTIFF."""
    path = Path(path)
    dtype = dtype or array.dtype.name
    if array.shape != (grid.height, grid.width):
        raise ValueError(f"{path.name}: array shape {array.shape} != grid "
                         f"{(grid.height, grid.width)}")
    prof = _work_profile(grid.profile(dtype, nodata))
    prof.update(driver="MEM")
    for k in ("BIGTIFF", "tiled", "blockxsize", "blockysize"):
        prof.pop(k, None)
    # The whole array is at hand: it goes to the COG driver from memory, not through the
    # temporary GeoTIFF of open_cog (the same file, byte for byte, without writing and
    # reading the uncompressed pixels once more).
    with atomic_path(path) as tmp, rasterio.open(f"/vsimem/{tmp.name}", "w", **prof) as ds:
        ds.write(array.astype(dtype, copy=False), 1)
        if description:
            ds.set_band_description(1, description)
        _translate_to_cog(ds, tmp, dtype)
    return path


#: creation options of gep's rasters (GDAL COG driver). ZSTD level 1 rather than DEFLATE:
#: lossless like it, the same size within 2 %, about half the CPU to write and to read
#: (benchmarks/bench_acquire_zonal.py); GDAL >= 2.3 (so QGIS, InVEST, rasterio) reads it.
COG_OPTIONS = dict(COMPRESS="ZSTD", LEVEL=1, BLOCKSIZE=256, OVERVIEWS="AUTO",
                   BIGTIFF="IF_SAFER")


def overview_resampling(dtype: str) -> str:
    """Codes (land cover, labels, masks) keep their values in overviews; quantities average."""
    return "NEAREST" if np.issubdtype(np.dtype(dtype), np.integer) else "AVERAGE"


@contextlib.contextmanager
def open_cog(path: str | Path, profile: dict):
    """Open a raster for writing (block by block if you like); on success it becomes a
    Cloud-Optimized GeoTIFF at ``path``, atomically.

    GDAL's COG driver only copies a finished dataset, so the blocks go to a tiled,
    uncompressed GeoTIFF beside ``path`` first, which is then translated (overviews built
    with :func:`overview_resampling`) and removed.
    """
    path = Path(path)
    prof = _work_profile(profile)
    with atomic_path(path) as tmp:
        work = tmp.with_name(tmp.stem + ".blocks.tif")
        try:
            with rasterio.open(work, "w", **prof) as ds:
                yield ds
            _translate_to_cog(work, tmp, prof["dtype"])
        finally:
            work.unlink(missing_ok=True)


def _work_profile(profile: dict) -> dict:
    """The profile of the uncompressed, tiled GeoTIFF a COG is translated from."""
    prof = {k: v for k, v in profile.items()
            if k.lower() not in ("compress", "predictor", "bigtiff", "driver")}
    prof.update(driver="GTiff", BIGTIFF="IF_SAFER")
    if prof.get("width", 0) >= 256 and prof.get("height", 0) >= 256:
        prof.update(tiled=True, blockxsize=256, blockysize=256)
    return prof


def _translate_to_cog(src, dst: Path, dtype: str) -> None:
    """Copy a finished dataset (open, or a path) to ``dst`` with GDAL's COG driver."""
    import rasterio.shutil

    rasterio.shutil.copy(src, dst, driver="COG", **COG_OPTIONS,
                         RESAMPLING=overview_resampling(dtype))


def iter_windows(grid_or_path, block_rows: int = 512):
    """Row-strip windows covering a grid (or a raster's grid), for block-wise processing."""
    from rasterio.windows import Window

    g = grid_or_path if isinstance(grid_or_path, Grid) else Grid.from_raster(grid_or_path)
    for r0 in range(0, g.height, block_rows):
        yield Window(0, r0, g.width, min(block_rows, g.height - r0))
