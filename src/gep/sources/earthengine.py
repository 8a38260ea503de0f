"""Earth Engine source: public products fetched with ``earthengine-api`` onto the basin grid.

A thin adapter: Earth Engine does the compositing and the reprojection server-side (each
request names the basin grid's CRS, pixel size and corner, so pixels come back aligned), and
this module

* picks credentials from the environment, never from config files (:func:`select_credentials`):
  a service-account JSON key in ``EE_SERVICE_ACCOUNT_KEY`` or ``GOOGLE_APPLICATION_CREDENTIALS``,
  otherwise application-default credentials (``gcloud auth application-default login``, the
  ``earthengine authenticate`` token, or a cloud VM's metadata server);
* builds one image expression per product and year (:func:`layer_image`);
* cuts the grid into tiles that keep each ``ee.data.computePixels`` request under the API
  limits (48 MB uncompressed, 32,768 px per side; we stay at 32 MB and ``max_tile_pixels``),
* fetches them with exponential back-off on transient errors, keeps each finished tile in a
  cache directory so an interrupted run resumes where it stopped, shows a tqdm progress bar,
* mosaics the tiles and writes the layer with :func:`gep.sources.base.write_raster`.

Products (asset ids from the public catalog):

===================== ================================================================
landcover             ``ESA/WorldCover/v100`` (2020) / ``v200`` (2021; later years use
                      it too), band ``Map``; or ``GOOGLE/DYNAMICWORLD/V1`` annual mode
                      of ``label`` remapped to WorldCover codes
precipitation         ``UCSB-CHG/CHIRPS/DAILY`` ``precipitation`` summed over the year
reference_et          ``IDAHO_EPSCOR/TERRACLIMATE`` ``pet`` x 0.1 summed over 12 months
dem                   ``COPERNICUS/DEM/GLO30`` ``DEM`` mosaic, or ``USGS/SRTMGL1_003``
plant_available_water ``ISRIC/SoilGrids250m/v2_0`` wv0033 - wv1500, depth-weighted 0-200 cm
root_restricting_depth no global product in the catalog: a constant (default 2000 mm, the
                      SoilGrids profile depth), or a user asset (see below)
===================== ================================================================

Any layer can be overridden in ``layers``: a number (a constant, in the layer's units) or
``{asset: "projects/x/assets/y", band: "b1", scale: 1.0, offset: 0.0}`` (``{year}`` in the
asset id is replaced by the year).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.warp import transform_bounds

from gep.config import STATIC_LAYERS, YEAR_LAYERS, Config
from gep.errors import ConfigError, GepError, InputDataError
from gep.io import atomic_path
from gep.paths import Paths
from gep.sources import local
from gep.sources.base import FLOAT_NODATA, LANDCOVER_NODATA, LAYER_UNITS, Grid, write_raster

log = logging.getLogger(__name__)

# Request limits of projects.image.computePixels (REST reference): 48 MB uncompressed and
# 32,768 px per side. We keep a third in reserve.
MAX_REQUEST_BYTES = 32 * 1024 * 1024
MAX_REQUEST_SIDE = 32768

DEFAULT_ROOT_RESTRICTING_DEPTH_MM = 2000.0

# Dynamic World label -> ESA WorldCover code (water, trees, grass, flooded vegetation, crops,
# shrub and scrub, built, bare, snow and ice).
DYNAMIC_WORLD_TO_WORLDCOVER = {0: 80, 1: 10, 2: 30, 3: 90, 4: 40, 5: 20, 6: 50, 7: 60, 8: 70}

# SoilGrids 2.0 standard depths (cm) and their thickness, for the depth-weighted mean.
SOILGRIDS_DEPTHS = (("0_5", 5), ("5_15", 10), ("15_30", 15), ("30_60", 30), ("60_100", 40),
                    ("100_200", 100))

TRANSIENT_MARKERS = (
    "too many requests", "too many concurrent", "rate limit", "429", "500", "502", "503",
    "504", "internal error", "service unavailable", "backend error", "deadline", "timed out",
    "timeout", "temporarily", "connection reset", "connection aborted", "try again",
)


class EarthEngineError(GepError, RuntimeError):
    """Earth Engine refused a request or kept failing after the retries."""


# -- credentials ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CredentialChoice:
    """Which credentials :func:`initialize` will use, and why."""

    kind: str                       # "service_account" or "application_default"
    source: str                     # the environment variable, or "application-default"
    key_file: Path | None = None
    email: str | None = None
    project: str | None = None      # the key's own project, used when config has none


def select_credentials(environ: Mapping[str, str] | None = None) -> CredentialChoice:
    """Choose credentials from the environment (never from config files).

    1. ``EE_SERVICE_ACCOUNT_KEY``: path of a service-account JSON key (explicit, wins);
    2. ``GOOGLE_APPLICATION_CREDENTIALS`` if it holds a service-account key;
    3. otherwise application-default credentials, resolved by ``earthengine-api`` itself
       (``earthengine authenticate`` token, ``gcloud auth application-default login``, or the
       metadata server of a Compute Engine / Cloud Run host).
    """
    env = os.environ if environ is None else environ
    for var in ("EE_SERVICE_ACCOUNT_KEY", "GOOGLE_APPLICATION_CREDENTIALS"):
        value = env.get(var)
        if not value:
            continue
        path = Path(value).expanduser()
        if not path.is_file():
            raise ConfigError(var, f"points to {path}, which is not a file",
                              "set it to the path of the service-account JSON key, or unset "
                              "it to use application-default credentials", file="environment")
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(var, f"{path} is not a JSON key file ({exc})",
                              "download a JSON key for the service account "
                              "(IAM > Service accounts > Keys)", file="environment") from None
        if info.get("type") == "service_account":
            for k in ("client_email", "private_key"):
                if not info.get(k):
                    raise ConfigError(var, f"{path} has no '{k}'",
                                      "download a fresh JSON key", file="environment")
            return CredentialChoice("service_account", var, path, info["client_email"],
                                    info.get("project_id"))
        if var == "EE_SERVICE_ACCOUNT_KEY":
            raise ConfigError(var, f"{path} is a '{info.get('type')}' file, not a "
                              "service-account key", "point it to a service-account JSON key",
                              file="environment")
        # GOOGLE_APPLICATION_CREDENTIALS holding user or workload-identity credentials: that is
        # application-default credentials, which google-auth reads from the same variable.
        break
    return CredentialChoice("application_default", "application-default")


def project_for(cfg: Config, choice: CredentialChoice,
                environ: Mapping[str, str] | None = None) -> str | None:
    """Cloud project: ``earthengine.project`` > ``EE_PROJECT`` > ``GOOGLE_CLOUD_PROJECT`` > key."""
    env = os.environ if environ is None else environ
    return (cfg.earthengine.project or env.get("EE_PROJECT") or env.get("GOOGLE_CLOUD_PROJECT")
            or choice.project)


def initialize(cfg: Config, environ: Mapping[str, str] | None = None) -> CredentialChoice:
    """``ee.Initialize`` with the selected credentials and project."""
    import ee

    choice = select_credentials(environ)
    project = project_for(cfg, choice, environ)
    if choice.kind == "service_account":
        credentials: Any = ee.ServiceAccountCredentials(choice.email, key_file=str(choice.key_file))
    else:
        credentials = "persistent"
        if not project:
            raise ConfigError("earthengine.project", "no Google Cloud project for Earth Engine",
                              "set earthengine.project in the config (or EE_PROJECT) to a "
                              "project registered for Earth Engine")
    try:
        ee.Initialize(credentials=credentials, project=project)
    except ee.EEException as exc:
        raise EarthEngineError(f"Earth Engine initialisation failed ({choice.source}, project "
                               f"{project}): {exc}. Fix: for a server, set "
                               "EE_SERVICE_ACCOUNT_KEY to a service-account JSON key whose "
                               "account is registered for Earth Engine; on a workstation run "
                               "'earthengine authenticate'") from None
    log.info("Earth Engine initialised with %s credentials (%s), project %s", choice.kind,
             choice.source, project)
    return choice


# -- image expressions ------------------------------------------------------------------------
def region_of(grid: Grid):
    """The grid's footprint as an ee.Geometry in EPSG:4326 (for filterBounds)."""
    import ee

    w, s, e, n = transform_bounds(CRS.from_user_input(grid.crs), CRS.from_epsg(4326),
                                  *grid.bounds, densify_pts=21)
    return ee.Geometry.Rectangle([w, s, e, n], "EPSG:4326", False)


