"""The demo basin: deterministic, Xin'an-like, with the land-cover change it promises."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio

from gep import acquire
from gep.config import load_config
from gep.sources import demo


@pytest.fixture(scope="module")
def basin():
    return demo._Basin(20240601, 120, 120)


def test_deterministic_from_seed(basin):
    again = demo._Basin(20240601, 120, 120)
    for y in (2020, 2023):
        assert np.array_equal(basin.landcover(y), again.landcover(y))
        assert np.array_equal(basin.precipitation(y, 1800), again.precipitation(y, 1800))
    other = demo._Basin(7, 120, 120)
    assert not np.array_equal(basin.landcover(2020), other.landcover(2020))


def test_worldcover_codes_and_parties(basin):
    lc = basin.landcover(2020)
    assert set(np.unique(lc)) <= {10, 20, 30, 40, 50, 60, 80, 90, 255}
    assert np.array_equal(lc == 255, ~basin.mask)
    # five parties partition the basin exactly; three upstream counties in the north
    assert set(np.unique(basin.parties[basin.mask])) == {1, 2, 3, 4, 5}
    assert (basin.parties[~basin.mask] == 0).all()
    rows = np.nonzero(basin.parties)[0]
    up_rows = rows[np.isin(basin.parties[basin.parties > 0], [1, 2, 3])]
    down_rows = rows[np.isin(basin.parties[basin.parties > 0], [4, 5])]
    assert up_rows.mean() < down_rows.mean()


def test_upstream_reforestation_and_downstream_urban_growth(basin):
    up = basin.mask & np.isin(basin.parties, [1, 2, 3])
    down = basin.mask & np.isin(basin.parties, [4, 5])
    tree = [np.mean(basin.landcover(y)[up] == 10) for y in range(2020, 2025)]
    built = [np.mean(basin.landcover(y)[down] == 50) for y in range(2020, 2025)]
    assert all(b > a for a, b in zip(tree, tree[1:]))
    assert all(b > a for a, b in zip(built, built[1:]))
    assert tree[0] > 0.6  # forest-dominated headwaters
    lc = basin.landcover(2020)
    assert np.mean(lc[down] == 40) > np.mean(lc[up] == 40)  # cropland downstream


def test_climate_is_xinan_like_and_varies(basin):
    means = {y: float(basin.precipitation(y, 1800)[basin.mask].mean()) for y in
             range(2020, 2025)}
    assert 1600 < np.mean(list(means.values())) < 2000  # about 1,800 mm a year
    assert means[2022] < 0.9 * means[2020]  # the 2022 drought
    # orographic: more rain on the hills
    p = basin.precipitation(2021, 1800)
    hi = basin.dem > np.percentile(basin.dem[basin.mask], 80)
    lo = basin.dem < np.percentile(basin.dem[basin.mask], 20)
    assert p[hi & basin.mask].mean() > p[lo & basin.mask].mean()


def test_same_basin_at_two_resolutions():
    small, large = demo._Basin(3, 100, 100), demo._Basin(3, 300, 300)
    for code in (10, 40, 50):
        fs = np.mean(small.landcover(2021)[small.mask] == code)
        fl = np.mean(large.landcover(2021)[large.mask] == code)
        assert fs == pytest.approx(fl, abs=0.04)


def test_acquire_writes_aligned_stack(tiny_config):
    cfg = load_config(tiny_config)
    acquire.acquire_parties(cfg)
    acquire.acquire_static(cfg)
    paths = acquire.acquire_year(cfg, 2021)
    grids = set()
    for name, p in paths.items():
        with rasterio.open(p) as ds:
            assert ds.nodata is not None, name
            assert ds.crs.to_epsg() == 32650
            grids.add((ds.transform, ds.shape))
    assert len(grids) == 1
    with rasterio.open(paths["landcover"]) as lc, rasterio.open(paths["threat_built"]) as tb:
        a, t = lc.read(1), tb.read(1)
    assert np.array_equal(t == 1, a == 50)  # threats derived from land cover
