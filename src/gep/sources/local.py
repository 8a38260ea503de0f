"""Local source: the user's own GeoTIFFs and parties vector, aligned onto the basin grid.

Users hold rasters in whatever CRS, resolution and extent their agency publishes (a provincial
land-cover map in a Gauss-Krüger zone, a national precipitation grid in WGS84 at 1 km, a DEM
at 12.5 m...). InVEST needs every input on one grid, so each layer is reprojected, resampled
and clipped onto the basin grid with ``rasterio.warp.reproject`` (GDAL's warper):

* land cover (categorical) with **nearest** neighbour, because averaging class codes makes
  nonsense codes; codes are then translated to ESA WorldCover through the optional legend
  table ``landcover_legend`` (CSV ``source_code,worldcover_code``);
* continuous layers with **average** when the source is finer than the grid (so a 10 m DEM
  becomes a 30 m mean, not a 1-in-9 sample) and **bilinear** when it is coarser (so a 5 km
  precipitation grid does not show 5 km steps).

The grid is the parties' bounds in ``grid.crs``, snapped outwards to whole pixels. Every output
goes through :func:`gep.sources.base.write_raster` (tiled, compressed, nodata set, atomic).

Config (paths relative to the config file)::

    source: local
    grid: {crs: "EPSG:32650", pixel_size: 30}
    parties: {path: parties.gpkg, id_field: county_code}
    layers:
      landcover: {2020: lc2020.tif, 2021: lc2021.tif}   # or "lc{year}.tif", or one file
      precipitation: {2020: p2020.tif, 2021: p2021.tif}
      reference_et: {2020: et2020.tif, 2021: et2021.tif}
      dem: dem.tif
      root_restricting_depth: depth.tif
      plant_available_water: pawc.tif
    landcover_legend: legend.csv
"""
from __future__ import annotations

import contextlib
import csv
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.warp
from pyogrio.errors import DataLayerError, DataSourceError
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from gep.config import STATIC_LAYERS, WORLDCOVER_CLASSES, YEAR_LAYERS, Config
from gep.errors import ConfigError, InputDataError
from gep.io import atomic_path
from gep.paths import Paths
from gep.sources.base import (
    CATEGORICAL,
    FLOAT_NODATA,
    LANDCOVER_NODATA,
    LAYER_UNITS,
    Grid,
    write_raster,
)

log = logging.getLogger(__name__)

CATEGORY_NODATA = -1  # "no data" of warped categorical arrays before the legend

PARTY_FIELDS = ("party_id", "name", "name_zh", "role", "province")
ROLES = ("upstream", "downstream")


# -- parties ----------------------------------------------------------------------------------
def read_parties(cfg: Config):
    """Read the parties vector, check it and return a GeoDataFrame in ``grid.crs``.

    Columns: ``party_id, name, name_zh, role, province, geometry``. ``id_field`` is renamed to
    ``party_id``; ``name`` defaults to the id, ``name_zh`` to ``name``, ``province`` to ``""``;
    ``role`` must be given (it decides who pays whom, so it is never guessed).
    """
    if cfg.parties is None:
        raise ConfigError("parties", f"source '{cfg.source}' needs a parties vector",
                          "add 'parties: {path: parties.gpkg, id_field: <field>}'")
    path = cfg.path(cfg.parties.path)
    gdf = _open_parties(path, cfg.parties.layer)
    gdf = _party_ids(gdf, path, cfg.parties.id_field)
    gdf["role"] = _party_roles(gdf, path)
    _fill_party_names(gdf)
    if gdf.geometry.is_empty.any() or gdf.geometry.isna().any():
        raise InputDataError(str(path), "a party has an empty geometry",
                             "give every party a polygon")
    if not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputDataError(str(path), "parties must be polygons, found "
                             f"{sorted(set(gdf.geom_type))}", "use polygon geometries")
    gdf = gdf[list(PARTY_FIELDS) + ["geometry"]].to_crs(cfg.grid.crs)
    return gdf


