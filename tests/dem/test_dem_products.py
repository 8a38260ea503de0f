"""DEM products computed once and reused by SDR and NDR (issue 17): the same rasters as a fresh
InVEST run, keyed by content (never names or mtimes), computed once under concurrency."""
from __future__ import annotations

import functools
import json
import multiprocessing
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

pygeoprocessing = pytest.importorskip("pygeoprocessing")
pytest.importorskip("pygeoprocessing.routing")  # binds pygeoprocessing.routing

from gep.models import dem_products  # noqa: E402
from gep.models.dem_products import memoised_steps, raster_digest  # noqa: E402

YEARS = (2020, 2021)


@pytest.fixture(scope="module")
def basin(tmp_path_factory, config_copy):
    """A 64 x 64 demo basin with two years of inputs, SDR and NDR enabled."""
    from gep.acquire import acquire_parties, acquire_static, acquire_year
    from gep.config import load_config

    root = tmp_path_factory.mktemp("dem_basin")
    cfg = load_config(config_copy(root, demo={"rows": 64, "cols": 64}, years=list(YEARS),
                                  models={"sdr": {"enabled": True},
                                          "ndr": {"enabled": True}}))
    acquire_parties(cfg)
    acquire_static(cfg)
    for y in YEARS:
        acquire_year(cfg, y)
    return cfg


def _read(path) -> np.ndarray:
    ds = gdal.Open(str(path))
    assert ds is not None, path
    return ds.GetRasterBand(1).ReadAsArray()


def assert_same_outputs(fresh: Path, reused: Path) -> int:
    """Every raster InVEST declares in the fresh workspace's file registry equals the one in
    the reused workspace, pixel by pixel. -> number of rasters compared."""
    registry = json.loads((fresh / "file_registry.json").read_text())
    n = 0
    for value in registry.values():
        f = Path(str(value))
        if f.suffix != ".tif":
            continue
        rel = f.relative_to(fresh)
        a, b = _read(fresh / rel), _read(reused / rel)
        assert a.dtype == b.dtype and a.shape == b.shape, rel
        if np.issubdtype(a.dtype, np.integer):
            np.testing.assert_array_equal(a, b, err_msg=str(rel))
        else:
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=0, equal_nan=True,
                                       err_msg=str(rel))
        n += 1
    return n


class Counter:
    """Wraps a real function and counts how often it actually runs."""

    def __init__(self, real):
        self.real, self.calls = real, 0
        functools.update_wrapper(self, real)      # keeps the signature the memoiser reads

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.real(*args, **kwargs)


@pytest.mark.parametrize("algorithm", ["MFD", "D8"])
def test_reuse_equals_fresh_invest_per_pixel(basin, tmp_path, monkeypatch, algorithm):
    """SDR and NDR of two years with reuse equal fresh InVEST runs raster by raster; the second
    year fills no pits and routes no flow (everything DEM-only comes from the cache)."""
    from gep.invest import model_params, run_model
    from gep.paths import Paths

    p = Paths(basin)
    fill = Counter(pygeoprocessing.routing.fill_pits)
    flow_dir = Counter(getattr(pygeoprocessing.routing, f"flow_dir_{algorithm.lower()}"))
    monkeypatch.setattr(pygeoprocessing.routing, "fill_pits", fill)
    monkeypatch.setattr(pygeoprocessing.routing, flow_dir.real.__name__, flow_dir)
    compared = 0
    for year in YEARS:
        before = (fill.calls, flow_dir.calls)
        for model in ("sdr", "ndr"):
            params = model_params(basin, model) | {"flow_dir_algorithm": algorithm}
            assert params["reuse_dem_products"] is True            # the config's default
            run_model(model, p.year_dir(year), params, tmp_path / "reuse" / str(year) / model,
                      year, report=False)
        if year != YEARS[0]:
            assert (fill.calls, flow_dir.calls) == before, "DEM steps ran again in year 2"
        for model in ("sdr", "ndr"):
            params = model_params(basin, model) | {"flow_dir_algorithm": algorithm,
                                                   "reuse_dem_products": False}
            run_model(model, p.year_dir(year), params, tmp_path / "fresh" / str(year) / model,
                      year, report=False)
            compared += assert_same_outputs(tmp_path / "fresh" / str(year) / model,
                                            tmp_path / "reuse" / str(year) / model)
    assert compared > 100
    manifests = list(Path(p.dem_products).glob("*/manifest.json"))
    functions = {json.loads(m.read_text())["function"].rsplit(".", 1)[1] for m in manifests}
    assert {"fill_pits", f"flow_dir_{algorithm.lower()}", "calculate_slope",
            "_calculate_ls_factor", "calculate_ic"} <= functions


