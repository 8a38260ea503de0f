"""Habitat quality's distance transforms with their scratch rasters left uncompressed.

``pygeoprocessing.distance_transform_edt`` (2.4, called by InVEST's habitat quality once per
threat and year) writes four rasters with the codec it is given: a byte mask of the threat, a
float raster of the first pass (filled with nodata, written column by column, read again row
by row) and the target (filled, then written). Only the target is kept; the mask and the
first pass are deleted when it returns. With gep's ZSTD (:mod:`gep.models.gtiff`) the
compressing and decompressing of those passes is most of the function: at 4000 x 4000,
1.30 CPU s a threat, 0.47 s uncompressed.

:func:`uncompressed_scratch` runs pygeoprocessing's own function, for the length of a block,
with every raster uncompressed in a scratch folder, then copies the target with
``gdal.Translate`` into the codec and creation options the caller asked for. The result is the
same raster: every pixel, the data type, nodata, georeferencing and the statistics the
function computes (copied with the band's metadata), in the same codec and tiling (tested
against the function itself). A request for another driver, or one without compression, goes
to the function unchanged.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from gep.models.swap import Swap

_SWAP = Swap()
#: creation options that choose a codec or its settings (left out of the scratch rasters)
CODEC_KEYS = {"COMPRESS", "PREDICTOR", "ZLEVEL", "ZSTD_LEVEL", "LZMA_PRESET", "JPEG_QUALITY",
              "WEBP_LEVEL", "WEBP_LOSSLESS", "MAX_Z_ERROR", "NUM_THREADS"}


def _key(option: str) -> str:
    return option.split("=", 1)[0].strip().upper()


def plain(options) -> tuple[str, ...]:
    """``options`` without the codec and its settings."""
    return tuple(o for o in options if _key(o) not in CODEC_KEYS)


def is_compressed(options) -> bool:
    return any(_key(o) == "COMPRESS" and o.split("=", 1)[1].strip().upper() != "NONE"
               for o in options)


def wrap(original):
    """``original`` (pygeoprocessing's ``distance_transform_edt``) with uncompressed scratch
    rasters, its signature and defaults kept; ``original`` itself if it takes no creation
    options (another pygeoprocessing)."""
    import functools
    import inspect

    param = inspect.signature(original).parameters.get("raster_driver_creation_tuple")
    if param is None or not isinstance(param.default, tuple):
        return original
    default = param.default

    @functools.wraps(original)
    def distance_transform_edt(base_region_raster_path_band, target_distance_raster_path,
                               sampling_distance=(1., 1.), working_dir=None,
                               raster_driver_creation_tuple=default):
        driver, options = raster_driver_creation_tuple
        if str(driver).upper() != "GTIFF" or not is_compressed(options):
            return original(base_region_raster_path_band, target_distance_raster_path,
                            sampling_distance=sampling_distance, working_dir=working_dir,
                            raster_driver_creation_tuple=raster_driver_creation_tuple)
        from osgeo import gdal
        from pygeoprocessing.utils import GDALUseExceptions

        target = os.fspath(target_distance_raster_path)
        scratch = tempfile.mkdtemp(prefix="edt-", dir=working_dir or os.path.dirname(
            os.path.abspath(target)))
        try:
            tmp = os.path.join(scratch, "distance.tif")
            original(base_region_raster_path_band, tmp, sampling_distance=sampling_distance,
                     working_dir=scratch, raster_driver_creation_tuple=(driver, plain(options)))
            with GDALUseExceptions():
                gdal.Translate(target, tmp, format=driver, creationOptions=list(options))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    return distance_transform_edt


def uncompressed_scratch():
    """Within the block (a context manager) ``pygeoprocessing.distance_transform_edt`` writes
    its scratch rasters uncompressed (:func:`wrap`)."""
    import pygeoprocessing
    import pygeoprocessing.geoprocessing as geo

    def targets():
        fast = wrap(geo.distance_transform_edt)
        return [(geo, "distance_transform_edt", fast),
                (pygeoprocessing, "distance_transform_edt", fast)]

    return _SWAP(targets)