def _open_parties(path: Path, layer: str | None):
    """The parties vector as read: it exists, reads, has features and a CRS."""
    import geopandas as gpd

    if not path.exists():
        raise InputDataError(str(path), "parties file not found (configured as parties.path)",
                             "check the path; it is relative to the config file")
    try:
        kwargs = {"layer": layer} if layer else {}
        gdf = gpd.read_file(path, **kwargs)
    except (DataSourceError, DataLayerError, OSError, ValueError) as exc:
        raise InputDataError(str(path), f"cannot read the parties vector ({exc})",
                             "use a GeoPackage, Shapefile or GeoJSON file "
                             "(set parties.layer for a multi-layer GeoPackage)") from None
    if len(gdf) == 0:
        raise InputDataError(str(path), "the parties vector has no features",
                             "add one polygon per party")
    if gdf.crs is None:
        raise InputDataError(str(path), "the parties vector has no coordinate reference system",
                             "assign one, e.g. ogr2ogr -a_srs EPSG:4326 out.gpkg in.gpkg")
    return gdf


def _party_ids(gdf, path: Path, id_field: str):
    """``id_field`` renamed to ``party_id`` (as text), every id given and unique."""
    if id_field not in gdf.columns:
        have = ", ".join(c for c in gdf.columns if c != "geometry")
        raise InputDataError(str(path), f"id field '{id_field}' not found (fields: {have})",
                             "set parties.id_field to the field holding the party id",
                             field=id_field)
    if gdf[id_field].isna().any():
        raise InputDataError(str(path), "a party has an empty id", "fill in every id",
                             field=id_field)
    gdf = gdf.rename(columns={id_field: "party_id"}) if id_field != "party_id" else gdf.copy()
    gdf["party_id"] = gdf["party_id"].map(_id_str)
    dup = gdf["party_id"][gdf["party_id"].duplicated()].unique().tolist()
    if dup:
        raise InputDataError(str(path), f"party ids are not unique: {', '.join(dup)}",
                             "dissolve the polygons of one party into one feature "
                             "(ogr2ogr -dialect sqlite -sql 'SELECT ST_Union(geom) ... GROUP "
                             "BY id')", field=id_field)
    return gdf


def _party_roles(gdf, path: Path):
    """The ``role`` column, trimmed and lower case; each 'upstream' or 'downstream'."""
    if "role" not in gdf.columns:
        raise InputDataError(str(path), "field 'role' is missing",
                             "add a text field 'role' with 'upstream' or 'downstream' for "
                             "each party", field="role")
    roles = gdf["role"].astype("string").str.strip().str.lower()
    bad = gdf.loc[~roles.isin(ROLES).fillna(False), "party_id"].tolist()
    if bad:
        raise InputDataError(str(path), f"role must be 'upstream' or 'downstream'; parties "
                             f"{', '.join(bad)} have another value", "fix the role values",
                             field="role")
    return roles.astype(str)


def _fill_party_names(gdf) -> None:
    """``name`` defaults to the id, ``name_zh`` to ``name``, ``province`` to ``""``."""
    if "name" not in gdf.columns:
        gdf["name"] = gdf["party_id"]
    gdf["name"] = gdf["name"].fillna(gdf["party_id"]).astype(str)
    if "name_zh" not in gdf.columns:
        gdf["name_zh"] = gdf["name"]
    gdf["name_zh"] = gdf["name_zh"].fillna(gdf["name"]).astype(str)
    if "province" not in gdf.columns:
        gdf["province"] = ""
    gdf["province"] = gdf["province"].fillna("").astype(str)


def _id_str(v: Any) -> str:
    """Ids as text; 3.0 read from a Shapefile float field is '3', not '3.0'."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def grid_for(cfg: Config) -> Grid:
    """The basin grid: the parties' bounds in ``grid.crs``, snapped outwards to whole pixels."""
    gdf = read_parties(cfg)
    # round to the millimetre first: a boundary exactly on a pixel edge that went through a
    # reprojection round trip (3309990.0000001) must not grow the grid by a whole row
    xmin, ymin, xmax, ymax = (round(float(v), 3) for v in gdf.total_bounds)
    return Grid.from_bounds(cfg.grid.crs, (xmin, ymin, xmax, ymax), cfg.grid.pixel_size)


