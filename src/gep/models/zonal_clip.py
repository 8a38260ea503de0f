"""InVEST's per-watershed tables without a warp where a copy gives the same pixels.

``pygeoprocessing.zonal_statistics`` (2.4, used by InVEST's SDR, NDR and water yield for their
watershed tables and reports) first clips every raster to its intersection with the watershed
vector with ``gdal.Warp(target, source, format='GTIFF', xRes, yRes, outputBounds)``. The bounds
are aligned to the raster's own grid (``align_bbox``) and the pixel size is the raster's, so
the warp samples the same grid: a pixel-for-pixel copy of a window, which GDAL's warper
computes pixel by pixel (at 4000 x 4000 about 0.6 CPU s a raster, three to five rasters a
model run).

:func:`translated` runs InVEST's own ``zonal_statistics`` (its code, with one name changed:
the ``gdal`` it calls) in which that ``Warp`` becomes :func:`clip`: when the request is such a
copy -- a north-up source without rotation, the pixel size of the source, bounds on its grid
(to 1e-6 of a pixel) inside the raster, a band mask that is nodata or none -- the window is
copied with ``gdal.Translate`` (``srcWin``) and the output given exactly the georeferencing
Warp gives it (origin at the bounds' corner, the requested pixel size); pixels, nodata,
data type and projection are the source's, as with Warp. Any other request goes to
``gdal.Warp`` unchanged. The tables are equal to the float (tested against pygeoprocessing's
function on rasters with and without nodata, windows inside and across the raster).
"""
from __future__ import annotations

from gep.models.swap import GdalWarp, Swap, rebound

#: a clip window is on the source's grid when its offsets are this close to whole pixels
TOLERANCE = 1e-6
_SWAP = Swap()


def clip(gdal, destNameOrDestDS, srcDSOrSrcDSTab, **kwargs):
    """``gdal.Warp`` as ``zonal_statistics`` calls it, by a window copy when that is exact."""
    window = _window(gdal, srcDSOrSrcDSTab, kwargs)
    if window is None:
        return gdal.Warp(destNameOrDestDS, srcDSOrSrcDSTab, **kwargs)
    src, (xoff, yoff, xsize, ysize) = window
    minx, miny, maxx, maxy = kwargs["outputBounds"]
    out = gdal.Translate(destNameOrDestDS, src, format=kwargs.get("format", "GTiff"),
                         srcWin=[xoff, yoff, xsize, ysize])
    # what gdalwarp -te -tr writes: the bounds' upper-left corner and the requested size
    out.SetGeoTransform((minx, kwargs["xRes"], 0.0, maxy, 0.0, -kwargs["yRes"]))
    return out


def _window(gdal, source, kwargs) -> tuple | None:
    """(opened source, pixel window) when Warp's request is a plain copy; else None."""
    if not isinstance(source, str) or set(kwargs) - {"format", "xRes", "yRes",
                                                      "outputBounds", "callback"}:
        return None
    if str(kwargs.get("format", "GTiff")).upper() != "GTIFF" or not all(
            k in kwargs for k in ("xRes", "yRes", "outputBounds")):
        return None
    src = gdal.OpenEx(source, gdal.OF_RASTER)
    if src is None:
        return None
    window = grid_window(gdal, src, kwargs["xRes"], kwargs["yRes"], kwargs["outputBounds"])
    return None if window is None else (src, window)


def grid_window(gdal, src, x_res: float, y_res: float, bounds) -> tuple[int, ...] | None:
    """The pixel window ``(xoff, yoff, xsize, ysize)`` of ``src`` (an open dataset) that a
    warp to ``bounds`` (minx, miny, maxx, maxy) at ``x_res`` / ``y_res`` samples pixel for
    pixel: a north-up source without rotation, its own pixel size, bounds on its grid (to
    :data:`TOLERANCE` of a pixel) inside the raster, band masks that are nodata or none.
    None for any other request."""
    gt = src.GetGeoTransform()
    if gt[2] != 0 or gt[4] != 0 or gt[1] <= 0 or gt[5] >= 0:
        return None
    if abs(gt[1]) != x_res or abs(gt[5]) != y_res:
        return None
    for i in range(1, src.RasterCount + 1):
        if src.GetRasterBand(i).GetMaskFlags() not in (gdal.GMF_ALL_VALID, gdal.GMF_NODATA):
            return None
    minx, miny, maxx, maxy = bounds
    exact = [(minx - gt[0]) / gt[1], (maxy - gt[3]) / gt[5],
             (maxx - minx) / gt[1], (miny - maxy) / gt[5]]
    window = [round(v) for v in exact]
    if any(abs(v - w) > TOLERANCE for v, w in zip(exact, window)):
        return None
    xoff, yoff, xsize, ysize = window
    if (xoff < 0 or yoff < 0 or xsize <= 0 or ysize <= 0
            or xoff + xsize > src.RasterXSize or yoff + ysize > src.RasterYSize):
        return None
    return tuple(window)


def zonal_statistics():
    """pygeoprocessing's ``zonal_statistics``, its code run with :func:`clip` for the clip
    (and within its GDAL-exceptions wrapper, as the original)."""
    import pygeoprocessing.geoprocessing as geo
    from osgeo import gdal

    return rebound(geo.zonal_statistics, gdal=GdalWarp(gdal, clip))


def translated():
    """Within the block (a context manager) ``pygeoprocessing.zonal_statistics`` clips by
    :func:`clip`."""
    import pygeoprocessing
    import pygeoprocessing.geoprocessing as geo

    def targets():
        fast = zonal_statistics()
        return [(geo, "zonal_statistics", fast), (pygeoprocessing, "zonal_statistics", fast)]

    return _SWAP(targets)
