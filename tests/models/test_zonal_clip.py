"""InVEST's watershed tables with the window-copy clip (gep.models.zonal_clip, issue 17) are
those of pygeoprocessing's own zonal_statistics, to the float, and the clip writes what
gdal.Warp writes."""
from __future__ import annotations

import numpy as np
import pygeoprocessing
import pytest
from osgeo import gdal, osr
from shapely.geometry import box

from gep.models import zonal_clip

PIXEL = 30.0
ORIGIN = (500_000.0, 3_300_000.0)


def _srs_wkt() -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32650)
    return srs.ExportToWkt()


def _raster(path, array, nodata):
    pygeoprocessing.numpy_array_to_raster(array, nodata, (PIXEL, -PIXEL), ORIGIN, _srs_wkt(),
                                          str(path))
    return str(path)


def _vector(path, boxes):
    geoms = [box(*b) for b in boxes]
    pygeoprocessing.shapely_geometry_to_vector(geoms, str(path), _srs_wkt(), "GPKG")
    return str(path)


def _px(col, row):
    return ORIGIN[0] + col * PIXEL, ORIGIN[1] - row * PIXEL


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    d = tmp_path_factory.mktemp("zonal_clip")
    rng = np.random.default_rng(17)
    rows, cols = 230, 170
    f32 = rng.gamma(2.0, 3.0, (rows, cols)).astype(np.float32)
    f32[rng.random((rows, cols)) < 0.1] = -1.0
    i16 = rng.integers(0, 9, (rows, cols)).astype(np.int16)
    f64 = rng.normal(size=(rows, cols))
    return {"float32 nodata": [(_raster(d / "a.tif", f32, -1.0), 1)],
            "int16 nodata": [(_raster(d / "b.tif", i16, 0), 1)],
            "float64 no nodata": [(_raster(d / "c.tif", f64, None), 1)],
            "two rasters": [(str(d / "a.tif"), 1), (str(d / "c.tif"), 1)]}, d


def _polygons(d):
    (x0, y1), (x1, y0) = _px(0, 0), _px(170, 230)
    # on the grid: pixels 20-150 across, 15-200 down
    inner = (_px(20, 0)[0], _px(0, 200)[1], _px(150, 0)[0], _px(0, 15)[1])
    return {
        "whole raster": [(x0, y0, x1, y1)],
        "inside, off the grid": [(x0 + 611.3, y0 + 907.9, x1 - 1213.7, y1 - 455.2)],
        "across two edges": [(x0 - 3000, y0 + 2000, x0 + 2500.5, y1 + 4000)],
        "overlapping pair": [(x0 + 100, y0 + 100, x0 + 3000, y0 + 4000),
                             (x0 + 1500, y0 + 1500, x1 - 90, y1 - 1000)],
        "inner box": [inner],
    }


@pytest.mark.parametrize("polygons", ["whole raster", "inside, off the grid",
                                      "across two edges", "overlapping pair", "inner box"])
def test_tables_equal_pygeoprocessings(rasters, polygons, tmp_path):
    paths, d = rasters
    vector = _vector(tmp_path / "v.gpkg", _polygons(d)[polygons])
    for name, bands in paths.items():
        counts = name.startswith("int16")
        kw = dict(polygons_might_overlap=True, include_value_counts=counts,
                  working_dir=str(tmp_path))
        expected = pygeoprocessing.zonal_statistics(bands, vector, **kw)
        with zonal_clip.translated():
            got = pygeoprocessing.zonal_statistics(bands, vector, **kw)
        assert got == expected, (name, polygons)
        some = expected[0] if isinstance(expected, list) else expected
        assert any(s["count"] > 0 for s in some.values())      # the test sums something


@pytest.mark.parametrize("window", [(0, 0, 170, 230), (13, 7, 100, 50), (169, 229, 1, 1)])
def test_the_clip_writes_what_gdal_warp_writes(rasters, tmp_path, window):
    paths, _ = rasters
    for name, bands in paths.items():
        src = bands[0][0]
        xo, yo, xs, ys = window
        (minx, maxy), (maxx, miny) = _px(xo, yo), _px(xo + xs, yo + ys)
        kw = dict(format="GTIFF", xRes=PIXEL, yRes=PIXEL, outputBounds=[minx, miny, maxx, maxy])
        assert zonal_clip._window(gdal, src, kw) is not None      # the copy path is taken
        warped, copied = str(tmp_path / f"w{name}.tif"), str(tmp_path / f"c{name}.tif")
        gdal.Warp(warped, src, **kw)
        zonal_clip.clip(gdal, copied, src, **kw)
        a, b = gdal.Open(warped), gdal.Open(copied)
        assert a.GetGeoTransform() == b.GetGeoTransform()
        assert (a.RasterXSize, a.RasterYSize) == (b.RasterXSize, b.RasterYSize) == (xs, ys)
        assert osr.SpatialReference(a.GetProjection()).IsSame(
            osr.SpatialReference(b.GetProjection()))
        ba, bb = a.GetRasterBand(1), b.GetRasterBand(1)
        assert (ba.DataType, ba.GetNoDataValue()) == (bb.DataType, bb.GetNoDataValue())
        np.testing.assert_array_equal(ba.ReadAsArray(), bb.ReadAsArray())


def test_other_requests_go_to_gdal_warp(rasters):
    paths, _ = rasters
    src = paths["float32 nodata"][0][0]
    (minx, maxy), (maxx, miny) = _px(10, 10), _px(50, 40)
    ok = dict(format="GTIFF", xRes=PIXEL, yRes=PIXEL, outputBounds=[minx, miny, maxx, maxy])
    assert zonal_clip._window(gdal, src, ok)[1] == (10, 10, 40, 30)
    off_grid = dict(ok, outputBounds=[minx + PIXEL / 2, miny, maxx, maxy])
    other_size = dict(ok, xRes=PIXEL * 2, yRes=PIXEL * 2)
    outside = dict(ok, outputBounds=[minx - 40 * PIXEL, miny, maxx, maxy])
    resampled = dict(ok, resampleAlg="bilinear")
    for kw in (off_grid, other_size, outside, resampled, dict(ok, format="VRT")):
        assert zonal_clip._window(gdal, src, kw) is None, kw


def test_the_original_function_is_back_after_the_block():
    import pygeoprocessing.geoprocessing as geo

    before = (pygeoprocessing.zonal_statistics, geo.zonal_statistics)
    with zonal_clip.translated():
        inside = pygeoprocessing.zonal_statistics
        with zonal_clip.translated():
            assert pygeoprocessing.zonal_statistics is inside
        assert inside is not before[0] and geo.zonal_statistics is inside
    assert (pygeoprocessing.zonal_statistics, geo.zonal_statistics) == before


def test_tables_equal_with_many_features(rasters, tmp_path):
    """Thirty watersheds, several in a block: the same table of each."""
    paths, _ = rasters
    boxes = []
    for i in range(6):
        for j in range(5):
            (x0, y1), (x1, y0) = _px(i * 28 + 1, j * 46 + 2), _px(i * 28 + 27, j * 46 + 44)
            boxes.append((x0 + 7.5, y0, x1, y1 - 3.0))
    vector = _vector(tmp_path / "many.gpkg", boxes)
    bands = paths["float32 nodata"][0]        # one (path, band): one table
    expected = pygeoprocessing.zonal_statistics(bands, vector, working_dir=str(tmp_path))
    with zonal_clip.translated():
        got = pygeoprocessing.zonal_statistics(bands, vector, working_dir=str(tmp_path))
    assert got == expected
    assert sum(s["count"] > 0 for s in expected.values()) == 30

