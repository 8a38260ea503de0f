"""The acquire stage: one source in, the same aligned input stack out.

Layout written under ``results/<basin>/inputs/``::

    parties.gpkg  parties.csv  parties.tif  basin.gpkg  redline.tif     (acquire_parties)
    static/{dem,root_restricting_depth,plant_available_water,roads}.tif (acquire_static)
    <year>/landcover.tif precipitation.tif reference_et.tif             (acquire_year, source)
    <year>/threat_{built,crop,road}.tif erosivity.tif erodibility.tif   (derived, every source)
    <year>/{dem,root_restricting_depth,plant_available_water}.tif       (copies of static/)

Every year folder thus holds all the GeoTIFFs the InVEST models read for that year.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
from rasterio import features

from gep.config import STATIC_LAYERS, Config
from gep.errors import InputDataError
from gep.io import atomic_path, write_csv
from gep.log import progress
from gep.paths import Paths
from gep.sources.base import (FLOAT_NODATA, LANDCOVER_NODATA, Grid, iter_windows, open_cog,
                              write_raster)

if TYPE_CHECKING:  # geopandas only where vectors are read: the year jobs need none
    import geopandas as gpd

PARTY_FIELDS = ("party_id", "name", "name_zh", "role", "province")
THREATS = {"built": (50,), "crop": (40,)}
#: Erodibility (t ha h / (ha MJ mm)) used where no erodibility layer is given: a loam typical of
#: the red soils of south China (Zhang et al. 2008 report 0.02-0.04 for Jiangxi red soils).
DEFAULT_ERODIBILITY = 0.03


def source_module(cfg: Config):
    return importlib.import_module(f"gep.sources.{cfg.source}")


def grid_for(cfg: Config) -> Grid:
    return source_module(cfg).grid_for(cfg)


def inputs_dir(cfg: Config) -> Path:
    return Paths(cfg).inputs


# -- parties ----------------------------------------------------------------------------------
def acquire_parties(cfg: Config, out_dir: Path | None = None) -> dict[str, Path]:
    """Parties vector, its raster on the grid, the basin outline and the red-line raster."""
    out_dir = Path(out_dir or inputs_dir(cfg))
    files = Paths.InputFiles(out_dir)
    src = source_module(cfg)
    import geopandas as gpd

    gpkg = src.acquire_parties(cfg, out_dir)
    grid = src.grid_for(cfg)
    gdf = gpd.read_file(gpkg)
    check_parties(gdf, gpkg)
    rows = [[i, *(gdf.iloc[i - 1][f] for f in PARTY_FIELDS)] for i in range(1, len(gdf) + 1)]
    paths = {"parties_gpkg": gpkg,
             "parties_csv": write_csv(files.parties_csv, ("index",) + PARTY_FIELDS, rows,
                                      bom=True)}
    labels = rasterize_parties(gdf, grid)
    paths["parties_tif"] = write_raster(files.parties_tif, labels, grid, -1, "int16")
    basin = gpd.GeoDataFrame({"ws_id": [1], "name": [cfg.basin]},
                             geometry=[gdf.union_all()], crs=gdf.crs)
    paths["basin_gpkg"] = write_vector(basin, files.basin_gpkg)
    # InVEST's sub-watershed input: the parties with an integer subws_id (= raster label).
    subws = gdf[["party_id", "geometry"]].copy()
    subws.insert(0, "subws_id", np.arange(1, len(gdf) + 1, dtype=np.int32))
    paths["subwatersheds_gpkg"] = write_vector(subws, files.subwatersheds_gpkg)
    redline = getattr(src, "acquire_redline", None)
    if cfg.redline is not None:
        zones = gpd.read_file(cfg.path(cfg.redline)).to_crs(grid.crs)
        arr = features.rasterize(((g, 1) for g in zones.geometry), out_shape=(grid.height,
                                 grid.width), transform=grid.transform, fill=0, dtype="uint8")
        paths["redline_tif"] = write_raster(files.redline_tif, arr, grid, 255, "uint8")
    elif redline is not None:
        paths["redline_tif"] = redline(cfg, grid, out_dir)
    else:  # no red-line zones given: an empty zone, so later stages see a real (zero) figure
        paths["redline_tif"] = write_raster(files.redline_tif,
                                            np.zeros((grid.height, grid.width), np.uint8), grid,
                                            255, "uint8")
    return paths


def check_parties(gdf: gpd.GeoDataFrame, path: Path) -> None:
    for f in PARTY_FIELDS:
        if f not in gdf.columns:
            raise InputDataError(path, f"field '{f}' is missing", f"add a '{f}' field",
                                 field=f)
    if gdf["party_id"].duplicated().any():
        dup = gdf.loc[gdf["party_id"].duplicated(), "party_id"].iloc[0]
        raise InputDataError(path, f"party_id '{dup}' appears twice",
                             "give each party one (multi)polygon", field="party_id")
    bad = set(gdf["role"]) - {"upstream", "downstream"}
    if bad:
        raise InputDataError(path, f"role {sorted(bad)} not understood",
                             "use 'upstream' or 'downstream'", field="role")


def rasterize_parties(gdf: gpd.GeoDataFrame, grid: Grid) -> np.ndarray:
    """Party labels 1..n on the grid (pixel-centre rule), 0 outside every party."""
    shapes = ((geom, i) for i, geom in enumerate(gdf.to_crs(grid.crs).geometry, start=1))
    return features.rasterize(shapes, out_shape=(grid.height, grid.width),
                              transform=grid.transform, fill=0, dtype="int16")


def write_vector(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.unlink()
        gdf.to_file(tmp, driver="GPKG", layer=path.stem)
    return path


# -- rasters ----------------------------------------------------------------------------------
def acquire_static(cfg: Config, out_dir: Path | None = None) -> dict[str, Path]:
    out_dir = Path(out_dir or Paths(cfg).static_dir)
    src = source_module(cfg)
    paths = src.acquire_static(cfg, src.grid_for(cfg), out_dir)
    if "roads" not in paths:
        paths["roads"] = _roads(cfg, src.grid_for(cfg), out_dir)
    return paths


def _roads(cfg: Config, grid: Grid, out_dir: Path) -> Path:
    arr = np.zeros((grid.height, grid.width), np.uint8)
    if cfg.roads is not None:
        path = cfg.path(cfg.roads)
        if path.suffix.lower() in (".tif", ".tiff"):
            from rasterio.warp import Resampling, reproject

            with rasterio.open(path) as ds:
                reproject(rasterio.band(ds, 1), arr, dst_transform=grid.transform,
                          dst_crs=grid.crs, resampling=Resampling.max)
        else:
            import geopandas as gpd

            roads = gpd.read_file(path).to_crs(grid.crs)
            arr = features.rasterize(((g, 1) for g in roads.geometry), out_shape=arr.shape,
                                     transform=grid.transform, fill=0, all_touched=True,
                                     dtype="uint8")
    return write_raster(Paths.LayerFiles(out_dir).layer("roads"), (arr > 0).astype(np.uint8),
                        grid, 255)


def acquire_year(cfg: Config, year: int, out_dir: Path | None = None,
                 static_dir: Path | None = None) -> dict[str, Path]:
    """All model inputs for one year in ``inputs/<year>/``."""
    out_dir = Path(out_dir or Paths(cfg).year_dir(year))
    static_dir = Paths.LayerFiles(static_dir or Paths(cfg).static_dir)
    src = source_module(cfg)
    grid = src.grid_for(cfg)
    with progress(total=4, desc=f"acquire {year}", unit="step") as bar:
        bar.set_postfix_str(f"{cfg.source} layers")
        paths = dict(src.acquire_year(cfg, grid, year, out_dir))
        bar.update(1)
        if cfg.classification.enabled:
            bar.set_postfix_str("classification")
            paths["landcover"] = classify_year(cfg, grid, year, out_dir)
        bar.update(1)
        bar.set_postfix_str("static layers")
        for name in STATIC_LAYERS:
            paths[name] = copy_static(static_dir.layer(name),
                                      Paths.LayerFiles(out_dir).layer(name))
        bar.update(1)
        bar.set_postfix_str("derived layers")
        paths.update(derive_layers(out_dir, static_dir.layer("roads"), cfg))
        bar.update(1)
    return paths


def classify_year(cfg: Config, grid: Grid, year: int, out_dir: Path) -> Path:
    """Land cover of ``year`` classified from imagery (random forest, see gep.landcover).

    With ``classification.demo_imagery`` the demo's own land cover only serves to synthesise
    the imagery and the training points; the models then read the *classified* map, exactly
    as they would for a real basin. Model, metrics and confusion matrix are kept in
    ``results/<basin>/landcover/<year>/``.
    """
    from gep import landcover

    c = cfg.classification
    work = Paths(cfg).landcover_run(year)
    landcover_tif = Paths.LayerFiles(out_dir).layer("landcover")
    if c.demo_imagery:
        imagery, training = work.imagery, work.training
        work.mkdir(parents=True, exist_ok=True)
        landcover.demo_imagery(landcover_tif, imagery, training, seed=cfg.demo.seed + year)
        os.replace(landcover_tif, work.reference_landcover)
    else:
        imagery, training = cfg.path(c.imagery[year]), cfg.path(c.training)
    out = landcover.classify(imagery, training, Path(work), landcover_out=landcover_tif,
                             label_field="class" if c.demo_imagery else c.label_field,
                             n_estimators=c.n_estimators, test_fraction=c.test_fraction,
                             seed=c.seed, grid=grid, n_jobs=c.n_jobs)
    return Path(out["landcover"])


def copy_static(src: Path, dst: Path) -> Path:
    """Copy a static layer into a year folder (atomically, with a fresh mtime).

    Not a hard link: the year's copy is a Snakemake output while the static file is an input,
    and one inode for both lets a touch of either reorder their modification times.
    """
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return dst


def derive_layers(year_dir: Path, roads_tif: Path, cfg: Config | None = None) -> dict[str, Path]:
    """Threat rasters from land cover, erosivity from rain, erodibility; block by block.

    - ``threat_built`` / ``threat_crop``: 1 where land cover is built-up (50) / cropland (40).
    - ``threat_road``: the roads raster.
    - ``erosivity`` (MJ mm / (ha h yr)), from annual precipitation P (mm) with Renard and
      Freimund (1994): R = 0.0483 P^1.61 for P <= 850 mm, else 587.8 - 1.219 P + 0.004105 P^2.
    - ``erodibility``: a constant K (``DEFAULT_ERODIBILITY``) where no layer is given.
    """
    year_dir = Path(year_dir)
    layers = Paths.LayerFiles(year_dir)
    lc_path = layers.layer("landcover")
    grid = Grid.from_raster(lc_path)
    names = ["threat_built", "threat_crop", "threat_road", "erosivity", "erodibility"]
    out = {n: layers.layer(n) for n in names}
    with rasterio.open(lc_path) as lc, rasterio.open(layers.layer("precipitation")) as pr, \
            rasterio.open(roads_tif) as rd, contextlib.ExitStack() as stack:
        if Grid.from_raster(roads_tif) != grid:
            raise InputDataError(roads_tif, "roads raster is not on the basin grid")
        dsts = {n: stack.enter_context(open_cog(out[n], grid.profile(
            "float32", -1.0 if n.startswith("threat") else FLOAT_NODATA))) for n in names}
        threat_luts = {t: _code_lut(codes) for t, codes in THREATS.items()}
        for w in progress(list(iter_windows(grid)), desc=f"derive layers {year_dir.name}",
                          unit="strip"):
            lcv = lc.read(1, window=w)
            valid = lcv != LANDCOVER_NODATA
            for t, lut in threat_luts.items():
                dsts[f"threat_{t}"].write(lut[lcv], 1, window=w)
            r = np.where(valid, rd.read(1, window=w) == 1, 0).astype(np.float32)
            dsts["threat_road"].write(r, 1, window=w)
            p = pr.read(1, window=w).astype(np.float64)
            pv = valid & (p != pr.nodata)
            dsts["erosivity"].write(np.where(pv, renard_freimund(p), FLOAT_NODATA)
                                    .astype(np.float32), 1, window=w)
            k = np.where(valid, DEFAULT_ERODIBILITY, FLOAT_NODATA).astype(np.float32)
            dsts["erodibility"].write(k, 1, window=w)
    return out


def _code_lut(codes) -> np.ndarray:
    """1.0 for each of ``codes``, 0.0 for every other uint8 value (nodata included)."""
    lut = np.zeros(256, np.float32)
    lut[list(codes)] = 1.0
    lut[LANDCOVER_NODATA] = 0.0
    return lut


def renard_freimund(p: np.ndarray) -> np.ndarray:
    """Rainfall erosivity R (MJ mm / (ha h yr)) from annual precipitation P (mm, float64):
    0.0483 P^1.61 for P <= 850 mm, else 587.8 - 1.219 P + 0.004105 P^2. The power, the costly
    part, only where it applies (in a wet basin nowhere)."""
    ero = 587.8 - 1.219 * p + 0.004105 * p * p
    low = p <= 850
    if low.any():
        ero[low] = 0.0483 * np.power(np.maximum(p[low], 0), 1.61)
    return ero
