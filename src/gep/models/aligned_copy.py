"""InVEST's aligning of rasters that already lie on the target grid, by a copy.

Every InVEST model first aligns its input rasters onto one grid
(``pygeoprocessing.align_and_resize_raster_stack``, which calls ``warp_raster``, which calls
``gdal.Warp``). gep's inputs of a year are on one grid already, so for nearest-neighbour
resampling each warp is a pixel-for-pixel copy that GDAL's warper computes pixel by pixel: at
4000 x 4000 about 0.45 CPU s a float raster with ZSTD, against 0.14 s for ``gdal.Translate``
(water yield aligns six rasters a year, habitat quality four, NDR three).

:func:`copied` runs pygeoprocessing's own ``warp_raster`` (its code, with one name changed: the
``gdal`` it calls) in which that ``Warp`` becomes :func:`copy_or_warp`: when the request is a
copy -- nearest neighbour, no reprojection (the target's spatial reference is the source's
WKT, to the character), the source's pixel size, bounds on its grid inside the raster
(:func:`gep.models.zonal_clip.grid_window`), no warp option but ``NUM_THREADS`` -- the window
is copied with ``gdal.Translate`` in the same creation options and given exactly the
georeferencing Warp gives it. As Warp does, the copy keeps the source's data type, nodata and
metadata, scale, offset, unit and attribute table but not its statistics (``STATISTICS_*``
band items), category names or overviews. Any other
request -- bilinear, mode, another grid or projection, a band mask -- goes to ``gdal.Warp``
unchanged. Only nearest neighbour: GDAL's bilinear and mode resampling onto the same grid
are not always the identity (on a geographic grid a few pixels change; measured with GDAL
3.6), a copy would then differ from InVEST.

Tested against ``gdal.Warp``: pixels, data type, nodata, georeferencing, metadata, colour
table and creation options are the same, on rasters with and without nodata, with and without
overviews, windows inside the raster and the whole of it.
"""
from __future__ import annotations

from gep.models.swap import GdalWarp, Swap, rebound
from gep.models.zonal_clip import grid_window

NEAREST = ("near", "nearest")
#: the keyword arguments of ``pygeoprocessing.warp_raster``'s ``gdal.Warp`` call
_KNOWN = {"format", "outputBounds", "xRes", "yRes", "resampleAlg", "outputBoundsSRS", "srcSRS",
          "dstSRS", "multithread", "warpOptions", "overviewLevel", "creationOptions",
          "callback", "callback_data"}
_SWAP = Swap()
#: how many warps of this process were copies / went to gdal.Warp (for tests and figures)
COUNTS = {"copied": 0, "warped": 0}


def plan(gdal, source, kwargs) -> tuple | None:
    """(opened source, pixel window) when ``gdal.Warp(target, source, **kwargs)`` is a
    nearest-neighbour copy of a window of ``source``; else None."""
    if set(kwargs) - _KNOWN or not all(k in kwargs for k in ("xRes", "yRes", "outputBounds")):
        return None
    if str(kwargs.get("format", "GTiff")).upper() != "GTIFF":
        return None
    alg = kwargs.get("resampleAlg", "near")
    if not (alg == gdal.GRA_NearestNeighbour or str(alg).lower() in NEAREST):
        return None
    if any(not str(o).upper().startswith("NUM_THREADS=") for o in kwargs.get("warpOptions")
           or ()):
        return None
    level = kwargs.get("overviewLevel", -1)
    if isinstance(level, int) and level >= 0:          # an explicit overview: not the pixels
        return None
    src = gdal.OpenEx(source, gdal.OF_RASTER) if isinstance(source, str) else source
    if src is None or not isinstance(src, gdal.Dataset):
        return None
    wkt = src.GetProjection()
    if not wkt or kwargs.get("srcSRS") not in (None, wkt):
        return None
    if any(kwargs.get(k) not in (None, wkt) for k in ("dstSRS", "outputBoundsSRS")):
        return None
    window = grid_window(gdal, src, kwargs["xRes"], kwargs["yRes"], kwargs["outputBounds"])
    return None if window is None else (src, window)


def copy_or_warp(gdal, destNameOrDestDS, srcDSOrSrcDSTab, **kwargs):
    """``gdal.Warp`` as ``warp_raster`` calls it, by a window copy where that is exact."""
    found = plan(gdal, srcDSOrSrcDSTab, kwargs) if isinstance(destNameOrDestDS, str) else None
    if found is None:
        COUNTS["warped"] += 1
        return gdal.Warp(destNameOrDestDS, srcDSOrSrcDSTab, **kwargs)
    src, (xoff, yoff, xsize, ysize) = found
    minx, miny, maxx, maxy = kwargs["outputBounds"]
    extra = {k: kwargs[k] for k in ("callback", "callback_data") if kwargs.get(k) is not None}
    out = gdal.Translate(destNameOrDestDS, src, format=kwargs.get("format", "GTiff"),
                         srcWin=[xoff, yoff, xsize, ysize],
                         creationOptions=list(kwargs.get("creationOptions") or []), **extra)
    # what gdalwarp -te -tr writes: the bounds' upper-left corner and the requested size
    out.SetGeoTransform((minx, kwargs["xRes"], 0.0, maxy, 0.0, -kwargs["yRes"]))
    for i in range(1, out.RasterCount + 1):   # Warp carries neither statistics nor categories
        band = out.GetRasterBand(i)
        md = band.GetMetadata()
        if any(k.startswith("STATISTICS_") for k in md):
            band.SetMetadata({k: v for k, v in md.items() if not k.startswith("STATISTICS_")})
        if band.GetCategoryNames():
            band.SetCategoryNames([])
        source = src.GetRasterBand(i)                 # a window's copy drops the unit
        if band.GetUnitType() != source.GetUnitType():
            band.SetUnitType(source.GetUnitType())
        band = source = None
    COUNTS["copied"] += 1
    return out


def copied():
    """Within the block (a context manager) ``pygeoprocessing.warp_raster``, and so
    ``align_and_resize_raster_stack``, copies where :func:`plan` finds a copy."""
    import pygeoprocessing
    import pygeoprocessing.geoprocessing as geo
    from osgeo import gdal

    def targets():
        fast = rebound(geo.warp_raster, gdal=GdalWarp(gdal, copy_or_warp))
        return [(geo, "warp_raster", fast), (pygeoprocessing, "warp_raster", fast)]

    return _SWAP(targets)