def acquire_parties(cfg: Config, out_dir: str | Path) -> Path:
    """Write ``out_dir/parties.gpkg`` (layer ``parties``) in ``grid.crs``."""
    gdf = read_parties(cfg)
    out = Paths.InputFiles(out_dir).parties_gpkg
    with atomic_path(out) as tmp:
        tmp.unlink()  # GDAL will not write a GeoPackage over the empty placeholder
        gdf.to_file(tmp, driver="GPKG", layer="parties")
    return out


# -- rasters ----------------------------------------------------------------------------------
def layer_path(cfg: Config, name: str, year: int | None = None) -> Path:
    """The configured file of layer ``name`` (for ``year`` if the layer is per-year).

    A layer is either one path (same file every year), a mapping ``{year: path}``, or a path
    template containing ``{year}``.
    """
    key = f"layers.{name}"
    if name not in cfg.layers:
        raise ConfigError(key, "missing", f"add '{name}: <file.tif>' under layers")
    value = cfg.layers[name]
    if isinstance(value, dict):
        if year is None:
            raise ConfigError(key, "is a per-year mapping but this layer is static",
                              "give one file")
        hit = value.get(year, value.get(str(year)))
        if hit is None:
            have = ", ".join(str(k) for k in value)
            raise ConfigError(f"{key}.{year}", f"no file for year {year} (years given: {have})",
                              f"add '{year}: <file.tif>' under {key}")
        value = hit
    if not isinstance(value, (str, Path)):
        raise ConfigError(key, f"expected a file path, got {value!r}",
                          "give a path relative to the config file")
    text = str(value)
    if "{year}" in text:
        if year is None:
            raise ConfigError(key, "has a {year} template but this layer is static",
                              "give one file")
        text = text.replace("{year}", str(year))
    path = cfg.path(text)
    if not path.exists():
        where = f"{key}.{year}" if isinstance(cfg.layers[name], dict) else key
        raise InputDataError(str(path), f"file not found (configured as {where})",
                             "check the path; it is relative to the config file")
    return path


