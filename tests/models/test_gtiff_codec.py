"""Issue 17: InVEST writes its GeoTIFFs in ZSTD instead of pygeoprocessing's LZW
(gep.models.gtiff): less CPU to write and read, the same pixels."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

ZSTD = ("COMPRESS=ZSTD", "ZSTD_LEVEL=1")


def _fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (the codec is chosen per process, before
    pygeoprocessing is imported); it prints one JSON line last."""
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _compression(path) -> str | None:
    from osgeo import gdal

    return gdal.Open(str(path)).GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION")


def test_rewrite_replaces_only_lzw():
    from gep.models.gtiff import rewrite

    assert rewrite(("TILED=YES", "COMPRESS=LZW", "BLOCKXSIZE=256"), ZSTD) == (
        "TILED=YES", "BLOCKXSIZE=256", "COMPRESS=ZSTD", "ZSTD_LEVEL=1")
    assert rewrite(("compress=lzw", "PREDICTOR=2"), ZSTD) == (
        "PREDICTOR=2", "COMPRESS=ZSTD", "ZSTD_LEVEL=1")
    # another codec asked for explicitly is left alone
    assert rewrite(("COMPRESS=DEFLATE", "PREDICTOR=3"), ZSTD) == ("COMPRESS=DEFLATE",
                                                                  "PREDICTOR=3")


def test_retune_rewrites_option_tuples_and_driver_pairs_only():
    from gep.models.gtiff import retune

    lzw = ("TILED=YES", "COMPRESS=LZW")
    mod = types.SimpleNamespace(
        OPTIONS=lzw, INT8=lzw + ("PIXELTYPE=SIGNEDBYTE",), PAIR=("GTIFF", lzw),
        DEFLATE=("GTIFF", ("COMPRESS=DEFLATE",)), NUMBERS=(1, 2), _PRIVATE=lzw)
    assert sorted(retune(mod, ZSTD)) == ["INT8", "OPTIONS", "PAIR"]
    assert mod.OPTIONS == ("TILED=YES",) + ZSTD
    assert mod.INT8 == ("TILED=YES", "PIXELTYPE=SIGNEDBYTE") + ZSTD
    assert mod.PAIR == ("GTIFF", ("TILED=YES",) + ZSTD)
    assert mod.DEFLATE == ("GTIFF", ("COMPRESS=DEFLATE",))
    assert mod.NUMBERS == (1, 2) and mod._PRIVATE == lzw


@pytest.mark.parametrize("codec, want", [("zstd", "ZSTD"), ("lzw", "LZW")])
def test_pygeoprocessing_writes_the_selected_codec(tmp_path, codec, want):
    """Python (raster_map, warp_raster) and Cython (routing) functions of pygeoprocessing
    write the codec selected before it is imported; an explicit DEFLATE stays DEFLATE."""
    out = _fresh(f"""
        import json, numpy as np
        from gep.models import gtiff
        gtiff.select({codec!r})
        import pygeoprocessing, pygeoprocessing.routing
        from osgeo import gdal, osr
        t = {str(tmp_path)!r}
        drv = gdal.GetDriverByName("GTiff")
        ds = drv.Create(t + "/dem.tif", 64, 64, 1, gdal.GDT_Float32, options=["TILED=YES"])
        ds.SetGeoTransform((500000.0, 30.0, 0.0, 3300000.0, 0.0, -30.0))
        srs = osr.SpatialReference(); srs.ImportFromEPSG(32650)
        ds.SetProjection(srs.ExportToWkt())
        y, x = np.mgrid[0:64, 0:64]
        ds.GetRasterBand(1).WriteArray((x + y).astype("float32")); ds = None
        pygeoprocessing.raster_map(op=lambda a: a * 2, rasters=[t + "/dem.tif"],
                                   target_path=t + "/map.tif")
        pygeoprocessing.warp_raster(t + "/dem.tif", (60.0, -60.0), t + "/warp.tif", "near")
        pygeoprocessing.routing.fill_pits((t + "/dem.tif", 1), t + "/filled.tif")
        pygeoprocessing.routing.flow_dir_d8((t + "/filled.tif", 1), t + "/fd.tif")
        pygeoprocessing.raster_map(
            op=lambda a: a + 1, rasters=[t + "/dem.tif"], target_path=t + "/deflate.tif",
            raster_driver_creation_tuple=("GTIFF", ("TILED=YES", "COMPRESS=DEFLATE")))
        print(json.dumps({{"in_force": gtiff.in_force()}}))
    """)
    assert out["in_force"] == codec
    for name in ("map", "warp", "filled", "fd"):
        assert _compression(tmp_path / f"{name}.tif") == want, name
    assert _compression(tmp_path / "deflate.tif") == "DEFLATE"


