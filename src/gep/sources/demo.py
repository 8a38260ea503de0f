"""The built-in demo basin: a deterministic synthetic subtropical basin, generated offline.

It is modelled on the Xin'an River (新安江) above and below the Anhui-Zhejiang boundary: about
1,800 mm of rain a year falling more on the hills, forest-dominated mountainous headwaters split
between three upstream counties, and a lower basin of cropland, a reservoir, wetlands and a
growing city shared by two downstream parties. The river runs from the northern headwaters to an
outlet on the southern edge; the boundary section lies where it leaves the upstream counties.

Everything is a pure function of ``(seed, rows, cols, year)``: large-scale patterns are drawn on
a fixed 64 x 64 lattice and interpolated, so a 200 x 200 and a 4000 x 4000 demo show the same
basin at different resolutions. Land cover changes year by year (upstream reforestation of
cropland and grassland, downstream urban growth) and so does climate (a wet/dry factor per year,
2022 a drought year as on the real Yangtze).

Land cover follows the ESA WorldCover legend; see ``config/tables/`` for the parameters.
"""
from __future__ import annotations

import functools
import hashlib
import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from rasterio import features
from scipy import ndimage

from gep.paths import Paths
from gep.sources.base import FLOAT_NODATA, LANDCOVER_NODATA, Grid, write_raster

if TYPE_CHECKING:  # vectors only for the parties: the year and static jobs import no geopandas
    import geopandas as gpd

LOG = logging.getLogger(__name__)

#: The demo's parties, in raster-label order (label = index + 1).
PARTIES = [
    dict(party_id="shanyuan", name="Shanyuan County", name_zh="山源县", role="upstream",
         province="Anhui"),
    dict(party_id="linxi", name="Linxi County", name_zh="林溪县", role="upstream",
         province="Anhui"),
    dict(party_id="yunling", name="Yunling County", name_zh="云岭县", role="upstream",
         province="Anhui"),
    dict(party_id="xiahe", name="Xiahe City", name_zh="下河市", role="downstream",
         province="Zhejiang"),
    dict(party_id="nanzhou", name="Nanzhou District", name_zh="南洲区", role="downstream",
         province="Zhejiang"),
]
FIRST_YEAR = 2020  # land-cover change accumulates from here
#: Year-on-year wet/dry factors on precipitation (2022: the Yangtze drought).
_CLIMATE = {2018: 1.04, 2019: 1.10, 2020: 1.12, 2021: 0.95, 2022: 0.80, 2023: 0.98, 2024: 1.07}
_LATTICE = 64


def grid_for(cfg) -> Grid:
    d = cfg.demo
    return Grid(cfg.grid.crs, d.origin_x, d.origin_y, cfg.grid.pixel_size, d.cols, d.rows)


# -- deterministic fields ---------------------------------------------------------------------
def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, *stream])


def _smooth(seed: int, stream: int, shape_: tuple[int, int], sigma: float = 3.0) -> np.ndarray:
    """Zero-mean, unit-sd smooth noise with resolution-independent structure."""
    lat = ndimage.gaussian_filter(_rng(seed, stream).standard_normal((_LATTICE, _LATTICE)),
                                  sigma, mode="wrap")
    lat = (lat - lat.mean()) / lat.std()
    return _zoom_linear(lat, shape_)


def _axis_weights(n_in: int, n_out: int):
    """Source indexes and weights of linear interpolation along one axis, computed as
    scipy.ndimage's zoom_shift does (grid_mode, mode 'nearest'), operation for operation."""
    cc = np.arange(n_out, dtype=np.float64)
    cc += 0.5
    cc *= n_in / n_out
    cc -= 0.5
    np.clip(cc, 0.0, n_in - 1.0, out=cc)
    floor = np.floor(cc)
    i0 = floor.astype(np.intp)
    w0 = 1.0 - (cc - floor)
    return i0, np.minimum(i0 + 1, n_in - 1), w0, 1.0 - w0