def read_legend(path: str | Path) -> dict[int, int]:
    """Read a legend table ``source_code,worldcover_code`` into a mapping."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(str(path), "legend file not found (configured as "
                             "landcover_legend)", "check the path or remove the key")
    mapping: dict[int, int] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        for col in ("source_code", "worldcover_code"):
            if col not in cols:
                raise InputDataError(str(path), f"column '{col}' is missing (columns: "
                                     f"{', '.join(cols)})",
                                     "use the header source_code,worldcover_code", field=col)
        for lineno, row in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            try:
                src, dst = int(row["source_code"]), int(row["worldcover_code"])
            except ValueError:
                raise InputDataError(str(path), "codes must be integers", "fix the row",
                                     line=lineno) from None
            if dst not in WORLDCOVER_CLASSES:
                raise InputDataError(str(path), f"{dst} is not an ESA WorldCover code",
                                     "use one of " + ", ".join(map(str, WORLDCOVER_CLASSES)),
                                     line=lineno, field="worldcover_code")
            if src in mapping and mapping[src] != dst:
                raise InputDataError(str(path), f"source code {src} is mapped twice",
                                     "keep one row per source code", line=lineno,
                                     field="source_code")
            mapping[src] = dst
    if not mapping:
        raise InputDataError(str(path), "the legend table has no rows",
                             "add one row per source land-cover code")
    return mapping


def warp_to_grid(src_path: str | Path, grid: Grid, categorical: bool,
                 band: int = 1) -> tuple[np.ndarray, Resampling]:
    """Reproject, resample and clip band ``band`` of a raster onto ``grid``.

    Returns the array and the resampling method used. Categorical layers come back as int32
    with -1 for "no data" (source codes may exceed 255 before the legend maps them, and 255 may
    be a real source code); continuous layers as float32 with -9999. Pixels of the grid outside
    the source get the nodata value.
    """
    src_path = Path(src_path)
    dst_nodata = CATEGORY_NODATA if categorical else FLOAT_NODATA
    try:
        ds = rasterio.open(src_path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputDataError(str(src_path), f"cannot read the raster ({exc})",
                             "give a GeoTIFF (or any raster GDAL reads)") from None
    with ds:
        if ds.crs is None:
            raise InputDataError(str(src_path), "the raster has no coordinate reference system",
                                 "assign one, e.g. gdal_edit.py -a_srs EPSG:4326 FILE")
        if band > ds.count:
            raise InputDataError(str(src_path), f"has {ds.count} band(s), band {band} asked",
                                 "use a single-band raster per layer")
        _check_overlap(src_path, ds, grid)
        if categorical:
            resampling = Resampling.nearest
        elif _resolution_in(ds, grid) < grid.pixel_size * 0.999:
            resampling = Resampling.average
        else:
            resampling = Resampling.bilinear
        dst = np.full((grid.height, grid.width), dst_nodata,
                      dtype="int32" if categorical else "float32")
        reproject(
            source=rasterio.band(ds, band),
            destination=dst,
            src_nodata=ds.nodatavals[band - 1],
            dst_transform=grid.transform,
            dst_crs=CRS.from_user_input(grid.crs),
            dst_nodata=dst_nodata,
            resampling=resampling,
        )
    if not categorical:
        dst[~np.isfinite(dst)] = FLOAT_NODATA
    valid = dst != dst_nodata
    if not valid.any():
        raise InputDataError(str(src_path), "no valid pixel of the raster falls inside the "
                             f"basin grid {_fmt_bounds(grid.bounds)} ({grid.crs})",
                             "check the file covers the parties' area and its nodata value")
    share = float(valid.mean())
    if share < 0.999:
        log.warning("%s covers %.1f %% of the basin grid; the rest is nodata", src_path,
                    100 * share)
    return dst, resampling


def _check_overlap(src_path: Path, ds, grid: Grid) -> None:
    """Raise if the raster's footprint does not meet the basin grid at all.

    The (small) basin grid is transformed into the raster's CRS rather than the other way
    round: a global WGS84 raster has no finite extent in a UTM zone.
    """
    try:
        gb = transform_bounds(CRS.from_user_input(grid.crs), ds.crs, *grid.bounds,
                              densify_pts=21)
    except Exception as exc:  # noqa: BLE001 - GDAL's CPLE_* errors have no public base class
        raise InputDataError(str(src_path), f"the basin grid cannot be transformed to the "
                             f"raster's CRS ({exc})", "check the raster's CRS") from None
    sb = ds.bounds
    if not all(math.isfinite(v) for v in gb) or gb[2] <= sb.left or gb[0] >= sb.right \
            or gb[3] <= sb.bottom or gb[1] >= sb.top:
        raise InputDataError(str(src_path), f"the raster (extent {_fmt_bounds(sb)} in "
                             f"{ds.crs}) does not overlap the basin grid "
                             f"{_fmt_bounds(gb)} (same CRS)",
                             "give a raster covering the parties' area, or check its CRS")


def _resolution_in(ds, grid: Grid) -> float:
    """The source pixel size in grid units, measured at the basin's centre.

    Measured locally (one source pixel at the basin centre, transformed to the grid CRS) so
    that global rasters and distorted projections give the size that matters here.
    """
    gx = (grid.bounds[0] + grid.bounds[2]) / 2
    gy = (grid.bounds[1] + grid.bounds[3]) / 2
    dst = CRS.from_user_input(grid.crs)
    (sx,), (sy,) = rasterio.warp.transform(dst, ds.crs, [gx], [gy])
    rx, ry = abs(ds.transform.a), abs(ds.transform.e)
    xs, ys = rasterio.warp.transform(ds.crs, dst, [sx, sx + rx, sx], [sy, sy, sy + ry])
    dx = math.hypot(xs[1] - xs[0], ys[1] - ys[0])
    dy = math.hypot(xs[2] - xs[0], ys[2] - ys[0])
    return math.sqrt(dx * dy)


def _fmt_bounds(b) -> str:
    return "(" + ", ".join(f"{v:.0f}" for v in b) + ")"


def apply_legend(array: np.ndarray, legend: dict[int, int] | None, src_path: str | Path,
                 legend_path: str | Path | None = None) -> np.ndarray:
    """Translate warped land-cover codes (int32, -1 = no data) to WorldCover (uint8, 255).

    Without a legend the codes must already be WorldCover codes. A code present in the basin
    but missing from the legend is an error naming the code and both files: a silent default
    would quietly change the ecosystem accounts.
    """
    valid = array != CATEGORY_NODATA
    codes = [int(c) for c in np.unique(array[valid])]
    out = np.full(array.shape, LANDCOVER_NODATA, dtype="uint8")
    if legend is None:
        unknown = [c for c in codes if c not in WORLDCOVER_CLASSES]
        if unknown:
            fix = ("add 'landcover_legend: legend.csv' (columns source_code,worldcover_code) "
                   "to the config")
            if 0 in unknown:
                fix += "; if 0 means 'no data', declare it: gdal_edit.py -a_nodata 0 FILE"
            raise InputDataError(str(src_path), "land-cover code(s) "
                                 f"{', '.join(map(str, unknown))} are not ESA WorldCover codes",
                                 fix)
        out[valid] = array[valid]
        return out
    missing = [c for c in codes if c not in legend]
    if missing:
        raise InputDataError(str(legend_path or "landcover_legend"),
                             f"land-cover code(s) {', '.join(map(str, missing))} found in "
                             f"{src_path} are missing from the legend table",
                             "add a row '<source_code>,<worldcover_code>' for each")
    for c in codes:
        out[array == c] = legend[c]
    return out


def _legend(cfg: Config) -> tuple[dict[int, int] | None, Path | None]:
    if cfg.landcover_legend is None:
        return None, None
    p = cfg.path(cfg.landcover_legend)
    return read_legend(p), p


def acquire_layer(cfg: Config, grid: Grid, name: str, year: int | None,
                  out_path: str | Path) -> Path:
    """Align one configured layer onto ``grid`` and write it to ``out_path``."""
    src = layer_path(cfg, name, year)
    arr, resampling = warp_to_grid(src, grid, name in CATEGORICAL)
    desc = f"{name} ({LAYER_UNITS.get(name, '')}) from {src.name}"
    log.info("%s: %s resampled with %s", name, src, resampling.name)
    if name in CATEGORICAL:
        legend, legend_path = _legend(cfg)
        lc = apply_legend(arr, legend, src, legend_path)
        return write_raster(out_path, lc, grid, LANDCOVER_NODATA, "uint8", desc)
    return write_raster(out_path, arr, grid, FLOAT_NODATA, "float32", desc)


def _acquire_all(cfg: Config, grid: Grid, names: list[str], year: int | None,
                 out_dir: str | Path) -> dict[str, Path]:
    """Write all ``names`` or none: each goes to a temporary name, renamed when all succeed."""
    for name in names:  # cheap checks first: a missing third file fails before any warping
        layer_path(cfg, name, year)
    if "landcover" in names:
        _legend(cfg)
    out_dir = Path(out_dir)
    outputs = {name: Paths.LayerFiles(out_dir).layer(name) for name in names}
    from gep.log import progress

    with contextlib.ExitStack() as stack:
        for name in progress(names, desc=f"acquire {year or 'static'}", unit="layer"):
            tmp = stack.enter_context(atomic_path(outputs[name]))
            acquire_layer(cfg, grid, name, year, tmp)
    return outputs


def acquire_static(cfg: Config, grid: Grid, out_dir: str | Path) -> dict[str, Path]:
    """Align the static layers (dem, root_restricting_depth, plant_available_water)."""
    return _acquire_all(cfg, grid, list(STATIC_LAYERS), None, out_dir)


def acquire_year(cfg: Config, grid: Grid, year: int, out_dir: str | Path) -> dict[str, Path]:
    """Align one year's layers (landcover, precipitation, reference_et).

    When ``classification.enabled`` and no land-cover file is configured, land cover is left
    to ``gep classify`` and is not in the returned mapping.
    """
    names = [n for n in YEAR_LAYERS
             if not (n == "landcover" and cfg.classification.enabled and n not in cfg.layers)]
    return _acquire_all(cfg, grid, names, year, out_dir)