def _year_range(year: int) -> tuple[str, str]:
    return f"{year}-01-01", f"{year + 1}-01-01"


def _bilinear(img):
    return img.resample("bilinear")


def landcover_image(product: str, year: int, region):
    """Land cover in WorldCover codes (uint8, 255 where masked)."""
    import ee

    if product == "worldcover":
        asset = "ESA/WorldCover/v100" if year <= 2020 else "ESA/WorldCover/v200"
        img = ee.ImageCollection(asset).first().select("Map")
    elif product == "dynamicworld":
        start, end = _year_range(year)
        src = list(DYNAMIC_WORLD_TO_WORLDCOVER)
        dst = [DYNAMIC_WORLD_TO_WORLDCOVER[k] for k in src]
        img = (ee.ImageCollection("GOOGLE/DYNAMICWORLD/V1").filterDate(start, end)
               .filterBounds(region).select("label").mode().remap(src, dst))
    else:
        raise ConfigError("earthengine.landcover", f"unknown product '{product}'",
                          "use worldcover or dynamicworld")
    return img.rename("landcover").unmask(LANDCOVER_NODATA).toUint8()


def precipitation_image(year: int, region):
    """CHIRPS daily precipitation summed over the calendar year (mm/yr)."""
    import ee

    start, end = _year_range(year)
    col = (ee.ImageCollection("UCSB-CHG/CHIRPS/DAILY").filterDate(start, end)
           .filterBounds(region).select("precipitation").map(_bilinear))
    return col.sum().rename("precipitation").unmask(FLOAT_NODATA).toFloat()


