"""SDR and NDR under the reference climate from the actual run's intermediates (issue 17):
equal to a full InVEST run on the reference climate, pixel by pixel and to the fen; a full
InVEST run whenever the actual run cannot be reused."""
from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
import rasterio

from gep import acquire, models
from gep.attribution.climate import reference_climate, same_raster
from gep.attribution.reference import reference_year
from gep.attribution.surrogates import Unavailable, reference_run, reference_surrogate
from gep.config import load_config
from gep.invest import model_params, run_model
from gep.paths import Paths
from gep.zonal import zonal_year

YEAR = 2022      # the demo's drought year: its climate is far from the 3-year mean
MODELS = ("sdr", "ndr")


def _full_reference(cfg, p, model, workspace):
    """InVEST itself on the year's inputs with the reference climate layer."""
    climate = models.get(model).climate
    return run_model(model, p.year_dir(YEAR), model_params(cfg, model), workspace, YEAR,
                     overrides={arg: str(p.reference_file(n)) for n, arg in climate.items()})


@pytest.fixture(scope="module", params=["MFD", "D8"])
def basin(request, tmp_path_factory, config_copy):
    """A 48 x 48 demo basin with SDR and NDR only, its actual runs of YEAR and full InVEST
    reference runs (the ground truth)."""
    root = tmp_path_factory.mktemp(f"surrogate_{request.param}")
    section = {"enabled": True, "threshold_flow_accumulation": 40,
               "flow_dir_algorithm": request.param}
    cfg = load_config(config_copy(
        root, demo={"rows": 48, "cols": 48}, years=[2020, 2021, YEAR],
        models={"annual_water_yield": {"enabled": False},
                "habitat_quality": {"enabled": False}, "sdr": section, "ndr": section}))
    acquire.acquire_parties(cfg)
    acquire.acquire_static(cfg)
    for y in cfg.years:
        acquire.acquire_year(cfg, y)
    reference_climate(cfg)
    p = Paths(cfg)
    full = {}
    for m in MODELS:
        run_model(m, p.year_dir(YEAR), model_params(cfg, m), p.workspace(YEAR, m), YEAR)
        full[m] = _full_reference(cfg, p, m, root / "full" / m)
    return cfg, p, full


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1), ds.nodata


@pytest.mark.parametrize("model", MODELS)
def test_surrogate_equals_invest_per_pixel(basin, model, tmp_path):
    cfg, p, full = basin
    ws = reference_surrogate(cfg, p, YEAR, model, tmp_path / model)
    record = json.loads((ws / Paths.REFERENCE_RECORD).read_text())
    assert record["method"] == "surrogate" and record["model"] == model
    adapter = models.get(model)
    for key in adapter.outputs:
        got, nodata = _read(adapter.output(ws, key))
        want, want_nodata = _read(adapter.output(full[model], key))
        actual, _ = _read(adapter.output(p.workspace(YEAR, model), key))
        valid = want != want_nodata
        assert valid.sum() > 1000, key
        assert nodata == want_nodata and got.dtype == want.dtype
        # same float32 / float64 bits: InVEST's own functions on the same inputs
        assert np.array_equal(got, want), (key, float(np.abs(got - want)[valid].max()))
        # and the reference climate did change the result
        assert not np.array_equal(got[valid], actual[valid]), key
    # only the valued outputs and the record are left in the workspace
    files = {f.relative_to(ws).as_posix() for f in ws.rglob("*") if f.is_file()}
    assert files == set(adapter.outputs.values()) | {Paths.REFERENCE_RECORD}


def test_reference_zonal_table_equals_full_runs(basin, tmp_path):
    """`gep reference`'s zonal table (surrogates) equals the one from full InVEST runs, and
    so does its GEP to the fen."""
    from gep.valuation import load_prices, load_runoff, value_year

    cfg, p, full = basin
    assert not same_raster(p.year_file(YEAR, "erosivity"), p.reference_file("erosivity"))
    got = pd.read_csv(reference_year(cfg, YEAR, p))
    for m in MODELS:   # the pipeline's reference workspaces came from the surrogate
        rec = json.loads((p.reference_workspace(YEAR, m) / Paths.REFERENCE_RECORD).read_text())
        assert rec["method"] == "surrogate"
    want = pd.read_csv(zonal_year(YEAR, p.year_dir(YEAR), p.parties_tif, p.parties_csv,
                                  full, tmp_path / "zonal.csv",
                                  input_files={"precipitation":
                                               p.reference_file("precipitation")}))
    assert set(got["variable"]) >= {"avoided_erosion", "n_retained", "p_retained"}
    pd.testing.assert_frame_equal(got, want)
    prices = load_prices(cfg.path(cfg.valuation.prices))
    runoff = load_runoff(cfg.path(cfg.valuation.runoff_coefficients))
    rows_got, rows_want = value_year(got, prices, runoff), value_year(want, prices, runoff)
    assert [r["value_cny_constant"] for r in rows_got] == \
        [r["value_cny_constant"] for r in rows_want]
    assert any(r["value_cny_constant"] != "0.00" for r in rows_got)


