"""How InVEST's HTML reports read a raster to plot it, judged by the raster's size.

InVEST's report stack (``natcap.invest.reports.raster_utils._read_masked_array``, 3.20) plots a
raster from its smallest overview (a few hundred pixels a side, built on demand) when the *file*
is larger than 4 MB, and from every pixel otherwise. The test is meant for the raster's size,
but a compressed file of few distinct values -- land cover, streams, a mask -- is far smaller
than its raster: at 4000 x 4000 a 16-million-pixel land cover is a 0.4 MB file, and matplotlib
then colours and resamples all 16 million pixels for a figure at most 1,200 pixels wide. That is
most of a report's time: carbon's whole run at 4000 x 4000 took 20 CPU s, 4 without it.

:func:`sized_by_raster` replaces that function, for the length of a block, with InVEST's own
code in which the one test reads "file **or** uncompressed raster larger than 4 MB": a raster
that InVEST plots from an overview when stored uncompressed is plotted from one whatever its
compression. Rasters InVEST already plotted from an overview, and small rasters, are read
exactly as before (tested against InVEST's function). The figures say "(resampled)" as
InVEST's own do for large files.
"""
from __future__ import annotations

import os

from gep.models.swap import Swap

#: InVEST's threshold (bytes), the same number as in ``_read_masked_array``
LARGE = 4e6
MODULE = "natcap.invest.reports.raster_utils"
_SWAP = Swap()


def raster_bytes(info: dict) -> int:
    """Uncompressed size of a raster's first band (pygeoprocessing ``get_raster_info``)."""
    import numpy

    cols, rows = info["raster_size"]
    return int(cols) * int(rows) * numpy.dtype(info["numpy_type"]).itemsize


def is_large(filepath: str, info: dict) -> bool:
    """InVEST's test (file larger than 4 MB), or the raster itself larger than 4 MB."""
    return os.path.getsize(filepath) > LARGE or raster_bytes(info) > LARGE


def read_masked_array(filepath, resample_method):
    """``natcap.invest.reports.raster_utils._read_masked_array`` (natcap.invest 3.20.2), with
    :func:`is_large` for its size test. Returns ``(array with NaN for nodata, resampled)``."""
    import numpy
    import pygeoprocessing
    from osgeo import gdal

    info = pygeoprocessing.get_raster_info(filepath)
    nodata = info['nodata'][0]
    resampled = False
    if is_large(filepath, info):
        resampled = True
        raster = gdal.OpenEx(filepath)
        band = raster.GetRasterBand(1)
        if band.GetOverviewCount() == 0:
            pygeoprocessing.build_overviews(
                filepath,
                internal=False,
                resample_method=resample_method,
                overwrite=False, levels='auto')

        raster = gdal.OpenEx(filepath)
        band = raster.GetRasterBand(1)
        n = band.GetOverviewCount()
        array = band.GetOverview(n - 1).ReadAsArray()
        raster = band = None
    else:
        array = pygeoprocessing.raster_to_numpy_array(filepath)
    masked_array = numpy.full(array.shape, numpy.nan)
    if nodata is not None:
        valid_mask = ~numpy.isclose(array, nodata, equal_nan=True)
    else:
        valid_mask = numpy.full(array.shape, True)
    masked_array[valid_mask] = array[valid_mask]
    return (masked_array, resampled)


def sized_by_raster():
    """Within the block (a context manager) InVEST's reports read rasters with
    :func:`read_masked_array`."""
    import importlib

    module = importlib.import_module(MODULE)
    return _SWAP(lambda: [(module, "_read_masked_array", read_masked_array)])