def reference_et_image(year: int, region):
    """TerraClimate monthly reference ET (``pet``, scale 0.1 mm) summed over the year (mm/yr)."""
    import ee

    start, end = _year_range(year)
    col = (ee.ImageCollection("IDAHO_EPSCOR/TERRACLIMATE").filterDate(start, end)
           .filterBounds(region).select("pet").map(_bilinear))
    return col.sum().multiply(0.1).rename("reference_et").unmask(FLOAT_NODATA).toFloat()


def dem_image(product: str, region):
    """Elevation in metres."""
    import ee

    if product == "glo30":
        img = (ee.ImageCollection("COPERNICUS/DEM/GLO30").filterBounds(region).select("DEM")
               .map(_bilinear).mosaic())
    elif product == "srtm":
        img = ee.Image("USGS/SRTMGL1_003").select("elevation").resample("bilinear")
    else:
        raise ConfigError("earthengine.dem", f"unknown product '{product}'", "use glo30 or srtm")
    return img.rename("dem").unmask(FLOAT_NODATA).toFloat()


def plant_available_water_image():
    """SoilGrids 2.0 plant-available water as a 0-1 fraction, depth-weighted over 0-200 cm.

    PAWC = sum_d t_d * (theta_33kPa,d - theta_1500kPa,d) / sum_d t_d, with theta in
    10^-3 cm3/cm3 (hence / 1000) and t_d the layer thickness; clamped to [0, 1].
    """
    import ee

    fc = ee.Image("ISRIC/SoilGrids250m/v2_0/wv0033")
    wp = ee.Image("ISRIC/SoilGrids250m/v2_0/wv1500")
    total = sum(t for _, t in SOILGRIDS_DEPTHS)
    acc = None
    for depth, thickness in SOILGRIDS_DEPTHS:
        band = f"val_{depth}cm_mean"
        term = fc.select(band).subtract(wp.select(band)).multiply(thickness)
        acc = term if acc is None else acc.add(term)
    pawc = acc.divide(total * 1000.0).max(0).min(1).resample("bilinear")
    return pawc.rename("plant_available_water").unmask(FLOAT_NODATA).toFloat()


