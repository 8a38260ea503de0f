"""The reference climate and the reference-climate water yield (surrogate vs InVEST)."""
from __future__ import annotations

import numpy as np
import pytest
import rasterio
import yaml

from gep import acquire
from gep.attribution.climate import mean_raster, reference_climate, same_raster
from gep.attribution.reference import _water_yield_surrogate
from gep.config import load_config
from gep.errors import ConfigError
from gep.invest import model_params, run_model
from gep.paths import Paths
from gep.tuning.surrogate import AWY_NODATA, compare
from gep.sources.base import Grid


@pytest.fixture(scope="module")
def basin(tmp_path_factory, config_copy):
    root = tmp_path_factory.mktemp("refbasin")
    cfg = load_config(config_copy(root, demo={"rows": 48, "cols": 48}, years=[2020, 2021, 2022]))
    acquire.acquire_parties(cfg)
    acquire.acquire_static(cfg)
    for y in cfg.years:
        acquire.acquire_year(cfg, y)
    reference_climate(cfg)
    return cfg


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.nodata


def test_reference_climate_is_the_per_pixel_mean(basin):
    p = Paths(basin)
    for name in ("precipitation", "reference_et", "erosivity"):
        stack = [_read(p.year_file(y, name)) for y in basin.years]
        ref, nod = _read(p.reference_file(name))
        valid = np.all([a != n for a, n in stack], axis=0)
        want = np.mean([a.astype(np.float64) for a, _ in stack], axis=0).astype(np.float32)
        assert np.array_equal(ref[valid], want[valid])
        assert (ref[~valid] == nod).all()
    # the years differ (2022 is the demo's drought year), so the mean differs from each
    assert not same_raster(p.year_file(2022, "precipitation"), p.reference_file("precipitation"))


def test_mean_of_identical_years_is_the_year_itself(basin, tmp_path):
    src = Paths(basin).year_file(2021, "precipitation")
    out = mean_raster([src, src, src], tmp_path / "m.tif")
    assert same_raster(src, out)


def test_surrogate_reference_water_yield_equals_invest_per_pixel(basin, tmp_path):
    """The reference-climate water yield the pipeline takes from the surrogate equals a real
    InVEST run on the same land cover and reference climate, pixel by pixel."""
    p = Paths(basin)
    year = 2022
    ws_sur = _water_yield_surrogate(basin, p, year, tmp_path / "sur")
    ws_inv = run_model("annual_water_yield", p.year_dir(year),
                       model_params(basin, "annual_water_yield"), tmp_path / "inv", year,
                       overrides={"precipitation_path": str(p.reference_file("precipitation")),
                                  "eto_path": str(p.reference_file("reference_et"))})
    sur = ws_sur / "output" / "per_pixel" / "wyield.tif"
    inv = ws_inv / "output" / "per_pixel" / "wyield.tif"
    arr, _ = _read(sur)
    n, mask_mismatch, max_abs, max_rel = compare(arr, inv, Grid.from_raster(sur), AWY_NODATA)
    assert n > 1000 and mask_mismatch == 0
    assert max_abs == 0.0, (max_abs, max_rel)
    # and it is not the actual year's water yield (the climate did change)
    actual = run_model("annual_water_yield", p.year_dir(year),
                       model_params(basin, "annual_water_yield"), tmp_path / "act", year)
    n2, _, diff, _ = compare(arr, actual / "output" / "per_pixel" / "wyield.tif",
                             Grid.from_raster(sur), AWY_NODATA)
    assert diff > 1.0


@pytest.mark.parametrize("ref, problem", [([2019], "2019 is not one of the configured years"),
                                          ([], "empty"), ([2020, 2020], "twice")])
def test_reference_years_outside_years_are_refused(config_factory, ref, problem):
    path = config_factory(years=[2020, 2021], attribution={"reference_years": ref})
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert problem in str(exc.value)
    assert "attribution" in exc.value.key or "attribution" in exc.value.problem


def test_reference_years_default_to_all_years(config_factory):
    cfg = load_config(config_factory(years=[2020, 2021, 2023]))
    assert cfg.reference_years == [2020, 2021, 2023]
    data = yaml.safe_load(open(config_factory(years=[2020, 2021, 2023],
                                              attribution={"reference_years": [2021]})))
    assert data["attribution"] == {"reference_years": [2021]}


def test_runoff_table_holds_annual_ratios_and_excludes_built_up_and_bare(repo):
    from decimal import Decimal

    import pandas as pd

    from gep.valuation import load_runoff, value_year

    path = repo / "config" / "tables" / "runoff_coefficients.csv"
    runoff = load_runoff(path)
    assert runoff[50] is None and runoff[60] is None        # outside the GEP ecosystems
    # annual surface-runoff ratios, not design-storm peak-flow coefficients (0.2-0.95)
    assert all(a < Decimal("0.2") for a in runoff.values() if a is not None)
    assert runoff[40] is not None and runoff[10] < runoff[40]
    # a party of built-up land only: water yield is reported, water conservation is 0
    z = pd.DataFrame({"year": 2021, "party_id": "city", "lucode": [50, 50],
                      "variable": ["water_yield", "precipitation"],
                      "quantity": [1000.0, 1800.0], "unit": "m3", "nodata_pixels": 0})
    from gep.valuation import load_prices

    rows = value_year(z, load_prices(repo / "config" / "prices.yaml"), runoff)
    got = {r["service"]: r for r in rows}
    assert got["water_yield"]["quantity"] == "1000.000"
    assert got["water_conservation"]["quantity"] == "0.000"
    assert got["water_conservation"]["value_cny_constant"] == "0.00"


