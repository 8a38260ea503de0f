"""Local source: user rasters in mismatched CRS / resolution / extent come out aligned.

Every raster is built here from a known function of position, so the expected value at any
grid pixel is computed independently (pyproj for the coordinates, the function for the value).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from gep.config import validate
from gep.errors import ConfigError, InputDataError
from gep.sources import local
from gep.sources.base import FLOAT_NODATA, LANDCOVER_NODATA, Grid

UTM = "EPSG:32650"
# Basin in UTM 50N: 3000 m x 2400 m, corner not on a 30 m multiple (grid must snap outwards).
BX0, BY0, BX1, BY1 = 700_005.0, 3_307_590.0, 703_005.0, 3_309_990.0
SPLIT_X = 701_500.0  # land cover: tree west of it, crop east of it


def to_utm(crs):
    return Transformer.from_crs(crs, UTM, always_xy=True)


def from_utm(crs):
    return Transformer.from_crs(UTM, crs, always_xy=True)


def write_tif(path, arr, crs, transform, nodata=None):
    prof = {"driver": "GTiff", "width": arr.shape[1], "height": arr.shape[0], "count": 1,
            "dtype": arr.dtype.name, "transform": transform, "nodata": nodata}
    if crs is not None:
        prof["crs"] = crs
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(arr, 1)
    return path


def parties_gdf(crs="EPSG:4326", role=True):
    """Three parties side by side in UTM, stored in ``crs``."""
    xs = np.linspace(BX0, BX1, 4)
    rows = []
    for i, (pid, role_, prov) in enumerate([("shanyuan", "upstream", "Anhui"),
                                             ("linxi", "upstream", "Anhui"),
                                             ("xiahe", "downstream", "Zhejiang")]):
        rows.append({"county_code": 340000 + i, "name": pid.title(), "role": role_,
                     "province": prov, "geometry": box(xs[i], BY0, xs[i + 1], BY1)})
    gdf = gpd.GeoDataFrame(rows, crs=UTM)
    if not role:
        gdf = gdf.drop(columns="role")
    return gdf.to_crs(crs)


# Known fields ------------------------------------------------------------------------------
def precip_fn(lon, lat):
    """Linear in lon/lat: bilinear resampling reproduces it exactly inside the raster."""
    return 1500.0 + 4000.0 * (lon - 119.0) + 2500.0 * (lat - 29.8)


def dem_fn(x, y):
    """Linear in UTM metres: the mean over a 3x3 block equals the value at its centre."""
    return 100.0 + 0.05 * (x - BX0) + 0.02 * (y - BY0)


@pytest.fixture
def basin(tmp_path):
    """A config with six layers, each in a different CRS / resolution / extent."""
    d = tmp_path
    parties_gdf().to_file(d / "parties.geojson", driver="GeoJSON")

    # land cover: UTM 50N at 10 m, source grid offset by 5 m, extending 500 m beyond the basin
    x0, y0 = BX0 - 505.0, BY1 + 495.0
    w, h = int((BX1 - BX0 + 1000) / 10), int((BY1 - BY0 + 1000) / 10)
    cx = x0 + 10 * (np.arange(w) + 0.5)
    lc = np.where(cx < SPLIT_X, 10, 40).astype("uint8")[None, :].repeat(h, axis=0)
    lc[:5, :] = 0  # a nodata strip outside the basin
    write_tif(d / "lc2020.tif", lc, UTM, Affine(10, 0, x0, 0, -10, y0), nodata=0)

    # precipitation: WGS84 at 0.005 deg (~500 m, coarser than the grid -> bilinear)
    lon0, lat0 = from_utm("EPSG:4326").transform(BX0 - 3000, BY1 + 3000)
    lon1, lat1 = from_utm("EPSG:4326").transform(BX1 + 3000, BY0 - 3000)
    res = 0.005
    pw, ph = int((lon1 - lon0) / res) + 1, int((lat0 - lat1) / res) + 1
    lon = lon0 + res * (np.arange(pw) + 0.5)
    lat = lat0 - res * (np.arange(ph) + 0.5)
    p = precip_fn(lon[None, :], lat[:, None]).astype("float32")
    write_tif(d / "p2020.tif", p, "EPSG:4326", Affine(res, 0, lon0, 0, -res, lat0), -1.0)

    # reference ET: Web Mercator at 100 m, constant
    mx0, my1 = from_utm("EPSG:3857").transform(BX0 - 2000, BY1 + 2000)
    mx1, my0 = from_utm("EPSG:3857").transform(BX1 + 2000, BY0 - 2000)
    ew, eh = int((mx1 - mx0) / 100) + 1, int((my1 - my0) / 100) + 1
    write_tif(d / "et2020.tif", np.full((eh, ew), 900.0, "float32"), "EPSG:3857",
              Affine(100, 0, mx0, 0, -100, my1), -9999.0)

    # DEM: UTM at 10 m, shifted 5 m off the 30 m grid so that a cell centre falls on a source
    # pixel corner: nearest picks a neighbour 5 m off (0.35 m error), the area-weighted
    # average of the linear field is exact
    gx0 = np.floor(BX0 / 30) * 30 - 305
    gy1 = np.ceil(BY1 / 30) * 30 + 305
    dw, dh = int((BX1 - gx0 + 600) / 10), int((gy1 - BY0 + 600) / 10)
    dx = gx0 + 10 * (np.arange(dw) + 0.5)
    dy = gy1 - 10 * (np.arange(dh) + 0.5)
    dem = dem_fn(dx[None, :], dy[:, None]).astype("float32")
    write_tif(d / "dem.tif", dem, UTM, Affine(10, 0, gx0, 0, -10, gy1), -9999.0)

    # soil layers: WGS84 at 0.01 deg, constants
    for name, value in (("depth", 1200.0), ("pawc", 0.18)):
        write_tif(d / f"{name}.tif", np.full((ph // 2 + 2, pw // 2 + 2), value, "float32"),
                  "EPSG:4326", Affine(0.01, 0, lon0, 0, -0.01, lat0), -9999.0)

    data = {
        "basin": "t", "source": "local", "years": [2020],
        "grid": {"crs": UTM, "pixel_size": 30},
        "parties": {"path": "parties.geojson", "id_field": "county_code"},
        "layers": {
            "landcover": {2020: "lc2020.tif"}, "precipitation": "p{year}.tif",
            "reference_et": {2020: "et2020.tif"}, "dem": "dem.tif",
            "root_restricting_depth": "depth.tif", "plant_available_water": "pawc.tif",
        },
    }
    return d, data


def cfg_of(d, data, **over):
    return validate({**data, **over}, config_dir=d)


def centres(grid: Grid):
    xs = grid.x0 + grid.pixel_size * (np.arange(grid.width) + 0.5)
    ys = grid.y0 - grid.pixel_size * (np.arange(grid.height) + 0.5)
    return np.meshgrid(xs, ys)


# Tests ---------------------------------------------------------------------------------------
def test_grid_is_parties_bounds_snapped_outwards(basin):
    d, data = basin
    grid = local.grid_for(cfg_of(d, data))
    assert grid.crs == UTM and grid.pixel_size == 30
    assert grid.x0 % 30 == 0 and grid.y0 % 30 == 0
    x0, y0, x1, y1 = grid.bounds
    # the vector went through EPSG:4326 and back: allow a millimetre of round-trip error
    assert x0 <= BX0 + 1e-3 and y0 <= BY0 + 1e-3 and x1 >= BX1 - 1e-3 and y1 >= BY1 - 1e-3
    assert x0 > BX0 - 30 and y1 < BY1 + 30 and x1 < BX1 + 30 and y0 > BY0 - 30


def test_year_layers_aligned_with_values_at_known_points(basin, tmp_path):
    d, data = basin
    cfg = cfg_of(d, data)
    grid = local.grid_for(cfg)
    out = tmp_path / "out"
    paths = local.acquire_year(cfg, grid, 2020, out)
    assert set(paths) == {"landcover", "precipitation", "reference_et"}
    X, Y = centres(grid)
    for name, p in paths.items():
        with rasterio.open(p) as ds:
            assert ds.crs.to_string() == UTM
            assert ds.transform == grid.transform
            assert (ds.height, ds.width) == (grid.height, grid.width)
            assert ds.nodata == (LANDCOVER_NODATA if name == "landcover" else FLOAT_NODATA)
    with rasterio.open(paths["landcover"]) as ds:
        lc = ds.read(1)
    far = np.abs(X - SPLIT_X) > 30  # pixels whose centre is clearly on one side
    expected = np.where(X < SPLIT_X, 10, 40)
    np.testing.assert_array_equal(lc[far], expected[far])
    assert set(np.unique(lc)) <= {10, 40}

    with rasterio.open(paths["precipitation"]) as ds:
        p = ds.read(1)
    lon, lat = from_utm("EPSG:4326").transform(X, Y)
    np.testing.assert_allclose(p, precip_fn(lon, lat), atol=0.05)

    with rasterio.open(paths["reference_et"]) as ds:
        np.testing.assert_allclose(ds.read(1), 900.0, atol=1e-3)


def test_static_layers_finer_source_is_averaged(basin, tmp_path):
    d, data = basin
    cfg = cfg_of(d, data)
    grid = local.grid_for(cfg)
    paths = local.acquire_static(cfg, grid, tmp_path / "out")
    X, Y = centres(grid)
    with rasterio.open(paths["dem"]) as ds:
        dem = ds.read(1)
    # area-weighted average of a linear field over a cell = value at the cell centre;
    # a nearest-neighbour pick would be off by 0.05 * 5 + 0.02 * 5 = 0.35 m
    np.testing.assert_allclose(dem, dem_fn(X, Y), atol=1e-3)
    with rasterio.open(paths["root_restricting_depth"]) as ds:
        np.testing.assert_allclose(ds.read(1), 1200.0)
    with rasterio.open(paths["plant_available_water"]) as ds:
        np.testing.assert_allclose(ds.read(1), 0.18, rtol=1e-6)


def test_resampling_choice(basin):
    d, _ = basin
    grid = Grid.from_bounds(UTM, (BX0, BY0, BX1, BY1), 30)
    _, r_dem = local.warp_to_grid(d / "dem.tif", grid, categorical=False)
    _, r_p = local.warp_to_grid(d / "p2020.tif", grid, categorical=False)
    _, r_lc = local.warp_to_grid(d / "lc2020.tif", grid, categorical=True)
    assert (r_dem.name, r_p.name, r_lc.name) == ("average", "bilinear", "nearest")


def test_parties_vector_reprojected_and_fields(basin, tmp_path):
    d, data = basin
    out = local.acquire_parties(cfg_of(d, data), tmp_path / "inputs")
    gdf = gpd.read_file(out)
    assert gdf.crs.to_epsg() == 32650
    assert list(gdf.columns) == ["party_id", "name", "name_zh", "role", "province", "geometry"]
    assert list(gdf["party_id"]) == ["340000", "340001", "340002"]
    assert list(gdf["role"]) == ["upstream", "upstream", "downstream"]
    assert list(gdf["name_zh"]) == list(gdf["name"])  # derived when absent
    xs = np.linspace(BX0, BX1, 4)
    for i, geom in enumerate(gdf.geometry):
        np.testing.assert_allclose(geom.bounds, (xs[i], BY0, xs[i + 1], BY1), atol=1e-3)


def test_parties_without_role_is_an_error(basin, tmp_path):
    d, data = basin
    parties_gdf(role=False).to_file(d / "norole.gpkg", driver="GPKG")
    cfg = cfg_of(d, data, parties={"path": "norole.gpkg", "id_field": "county_code"})
    with pytest.raises(InputDataError, match="field 'role' is missing") as e:
        local.acquire_parties(cfg, tmp_path / "inputs")
    assert "norole.gpkg" in str(e.value)
    assert not (tmp_path / "inputs" / "parties.gpkg").exists()


def test_parties_bad_id_field_named(basin):
    d, data = basin
    cfg = cfg_of(d, data, parties={"path": "parties.geojson", "id_field": "code"})
    with pytest.raises(InputDataError, match="id field 'code' not found"):
        local.grid_for(cfg)


def test_shapefile_parties_in_other_utm_zone(basin):
    d, data = basin
    # Shapefile field names stop at 10 characters: county_code is stored as county_cod
    parties_gdf("EPSG:32651").rename(columns={"county_code": "county_cod"}).to_file(
        d / "parties.shp")
    cfg = cfg_of(d, data, parties={"path": "parties.shp", "id_field": "county_cod"})
    grid = local.grid_for(cfg)
    assert grid.bounds[0] <= BX0 + 1e-3 and grid.bounds[2] >= BX1 - 1e-3


def test_legend_maps_codes(basin, tmp_path):
    d, data = basin
    g = Grid.from_bounds(UTM, (BX0, BY0, BX1, BY1), 30)
    src = np.full((g.height, g.width), 3, "uint16")
    src[:, : g.width // 2] = 7
    write_tif(d / "own.tif", src, UTM, g.transform)
    (d / "legend.csv").write_text("source_code,worldcover_code\n7,20\n3,80\n")
    data["layers"]["landcover"] = {2020: "own.tif"}
    cfg = cfg_of(d, data, landcover_legend="legend.csv")
    paths = local.acquire_year(cfg, local.grid_for(cfg), 2020, tmp_path / "out")
    with rasterio.open(paths["landcover"]) as ds:
        lc = ds.read(1)
    X, _ = centres(local.grid_for(cfg))
    mid = g.x0 + 30 * (g.width // 2)
    np.testing.assert_array_equal(lc[X < mid - 30], 20)
    np.testing.assert_array_equal(lc[X > mid + 30], 80)


def test_legend_missing_code_names_code_and_files_and_writes_nothing(basin, tmp_path):
    d, data = basin
    g = Grid.from_bounds(UTM, (BX0, BY0, BX1, BY1), 30)
    src = np.full((g.height, g.width), 3, "uint8")
    src[0, 0] = 42
    write_tif(d / "own.tif", src, UTM, g.transform)
    (d / "legend.csv").write_text("source_code,worldcover_code\n3,80\n")
    data["layers"]["landcover"] = {2020: "own.tif"}
    cfg = cfg_of(d, data, landcover_legend="legend.csv")
    out = tmp_path / "out"
    with pytest.raises(InputDataError) as e:
        local.acquire_year(cfg, local.grid_for(cfg), 2020, out)
    msg = str(e.value)
    assert "code(s) 42" in msg and "own.tif" in msg and "legend.csv" in msg
    assert not out.exists() or not any(out.iterdir())


def test_worldcover_codes_required_without_legend(basin, tmp_path):
    d, data = basin
    g = Grid.from_bounds(UTM, (BX0, BY0, BX1, BY1), 30)
    write_tif(d / "own.tif", np.full((g.height, g.width), 5, "uint8"), UTM, g.transform)
    data["layers"]["landcover"] = "own.tif"
    cfg = cfg_of(d, data)
    with pytest.raises(InputDataError, match="code\\(s\\) 5 are not ESA WorldCover codes"):
        local.acquire_year(cfg, local.grid_for(cfg), 2020, tmp_path / "out")


def test_raster_without_crs_is_an_error(basin, tmp_path):
    d, data = basin
    write_tif(d / "nocrs.tif", np.ones((10, 10), "float32"), None,
              Affine(30, 0, BX0, 0, -30, BY1))
    data["layers"]["dem"] = "nocrs.tif"
    cfg = cfg_of(d, data)
    out = tmp_path / "out"
    with pytest.raises(InputDataError, match="nocrs.tif: the raster has no coordinate"):
        local.acquire_static(cfg, local.grid_for(cfg), out)
    assert not out.exists() or not any(out.iterdir())


def test_raster_outside_basin_is_an_error(basin, tmp_path):
    d, data = basin
    write_tif(d / "far.tif", np.ones((10, 10), "float32"), UTM,
              Affine(30, 0, BX0 + 100_000, 0, -30, BY1))
    data["layers"]["plant_available_water"] = "far.tif"
    cfg = cfg_of(d, data)
    out = tmp_path / "out"
    with pytest.raises(InputDataError, match="far.tif: the raster .* does not overlap the basin"):
        local.acquire_static(cfg, local.grid_for(cfg), out)
    # dem came first in the layer order and succeeded, yet nothing is left behind
    assert not out.exists() or not any(out.iterdir())


def test_missing_file_and_missing_year(basin, tmp_path):
    d, data = basin
    data["layers"]["dem"] = "nope.tif"
    cfg = cfg_of(d, data)
    with pytest.raises(InputDataError, match="nope.tif: file not found \\(configured as "
                                             "layers.dem\\)"):
        local.acquire_static(cfg, local.grid_for(cfg), tmp_path / "out")
    with pytest.raises(ConfigError, match="layers.landcover.2021: no file for year 2021"):
        local.acquire_year(cfg, local.grid_for(cfg), 2021, tmp_path / "out")


def test_partial_coverage_leaves_nodata_outside(basin, tmp_path):
    d, data = basin
    g = Grid.from_bounds(UTM, (BX0, BY0, BX1, BY1), 30)
    half = g.width // 2
    write_tif(d / "half.tif", np.full((g.height, half), 700.0, "float32"), UTM, g.transform)
    data["layers"]["precipitation"] = {2020: "half.tif"}
    cfg = cfg_of(d, data)
    grid = local.grid_for(cfg)
    p = local.acquire_year(cfg, grid, 2020, tmp_path / "out")["precipitation"]
    with rasterio.open(p) as ds:
        arr = ds.read(1)
    X, _ = centres(grid)
    edge = g.x0 + 30 * half
    np.testing.assert_allclose(arr[X < edge - 30], 700.0)
    assert np.all(arr[X > edge + 30] == FLOAT_NODATA)


def test_global_wgs84_raster(basin, tmp_path):
    """A whole-world 0.05 deg grid (as CHIRPS or TerraClimate downloads come) has no finite
    extent in UTM; the overlap check and the resolution must still work."""
    d, data = basin
    res = 0.05
    w, h = int(360 / res), int(180 / res)
    lat = 90 - res * (np.arange(h) + 0.5)
    lon = -180 + res * (np.arange(w) + 0.5)
    p = precip_fn(lon[None, :], lat[:, None]).astype("float32")
    write_tif(d / "global.tif", p, "EPSG:4326", Affine(res, 0, -180, 0, -res, 90), -1.0)
    data["layers"]["precipitation"] = {2020: "global.tif"}
    cfg = cfg_of(d, data)
    grid = local.grid_for(cfg)
    arr, resampling = local.warp_to_grid(d / "global.tif", grid, categorical=False)
    assert resampling.name == "bilinear"  # ~5 km source onto 30 m
    X, Y = centres(grid)
    lon_, lat_ = from_utm("EPSG:4326").transform(X, Y)
    np.testing.assert_allclose(arr, precip_fn(lon_, lat_), rtol=1e-5)
