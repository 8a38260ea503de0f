"""InVEST's aligning by a copy where the warp is one (gep.models.aligned_copy, issue 17): the
rasters written are those gdal.Warp writes (pixels, type, nodata, georeferencing, metadata,
creation options), and every other request still goes to gdal.Warp."""
from __future__ import annotations

import numpy as np
import pygeoprocessing
import pytest
from osgeo import gdal, osr

from gep.models import aligned_copy

PIXEL = 30.0
ORIGIN = (500_000.0, 3_300_000.0)
ROWS, COLS = 230, 170


def _wkt(epsg=32650) -> str:
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    return srs.ExportToWkt()


def _raster(path, array, nodata, origin=ORIGIN, pixel=PIXEL):
    pygeoprocessing.numpy_array_to_raster(array, nodata, (pixel, -pixel), origin, _wkt(),
                                          str(path))
    return str(path)


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    d = tmp_path_factory.mktemp("aligned_copy")
    rng = np.random.default_rng(23)
    f32 = rng.gamma(2.0, 3.0, (ROWS, COLS)).astype(np.float32)
    f32[rng.random((ROWS, COLS)) < 0.1] = -1.0
    f32[rng.random((ROWS, COLS)) < 0.02] = np.nan
    out = {"float32 nodata": _raster(d / "a.tif", f32, -1.0),
           "int16 nodata": _raster(d / "b.tif", rng.integers(0, 9, (ROWS, COLS))
                                   .astype(np.int16), 0),
           "float64 no nodata": _raster(d / "c.tif", rng.normal(size=(ROWS, COLS)), None)}
    # a land cover as gep's sources write it: a COG with overviews, statistics, a colour
    # table, a band description and band metadata
    lc = rng.integers(10, 100, (ROWS, COLS)).astype(np.uint8)
    mem = _raster(d / "lc_plain.tif", lc, 255)
    ds = gdal.Open(mem, gdal.GA_Update)
    band = ds.GetRasterBand(1)
    ct = gdal.ColorTable()
    ct.SetColorEntry(10, (0, 100, 0, 255))
    band.SetColorTable(ct)
    band.SetDescription("land cover")
    band.SetMetadata({"SOURCE": "demo"})
    band.ComputeStatistics(False)
    band = None
    ds = None
    cog = str(d / "lc_cog.tif")
    gdal.Translate(cog, mem, format="COG", creationOptions=["COMPRESS=ZSTD", "OVERVIEWS=AUTO",
                                                             "BLOCKSIZE=64"])
    ds = gdal.Open(cog)
    ds.GetRasterBand(1).ComputeStatistics(False)                # into lc_cog.tif.aux.xml
    ds = None
    out["byte COG, overviews, statistics"] = cog
    # a code raster with what else a band may carry: scale, offset, unit, categories, a RAT
    codes = _raster(d / "codes.tif", (np.arange(ROWS * COLS) % 7).astype(np.uint8)
                    .reshape(ROWS, COLS), 255)
    ds = gdal.Open(codes, gdal.GA_Update)
    band = ds.GetRasterBand(1)
    band.SetScale(0.5)
    band.SetOffset(2.0)
    band.SetUnitType("mm")
    band.SetCategoryNames(["none", "forest"])
    rat = gdal.RasterAttributeTable()
    rat.CreateColumn("Value", gdal.GFT_Integer, gdal.GFU_MinMax)
    rat.CreateColumn("Name", gdal.GFT_String, gdal.GFU_Name)
    rat.SetRowCount(2)
    for row, (value, name) in enumerate([(1, "forest"), (2, "crop")]):
        rat.SetValueAsInt(row, 0, value)
        rat.SetValueAsString(row, 1, name)
    band.SetDefaultRAT(rat)
    band = None
    ds = None
    out["byte, scale, unit, categories, RAT"] = codes
    return out


def _describe(path) -> dict:
    ds = gdal.Open(path)
    b = ds.GetRasterBand(1)
    ct = b.GetColorTable()
    rat = b.GetDefaultRAT()
    out = dict(
        scale=(b.GetScale(), b.GetOffset(), b.GetUnitType()), categories=b.GetCategoryNames(),
        rat=None if rat is None else [[rat.GetValueAsString(r, c) for c in
                                       range(rat.GetColumnCount())]
                                      for r in range(rat.GetRowCount())],
        size=(ds.RasterXSize, ds.RasterYSize), gt=ds.GetGeoTransform(), wkt=ds.GetProjection(),
        type=b.DataType, nodata=b.GetNoDataValue(), md=ds.GetMetadata(),
        structure=ds.GetMetadata("IMAGE_STRUCTURE"), band_md=b.GetMetadata(),
        description=b.GetDescription(), block=b.GetBlockSize(), overviews=b.GetOverviewCount(),
        colours=None if ct is None else [ct.GetColorEntry(i) for i in range(ct.GetCount())],
        pixels=b.ReadAsArray())
    b = ct = rat = None
    ds = None
    return out


def _assert_same(a: dict, b: dict) -> None:
    pa, pb = a.pop("pixels"), b.pop("pixels")
    assert a == b
    np.testing.assert_array_equal(pa, pb)