def test_changed_dem_is_not_served_stale(basin, tmp_path, monkeypatch):
    """One DEM pixel raised by 50 m: the reused run recomputes and equals fresh InVEST, and
    differs from the unchanged DEM's run (so the check could fail)."""
    from gep.invest import model_params, run_model
    from gep.paths import Paths

    p = Paths(basin)
    params = model_params(basin, "sdr")
    run_model("sdr", p.year_dir(2020), params, tmp_path / "orig", 2020, report=False)
    changed = p.inputs / "9999"
    shutil.copytree(p.year_dir(2020), changed)
    ds = gdal.Open(str(changed / "dem.tif"), gdal.GA_Update)
    band = ds.GetRasterBand(1)
    dem = band.ReadAsArray()
    dem[32, 20] += 50
    band.WriteArray(dem)
    ds = band = None
    fill = Counter(pygeoprocessing.routing.fill_pits)
    monkeypatch.setattr(pygeoprocessing.routing, "fill_pits", fill)
    try:
        run_model("sdr", changed, params, tmp_path / "reuse", 9999, report=False)
        assert fill.calls == 1, "the changed DEM's pits were not filled anew"
        run_model("sdr", changed, params | {"reuse_dem_products": False}, tmp_path / "fresh",
                  9999, report=False)
    finally:
        shutil.rmtree(changed)
    assert_same_outputs(tmp_path / "fresh", tmp_path / "reuse")
    sub = "intermediate_outputs/pit_filled_dem.tif"
    assert not np.array_equal(_read(tmp_path / "orig" / sub), _read(tmp_path / "reuse" / sub))


def _write_dem(path: Path, array: np.ndarray, compress: str = "LZW") -> Path:
    driver = gdal.GetDriverByName("GTiff")
    ds = driver.Create(str(path), array.shape[1], array.shape[0], 1, gdal.GDT_Float32,
                       options=[f"COMPRESS={compress}", "TILED=YES"])
    ds.SetGeoTransform((500000, 30, 0, 3300000, 0, -30))
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32650)
    ds.SetProjection(srs.ExportToWkt())
    b = ds.GetRasterBand(1)
    b.SetNoDataValue(-9999)
    b.WriteArray(array)
    ds = None
    return path


@pytest.fixture
def dem_array():
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:48, 0:48]
    return (200 + 3.0 * x + 2.0 * y + rng.normal(0, 4, (48, 48))).astype(np.float32)


def test_digest_is_content_not_name_time_or_encoding(tmp_path, dem_array):
    a = _write_dem(tmp_path / "a.tif", dem_array)
    b = _write_dem(tmp_path / "b.tif", dem_array, compress="DEFLATE")
    assert a.read_bytes() != b.read_bytes()
    assert raster_digest(a) == raster_digest(b)
    changed = dem_array.copy()
    changed[10, 10] += 0.5
    assert raster_digest(_write_dem(tmp_path / "c.tif", changed)) != raster_digest(a)
    ds = gdal.Open(str(b), gdal.GA_Update)
    ds.GetRasterBand(1).SetNoDataValue(-1)
    ds = None
    assert raster_digest(b) != raster_digest(a)