def asset_image(spec: Mapping[str, Any], name: str, year: int | None):
    """A user asset override ``{asset, band, scale, offset}``."""
    import ee

    asset = str(spec["asset"])
    if "{year}" in asset:
        if year is None:
            raise ConfigError(f"layers.{name}.asset", "has {year} but the layer is static",
                              "give one asset id")
        asset = asset.replace("{year}", str(year))
    img = ee.Image(asset)
    if spec.get("band"):
        img = img.select(str(spec["band"]))
    else:
        img = img.select(0)
    scale, offset = float(spec.get("scale", 1.0)), float(spec.get("offset", 0.0))
    if name == "landcover":
        return img.rename(name).unmask(LANDCOVER_NODATA).toUint8()
    if scale != 1.0:
        img = img.multiply(scale)
    if offset != 0.0:
        img = img.add(offset)
    return img.resample("bilinear").rename(name).unmask(FLOAT_NODATA).toFloat()


def layer_spec(cfg: Config, name: str) -> Any:
    """The override of ``layers.<name>`` (number or asset mapping), or None."""
    spec = cfg.layers.get(name)
    if spec is None:
        return None
    if isinstance(spec, bool) or not isinstance(spec, (int, float, dict)):
        raise ConfigError(f"layers.{name}", f"unsupported value {spec!r} for source "
                          "'earthengine'", "give a number (constant) or {asset: <id>, band: "
                          "<name>, scale: <factor>}")
    if isinstance(spec, dict) and "asset" not in spec:
        raise ConfigError(f"layers.{name}", "an override mapping needs 'asset'",
                          "add asset: <Earth Engine image id>")
    return spec


def layer_image(cfg: Config, name: str, year: int | None, region):
    """The ee.Image expression of one layer (one band named after the layer)."""
    spec = layer_spec(cfg, name)
    if isinstance(spec, dict):
        return asset_image(spec, name, year)
    ee_cfg = cfg.earthengine
    if name == "landcover":
        return landcover_image(ee_cfg.landcover, year, region)
    if name == "precipitation":
        return precipitation_image(year, region)
    if name == "reference_et":
        return reference_et_image(year, region)
    if name == "dem":
        return dem_image(ee_cfg.dem, region)
    if name == "plant_available_water":
        return plant_available_water_image()
    raise ConfigError(f"layers.{name}", "no Earth Engine product for this layer",
                      "give a number or an asset override")


# -- tiling -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tile:
    """A block of the grid: row/column offset and size in pixels."""

    row: int
    col: int
    height: int
    width: int

    @property
    def name(self) -> str:
        return f"r{self.row:06d}_c{self.col:06d}"