def test_runoff_table_rejects_a_bad_flag(tmp_path):
    from gep.errors import InputDataError
    from gep.valuation import load_runoff

    p = tmp_path / "r.csv"
    p.write_text("lucode,runoff_coefficient,water_conservation\n10,0.02,yes\n50,0.1,maybe\n")
    with pytest.raises(InputDataError) as exc:
        load_runoff(p)
    assert exc.value.line == 3 and exc.value.field == "water_conservation"


@pytest.fixture(scope="module")
def reused(basin):
    """Year 2022's actual runs (habitat quality is climate-independent: the reference run
    reuses it) and its zonal table, as the pipeline leaves them before `gep reference`."""
    from gep.zonal import zonal_year

    p, year = Paths(basin), 2022
    for model in ("annual_water_yield", "habitat_quality"):
        run_model(model, p.year_dir(year), model_params(basin, model),
                  p.workspace(year, model), year, report=False)
    zonal_year(year, p.year_dir(year), p.parties_tif, p.parties_csv,
               {m: p.workspace(year, m) for m in ("annual_water_yield", "habitat_quality")},
               p.zonal(year))
    return p, year


def _full_reference_zonal(p, year, tmp_path):
    """Every variable summed over the reference workspaces (the path without reuse)."""
    from gep.zonal import zonal_year

    return zonal_year(year, p.year_dir(year), p.parties_tif, p.parties_csv,
                      {"annual_water_yield": p.reference_workspace(year, "annual_water_yield"),
                       "habitat_quality": p.workspace(year, "habitat_quality")},
                      tmp_path / "full.csv",
                      input_files={"precipitation": p.reference_file("precipitation")})


def test_reference_zonal_takes_reused_models_from_the_year_table(basin, reused, tmp_path,
                                                                 monkeypatch):
    """`gep reference` sums only the area, the reference precipitation and the re-run models;
    habitat quality's rows come from the year's zonal table. The file is byte for byte the
    one summing every variable."""
    import gep.zonal
    from gep.attribution.reference import reference_year

    p, year = reused
    summed = []
    real = gep.zonal.zonal_year
    monkeypatch.setattr(gep.zonal, "zonal_year",
                        lambda *a, **k: summed.append(sorted(a[4])) or real(*a, **k))
    out = reference_year(basin, year, p)
    assert summed == [["annual_water_yield"]]
    monkeypatch.undo()
    want = _full_reference_zonal(p, year, tmp_path)
    assert out.read_bytes() == want.read_bytes()
    text = out.read_text()
    assert ",habitat_quality," in text and ",water_yield," in text
    # habitat quality is the year's own, water yield and precipitation are not
    own = p.zonal(year).read_text().splitlines()
    ref = text.splitlines()
    assert [r for r in ref if ",habitat_quality," in r] == \
        [r for r in own if ",habitat_quality," in r]
    assert [r for r in ref if ",water_yield," in r] != [r for r in own if ",water_yield," in r]


def test_reference_zonal_sums_everything_without_a_usable_year_table(basin, reused, tmp_path):
    """A missing year table, or one with other bins (stale), is not trusted: every variable
    is summed, with the same result."""
    from gep.attribution.reference import reference_zonal

    p, year = reused
    want = _full_reference_zonal(p, year, tmp_path).read_bytes()
    workspaces = {"annual_water_yield": p.reference_workspace(year, "annual_water_yield"),
                  "habitat_quality": p.workspace(year, "habitat_quality")}
    table = p.zonal(year)
    saved = table.read_text()
    try:
        lines = saved.splitlines(keepends=True)
        table.write_text("".join(lines[:1] + lines[2:]))        # one bin fewer
        assert reference_zonal(p, year, workspaces, ["habitat_quality"]).read_bytes() == want
        table.unlink()
        assert reference_zonal(p, year, workspaces, ["habitat_quality"]).read_bytes() == want
    finally:
        table.write_text(saved)


def test_reference_zonal_sums_water_yield_again_when_reused(basin, reused, tmp_path):
    """Water yield reused (a year whose climate is the reference's) still masks the reference
    precipitation, as in the full pass: it is summed again, not taken from the year table."""
    from gep.attribution.reference import reference_zonal
    from gep.zonal import zonal_year

    import shutil

    p, year = reused
    # water yield missing at some pixels where precipitation is valid (a hole in the output)
    awy = shutil.copytree(p.workspace(year, "annual_water_yield"), tmp_path / "awy")
    wyield = awy / "output" / "per_pixel" / "wyield.tif"
    with rasterio.open(wyield, "r+") as ds:
        arr = ds.read(1)
        arr[10:20, 10:20] = ds.nodata
        ds.write(arr, 1)
    workspaces = {"annual_water_yield": awy,
                  "habitat_quality": p.workspace(year, "habitat_quality")}
    want = zonal_year(year, p.year_dir(year), p.parties_tif, p.parties_csv, workspaces,
                      tmp_path / "full.csv",
                      input_files={"precipitation": p.reference_file("precipitation")})
    got = reference_zonal(p, year, workspaces, ["annual_water_yield", "habitat_quality"])
    assert got.read_bytes() == want.read_bytes()
