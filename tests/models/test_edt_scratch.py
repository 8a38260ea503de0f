"""Habitat quality's distance transforms with uncompressed scratch rasters
(gep.models.edt_scratch, issue 17): the raster written is the one pygeoprocessing's own
function writes (pixels, type, nodata, georeferencing, statistics, codec and tiling), nothing is
left in the working folder, and other requests reach the function unchanged."""
from __future__ import annotations

import os

import numpy as np
import pygeoprocessing
import pygeoprocessing.geoprocessing as geo
import pytest
from osgeo import gdal, osr

from gep.models import edt_scratch

ZSTD = ("GTIFF", ("TILED=YES", "BIGTIFF=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256",
                  "COMPRESS=ZSTD", "ZSTD_LEVEL=1"))


@pytest.fixture(scope="module")
def threat(tmp_path_factory):
    """A 300 x 420 threat raster (0/1 with nodata), larger than one 256 block each way."""
    d = tmp_path_factory.mktemp("edt")
    rng = np.random.default_rng(5)
    a = (rng.random((300, 420)) < 0.01).astype(np.float32)
    a[rng.random(a.shape) < 0.05] = -1.0
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32650)
    path = str(d / "threat.tif")
    pygeoprocessing.numpy_array_to_raster(a, -1.0, (30.0, -30.0), (500_000.0, 3_300_000.0),
                                          srs.ExportToWkt(), path)
    return path


def _described(path: str) -> dict:
    info = gdal.Info(path, format="json")
    info.pop("description")
    info.pop("files")
    return info


@pytest.mark.parametrize("sampling", [(1.0, 1.0), (30.0, 45.0)])
def test_same_raster_as_pygeoprocessing(threat, tmp_path, sampling):
    """Pixels, data type, nodata, georeferencing, band statistics and codec are the ones the
    function itself writes, with the same creation options."""
    want, got = str(tmp_path / "want.tif"), str(tmp_path / "got.tif")
    geo.distance_transform_edt((threat, 1), want, sampling_distance=sampling,
                               working_dir=str(tmp_path), raster_driver_creation_tuple=ZSTD)
    work = tmp_path / "work"
    work.mkdir()
    edt_scratch.wrap(geo.distance_transform_edt)(
        (threat, 1), got, sampling_distance=sampling, working_dir=str(work),
        raster_driver_creation_tuple=ZSTD)
    a, b = gdal.Open(want), gdal.Open(got)
    assert np.array_equal(a.ReadAsArray(), b.ReadAsArray())
    assert _described(want) == _described(got)      # type, nodata, stats, georeferencing
    assert b.GetMetadata("IMAGE_STRUCTURE")["COMPRESSION"] == "ZSTD"
    assert b.GetRasterBand(1).GetBlockSize() == [256, 256]
    stats = b.GetRasterBand(1).GetMetadata()
    assert float(stats["STATISTICS_MAXIMUM"]) == pytest.approx(float(np.max(b.ReadAsArray())))
    assert os.listdir(work) == []                    # scratch rasters gone


def test_swapped_in_and_out(threat, tmp_path):
    """Inside the block the module attribute InVEST calls is the wrapper, with the function's
    own default creation options; afterwards the function itself again."""
    original = pygeoprocessing.distance_transform_edt
    with edt_scratch.uncompressed_scratch():
        assert pygeoprocessing.distance_transform_edt is not original
        assert geo.distance_transform_edt is pygeoprocessing.distance_transform_edt
        pygeoprocessing.distance_transform_edt((threat, 1), str(tmp_path / "d.tif"),
                                               working_dir=str(tmp_path))
    assert pygeoprocessing.distance_transform_edt is original
    default = geo.DEFAULT_GTIFF_CREATION_TUPLE_OPTIONS
    got = gdal.Open(str(tmp_path / "d.tif"))
    codec = dict(o.split("=") for o in default[1]).get("COMPRESS", "NONE")
    assert got.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION", "NONE") == codec
    assert sorted(os.listdir(tmp_path)) == ["d.tif"]


@pytest.mark.parametrize("tuple_", [("GTIFF", ("TILED=YES",)),
                                    ("GTIFF", ("TILED=YES", "COMPRESS=NONE")),
                                    ("ENVI", ())])
def test_other_requests_reach_the_function(threat, tmp_path, tuple_):
    calls = []

    def original(base, target, sampling_distance=(1., 1.), working_dir=None,
                 raster_driver_creation_tuple=ZSTD):
        calls.append(raster_driver_creation_tuple)

    edt_scratch.wrap(original)((threat, 1), str(tmp_path / "x.tif"),
                               raster_driver_creation_tuple=tuple_)
    assert calls == [tuple_]


def test_plain_options():
    assert edt_scratch.plain(ZSTD[1]) == ("TILED=YES", "BIGTIFF=YES", "BLOCKXSIZE=256",
                                          "BLOCKYSIZE=256")
    assert edt_scratch.is_compressed(ZSTD[1])
    assert not edt_scratch.is_compressed(("COMPRESS=NONE",))
    assert not edt_scratch.is_compressed(("TILED=YES",))


def test_a_function_without_creation_options_is_left_alone():
    def other(base, target, sampling_distance=(1., 1.), working_dir=None):
        return None

    assert edt_scratch.wrap(other) is other
