"""The layers every source gets derived (threats, erosivity, erodibility) against the formulas
evaluated independently, whole-raster, in the test."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio

from gep.acquire import DEFAULT_ERODIBILITY, derive_layers, renard_freimund
from gep.sources.base import FLOAT_NODATA, Grid, write_raster

GRID = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, 300, 700)  # two 512-row strips


def _renard_freimund_reference(p):
    return np.where(p <= 850, 0.0483 * np.power(np.maximum(p, 0), 1.61),
                    587.8 - 1.219 * p + 0.004105 * p * p)


@pytest.mark.parametrize("n", [1, 7, 8, 17, 1000, 4099])
def test_renard_freimund_bit_for_bit_the_two_branch_formula(n):
    rng = np.random.default_rng(n)
    p = rng.uniform(-50, 2500, n)
    p[::5] = rng.uniform(0, 850, len(p[::5]))
    p[0] = 850.0
    with np.errstate(invalid="ignore"):
        want = _renard_freimund_reference(p)
    got = renard_freimund(p.copy())
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))


def test_derived_layers_equal_the_formulas(tmp_path):
    rng = np.random.default_rng(4)
    shape = (GRID.height, GRID.width)
    lc = rng.choice(np.array([10, 20, 30, 40, 50, 80, 255], np.uint8), size=shape)
    rain = rng.uniform(300, 2400, shape).astype(np.float32)
    rain[rng.random(shape) < 0.03] = FLOAT_NODATA
    roads = (rng.random(shape) < 0.1).astype(np.uint8)
    write_raster(tmp_path / "landcover.tif", lc, GRID, 255)
    write_raster(tmp_path / "precipitation.tif", rain, GRID, FLOAT_NODATA)
    write_raster(tmp_path / "roads.tif", roads, GRID, 255)
    out = derive_layers(tmp_path, tmp_path / "roads.tif")

    valid = lc != 255
    p = rain.astype(np.float64)
    want = {
        "threat_built": np.where(valid & (lc == 50), 1.0, 0.0).astype(np.float32),
        "threat_crop": np.where(valid & (lc == 40), 1.0, 0.0).astype(np.float32),
        "threat_road": np.where(valid & (roads == 1), 1.0, 0.0).astype(np.float32),
        "erosivity": np.where(valid & (rain != FLOAT_NODATA), _renard_freimund_reference(p),
                              FLOAT_NODATA).astype(np.float32),
        "erodibility": np.where(valid, DEFAULT_ERODIBILITY, FLOAT_NODATA).astype(np.float32),
    }
    for name, arr in want.items():
        with rasterio.open(out[name]) as ds:
            got = ds.read(1)
            assert ds.dtypes[0] == "float32"
            assert ds.nodata == (-1.0 if name.startswith("threat") else FLOAT_NODATA)
        assert np.array_equal(got, arr), name