def tile_side(max_tile_pixels: int, bytes_per_pixel: int, bands: int = 1,
              max_bytes: int = MAX_REQUEST_BYTES) -> int:
    """The largest square tile side within both the side and the byte limits."""
    by_bytes = math.isqrt(max_bytes // (bytes_per_pixel * bands))
    return max(1, min(max_tile_pixels, MAX_REQUEST_SIDE, by_bytes))


def plan_tiles(grid: Grid, side: int) -> list[Tile]:
    """Row-major tiles of at most ``side`` x ``side`` pixels covering the grid exactly."""
    return [Tile(r, c, min(side, grid.height - r), min(side, grid.width - c))
            for r in range(0, grid.height, side) for c in range(0, grid.width, side)]


def tile_request(image, grid: Grid, tile: Tile) -> dict:
    """The ``ee.data.computePixels`` request of one tile: the grid's CRS and pixel size, the
    tile's own upper-left corner, GeoTIFF out."""
    ps = grid.pixel_size
    crs = CRS.from_user_input(grid.crs)
    epsg = crs.to_epsg()
    crs_field = {"crsCode": f"EPSG:{epsg}"} if epsg else {"crsWkt": crs.to_wkt()}
    return {
        "expression": image,
        "fileFormat": "GEO_TIFF",
        "grid": {
            "dimensions": {"width": tile.width, "height": tile.height},
            "affineTransform": {
                "scaleX": ps, "shearX": 0.0, "translateX": grid.x0 + tile.col * ps,
                "shearY": 0.0, "scaleY": -ps, "translateY": grid.y0 - tile.row * ps,
            },
            **crs_field,
        },
    }


# -- fetching ---------------------------------------------------------------------------------
def is_transient(exc: BaseException) -> bool:
    """Errors worth retrying: rate limits, server-side 5xx, time-outs, dropped connections."""
    if isinstance(exc, (TimeoutError, ConnectionError)):
        return True
    status = getattr(getattr(exc, "resp", None), "status", None)
    if status is not None:
        return int(status) in (429, 500, 502, 503, 504)
    if type(exc).__module__.startswith("httplib2"):
        return True
    text = str(exc).lower()
    return any(m in text for m in TRANSIENT_MARKERS)


def with_retries(fn: Callable[[], Any], what: str, attempts: int = 6, base_delay: float = 2.0,
                 max_delay: float = 120.0, jitter: float = 0.25,
                 sleep: Callable[[float], None] = time.sleep) -> Any:
    """Call ``fn``; on a transient error wait base_delay * 2**k (+ jitter) and try again."""
    for k in range(attempts):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                hint = ""
                if any(m in str(exc).lower() for m in ("memory", "too large", "request size",
                                                       "exceeds")):
                    hint = ". Fix: lower earthengine.max_tile_pixels (e.g. 1024)"
                raise EarthEngineError(f"{what}: Earth Engine refused the request: {exc}"
                                       f"{hint}") from exc
            if k == attempts - 1:
                raise EarthEngineError(f"{what}: still failing after {attempts} attempts: "
                                       f"{exc}. Fix: re-run later; finished tiles are kept "
                                       "and will not be fetched again") from exc
            delay = min(max_delay, base_delay * 2 ** k) * (1 + jitter * random.random())
            log.warning("%s: transient error (%s); retry %d/%d in %.1f s", what, exc, k + 1,
                        attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def cache_key(image, grid: Grid, side: int) -> str:
    """A key that changes whenever the expression, the grid or the tiling changes, so a cache
    never serves tiles of another request."""
    payload = json.dumps({"expr": image.serialize(for_cloud_api=True), "crs": grid.crs,
                          "x0": grid.x0, "y0": grid.y0, "ps": grid.pixel_size,
                          "w": grid.width, "h": grid.height, "side": side}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _read_tile(path: Path, grid: Grid, tile: Tile) -> np.ndarray | None:
    """Band 1 of a cached tile, or None if it is unreadable or not where it should be."""
    try:
        with rasterio.open(path) as ds:
            t = ds.transform
            ok = (ds.width == tile.width and ds.height == tile.height
                  and math.isclose(t.c, grid.x0 + tile.col * grid.pixel_size, abs_tol=1e-3)
                  and math.isclose(t.f, grid.y0 - tile.row * grid.pixel_size, abs_tol=1e-3)
                  and math.isclose(t.a, grid.pixel_size, rel_tol=1e-9))
            return ds.read(1) if ok else None
    except rasterio.errors.RasterioIOError:
        return None


def fetch_layer(image, grid: Grid, out_path: str | Path, cache_dir: str | Path, name: str,
                dtype: str, nodata: float, max_tile_pixels: int = 2048,
                retry: Mapping[str, Any] | None = None, progress: bool = True,
                label: str | None = None) -> Path:
    """Fetch ``image`` tile by tile onto ``grid`` and write the mosaic to ``out_path``.

    Tiles already in ``cache_dir`` (from an interrupted run) are reused, not fetched again.
    ``label`` (default ``name``) names the cache folder and the progress bar, e.g.
    ``landcover-2021``.
    """
    import ee
    from tqdm.auto import tqdm

    from gep.log import progress_disabled

    label = label or name

    side = tile_side(max_tile_pixels, np.dtype(dtype).itemsize)
    tiles = plan_tiles(grid, side)
    tdir = Path(cache_dir) / f"{label}-{cache_key(image, grid, side)}"
    tdir.mkdir(parents=True, exist_ok=True)
    todo = [t for t in tiles if _read_tile(tdir / f"{t.name}.tif", grid, t) is None]
    if len(todo) < len(tiles):
        log.info("%s: resuming, %d of %d tiles cached in %s", label, len(tiles) - len(todo),
                 len(tiles), tdir)
    with tqdm(total=len(tiles), initial=len(tiles) - len(todo), desc=label, unit="tile",
              disable=progress_disabled() if progress else True, leave=False) as bar:
        for t in todo:
            req = tile_request(image, grid, t)
            data = with_retries(lambda req=req: ee.data.computePixels(req),
                                f"{label} tile {t.name}", **(retry or {}))
            path = tdir / f"{t.name}.tif"
            with atomic_path(path) as tmp:
                tmp.write_bytes(data)
            if _read_tile(path, grid, t) is None:
                path.unlink()
                raise EarthEngineError(f"{label} tile {t.name}: Earth Engine returned a tile "
                                       "that is not the requested grid block")
            bar.update(1)
    mosaic = np.full((grid.height, grid.width), nodata, dtype=dtype)
    for t in tiles:
        block = _read_tile(tdir / f"{t.name}.tif", grid, t)
        mosaic[t.row:t.row + t.height, t.col:t.col + t.width] = block
    if np.all(mosaic == nodata):
        raise InputDataError(label, "Earth Engine returned no valid pixel over the basin grid",
                             "check that the product covers the basin (CHIRPS: 50S-50N)")
    return write_raster(out_path, mosaic, grid, nodata, dtype,
                        f"{name} ({LAYER_UNITS.get(name, '')}) from Earth Engine")


# -- source interface -------------------------------------------------------------------------
def grid_for(cfg: Config) -> Grid:
    """The basin grid from the parties vector (a local file, as for the local source)."""
    return local.grid_for(cfg)


def acquire_parties(cfg: Config, out_dir: str | Path) -> Path:
    """Parties come from the local vector (``parties.path``) for this source too."""
    return local.acquire_parties(cfg, out_dir)


def _cache_dir(cfg: Config, out_dir: Path) -> Path:
    c = cfg.path(cfg.earthengine.cache_dir)
    return c if c is not None else Paths(cfg).earthengine_cache


def _acquire(cfg: Config, grid: Grid, names: list[str], year: int | None, out_dir: str | Path,
             init: bool, progress: bool, retry: Mapping[str, Any] | None) -> dict[str, Path]:
    import ee

    out_dir = Path(out_dir)
    specs = {n: layer_spec(cfg, n) for n in names}
    if init and not ee.data.is_initialized() and \
            any(not isinstance(s, (int, float)) for s in specs.values()):
        initialize(cfg)
    region = None
    outputs = {n: Paths.LayerFiles(out_dir).layer(n) for n in names}
    with contextlib.ExitStack() as stack:  # all layers or none
        for name in names:
            tmp = stack.enter_context(atomic_path(outputs[name]))
            categorical = name == "landcover"
            dtype, nodata = ("uint8", LANDCOVER_NODATA) if categorical else \
                ("float32", FLOAT_NODATA)
            spec = specs[name]
            if name == "root_restricting_depth" and spec is None:
                spec = DEFAULT_ROOT_RESTRICTING_DEPTH_MM
                log.warning("root_restricting_depth: no global product in Earth Engine; using "
                            "a constant %.0f mm (set layers.root_restricting_depth to a "
                            "number or an asset to change it)", spec)
            if isinstance(spec, (int, float)):
                arr = np.full((grid.height, grid.width), spec, dtype=dtype)
                write_raster(tmp, arr, grid, nodata, dtype, f"{name} (constant {spec})")
                continue
            if region is None:
                region = region_of(grid)
            image = layer_image(cfg, name, year, region)
            fetch_layer(image, grid, tmp, _cache_dir(cfg, out_dir), name, dtype, nodata,
                        cfg.earthengine.max_tile_pixels, retry, progress,
                        label=f"{name}-{year or 'static'}")
    return outputs


def acquire_static(cfg: Config, grid: Grid, out_dir: str | Path, *, init: bool = True,
                   progress: bool = True,
                   retry: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Fetch dem, root_restricting_depth and plant_available_water onto ``grid``."""
    return _acquire(cfg, grid, list(STATIC_LAYERS), None, out_dir, init, progress, retry)


def acquire_year(cfg: Config, grid: Grid, year: int, out_dir: str | Path, *, init: bool = True,
                 progress: bool = True,
                 retry: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Fetch one year's landcover, precipitation and reference_et onto ``grid``.

    With ``classification.enabled`` land cover is left to ``gep classify`` unless a
    ``layers.landcover`` override is given.
    """
    names = [n for n in YEAR_LAYERS
             if not (n == "landcover" and cfg.classification.enabled and n not in cfg.layers)]
    return _acquire(cfg, grid, names, year, out_dir, init, progress, retry)
