"""The surrogates against InVEST 3.20.2 itself, per pixel, on a tiny demo basin."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio

from gep.config import load_config
from gep.invest import model_params, run_model
from gep.paths import Paths
from gep.tuning import surrogate as s

YEAR = 2020


@pytest.fixture(scope="module")
def basin(tiny_inputs):
    cfg = load_config(tiny_inputs)
    return cfg, Paths(cfg)


def invest_run(basin, model, tmp, **params):
    cfg, p = basin
    prm = model_params(cfg, model) | params
    return run_model(model, p.year_dir(YEAR), prm, tmp / f"{model}-{abs(hash(str(params)))}",
                     YEAR)


def read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.nodata, ds.transform


def rel_diff(a, b):
    """Per-pixel |a - b| / |b| where b != 0, |a - b| where b == 0 (computed here)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    d = np.abs(a - b)
    return np.where(b != 0, d / np.where(b == 0, 1, np.abs(b)), d)


def scaled_table(cfg, tmp, kc_scale=1.0, root_scale=1.0):
    df = pd.read_csv(cfg.path(cfg.models.annual_water_yield.biophysical_table))
    df["kc"] = df["kc"] * kc_scale
    df["root_depth"] = df["root_depth"] * root_scale
    out = tmp / f"bio_{kc_scale}_{root_scale}.csv"
    df.to_csv(out, index=False)
    return str(out)


@pytest.fixture(scope="module")
def reference(basin, tmp_path_factory):
    """InVEST water yield at the config's parameters: the surrogate's aligned inputs."""
    return invest_run(basin, "annual_water_yield", tmp_path_factory.mktemp("ref"))


@pytest.mark.parametrize("z, kc, root", [
    (5.0, 1.0, 1.0),       # the reference itself
    (1.0, 1.0, 1.0),       # InVEST's lowest Z
    (30.0, 1.0, 1.0),      # w capped at 5 almost everywhere
    (3.7, 1.25, 1.0),      # Kc scaled: the surrogate rebuilds PET and phi
    (12.5, 0.8, 0.6),      # both tables scaled
])
def test_water_yield_matches_invest_per_pixel(basin, reference, tmp_path, z, kc, root):
    cfg, p = basin
    table = cfg.path(cfg.models.annual_water_yield.biophysical_table)
    ws = invest_run(basin, "annual_water_yield", tmp_path, seasonality_constant=z,
                    biophysical_table=scaled_table(cfg, tmp_path, kc, root))
    inv, inv_nodata, inv_t = read(ws / "output" / "per_pixel" / "wyield.tif")
    params = {"seasonality_constant": z, "kc_scale": kc, "root_depth_scale": root}
    # from the reference run's intermediate/ folder (same extent as InVEST's output)
    sur_ws = s.WaterYieldSurrogate.from_workspace(reference, table)
    a = sur_ws.array(params)
    assert a.shape == inv.shape
    valid = inv != inv_nodata
    assert np.array_equal(a != s.AWY_NODATA, valid)
    assert valid.sum() > 1000
    assert rel_diff(a[valid], inv[valid]).max() < 1e-6
    # from the year's inputs (the full basin grid; InVEST's output is a clipped window of it)
    sur_in = s.WaterYieldSurrogate.from_inputs(p.year_dir(YEAR), table)
    full = sur_in.array(params)
    c = round((inv_t.c - sur_in.grid.x0) / sur_in.grid.pixel_size)
    r = round((sur_in.grid.y0 - inv_t.f) / sur_in.grid.pixel_size)
    win = full[r:r + inv.shape[0], c:c + inv.shape[1]]
    assert np.array_equal(win != s.AWY_NODATA, valid)
    assert rel_diff(win[valid], inv[valid]).max() < 1e-6