def _zoom_linear(lat: np.ndarray, shape_: tuple[int, int], block_rows: int = 16) -> np.ndarray:
    """``ndimage.zoom(lat, shape_ / lat.shape, order=1, mode="nearest", grid_mode=True)`` as
    float32, bit for bit, about 5x cheaper: the same products ``(value x row weight) x column
    weight`` summed in the same order, the row weights applied on the small lattice and the
    output built in cache-sized row blocks."""
    (yi0, yi1, wy0, wy1) = _axis_weights(lat.shape[0], shape_[0])
    (xi0, xi1, wx0, wx1) = _axis_weights(lat.shape[1], shape_[1])
    out = np.empty(shape_, np.float32)
    for r0 in range(0, shape_[0], block_rows):
        s = slice(r0, r0 + block_rows)
        top = lat[yi0[s]] * wy0[s, None]
        bottom = lat[yi1[s]] * wy1[s, None]
        t = top[:, xi0] * wx0
        t += top[:, xi1] * wx1
        t += bottom[:, xi0] * wx0
        t += bottom[:, xi1] * wx1
        out[s] = t
    return out


def _coords(shape_: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised pixel-centre coordinates: v runs 0 (north) to 1 (south), u 0 (west) to 1."""
    rows, cols = shape_
    v = ((np.arange(rows, dtype=np.float32) + 0.5) / rows)[:, None]
    u = ((np.arange(cols, dtype=np.float32) + 0.5) / cols)[None, :]
    return v, u


def _river_u(v: np.ndarray) -> np.ndarray:
    """Horizontal position of the main river at height v: a meander down the middle."""
    return 0.5 + 0.08 * np.sin(2 * np.pi * (1.3 * v + 0.1)) + 0.04 * np.sin(2 * np.pi * 3.1 * v)


class _stored:
    """A field no year changes, computed once for all year jobs: like ``cached_property``, and
    also kept in the basin's field store (``<name>.npy``), where another job loads it instead
    of computing it again. A file that cannot be read is computed again."""

    def __init__(self, func):
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, basin, owner=None):
        if basin is None:
            return self
        value = basin.load(self.name)
        if value is None:
            value = self.func(basin)
            basin.save(self.name, value)
        basin.__dict__[self.name] = value   # from now on found before this descriptor
        return value


class _Basin:
    """Static fields of the demo basin, computed once per (seed, shape), each when first used:
    a year job needs no party boundaries or roads, the static job no land-cover noise.

    The fields every year's land cover and climate start from (:class:`_stored`) are also
    kept in ``store`` when one is given: each year job is a process of its own, and at 4000 x
    4000 computing them took 2.6 of a year job's 7 CPU s. The folder's name is
    :func:`store_key` (seed, shape, this module's code, numpy's and scipy's versions), so a
    changed generator or library never reads an older basin's fields."""

    def __init__(self, seed: int, rows: int, cols: int, store: Path | None = None):
        self.seed, self.shape = seed, (rows, cols)
        self.store = Path(store) if store is not None else None
        self.v, self.u = _coords(self.shape)

    def load(self, name: str) -> np.ndarray | None:
        path = self.store / f"{name}.npy" if self.store is not None else None
        if path is None or not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:      # unreadable: computed again (and rewritten)
            LOG.warning("demo field %s: %s; computing it again", path, exc)
            return None

    def save(self, name: str, value: np.ndarray) -> None:
        """Write ``<store>/<name>.npy`` atomically (two jobs may write the same field at once;
        both write the same bytes). A store that cannot be written only costs the time."""
        if self.store is None:
            return
        from gep.io import atomic_path

        try:
            _forget_other_stores(self.store)
            with atomic_path(self.store / f"{name}.npy") as tmp, open(tmp, "wb") as fh:
                np.save(fh, value, allow_pickle=False)
        except OSError as exc:
            LOG.warning("demo field store %s not written: %s", self.store, exc)

    @_stored
    def mask(self) -> np.ndarray:
        """Basin outline: a lobed blob, wider in the headwaters."""
        v, u = self.v, self.u
        ru = 0.47 + 0.03 * _smooth(self.seed, 2, self.shape, 5)
        dist = np.sqrt(((u - 0.5) / (ru * (1.0 - 0.25 * v))) ** 2 + ((v - 0.5) / 0.49) ** 2)
        return dist <= 1.0

    @_stored
    def river_d(self) -> np.ndarray:
        """River distance (in normalised units)."""
        return np.abs(self.u - _river_u(self.v))

    @_stored
    def dem(self) -> np.ndarray:
        """Elevation: high northern mountains falling to the southern plain; V-shaped valley."""
        v = self.v
        n1 = _smooth(self.seed, 1, self.shape)
        relief = 1250.0 * (1.0 - v) ** 1.3 + 40.0
        valley = np.clip(self.river_d / 0.25, 0, 1) ** 0.7
        dem = relief * (0.35 + 0.65 * valley) + 60.0 * n1 * (1.0 - v) + 25.0
        return np.maximum(dem, 5.0).astype(np.float32)

    @_stored
    def _up(self) -> np.ndarray:
        """Upstream/downstream split at v ~ 0.6."""
        v, u = self.v, self.u
        split_v = 0.60 + 0.03 * np.sin(2 * np.pi * 2 * u) + 0.015 * _smooth(self.seed, 3,
                                                                            self.shape)
        return v < split_v

    @cached_property
    def parties(self) -> np.ndarray:
        """Party labels: upstream/downstream, then by longitude; 0 outside the basin."""
        v, u, seed, up = self.v, self.u, self.seed, self._up
        c1 = 0.36 + 0.03 * np.sin(2 * np.pi * 2.5 * v) + 0.02 * _smooth(seed, 4, self.shape)
        c2 = 0.64 + 0.03 * np.cos(2 * np.pi * 2.0 * v) + 0.02 * _smooth(seed, 5, self.shape)
        c3 = 0.52 + 0.04 * np.sin(2 * np.pi * 1.5 * v) + 0.02 * _smooth(seed, 6, self.shape)
        label = np.where(up, np.where(u < c1, 1, np.where(u < c2, 2, 3)),
                         np.where(u < c3, 4, 5)).astype(np.int16)
        return np.where(self.mask, label, 0).astype(np.int16)

    @_stored
    def upstream(self) -> np.ndarray:
        return self.mask & self._up

    @_stored
    def city_d(self) -> np.ndarray:
        """Distance to the downstream city centre."""
        return np.sqrt(((self.u - 0.62) / 1.0) ** 2 + ((self.v - 0.86) / 0.8) ** 2)

    @_stored
    def reservoir(self) -> np.ndarray:
        v = self.v
        return self.mask & (np.sqrt(((self.u - _river_u(v)) / 0.07) ** 2
                                    + ((v - 0.70) / 0.05) ** 2) < 1.0)

    @_stored
    def n_lc(self) -> np.ndarray:
        return _smooth(self.seed, 7, self.shape, 2.0)

    @_stored
    def n_fine(self) -> np.ndarray:
        return _rng(self.seed, 8).random(self.shape, dtype=np.float32)

    @_stored
    def n_reforest(self) -> np.ndarray:
        return _rng(self.seed, 9).random(self.shape, dtype=np.float32)

    @_stored
    def n_urban(self) -> np.ndarray:
        return _smooth(self.seed, 10, self.shape, 1.5)

    @cached_property
    def roads(self) -> np.ndarray:
        """Roads: along the river at a small offset, and one east-west road through the city."""
        v, u = self.v, self.u
        rows, cols = self.shape
        road_river = np.abs(self.river_d - 0.03) < (0.6 / cols + 0.002)
        road_ew = np.abs(v - 0.86 - 0.02 * np.sin(2 * np.pi * 3 * u)) < (0.6 / rows + 0.002)
        return self.mask & (road_river | road_ew)

    # -- land cover --------------------------------------------------------------------------
    def landcover(self, year: int) -> np.ndarray:
        rd, n, f = self.river_d, self.n_lc, self.n_fine
        elev = (self.dem - self.dem.min()) / (np.ptp(self.dem) + 1e-9)
        lc = np.full(self.shape, 10, np.uint8)  # tree
        score = 0.9 * n + 1.2 * elev  # low where valleys and noise favour open land
        lc[(score < 0.10) & (f < 0.55)] = 20  # shrub
        lc[(score < -0.30)] = 30  # grass
        valley = rd < 0.06 + 0.02 * n
        lc[valley & (score < 0.55)] = 40  # terraced crops in the valleys
        lc[(rd < 0.03) & (f < 0.04)] = 50  # villages
        lc[(score < -1.4) & (f < 0.3)] = 60  # bare rock / quarry
        down = ~self.upstream & self.mask
        lc[down & (score < 0.9)] = 40
        lc[down & (rd < 0.05) & (n > 0.6)] = 90  # riverine wetland
        # growing city: radius expands 4 % a year from FIRST_YEAR
        growth = max(0, year - FIRST_YEAR)
        radius = 0.11 * (1.0 + 0.04 * growth)
        lc[down & (self.city_d + 0.02 * self.n_urban < radius)] = 50
        # upstream reforestation (Grain-for-Green): 6 % of open land per year, fixed order
        if growth:
            open_up = self.upstream & np.isin(lc, (20, 30, 40)) & ~valley
            lc[open_up & (self.n_reforest < 0.06 * growth)] = 10
        # water last: the river and the reservoir
        lc[rd < max(0.006, 1.2 / self.shape[1])] = 80
        lc[self.reservoir] = 80
        lc[~self.mask] = LANDCOVER_NODATA
        return lc

    # -- climate and soils --------------------------------------------------------------------
    def precipitation(self, year: int, mean_mm: float) -> np.ndarray:
        factor = _CLIMATE.get(year, 1.0 + 0.1 * float(_rng(self.seed, 20, year).standard_normal()))
        elev = self.dem / self.dem.max()
        pattern = 0.85 + 0.3 * elev + 0.05 * _smooth(self.seed, 21, self.shape, 4)
        p = mean_mm * factor * pattern / pattern[self.mask].mean()
        p += _rng(self.seed, 22, year).normal(0, 8, self.shape)
        return p.astype(np.float32)

    def reference_et(self, year: int) -> np.ndarray:
        factor = _CLIMATE.get(year, 1.0)
        # drier years are sunnier: ET0 rises by a third of the rain deficit
        et0 = (920.0 - 0.12 * self.dem) * (1.0 + (1.0 - factor) / 3.0)
        return (et0 + 10.0 * _smooth(self.seed, 23, self.shape)).astype(np.float32)

    def root_depth(self) -> np.ndarray:
        slope = np.hypot(*np.gradient(self.dem))
        d = 1600.0 - 6.0 * slope / max(float(slope.max()), 1e-6) * 100 \
            + 200.0 * _smooth(self.seed, 24, self.shape)
        return np.clip(d, 250.0, 2000.0).astype(np.float32)

    def pawc(self) -> np.ndarray:
        return np.clip(0.14 + 0.03 * _smooth(self.seed, 25, self.shape), 0.05, 0.3) \
            .astype(np.float32)

    def redline(self) -> np.ndarray:
        """Ecological red-line zone: upstream headwater forests and a riparian buffer."""
        elev = self.dem / self.dem.max()
        zone = self.upstream & ((elev > 0.55) | (self.river_d < 0.05))
        return zone.astype(np.uint8)


_CACHE: dict[tuple, _Basin] = {}
#: the field stores of a results folder: ``<static inputs>/.demo-fields/<store_key>/``
STORES = ".demo-fields"


@functools.lru_cache(maxsize=8)
def store_key(seed: int, rows: int, cols: int) -> str:
    """Names the stored fields of one demo basin computed by one version of the code (hashed
    once per process: every ``_basin`` call asks for it)."""
    import scipy

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(repr((seed, rows, cols, np.__version__, scipy.__version__)).encode())
    return h.hexdigest()[:24]


def _forget_other_stores(store: Path) -> None:
    """Remove the stores of other basins or older code beside ``store`` (best effort)."""
    import shutil

    if store.is_dir():
        return
    for other in store.parent.glob("*") if store.parent.is_dir() else ():
        if other.is_dir() and other.name != store.name:
            shutil.rmtree(other, ignore_errors=True)


def _basin(cfg) -> _Basin:
    key = (cfg.demo.seed, cfg.demo.rows, cfg.demo.cols)
    store = Paths(cfg).static_dir / STORES / store_key(*key)
    if (key, store) not in _CACHE:
        _CACHE.clear()
        _CACHE[(key, store)] = _Basin(*key, store=store)
    return _CACHE[(key, store)]


def _masked(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, a, FLOAT_NODATA).astype(np.float32)


# -- the source interface ---------------------------------------------------------------------
def acquire_parties(cfg, out_dir: Path) -> Path:
    """Polygonise the party labels: parties.gpkg (one polygon per party)."""
    import geopandas as gpd
    from shapely.geometry import shape
    from shapely.ops import unary_union

    b, grid = _basin(cfg), grid_for(cfg)
    geoms: dict[int, list] = {}
    for geom, val in features.shapes(b.parties, mask=b.parties > 0, transform=grid.transform):
        geoms.setdefault(int(val), []).append(shape(geom))
    rows = []
    for i, party in enumerate(PARTIES, start=1):
        rows.append(dict(party, geometry=unary_union(geoms[i])))
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=grid.crs)
    return _write_vector(gdf, Paths.InputFiles(out_dir).parties_gpkg)


def _write_vector(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    from gep.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.unlink()
        gdf.to_file(tmp, driver="GPKG", layer=path.stem)
    return path


def acquire_static(cfg, grid: Grid, out_dir: Path) -> dict[str, Path]:
    b = _basin(cfg)
    out_dir = Path(out_dir)
    m = b.mask
    layers = {
        "dem": _masked(b.dem, m),
        "root_restricting_depth": _masked(b.root_depth(), m),
        "plant_available_water": _masked(b.pawc(), m),
    }
    files = Paths.LayerFiles(out_dir)
    paths = {k: write_raster(files.layer(k), a, grid, FLOAT_NODATA) for k, a in
             layers.items()}
    paths["roads"] = write_raster(files.layer("roads"), b.roads.astype(np.uint8), grid, 255)
    return paths


def acquire_redline(cfg, grid: Grid, out_dir: Path) -> Path:
    return write_raster(Paths.InputFiles(out_dir).redline_tif, _basin(cfg).redline(), grid, 255)


def acquire_year(cfg, grid: Grid, year: int, out_dir: Path) -> dict[str, Path]:
    b = _basin(cfg)
    files = Paths.LayerFiles(out_dir)
    m = b.mask
    return {
        "landcover": write_raster(files.layer("landcover"), b.landcover(year), grid,
                                  LANDCOVER_NODATA, "uint8"),
        "precipitation": write_raster(files.layer("precipitation"),
                                      _masked(b.precipitation(year, cfg.demo.mean_precipitation_mm),
                                              m), grid, FLOAT_NODATA),
        "reference_et": write_raster(files.layer("reference_et"),
                                     _masked(b.reference_et(year), m), grid, FLOAT_NODATA),
    }
