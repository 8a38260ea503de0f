"""Issue 17: InVEST's reports read a raster judged by the raster's size, not its file's
(gep.models.report_rasters): a large raster in a small compressed file is plotted from an
overview, as InVEST plots the same raster stored uncompressed."""
from __future__ import annotations

import numpy as np


def _compression(path) -> str | None:
    from osgeo import gdal

    ds = gdal.Open(str(path))
    return ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION")


def _raster(path, array, nodata=-1.0, options=("TILED=YES", "COMPRESS=LZW")):
    from osgeo import gdal, osr

    rows, cols = array.shape
    drv = gdal.GetDriverByName("GTiff")
    ds = drv.Create(str(path), cols, rows, 1, gdal.GDT_Float32, options=list(options))
    ds.SetGeoTransform((500000.0, 30.0, 0.0, 3300000.0, 0.0, -30.0))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32650)
    ds.SetProjection(srs.ExportToWkt())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(nodata)
    band.WriteArray(array)
    ds = None
    return str(path)


# --- the report's raster reads -----------------------------------------------------------

def _invest_read():
    from natcap.invest.reports import raster_utils

    return raster_utils._read_masked_array


def test_small_and_large_files_are_read_as_invest_reads_them(tmp_path):
    """A small raster (whole array) and a large file (smallest overview) come out exactly as
    from InVEST's own function."""
    from gep.models.report_rasters import read_masked_array

    rng = np.random.default_rng(1)
    small = _raster(tmp_path / "small.tif", rng.random((60, 80), dtype=np.float32))
    noisy = rng.random((1100, 1100), dtype=np.float32)
    noisy[:5] = -1.0
    big = _raster(tmp_path / "big.tif", noisy)          # random floats: an LZW file > 4 MB
    big_copy = _raster(tmp_path / "big_copy.tif", noisy)
    for ours_path, invest_path in ((small, small), (big, big_copy)):
        a, ra = read_masked_array(ours_path, "bilinear")
        b, rb = _invest_read()(invest_path, "bilinear")
        assert ra == rb and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True)
    assert not read_masked_array(small, "bilinear")[1]


def test_a_large_raster_in_a_small_file_is_read_from_its_overview(tmp_path):
    """A 1100 x 1100 float raster of few values is a tiny LZW file: InVEST reads all 1.2 M
    pixels; gep reads it as InVEST reads the same raster stored uncompressed (an overview, here
    1/4 a side), with nodata as NaN."""
    import os

    from gep.models.report_rasters import read_masked_array

    arr = np.full((1100, 1100), 7.0, dtype=np.float32)
    arr[:, :550] = 3.0
    arr[:100, :] = -1.0                                   # nodata
    packed = _raster(tmp_path / "packed.tif", arr)
    plain = _raster(tmp_path / "plain.tif", arr, options=("TILED=YES",))
    assert os.path.getsize(packed) < 4e6 < os.path.getsize(plain)

    full, resampled = _invest_read()(str(tmp_path / "packed.tif"), "nearest")
    assert not resampled and full.shape == (1100, 1100)     # what InVEST does with it

    ours, resampled = read_masked_array(packed, "nearest")
    want, want_resampled = _invest_read()(plain, "nearest")
    assert resampled and want_resampled
    assert max(ours.shape) <= 1100 // 4 and ours.shape == want.shape
    assert np.array_equal(ours, want, equal_nan=True)
    assert set(np.unique(ours[~np.isnan(ours)])) == {3.0, 7.0}
    assert np.isnan(ours[0]).all()


def test_sized_by_raster_patches_invest_for_the_block_only():
    from natcap.invest.reports import raster_utils

    from gep.models.report_rasters import read_masked_array, sized_by_raster

    real = raster_utils._read_masked_array
    with sized_by_raster():
        with sized_by_raster():
            assert raster_utils._read_masked_array is read_masked_array
        assert raster_utils._read_masked_array is read_masked_array
    assert raster_utils._read_masked_array is real
