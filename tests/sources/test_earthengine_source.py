"""Earth Engine source, offline.

``ee.apitestcase.ApiTestCase`` (shipped with earthengine-api) initialises the library against
its recorded algorithm list, so real ``ee.Image`` expressions are built and serialised without
network. ``ee.data.computePixels`` is replaced by a fake server that answers each request with
a GeoTIFF rendered from the request's own grid, so tiling, mosaicking, retries and resume are
checked against values computed here.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import ee
import numpy as np
import pytest
import rasterio
from affine import Affine
from ee import apitestcase, serializer
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.config import validate
from gep.errors import ConfigError, InputDataError
from gep.sources import earthengine as E
from gep.sources.base import FLOAT_NODATA, LANDCOVER_NODATA, Grid

UTM = "EPSG:32650"


# -- helpers ----------------------------------------------------------------------------------
@pytest.fixture
def ee_offline():
    """earthengine-api initialised offline by its own test helper."""
    case = apitestcase.ApiTestCase()
    case.setUp()
    try:
        yield
    finally:
        case.tearDown()


def tree(image) -> dict:
    """The expression as one nested tree (no shared value references)."""
    return serializer.encode(image, is_compound=False, for_cloud_api=True)


def calls(node) -> list[tuple[str, dict]]:
    """Every function invocation in a tree: (name, {arg: constant value})."""
    out = []
    if isinstance(node, dict):
        inv = node.get("functionInvocationValue")
        if inv:
            consts = {k: v["constantValue"] for k, v in inv["arguments"].items()
                      if isinstance(v, dict) and "constantValue" in v}
            out.append((inv["functionName"], consts))
        for v in node.values():
            out += calls(v)
    elif isinstance(node, list):
        for v in node:
            out += calls(v)
    return out


PRIMARY = ("input", "image1", "image", "collection", "value", "images")


def chain(node) -> list[str]:
    """Function names from the outermost call inwards along the primary argument."""
    names = []
    while isinstance(node, dict) and "functionInvocationValue" in node:
        inv = node["functionInvocationValue"]
        names.append(inv["functionName"])
        nxt = next((inv["arguments"][k] for k in PRIMARY if k in inv["arguments"]), None)
        node = nxt
    return names


def mapped_bodies(node) -> list[str]:
    """Function names called inside Collection.map bodies (e.g. select, resample)."""
    return [c[0] for c in calls({"x": [
        inv["arguments"]["baseAlgorithm"]["functionDefinitionValue"]["body"]
        for inv in _invocations(node, "Collection.map")]})]


def _invocations(node, name):
    out = []
    if isinstance(node, dict):
        inv = node.get("functionInvocationValue")
        if inv and inv["functionName"] == name:
            out.append(inv)
        for v in node.values():
            out += _invocations(v, name)
    elif isinstance(node, list):
        for v in node:
            out += _invocations(v, name)
    return out


def small_grid(width=100, height=80) -> Grid:
    return Grid(UTM, 700_020.0, 3_310_020.0, 30.0, width, height)


def expected_value(name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """What the fake server 'computes' at map coordinates x, y (pixel centres)."""
    if name == "landcover":
        return np.where(x < 701_000, 10, 40).astype("uint8")
    return (0.001 * (x - 700_000) + 0.01 * (y - 3_300_000)).astype("float32")


class FakeServer:
    """Answers computePixels with a GeoTIFF of the requested grid; records every request."""

    def __init__(self, fail: dict | None = None):
        self.requests: list[dict] = []
        self.fail = fail or {}  # call number -> exception to raise

    def __call__(self, request: dict) -> bytes:
        n = len(self.requests)
        expr = tree(request["expression"])
        self.requests.append({"grid": request["grid"], "fileFormat": request["fileFormat"],
                              "tree": expr})
        if n in self.fail:
            raise self.fail[n]
        g = request["grid"]
        a = g["affineTransform"]
        w, h = g["dimensions"]["width"], g["dimensions"]["height"]
        x = a["translateX"] + a["scaleX"] * (np.arange(w) + 0.5)
        y = a["translateY"] + a["scaleY"] * (np.arange(h) + 0.5)
        X, Y = np.meshgrid(x, y)
        name = next(c[1]["names"][0] for c in calls(expr) if c[0] == "Image.rename")
        arr = expected_value(name, X, Y)
        buf = io.BytesIO()
        with rasterio.MemoryFile() as mem:
            with mem.open(driver="GTiff", width=w, height=h, count=1, dtype=arr.dtype.name,
                          crs=g["crsCode"], transform=Affine(a["scaleX"], a["shearX"],
                                                            a["translateX"], a["shearY"],
                                                            a["scaleY"], a["translateY"])) as ds:
                ds.write(arr, 1)
            buf.write(mem.read())
        return buf.getvalue()


NO_WAIT = {"base_delay": 0.0, "jitter": 0.0, "sleep": lambda s: None}


def make_cfg(tmp_path, **ee_over):
    return validate({"basin": "t", "source": "earthengine", "years": [2021],
                     "parties": {"path": "parties.gpkg"},
                     "earthengine": {"project": "my-project", "cache_dir": "cache",
                                     **ee_over}},
                    config_dir=tmp_path)


def rsa_key_json(path: Path, email="gep@my-project.iam.gserviceaccount.com",
                 project="key-project") -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path.write_text(json.dumps({
        "type": "service_account", "project_id": project, "private_key_id": "abc",
        "private_key": pem, "client_email": email, "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"}))
    return path


# -- credentials ------------------------------------------------------------------------------
def test_service_account_key_from_ee_variable_wins(tmp_path):
    sa = rsa_key_json(tmp_path / "sa.json")
    user = tmp_path / "user.json"
    user.write_text(json.dumps({"type": "authorized_user", "refresh_token": "x"}))
    c = E.select_credentials({"EE_SERVICE_ACCOUNT_KEY": str(sa),
                              "GOOGLE_APPLICATION_CREDENTIALS": str(user)})
    assert (c.kind, c.source, c.key_file) == ("service_account", "EE_SERVICE_ACCOUNT_KEY", sa)
    assert c.email == "gep@my-project.iam.gserviceaccount.com" and c.project == "key-project"


def test_google_application_credentials_service_account(tmp_path):
    sa = rsa_key_json(tmp_path / "sa.json")
    c = E.select_credentials({"GOOGLE_APPLICATION_CREDENTIALS": str(sa)})
    assert (c.kind, c.source) == ("service_account", "GOOGLE_APPLICATION_CREDENTIALS")


def test_user_credentials_or_nothing_fall_back_to_application_default(tmp_path):
    user = tmp_path / "user.json"
    user.write_text(json.dumps({"type": "authorized_user", "refresh_token": "x"}))
    assert E.select_credentials({"GOOGLE_APPLICATION_CREDENTIALS": str(user)}).kind == \
        "application_default"
    assert E.select_credentials({}).kind == "application_default"


def test_bad_credential_variables_are_named(tmp_path):
    with pytest.raises(ConfigError, match="EE_SERVICE_ACCOUNT_KEY: points to .*missing.json, "
                                          "which is not a file"):
        E.select_credentials({"EE_SERVICE_ACCOUNT_KEY": str(tmp_path / "missing.json")})
    user = tmp_path / "user.json"
    user.write_text(json.dumps({"type": "authorized_user"}))
    with pytest.raises(ConfigError, match="is a 'authorized_user' file, not a service-account"):
        E.select_credentials({"EE_SERVICE_ACCOUNT_KEY": str(user)})
    junk = tmp_path / "junk.json"
    junk.write_text("not json")
    with pytest.raises(ConfigError, match="GOOGLE_APPLICATION_CREDENTIALS: .* is not a JSON"):
        E.select_credentials({"GOOGLE_APPLICATION_CREDENTIALS": str(junk)})


def test_initialize_passes_service_account_and_project(tmp_path, monkeypatch):
    from google.oauth2 import service_account

    sa = rsa_key_json(tmp_path / "sa.json")
    seen = {}
    monkeypatch.setattr(ee, "Initialize", lambda **kw: seen.update(kw))
    env = {"EE_SERVICE_ACCOUNT_KEY": str(sa)}
    E.initialize(make_cfg(tmp_path), env)
    assert isinstance(seen["credentials"], service_account.Credentials)
    assert seen["credentials"].service_account_email == "gep@my-project.iam.gserviceaccount.com"
    assert seen["project"] == "my-project"  # config wins over the key's own project
    E.initialize(make_cfg(tmp_path, project=None), env)
    assert seen["project"] == "key-project"


def test_application_default_needs_a_project(tmp_path, monkeypatch):
    seen = {}
    monkeypatch.setattr(ee, "Initialize", lambda **kw: seen.update(kw))
    with pytest.raises(ConfigError, match="earthengine.project: no Google Cloud project"):
        E.initialize(make_cfg(tmp_path, project=None), {})
    assert not seen
    E.initialize(make_cfg(tmp_path, project=None), {"EE_PROJECT": "env-project"})
    assert seen == {"credentials": "persistent", "project": "env-project"}


# -- image expressions ------------------------------------------------------------------------
def test_worldcover_expression(ee_offline):
    region = E.region_of(small_grid())
    for year, asset in ((2020, "ESA/WorldCover/v100"), (2023, "ESA/WorldCover/v200")):
        t = tree(E.landcover_image("worldcover", year, region))
        assert chain(t) == ["Image.toUint8", "Image.unmask", "Image.rename", "Image.select",
                            "Collection.first", "ImageCollection.load"]
        c = calls(t)
        assert ("ImageCollection.load", {"id": asset}) in c
        assert ("Image.select", {"bandSelectors": ["Map"]}) in c
        assert ("Image.constant", {"value": LANDCOVER_NODATA}) in c


def test_dynamic_world_expression(ee_offline):
    t = tree(E.landcover_image("dynamicworld", 2022, E.region_of(small_grid())))
    assert chain(t)[:6] == ["Image.toUint8", "Image.unmask", "Image.rename", "Image.remap",
                            "reduce.mode", "Collection.map"]
    c = calls(t)
    assert ("ImageCollection.load", {"id": "GOOGLE/DYNAMICWORLD/V1"}) in c
    assert ("DateRange", {"start": "2022-01-01", "end": "2023-01-01"}) in c
    remap = next(args for name, args in c if name == "Image.remap")
    # Dynamic World: 0 water 1 trees 2 grass 3 flooded veg. 4 crops 5 shrub 6 built 7 bare 8 snow
    assert dict(zip(remap["from"], remap["to"])) == {0: 80, 1: 10, 2: 30, 3: 90, 4: 40, 5: 20,
                                                     6: 50, 7: 60, 8: 70}
    assert mapped_bodies(t) == ["Image.select"]


def test_chirps_annual_sum_expression(ee_offline):
    t = tree(E.precipitation_image(2021, E.region_of(small_grid())))
    assert chain(t) == ["Image.toFloat", "Image.unmask", "Image.rename", "reduce.sum",
                        "Collection.map", "Collection.map", "Collection.filter",
                        "Collection.filter", "ImageCollection.load"]
    c = calls(t)
    assert ("ImageCollection.load", {"id": "UCSB-CHG/CHIRPS/DAILY"}) in c
    assert ("DateRange", {"start": "2021-01-01", "end": "2022-01-01"}) in c
    assert sorted(mapped_bodies(t)) == ["Image.resample", "Image.select"]
    assert ("Image.resample", {"mode": "bilinear"}) in c
    assert ("Image.select", {"bandSelectors": ["precipitation"]}) in c
    assert ("Image.constant", {"value": FLOAT_NODATA}) in c


def test_terraclimate_pet_scaled_and_summed(ee_offline):
    t = tree(E.reference_et_image(2021, E.region_of(small_grid())))
    assert chain(t)[:5] == ["Image.toFloat", "Image.unmask", "Image.rename", "Image.multiply",
                            "reduce.sum"]
    c = calls(t)
    assert ("ImageCollection.load", {"id": "IDAHO_EPSCOR/TERRACLIMATE"}) in c
    assert ("Image.select", {"bandSelectors": ["pet"]}) in c
    assert ("Image.constant", {"value": 0.1}) in c  # pet scale: 0.1 mm


def test_dem_expressions(ee_offline):
    region = E.region_of(small_grid())
    glo = tree(E.dem_image("glo30", region))
    assert chain(glo)[:5] == ["Image.toFloat", "Image.unmask", "Image.rename",
                              "ImageCollection.mosaic", "Collection.map"]
    assert ("ImageCollection.load", {"id": "COPERNICUS/DEM/GLO30"}) in calls(glo)
    assert ("Image.select", {"bandSelectors": ["DEM"]}) in calls(glo)
    srtm = tree(E.dem_image("srtm", region))
    assert chain(srtm) == ["Image.toFloat", "Image.unmask", "Image.rename", "Image.resample",
                           "Image.select", "Image.load"]
    assert ("Image.load", {"id": "USGS/SRTMGL1_003"}) in calls(srtm)


def test_soilgrids_pawc_depth_weighted(ee_offline):
    c = calls(tree(E.plant_available_water_image()))
    loads = {a["id"] for n, a in c if n == "Image.load"}
    assert loads == {"ISRIC/SoilGrids250m/v2_0/wv0033", "ISRIC/SoilGrids250m/v2_0/wv1500"}
    bands = sorted({a["bandSelectors"][0] for n, a in c if n == "Image.select"})
    assert bands == sorted(f"val_{d}cm_mean" for d in
                           ("0_5", "5_15", "15_30", "30_60", "60_100", "100_200"))
    consts = [a["value"] for n, a in c if n == "Image.constant"]
    # layer thicknesses (cm), then the divisor 200 cm x 1000 (10^-3 cm3/cm3), then the clamp
    for thickness in (5, 10, 15, 30, 40, 100):
        assert thickness in consts
    assert 200_000.0 in consts and 0 in consts and 1 in consts


def test_asset_override_and_constant(ee_offline, tmp_path):
    cfg = validate({"basin": "t", "source": "earthengine", "years": [2021],
                    "parties": {"path": "p.gpkg"},
                    "layers": {"precipitation": {"asset": "projects/x/assets/p_{year}",
                                                 "band": "b1", "scale": 0.5},
                               "root_restricting_depth": 1500}}, config_dir=tmp_path)
    t = tree(E.layer_image(cfg, "precipitation", 2021, None))
    c = calls(t)
    assert ("Image.load", {"id": "projects/x/assets/p_2021"}) in c
    assert ("Image.constant", {"value": 0.5}) in c
    assert E.layer_spec(cfg, "root_restricting_depth") == 1500
    bad = validate({"basin": "t", "source": "earthengine", "years": [2021],
                    "parties": {"path": "p.gpkg"}, "layers": {"dem": "dem.tif"}},
                   config_dir=tmp_path)
    with pytest.raises(ConfigError, match="layers.dem: unsupported value 'dem.tif'"):
        E.layer_image(bad, "dem", None, None)


# -- tiling -----------------------------------------------------------------------------------
def test_tile_side_respects_limits():
    assert E.tile_side(2048, 4) == 2048                    # 2048^2 x 4 B = 16 MB < 32 MB
    assert E.tile_side(32768, 4) ** 2 * 4 <= E.MAX_REQUEST_BYTES
    assert E.tile_side(32768, 1) <= E.MAX_REQUEST_SIDE
    assert E.tile_side(32768, 8, bands=3) ** 2 * 8 * 3 <= E.MAX_REQUEST_BYTES


@settings(max_examples=60, deadline=None)
@given(w=st.integers(1, 5000), h=st.integers(1, 5000), side=st.integers(50, 3000))
def test_tiles_cover_the_grid_exactly_once(w, h, side):
    grid = Grid(UTM, 0.0, 0.0, 30.0, w, h)
    tiles = E.plan_tiles(grid, side)
    assert sum(t.width * t.height for t in tiles) == w * h
    assert all(0 < t.width <= side and 0 < t.height <= side for t in tiles)
    assert len(tiles) == -(-w // side) * -(-h // side)
    cols = sorted({t.col for t in tiles})
    assert cols == list(range(0, w, side))


def test_requests_for_basin_larger_than_one_request(ee_offline, tmp_path, monkeypatch):
    grid = small_grid(width=130, height=70)
    server = FakeServer()
    monkeypatch.setattr(ee.data, "computePixels", server)
    img = E.precipitation_image(2021, E.region_of(grid))
    out = E.fetch_layer(img, grid, tmp_path / "p.tif", tmp_path / "cache", "precipitation",
                        "float32", FLOAT_NODATA, max_tile_pixels=64, progress=False)
    # 130 x 70 px in tiles of 64: 3 columns (64, 64, 2) x 2 rows (64, 6)
    got = sorted((r["grid"]["affineTransform"]["translateX"],
                  r["grid"]["affineTransform"]["translateY"],
                  r["grid"]["dimensions"]["width"], r["grid"]["dimensions"]["height"])
                 for r in server.requests)
    want = sorted((grid.x0 + 30 * c, grid.y0 - 30 * r, min(64, 130 - c), min(64, 70 - r))
                  for r in (0, 64) for c in (0, 64, 128))
    assert got == want
    for r in server.requests:
        a = r["grid"]["affineTransform"]
        assert (a["scaleX"], a["scaleY"], a["shearX"], a["shearY"]) == (30.0, -30.0, 0, 0)
        assert r["grid"]["crsCode"] == UTM and r["fileFormat"] == "GEO_TIFF"
        assert r["tree"] == tree(img)  # every tile asks for the same expression
    with rasterio.open(out) as ds:
        assert ds.transform == grid.transform and ds.crs.to_string() == UTM
        X, Y = np.meshgrid(grid.x0 + 30 * (np.arange(130) + 0.5),
                           grid.y0 - 30 * (np.arange(70) + 0.5))
        np.testing.assert_allclose(ds.read(1), expected_value("precipitation", X, Y),
                                   rtol=1e-6)


# -- retries and resume -----------------------------------------------------------------------
def test_transient_errors_are_retried_with_backoff(ee_offline, tmp_path, monkeypatch):
    grid = small_grid(40, 30)
    server = FakeServer(fail={0: ee.EEException("Too many concurrent aggregations."),
                              1: TimeoutError("The read operation timed out")})
    monkeypatch.setattr(ee.data, "computePixels", server)
    sleeps = []
    out = E.fetch_layer(E.dem_image("srtm", None), grid, tmp_path / "dem.tif", tmp_path / "c",
                        "dem", "float32", FLOAT_NODATA, progress=False,
                        retry={"base_delay": 2.0, "jitter": 0.0, "sleep": sleeps.append})
    assert sleeps == [2.0, 4.0]
    assert len(server.requests) == 3
    assert out.exists()


def test_permanent_error_is_not_retried(ee_offline, tmp_path, monkeypatch):
    server = FakeServer(fail={0: ee.EEException("Image.load: Image asset 'x' not found.")})
    monkeypatch.setattr(ee.data, "computePixels", server)
    with pytest.raises(E.EarthEngineError, match="refused the request: Image.load"):
        E.fetch_layer(E.dem_image("srtm", None), small_grid(40, 30), tmp_path / "dem.tif",
                      tmp_path / "c", "dem", "float32", FLOAT_NODATA, progress=False,
                      retry=NO_WAIT)
    assert len(server.requests) == 1
    assert not (tmp_path / "dem.tif").exists()


def test_retries_give_up_with_a_clear_message(ee_offline, tmp_path, monkeypatch):
    err = ee.EEException("503 Service Unavailable")
    server = FakeServer(fail={i: err for i in range(10)})
    monkeypatch.setattr(ee.data, "computePixels", server)
    with pytest.raises(E.EarthEngineError, match="still failing after 3 attempts"):
        E.fetch_layer(E.dem_image("srtm", None), small_grid(40, 30), tmp_path / "dem.tif",
                      tmp_path / "c", "dem", "float32", FLOAT_NODATA, progress=False,
                      retry={**NO_WAIT, "attempts": 3})
    assert len(server.requests) == 3


def test_interrupted_download_resumes_without_refetching(ee_offline, tmp_path, monkeypatch):
    grid = small_grid(100, 80)
    img = E.dem_image("glo30", E.region_of(grid))
    kw = {"name": "dem", "dtype": "float32", "nodata": FLOAT_NODATA, "max_tile_pixels": 32,
          "progress": False, "retry": NO_WAIT}
    first = FakeServer(fail={5: ee.EEException("User memory limit exceeded.")})
    monkeypatch.setattr(ee.data, "computePixels", first)
    with pytest.raises(E.EarthEngineError, match="Fix: lower earthengine.max_tile_pixels"):
        E.fetch_layer(img, grid, tmp_path / "dem.tif", tmp_path / "cache", **kw)
    assert not (tmp_path / "dem.tif").exists()
    done = {(r["grid"]["affineTransform"]["translateX"],
             r["grid"]["affineTransform"]["translateY"]) for r in first.requests[:5]}
    second = FakeServer()
    monkeypatch.setattr(ee.data, "computePixels", second)
    out = E.fetch_layer(img, grid, tmp_path / "dem.tif", tmp_path / "cache", **kw)
    asked = {(r["grid"]["affineTransform"]["translateX"],
              r["grid"]["affineTransform"]["translateY"]) for r in second.requests}
    n_tiles = len(E.plan_tiles(grid, 32))  # 4 x 3 = 12
    assert n_tiles == 12 and len(second.requests) == n_tiles - 5
    assert not (asked & done)
    with rasterio.open(out) as ds:
        X, Y = np.meshgrid(grid.x0 + 30 * (np.arange(100) + 0.5),
                           grid.y0 - 30 * (np.arange(80) + 0.5))
        np.testing.assert_allclose(ds.read(1), expected_value("dem", X, Y), rtol=1e-6)
    # a different expression never reuses those tiles
    third = FakeServer()
    monkeypatch.setattr(ee.data, "computePixels", third)
    E.fetch_layer(E.dem_image("srtm", None), grid, tmp_path / "dem2.tif", tmp_path / "cache",
                  **kw)
    assert len(third.requests) == n_tiles


def test_all_nodata_answer_is_an_error(ee_offline, tmp_path, monkeypatch):
    def blank(request):
        g = request["grid"]
        a = g["affineTransform"]
        with rasterio.MemoryFile() as mem:
            with mem.open(driver="GTiff", width=g["dimensions"]["width"],
                          height=g["dimensions"]["height"], count=1, dtype="float32",
                          crs=g["crsCode"], transform=Affine(a["scaleX"], 0, a["translateX"],
                                                            0, a["scaleY"],
                                                            a["translateY"])) as ds:
                ds.write(np.full((ds.height, ds.width), FLOAT_NODATA, "float32"), 1)
            return mem.read()

    monkeypatch.setattr(ee.data, "computePixels", blank)
    with pytest.raises(InputDataError, match="no valid pixel over the basin grid"):
        E.fetch_layer(E.precipitation_image(2021, None), small_grid(20, 20),
                      tmp_path / "p.tif", tmp_path / "c", "precipitation", "float32",
                      FLOAT_NODATA, progress=False, retry=NO_WAIT)


# -- source interface -------------------------------------------------------------------------
def test_acquire_year_and_static(ee_offline, tmp_path, monkeypatch):
    cfg = make_cfg(tmp_path)
    grid = small_grid(60, 50)
    server = FakeServer()
    monkeypatch.setattr(ee.data, "computePixels", server)
    out = tmp_path / "inputs" / "2021"
    paths = E.acquire_year(cfg, grid, 2021, out, init=False, progress=False, retry=NO_WAIT)
    assert set(paths) == {"landcover", "precipitation", "reference_et"}
    loads = [a["id"] for r in server.requests for n, a in calls(r["tree"])
             if n.endswith(".load")]
    assert {"ESA/WorldCover/v200", "UCSB-CHG/CHIRPS/DAILY", "IDAHO_EPSCOR/TERRACLIMATE"} \
        <= set(loads)
    with rasterio.open(paths["landcover"]) as ds:
        assert ds.dtypes[0] == "uint8" and ds.nodata == LANDCOVER_NODATA
        assert set(np.unique(ds.read(1))) == {10, 40}
        assert ds.transform == grid.transform
    assert any((tmp_path / "cache").iterdir())  # earthengine.cache_dir, relative to config

    server.requests.clear()
    static = E.acquire_static(cfg, grid, tmp_path / "inputs", init=False, progress=False,
                              retry=NO_WAIT)
    assert set(static) == {"dem", "root_restricting_depth", "plant_available_water"}
    names = {next(c[1]["names"][0] for c in calls(r["tree"]) if c[0] == "Image.rename")
             for r in server.requests}
    assert names == {"dem", "plant_available_water"}  # depth is the documented constant
    with rasterio.open(static["root_restricting_depth"]) as ds:
        np.testing.assert_array_equal(ds.read(1), E.DEFAULT_ROOT_RESTRICTING_DEPTH_MM)


def test_failure_in_one_layer_writes_no_layer(ee_offline, tmp_path, monkeypatch):
    cfg = make_cfg(tmp_path)
    server = FakeServer(fail={1: ee.EEException("Collection.first: Empty collection")})
    monkeypatch.setattr(ee.data, "computePixels", server)
    out = tmp_path / "inputs" / "2021"
    with pytest.raises(E.EarthEngineError):
        E.acquire_year(cfg, small_grid(20, 20), 2021, out, init=False, progress=False,
                       retry=NO_WAIT)
    assert not out.exists() or not list(out.glob("*.tif"))


# -- live -------------------------------------------------------------------------------------
def _live_ready() -> bool:
    if os.environ.get("GEP_LIVE_TESTS") != "1":
        return False
    try:
        E.select_credentials()
    except ConfigError:
        return False
    return bool(os.environ.get("EE_PROJECT") or os.environ.get("GOOGLE_CLOUD_PROJECT")
                or E.select_credentials().kind == "service_account")


@pytest.mark.live
@pytest.mark.skipif(not _live_ready(), reason="needs GEP_LIVE_TESTS=1, Earth Engine "
                    "credentials and a project (EE_PROJECT)")
def test_live_small_dem_and_landcover(tmp_path):
    """Fetch a 64 x 64 px corner near the Xin'an River outlet (Jiekou) and sanity-check it."""
    cfg = validate({"basin": "live", "source": "earthengine", "years": [2021],
                    "parties": {"path": "none.gpkg"},
                    "earthengine": {"project": os.environ.get("EE_PROJECT"),
                                    "cache_dir": str(tmp_path / "cache")}},
                   config_dir=tmp_path)
    E.initialize(cfg)
    grid = Grid(UTM, 690_000.0, 3_300_000.0, 30.0, 64, 64)
    static = E.acquire_static(cfg, grid, tmp_path / "s", init=False)
    with rasterio.open(static["dem"]) as ds:
        dem = ds.read(1)
    assert np.all((dem > -50) & (dem < 2000))
    year = E.acquire_year(cfg, grid, 2021, tmp_path / "y", init=False)
    with rasterio.open(year["landcover"]) as ds:
        assert set(np.unique(ds.read(1))) <= {10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100, 255}
    with rasterio.open(year["precipitation"]) as ds:
        assert 800 < float(np.mean(ds.read(1))) < 3000  # mm/yr in south-east China
