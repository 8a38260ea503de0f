"""gep's rasters: the codec is the one COG_OPTIONS names, and it is lossless (same pixels as
the DEFLATE files gep wrote before)."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio

from gep.sources import base
from gep.sources.base import COG_OPTIONS, Grid, iter_windows, open_cog, write_raster


def test_cog_codec_is_the_constant_and_pixels_equal_deflate(tmp_path, monkeypatch):
    grid = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, 700, 600)
    rng = np.random.default_rng(11)
    arrays = {
        "rain": rng.normal(1800, 300, (600, 700)).astype("float32"),
        "lc": rng.choice(np.array([10, 20, 40, 50, 255], np.uint8), size=(600, 700)),
    }
    arrays["rain"][:50] = -9999.0
    for name, a in arrays.items():
        nodata = 255 if a.dtype == np.uint8 else -9999.0
        ours = write_raster(tmp_path / f"{name}.tif", a, grid, nodata)
        with monkeypatch.context() as m:
            m.setattr(base, "COG_OPTIONS", dict(COG_OPTIONS, COMPRESS="DEFLATE", LEVEL=6))
            old = write_raster(tmp_path / f"{name}_deflate.tif", a, grid, nodata)
        with rasterio.open(ours) as a_ds, rasterio.open(old) as d_ds:
            assert a_ds.profile["compress"].lower() == COG_OPTIONS["COMPRESS"].lower() == "zstd"
            assert d_ds.profile["compress"].lower() == "deflate"
            got, want = a_ds.read(1), d_ds.read(1)
            assert got.dtype == want.dtype == a.dtype
            assert np.array_equal(got, want) and np.array_equal(got, a)
            assert a_ds.nodata == d_ds.nodata == nodata
            assert a_ds.overviews(1) == d_ds.overviews(1)
            assert np.array_equal(a_ds.read(1, out_shape=(150, 175)),
                                  d_ds.read(1, out_shape=(150, 175)))  # overviews alike


@pytest.mark.parametrize("shape", [(64, 80), (700, 600)])
@pytest.mark.parametrize("dtype,nodata", [("float32", -9999.0), ("uint8", 255), ("int16", -1)])
def test_write_raster_from_memory_is_the_file_open_cog_writes(tmp_path, shape, dtype, nodata):
    """write_raster hands its array to the COG driver from memory; open_cog goes through a
    temporary GeoTIFF: the two files are the same bytes."""
    grid = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, shape[1], shape[0])
    a = (np.random.default_rng(2).random(shape) * 200).astype(dtype)
    mem = write_raster(tmp_path / "mem.tif", a, grid, nodata, description="layer")
    with open_cog(tmp_path / "blocks.tif", grid.profile(dtype, nodata)) as ds:
        for w in iter_windows(grid, block_rows=50):
            r0, h = int(w.row_off), int(w.height)
            ds.write(a[r0:r0 + h], 1, window=w)
        ds.set_band_description(1, "layer")
    assert mem.read_bytes() == (tmp_path / "blocks.tif").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocks.tif", "mem.tif"]