@pytest.fixture(scope="module")
def sdr_inputs(tmp_path_factory, config_copy):
    """A 40 x 40 demo basin's inputs for 2020 with SDR and carbon enabled."""
    from gep import acquire
    from gep.config import load_config

    tmp = tmp_path_factory.mktemp("codec")
    path = config_copy(tmp, demo={"rows": 40, "cols": 40}, years=[2020],
                       models={"sdr": {"enabled": True, "reuse_dem_products": False},
                               "carbon": {"enabled": True}})
    cfg = load_config(path)
    acquire.acquire_static(cfg)
    acquire.acquire_parties(cfg)
    acquire.acquire_year(cfg, 2020)
    return path, tmp


@pytest.mark.parametrize("model", ["sdr", "carbon"])
def test_invest_pixels_are_the_same_with_either_codec(sdr_inputs, model):
    """A whole InVEST run (each in its own process, as a rule's job) writes the same pixels in
    ZSTD as in pygeoprocessing's LZW, and with ZSTD no raster but the slope is LZW;
    gep_run.json names the codec in force."""
    from osgeo import gdal

    config, tmp = sdr_inputs
    runs = {}
    for codec in ("lzw", "zstd"):
        ws = tmp / model / codec
        _fresh(f"""
            import json
            from pathlib import Path
            from gep.config import load_config
            from gep.invest import model_params, run_model
            from gep.models import gtiff
            from gep.paths import Paths
            gtiff.select({codec!r})
            cfg = load_config({str(config)!r})
            run_model({model!r}, Paths(cfg).year_dir(2020), model_params(cfg, {model!r}),
                      Path({str(ws)!r}), 2020, report=False)
            print(json.dumps({{}}))
        """)
        assert json.loads((ws / "gep_run.json").read_text())["gtiff_compression"] == codec
        runs[codec] = {str(f.relative_to(ws)): f for f in ws.rglob("*.tif")
                       if "taskgraph" not in str(f)}
    assert runs["lzw"] and sorted(runs["lzw"]) == sorted(runs["zstd"])
    codecs = {c: {_compression(f) for f in files.values()} for c, files in runs.items()}
    assert "LZW" in codecs["lzw"] and "ZSTD" in codecs["zstd"]
    # only geoprocessing_core's own functions keep LZW: they bind the constant while that
    # module loads, before gep can choose (SDR's slope; a DEM-only product, cached)
    still_lzw = {rel for rel, f in runs["zstd"].items() if _compression(f) == "LZW"}
    assert still_lzw <= {"intermediate_outputs/slope.tif"}, still_lzw
    for rel, f in runs["lzw"].items():
        a, b = gdal.Open(str(f)), gdal.Open(str(runs["zstd"][rel]))
        assert a.GetGeoTransform() == b.GetGeoTransform(), rel
        assert (a.GetRasterBand(1).GetNoDataValue()
                == b.GetRasterBand(1).GetNoDataValue()), rel
        assert np.array_equal(a.ReadAsArray(), b.ReadAsArray(), equal_nan=True), rel


def test_config_names_the_codec(config_factory):
    from gep.config import load_config
    from gep.errors import ConfigError

    assert load_config(config_factory()).models.gtiff_compression == "zstd"
    with pytest.raises(ConfigError, match="gtiff_compression"):
        load_config(config_factory(models={"gtiff_compression": "lz4"}))


def test_select_refuses_an_unknown_codec():
    from gep.models import gtiff

    with pytest.raises(ValueError, match="zstd"):
        gtiff.select("lz4")