def test_key_follows_content_not_file_name_or_mtime(tmp_path, dem_array):
    """Renaming the DEM or touching its mtime reuses the products; one changed pixel computes
    new ones, equal to running the function directly."""
    real_fill = pygeoprocessing.routing.fill_pits
    cache = tmp_path / "cache"
    dem = _write_dem(tmp_path / "dem.tif", dem_array)
    with memoised_steps(cache) as stats:
        pygeoprocessing.routing.fill_pits((str(dem), 1), str(tmp_path / "f1.tif"))
        renamed = tmp_path / "renamed.tif"
        os.replace(dem, renamed)
        os.utime(renamed, (1e9, 1e9))
        pygeoprocessing.routing.fill_pits((str(renamed), 1), str(tmp_path / "f2.tif"))
    assert len(stats.computed) == 1 and len(stats.reused) == 1
    assert stats.computed[0] == stats.reused[0]
    assert len(list(cache.glob("*/manifest.json"))) == 1
    np.testing.assert_array_equal(_read(tmp_path / "f1.tif"), _read(tmp_path / "f2.tif"))

    pit = dem_array.copy()
    pit[24, 24] -= 40                                           # a pit the filling must fill
    changed = _write_dem(tmp_path / "renamed.tif", pit)          # same name, same mtime
    os.utime(changed, (1e9, 1e9))
    with memoised_steps(cache) as stats:
        pygeoprocessing.routing.fill_pits((str(changed), 1), str(tmp_path / "f3.tif"))
    assert len(stats.computed) == 1 and not stats.reused
    assert len(list(cache.glob("*/manifest.json"))) == 2
    real_fill((str(changed), 1), str(tmp_path / "direct.tif"))
    np.testing.assert_array_equal(_read(tmp_path / "f3.tif"), _read(tmp_path / "direct.tif"))
    assert not np.array_equal(_read(tmp_path / "f1.tif"), _read(tmp_path / "f3.tif"))
    assert pygeoprocessing.routing.fill_pits is real_fill          # unpatched after the block


def _use_key(dem: str, target: str, barrier, queue) -> None:
    barrier.wait()
    with memoised_steps(Path(target).parent.parent / "cache") as stats:
        pygeoprocessing.routing.fill_pits((dem, 1), target)
    queue.put((len(stats.computed), len(stats.reused)))


def test_two_concurrent_users_compute_a_key_once(tmp_path, dem_array, monkeypatch):
    """Two processes need the same key at the same moment: one computes, the other waits for
    the lock and reuses (the slowed-down function would otherwise run twice)."""
    import time

    real = pygeoprocessing.routing.fill_pits

    @functools.wraps(real)
    def slow_fill(*args, **kwargs):
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(pygeoprocessing.routing, "fill_pits", slow_fill)
    dem = str(_write_dem(tmp_path / "dem.tif", dem_array))
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    targets = [tmp_path / f"job{i}" / "filled.tif" for i in range(2)]
    for t in targets:
        t.parent.mkdir()
    procs = [ctx.Process(target=_use_key, args=(dem, str(t), barrier, queue)) for t in targets]
    for pr in procs:
        pr.start()
    results = [queue.get(timeout=120) for _ in procs]
    for pr in procs:
        pr.join(timeout=60)
        assert pr.exitcode == 0
    assert sorted(results) == [(0, 1), (1, 0)]
    np.testing.assert_array_equal(_read(targets[0]), _read(targets[1]))
    assert len(list((tmp_path / "cache").glob("*/manifest.json"))) == 1
    assert not [f for f in (tmp_path / "cache").iterdir() if f.name.startswith(".") and
                f.name != ".locks" and any(f.iterdir())], "temporary files were left behind"


def test_only_sdr_ndr_and_only_when_enabled():
    assert dem_products.enabled("sdr", {}) and dem_products.enabled("ndr", {})
    assert not dem_products.enabled("sdr", {"reuse_dem_products": False})
    assert not dem_products.enabled("annual_water_yield", {})