def test_water_yield_follows_the_documented_equations(basin, reference):
    """An independent float64 implementation of the Budyko/Fu equations (InVEST guide) agrees
    with the surrogate to float32 precision, and yields fall as Z rises."""
    cfg, p = basin
    table = pd.read_csv(cfg.path(cfg.models.annual_water_yield.biophysical_table))
    kc_of = dict(zip(table.lucode, table.kc))
    root_of = dict(zip(table.lucode, table.root_depth))
    veg_of = dict(zip(table.lucode, table.lulc_veg))
    d = p.year_dir(YEAR)
    lc = read(d / "landcover.tif")[0]
    P = read(d / "precipitation.tif")[0].astype(float)
    et0 = read(d / "reference_et.tif")[0].astype(float)
    soil = read(d / "root_restricting_depth.tif")[0].astype(float)
    pawc = read(d / "plant_available_water.tif")[0].astype(float)
    ok = (lc != 255) & (P > 0)
    sur = s.WaterYieldSurrogate.from_inputs(d, cfg.path(cfg.models.annual_water_yield
                                                         .biophysical_table))
    prev = None
    for z in (2.0, 6.0, 20.0):
        kc = np.vectorize(lambda c: kc_of.get(c, np.nan))(lc)
        pet = kc * et0
        veg = np.vectorize(lambda c: veg_of.get(c, 0))(lc) == 1
        awc = np.minimum(np.vectorize(lambda c: root_of.get(c, 1.0))(lc), soil) * pawc
        w = np.minimum(z * awc / P + 1.25, 5.0)
        aet_p = np.minimum(pet / P, 1 + pet / P - (1 + (pet / P) ** w) ** (1 / w))
        aet_p = np.where(veg, aet_p, np.minimum(P, pet) / P)
        expect = (1 - aet_p) * P
        got = sur.array({"seasonality_constant": z})
        assert np.allclose(got[ok], expect[ok], rtol=2e-4, atol=1e-2)
        if prev is not None:
            assert np.all(got[ok] <= prev[ok] + 1e-3)   # more AET with larger Z
            assert got[ok].sum() < prev[ok].sum()
        prev = got


def test_zonal_rows_match_zonal_year_on_invest_output(basin, tmp_path):
    from gep.zonal import zonal_year

    cfg, p = basin
    ws = invest_run(basin, "annual_water_yield", tmp_path, seasonality_constant=7.3)
    z = zonal_year(YEAR, p.year_dir(YEAR), p.party_file("parties.tif"),
                   p.party_file("parties.csv"), {"annual_water_yield": ws}, tmp_path / "z.csv")
    expect = pd.read_csv(z, float_precision="round_trip")
    expect = expect[expect.variable == "water_yield"]
    sur = s.WaterYieldSurrogate.from_inputs(p.year_dir(YEAR),
                                            cfg.path(cfg.models.annual_water_yield
                                                     .biophysical_table))
    (got,) = sur.zonal(YEAR, p.year_dir(YEAR), p.party_file("parties.tif"),
                       p.party_file("parties.csv"), [{"seasonality_constant": 7.3}])
    m = expect.merge(got, on=["party_id", "lucode"], validate="one_to_one")
    assert len(m) == len(expect) == len(got)
    assert np.allclose(m.quantity_x, m.quantity_y, rtol=1e-12, atol=0)
    assert (m.nodata_pixels_x == m.nodata_pixels_y).all()


@pytest.fixture(scope="module")
def hq_reference(basin, tmp_path_factory):
    return invest_run(basin, "habitat_quality", tmp_path_factory.mktemp("hqref"))


@pytest.mark.parametrize("k, weights", [
    (0.35, None),                                      # the reference
    (0.12, None),                                      # half-saturation only
    (0.5, {"built": 0.4, "crop": 0.9, "road": 0.6}),   # threat weights re-normalised
])
def test_habitat_quality_matches_invest_per_pixel(basin, hq_reference, tmp_path, k, weights):
    cfg, _ = basin
    params = {"half_saturation_constant": k}
    if weights:
        df = pd.read_csv(cfg.path(cfg.models.habitat_quality.threats_table))
        df["weight"] = df["threat"].map(weights)
        table = tmp_path / "threats.csv"
        df.to_csv(table, index=False)
        params["threats_table"] = str(table)
    ws = invest_run(basin, "habitat_quality", tmp_path, **params)
    inv, nodata, _ = read(ws / "quality_c.tif")
    sur = s.HabitatQualitySurrogate.from_workspace(hq_reference)
    a = sur.array(s.HabitatParams(k, tuple(weights.items()) if weights else None))
    valid = inv != nodata
    assert valid.sum() > 1000
    assert np.array_equal(a != s.F32_MAX, valid)
    assert rel_diff(a[valid], inv[valid]).max() < 1e-6


def test_check_refuses_a_surrogate_that_disagrees(basin, reference):
    """The check compares with what InVEST wrote: a surrogate at another Z must fail it."""
    cfg, _ = basin
    sur = s.WaterYieldSurrogate.from_workspace(
        reference, cfg.path(cfg.models.annual_water_yield.biophysical_table))
    good = s.check_water_yield(sur, reference, {"seasonality_constant": 5.0})
    assert good.ok and good.max_rel_diff < 1e-6
    bad = s.check_water_yield(sur, reference, {"seasonality_constant": 5.5})
    assert not bad.ok
    with pytest.raises(s.SurrogateError, match="disagrees with InVEST"):
        s.require(bad)