def test_missing_intermediate_falls_back_to_invest(basin, tmp_path, monkeypatch, caplog):
    """An intermediate the surrogate needs is absent (another InVEST layout): InVEST runs
    again, the log says why, and the result is InVEST's."""
    from gep.models import sdr

    cfg, p, full = basin
    monkeypatch.setitem(sdr.INTERMEDIATES, "ls", "intermediate_outputs/no_such_ls.tif")
    with caplog.at_level(logging.WARNING, logger="gep.attribution.surrogates"):
        method = reference_run(cfg, p, YEAR, "sdr", tmp_path / "sdr")
    assert method == "invest"
    assert "no_such_ls.tif is missing" in caplog.text and "running InVEST again" in caplog.text
    assert json.loads((tmp_path / "sdr" / Paths.RUN_RECORD).read_text())["report"] is False
    assert not list((tmp_path / "sdr").glob("*report*.html"))    # nobody reads it
    assert not (tmp_path / "sdr" / Paths.REFERENCE_RECORD).exists()
    got, _ = _read(tmp_path / "sdr" / sdr.OUTPUTS["avoided_erosion"])
    want, _ = _read(full["sdr"] / sdr.OUTPUTS["avoided_erosion"])
    assert np.array_equal(got, want)


def test_actual_run_with_other_parameters_is_not_reused(basin, tmp_path):
    """The config changed since the actual run (a stale workspace): refuse, write nothing."""
    cfg, p, _ = basin
    section = cfg.models.ndr.model_copy(update={"k_param": 3.0})
    changed = cfg.model_copy(update={"models": cfg.models.model_copy(update={"ndr": section})})
    with pytest.raises(Unavailable, match="k_param"):
        reference_surrogate(changed, p, YEAR, "ndr", tmp_path / "ndr")
    assert not (tmp_path / "ndr").exists()


def test_reference_erosivity_valid_elsewhere_is_not_reused(basin, tmp_path):
    """A reference erosivity with nodata where the year has data would change SDR's mutual
    mask, hence its flow routing: the surrogate refuses."""
    cfg, p, _ = basin
    src = p.reference_file("erosivity")
    with rasterio.open(src) as ds:
        prof, arr = ds.profile, ds.read(1)
    rows, cols = np.nonzero(arr != prof["nodata"])
    arr[rows[len(rows) // 2], cols[len(cols) // 2]] = prof["nodata"]
    hole = tmp_path / "erosivity.tif"
    with rasterio.open(hole, "w", **prof) as out:
        out.write(arr, 1)

    class Holed(Paths):
        def reference_file(self, name):
            return hole if name == "erosivity" else super().reference_file(name)

    with pytest.raises(Unavailable, match="valid at other pixels"):
        reference_surrogate(cfg, Holed(cfg), YEAR, "sdr", tmp_path / "sdr")
    assert not (tmp_path / "sdr").exists()


def test_reference_layer_on_another_grid_is_not_reused(basin, tmp_path):
    """A reference precipitation one column narrower would change InVEST's aligned extent:
    the surrogate refuses, and `reference_run` runs InVEST instead."""
    from rasterio.windows import Window

    cfg, p, _ = basin
    with rasterio.open(p.reference_file("precipitation")) as ds:
        win = Window(0, 0, ds.width - 1, ds.height)
        prof = ds.profile | {"width": ds.width - 1}   # same origin, one column less
        arr = ds.read(1, window=win)
    narrow = tmp_path / "precipitation.tif"
    with rasterio.open(narrow, "w", **prof) as out:
        out.write(arr, 1)

    class Narrow(Paths):
        def reference_file(self, name):
            return narrow if name == "precipitation" else super().reference_file(name)

    with pytest.raises(Unavailable, match="not on the grid"):
        reference_surrogate(cfg, Narrow(cfg), YEAR, "ndr", tmp_path / "ndr")
    assert reference_run(cfg, Narrow(cfg), YEAR, "ndr", tmp_path / "ndr") == "invest"
    assert (tmp_path / "ndr" / Paths.RUN_RECORD).exists()


def test_gep_reference_writes_the_configured_codec(basin, tmp_path):
    """`gep reference` chooses models.gtiff_compression before InVEST's functions load: the
    surrogates' rasters are ZSTD (InVEST's own functions write pygeoprocessing's default)."""
    import os
    import subprocess
    import sys

    cfg, p, _ = basin
    ws = p.reference_workspace(YEAR, "sdr")
    r = subprocess.run([sys.executable, "-m", "gep", "-q", "reference", "--config",
                        str(cfg.config_dir / "config.yaml"), "--year", str(YEAR)],
                       capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert r.returncode == 0, r.stderr[-2000:]
    record = json.loads((ws / Paths.REFERENCE_RECORD).read_text())
    assert record["method"] == "surrogate"
    for key in models.get("sdr").outputs:
        with rasterio.open(models.get("sdr").output(ws, key)) as ds:
            assert ds.compression.name == "zstd", key
