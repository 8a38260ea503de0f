"""Issue 6 contract: a `source: local` basin run through `gep run` gives the demo's layout."""
from __future__ import annotations

import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import yaml
from rasterio.warp import Resampling, calculate_default_transform, reproject

from gep import acquire
from gep.cli import main
from gep.config import load_config


def _to_crs(src_path, dst_path, crs):
    with rasterio.open(src_path) as src:
        t, w, h = calculate_default_transform(src.crs, crs, src.width, src.height, *src.bounds)
        prof = src.profile | {"crs": crs, "transform": t, "width": w, "height": h}
        prof.pop("blockxsize", None), prof.pop("blockysize", None), prof.pop("tiled", None)
        with rasterio.open(dst_path, "w", **prof) as dst:
            reproject(rasterio.band(src, 1), rasterio.band(dst, 1), resampling=Resampling.bilinear)


def test_local_basin_runs_end_to_end(config_factory, tmp_path):
    # 1. make "user data" from a tiny demo basin: GeoTIFFs (one in Web Mercator) and a
    #    GeoJSON of counties in lon/lat with its own id field
    demo_cfg = load_config(config_factory(demo={"rows": 64, "cols": 64}, years=[2020, 2021]))
    acquire.acquire_parties(demo_cfg)
    acquire.acquire_static(demo_cfg)
    data = tmp_path / "userdata"
    data.mkdir()
    for y in (2020, 2021):
        acquire.acquire_year(demo_cfg, y)
        src = demo_cfg.out / "inputs" / str(y)
        shutil.copy(src / "landcover.tif", data / f"lc{y}.tif")
        _to_crs(src / "precipitation.tif", data / f"p{y}.tif", "EPSG:3857")
        shutil.copy(src / "reference_et.tif", data / f"et{y}.tif")
    for name in ("dem", "root_restricting_depth", "plant_available_water"):
        shutil.copy(demo_cfg.out / "inputs" / "static" / f"{name}.tif", data / f"{name}.tif")
    parties = gpd.read_file(demo_cfg.out / "inputs" / "parties.gpkg")
    parties = parties.rename(columns={"party_id": "county_code"}).to_crs("EPSG:4326")
    parties.to_file(data / "counties.geojson", driver="GeoJSON")

    # 2. the basin config of the contract (section quality for the same years: the
    #    engine settles every year the quality file covers and wants GEP for each)
    cdir = demo_cfg.config_dir
    q = pd.read_csv(cdir / "demo" / "section_quality_standin.csv")
    q[q.year <= 2021].to_csv(data / "quality.csv", index=False)
    cfg = {
        "basin": "mybasin", "source": "local", "results_dir": str(tmp_path / "results"),
        "grid": {"crs": "EPSG:32650", "pixel_size": 30},
        "parties": {"path": str(data / "counties.geojson"), "id_field": "county_code"},
        "years": [2020, 2021],
        "layers": {
            "landcover": {y: str(data / f"lc{y}.tif") for y in (2020, 2021)},
            "precipitation": {y: str(data / f"p{y}.tif") for y in (2020, 2021)},
            "reference_et": {y: str(data / f"et{y}.tif") for y in (2020, 2021)},
            "dem": str(data / "dem.tif"),
            "root_restricting_depth": str(data / "root_restricting_depth.tif"),
            "plant_available_water": str(data / "plant_available_water.tif"),
        },
        "monitoring": {"enabled": False},
        "compensation": {"agreement": str(cdir / "agreement.yaml"),
                         "quality": str(data / "quality.csv")},
        "ledger": {"origin": "gep.example/mybasin", "key_dir": str(tmp_path / "keys")},
    }
    path = cdir / "mybasin.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    assert main(["run", "--config", str(path), "--cores", "2", "--", "--quiet", "all"]) == 0

    out = tmp_path / "results" / "mybasin"
    for rel in ("inputs/2021/landcover.tif", "inputs/parties.gpkg",
                "invest/2021/annual_water_yield/output/per_pixel/wyield.tif",
                "gep/gep_by_party.csv", "gep/increments.csv", "compensation/transfers.csv",
                "report/index.html", "ledger/checkpoint", "ledger/site/index.html"):
        assert (out / rel).exists(), rel
    gep = pd.read_csv(out / "gep" / "gep_by_party.csv")
    assert set(gep.party_id) == set(parties.county_code)
    # the Web Mercator precipitation came back onto the grid close to the original
    with rasterio.open(out / "inputs" / "2021" / "precipitation.tif") as a, \
            rasterio.open(demo_cfg.out / "inputs" / "2021" / "precipitation.tif") as b:
        # the local grid spans the parties' bounds, on the same 30 m lattice as the demo
        from rasterio.windows import from_bounds

        pa = a.read(1, masked=True)
        pb = b.read(1, masked=True, boundless=True, fill_value=b.nodata,
                    window=from_bounds(*a.bounds, transform=b.transform).round_offsets()
                    .round_lengths())
    both = ~np.ma.getmaskarray(pa) & ~np.ma.getmaskarray(pb)
    assert both.sum() > 0.5 * (~np.ma.getmaskarray(pb)).sum()
    assert np.median(np.abs(pa[both] - pb[both])) < 25  # mm/yr, from resampling twice