def test_reuse_with_invest_worker_processes(basin, tmp_path):
    """With ``n_workers`` 1 taskgraph sends the steps to a worker process by pickle: the
    memoised functions travel, reuse still works there, and SDR equals a fresh run."""
    from gep.invest import model_params, run_model
    from gep.paths import Paths

    p = Paths(basin)
    params = model_params(basin, "sdr")
    for ws in ("w1", "w2"):
        run_model("sdr", p.year_dir(2020), params, tmp_path / ws, 2020, report=False,
                  overrides={"n_workers": 1})
        if ws == "w1":
            before = sorted(Path(p.dem_products).glob("*/manifest.json"))
    assert sorted(Path(p.dem_products).glob("*/manifest.json")) == before
    assert not list(Path(p.dem_products).glob(".placed/*/*")), "notes of the workers remain"
    run_model("sdr", p.year_dir(2020), params | {"reuse_dem_products": False},
              tmp_path / "fresh", 2020, report=False)
    assert_same_outputs(tmp_path / "fresh", tmp_path / "w1")
    assert_same_outputs(tmp_path / "fresh", tmp_path / "w2")


@pytest.mark.parametrize("p_like_n", [True, False])
def test_effective_retention_is_routed_once_per_content(basin, tmp_path, monkeypatch, p_like_n):
    """NDR's effective retention is keyed by the content of its land-cover inputs: with the
    demo's table (P's retention efficiency and critical length equal to N's) P's raster comes
    from N's computation; with P's efficiency changed both are routed. Either way every output
    equals a fresh InVEST run, and a second run of the same year routes nothing."""
    import csv

    from gep.invest import model_params, run_model
    from gep.paths import Paths
    from natcap.invest.ndr import ndr_core

    p = Paths(basin)
    params = model_params(basin, "ndr")
    with open(params["biophysical_table"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert all(r["eff_n"] == r["eff_p"] and r["crit_len_n"] == r["crit_len_p"]
               for r in rows)                                    # the demo's table
    if not p_like_n:
        for r in rows:
            r["eff_p"] = f"{float(r['eff_p']) * 0.9:.3f}"
        path = tmp_path / "biophysical_p.csv"
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        params = params | {"biophysical_table": path}     # a Path: run_model takes it too
    shutil.rmtree(p.dem_products, ignore_errors=True)
    eff = Counter(ndr_core.ndr_eff_calculation)
    monkeypatch.setattr(ndr_core, "ndr_eff_calculation", eff)
    run_model("ndr", p.year_dir(2020), params, tmp_path / "reuse", 2020, report=False)
    assert eff.calls == (1 if p_like_n else 2)
    run_model("ndr", p.year_dir(2020), params, tmp_path / "again", 2020, report=False)
    assert eff.calls == (1 if p_like_n else 2), "the re-run routed effective retention again"
    run_model("ndr", p.year_dir(2020), params | {"reuse_dem_products": False},
              tmp_path / "fresh", 2020, report=False)
    assert eff.calls == (3 if p_like_n else 4)
    for ws in ("reuse", "again"):
        assert_same_outputs(tmp_path / "fresh", tmp_path / ws)
    sub = "intermediate_outputs/effective_retention_{}.tif"
    same = np.array_equal(_read(tmp_path / "fresh" / sub.format("n")),
                          _read(tmp_path / "fresh" / sub.format("p")), equal_nan=True)
    assert same is p_like_n


def test_a_reuse_reports_the_time_it_saved(tmp_path, dem_array):
    """A computed step records its CPU seconds in its manifest; a reuse reports them, less the
    time serving it from the cache took, as saved (and a computation saves nothing)."""
    cache = tmp_path / "cache"
    dem = str(_write_dem(tmp_path / "dem.tif", dem_array))
    with memoised_steps(cache) as first:
        pygeoprocessing.routing.fill_pits((dem, 1), str(tmp_path / "f1.tif"))
    assert first.computed and first.saved_cpu_seconds == 0.0
    (manifest,) = cache.glob("*/manifest.json")
    man = json.loads(manifest.read_text())
    assert 0.0 <= man["cpu_seconds"] < 60.0
    man["cpu_seconds"] = 100.0                  # as if the step had taken 100 CPU s
    manifest.write_text(json.dumps(man))
    with memoised_steps(cache) as again:
        pygeoprocessing.routing.fill_pits((dem, 1), str(tmp_path / "f2.tif"))
    assert again.reused and not again.computed
    assert 99.0 < again.saved_cpu_seconds <= 100.0