def _warp(src, target, **kw):
    info = pygeoprocessing.get_raster_info(src)
    kw.setdefault("target_bb", info["bounding_box"])
    pygeoprocessing.warp_raster(src, kw.pop("pixel", info["pixel_size"]), str(target),
                                kw.pop("alg", "near"), **kw)


@pytest.mark.parametrize("name", ["float32 nodata", "int16 nodata", "float64 no nodata",
                                  "byte COG, overviews, statistics",
                                  "byte, scale, unit, categories, RAT"])
@pytest.mark.parametrize("window", [None, (13, 7, 100, 50), (169, 229, 1, 1)])
def test_a_copy_writes_what_gdal_warp_writes(rasters, tmp_path, name, window):
    src = rasters[name]
    kw = {"target_projection_wkt": pygeoprocessing.get_raster_info(src)["projection_wkt"]}
    if window:
        xo, yo, xs, ys = window
        kw["target_bb"] = [ORIGIN[0] + xo * PIXEL, ORIGIN[1] - (yo + ys) * PIXEL,
                           ORIGIN[0] + (xo + xs) * PIXEL, ORIGIN[1] - yo * PIXEL]
    _warp(src, tmp_path / "warped.tif", **kw)
    before = dict(aligned_copy.COUNTS)
    with aligned_copy.copied():
        _warp(src, tmp_path / "copied.tif", **kw)
    assert aligned_copy.COUNTS["copied"] == before["copied"] + 1      # the copy path ran
    _assert_same(_describe(str(tmp_path / "warped.tif")), _describe(str(tmp_path / "copied.tif")))


def test_the_aligned_stack_of_a_model_is_the_same(rasters, tmp_path):
    """align_and_resize_raster_stack as InVEST calls it ('intersection', near), with a raster
    that covers more than the others: every output equal to the warped one."""
    rng = np.random.default_rng(5)
    bigger = _raster(tmp_path / "bigger.tif", rng.random((ROWS + 20, COLS + 10), np.float32),
                     -9.0, origin=(ORIGIN[0] - 5 * PIXEL, ORIGIN[1] + 8 * PIXEL))
    base = [rasters["float32 nodata"], rasters["int16 nodata"], bigger]
    for label, ctx in (("warped", None), ("copied", aligned_copy.copied())):
        targets = [str(tmp_path / f"{label}{i}.tif") for i in range(len(base))]
        args = (base, targets, ["near"] * 3, (PIXEL, -PIXEL), "intersection")
        if ctx is None:
            pygeoprocessing.align_and_resize_raster_stack(*args)
        else:
            n = aligned_copy.COUNTS["copied"]
            with ctx:
                pygeoprocessing.align_and_resize_raster_stack(*args)
            assert aligned_copy.COUNTS["copied"] == n + 3
    for i in range(len(base)):
        _assert_same(_describe(str(tmp_path / f"warped{i}.tif")),
                     _describe(str(tmp_path / f"copied{i}.tif")))


def test_other_requests_go_to_gdal_warp(rasters, tmp_path):
    src = rasters["float32 nodata"]
    ds = gdal.Open(src)
    bounds = [ORIGIN[0] + 10 * PIXEL, ORIGIN[1] - 40 * PIXEL, ORIGIN[0] + 50 * PIXEL,
              ORIGIN[1] - 10 * PIXEL]
    ok = dict(format="GTIFF", xRes=PIXEL, yRes=PIXEL, outputBounds=bounds, resampleAlg="near",
              dstSRS=ds.GetProjection(), outputBoundsSRS=ds.GetProjection(), overviewLevel=-1,
              warpOptions=["NUM_THREADS=2"], creationOptions=["TILED=YES"])
    assert aligned_copy.plan(gdal, ds, ok)[1] == (10, 10, 40, 30)
    others = [dict(ok, resampleAlg=a) for a in ("bilinear", "mode", "average", "cubic")]
    others += [dict(ok, dstSRS=_wkt(4326)), dict(ok, srcSRS=_wkt(32651)),
               dict(ok, xRes=PIXEL / 2, yRes=PIXEL / 2),
               dict(ok, outputBounds=[bounds[0] + PIXEL / 3, *bounds[1:]]),
               dict(ok, outputBounds=[bounds[0] - 20 * PIXEL, *bounds[1:]]),
               dict(ok, overviewLevel=0), dict(ok, warpOptions=["INIT_DEST=0"]),
               dict(ok, cutlineDSName="x.gpkg"), dict(ok, format="VRT")]
    for kw in others:
        assert aligned_copy.plan(gdal, ds, kw) is None, kw
    # and through warp_raster: a bilinear warp is not copied
    n = dict(aligned_copy.COUNTS)
    with aligned_copy.copied():
        _warp(src, tmp_path / "b.tif", alg="bilinear")
        _warp(src, tmp_path / "h.tif", pixel=(PIXEL * 2, -PIXEL * 2))
    assert aligned_copy.COUNTS == {"copied": n["copied"], "warped": n["warped"] + 2}


def test_the_original_function_is_back_after_the_block():
    import pygeoprocessing.geoprocessing as geo

    before = (pygeoprocessing.warp_raster, geo.warp_raster)
    with aligned_copy.copied():
        inside = geo.warp_raster
        with aligned_copy.copied():
            assert geo.warp_raster is inside and pygeoprocessing.warp_raster is inside
        assert inside is not before[1]
    assert (pygeoprocessing.warp_raster, geo.warp_raster) == before
