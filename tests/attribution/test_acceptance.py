"""Issue 10 acceptance: small local-source basins through `gep run`.

1. Land cover identical every year, rainfall changing: every land-use change is 0 to the fen,
   the total change is not, and no reward is paid.
2. Climate identical every year, one block of cropland turned to forest in one upstream party:
   land use explains the whole change (land_use == total to the fen) and only that party is
   rewarded.
"""
from __future__ import annotations

import shutil
from decimal import Decimal

import numpy as np
import pandas as pd
import rasterio
import yaml

from gep import acquire
from gep.cli import main
from gep.config import load_config

YEARS = [2020, 2021]


def _write_like(src, dst, array):
    with rasterio.open(src) as ds:
        prof = ds.profile
    with rasterio.open(dst, "w", **prof) as out:
        out.write(array.astype(prof["dtype"]), 1)


def _userdata(config_factory, tmp_path):
    """A 48 x 48 demo basin's 2020 layers as GeoTIFFs, its parties, and the quality file."""
    demo = load_config(config_factory(demo={"rows": 48, "cols": 48}, years=[2020]))
    acquire.acquire_parties(demo)
    acquire.acquire_static(demo)
    acquire.acquire_year(demo, 2020)
    data = tmp_path / "userdata"
    data.mkdir()
    src = demo.out / "inputs" / "2020"
    for name in ("landcover", "precipitation", "reference_et"):
        shutil.copy(src / f"{name}.tif", data / f"{name}.tif")
    for name in ("dem", "root_restricting_depth", "plant_available_water"):
        shutil.copy(demo.out / "inputs" / "static" / f"{name}.tif", data / f"{name}.tif")
    shutil.copy(demo.out / "inputs" / "parties.gpkg", data / "parties.gpkg")
    q = pd.read_csv(demo.config_dir / "demo" / "section_quality_standin.csv")
    q[q.year <= YEARS[-1]].to_csv(data / "quality.csv", index=False)
    return demo, data


def _run(demo, data, tmp_path, layers, name, **extra):
    cdir = demo.config_dir
    cfg = {
        "basin": name, "source": "local", "results_dir": str(tmp_path / "results"),
        "grid": {"crs": "EPSG:32650", "pixel_size": 30},
        "parties": {"path": str(data / "parties.gpkg"), "id_field": "party_id"},
        "years": YEARS,
        "layers": layers | {n: str(data / f"{n}.tif") for n in
                            ("dem", "root_restricting_depth", "plant_available_water")},
        "monitoring": {"enabled": False},
        "compensation": {"agreement": str(cdir / "agreement.yaml"),
                         "quality": str(data / "quality.csv")},
        "ledger": {"enabled": False},
    } | extra
    path = cdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
    assert main(["run", "--config", str(path), "--cores", "2", "--", "--quiet", "all"]) == 0
    out = tmp_path / "results" / name
    att = pd.read_csv(out / "gep" / "attribution.csv", dtype=str)
    transfers = pd.read_csv(out / "compensation" / "transfers.csv", dtype=str)
    return out, att, transfers


def test_rain_alone_changes_no_land_use_value_and_earns_no_reward(config_factory, tmp_path):
    demo, data = _userdata(config_factory, tmp_path)
    with rasterio.open(data / "precipitation.tif") as ds:
        p = ds.read(1)
        nod = ds.nodata
    for y, f in zip(YEARS, (1.0, 0.8)):            # a normal and a dry year
        _write_like(data / "precipitation.tif", data / f"p{y}.tif",
                    np.where(p == nod, p, p * f))
    layers = {"landcover": {y: str(data / "landcover.tif") for y in YEARS},
              "precipitation": {y: str(data / f"p{y}.tif") for y in YEARS},
              "reference_et": {y: str(data / "reference_et.tif") for y in YEARS}}
    out, att, transfers = _run(demo, data, tmp_path, layers, "rainonly")
    assert set(att.year.astype(int)) == {2021}
    assert (att.land_use == "0.00").all()
    wc = att[att.service == "water_conservation"]
    assert (wc.total != "0.00").all()          # the weather moved GEP in every party
    for r in att.itertuples():
        assert Decimal(r.climate) == Decimal(r.total)
    assert transfers[transfers.clause == "reward"].empty
    # neither year's rain is the reference (mean) rain: reference runs were made
    for y in YEARS:
        assert (out / "reference" / str(y) / "annual_water_yield" / "output" / "per_pixel"
                / "wyield.tif").exists()


def test_reforesting_party_alone_is_rewarded_when_climate_is_fixed(config_factory, tmp_path):
    demo, data = _userdata(config_factory, tmp_path)
    with rasterio.open(data / "landcover.tif") as ds:
        lc = ds.read(1)
    with rasterio.open(demo.out / "inputs" / "parties.tif") as ds:
        pa = ds.read(1)
    ids = pd.read_csv(demo.out / "inputs" / "parties.csv")
    code = int(ids.loc[ids.party_id == "shanyuan", "index"].iloc[0])
    # an 8 x 8 block lying wholly in Shanyuan (and inside the basin)
    r0 = c0 = None
    for r in range(0, lc.shape[0] - 8):
        for c in range(0, lc.shape[1] - 8):
            if (pa[r:r + 8, c:c + 8] == code).all() and (lc[r:r + 8, c:c + 8] != 255).all():
                r0, c0 = r, c
                break
        if r0 is not None:
            break
    assert r0 is not None
    crop, forest = lc.copy(), lc.copy()
    crop[r0:r0 + 8, c0:c0 + 8] = 40
    forest[r0:r0 + 8, c0:c0 + 8] = 10
    _write_like(data / "landcover.tif", data / "lc_crop.tif", crop)
    _write_like(data / "landcover.tif", data / "lc_forest.tif", forest)
    layers = {"landcover": {2020: str(data / "lc_crop.tif"), 2021: str(data / "lc_forest.tif")},
              "precipitation": {y: str(data / "precipitation.tif") for y in YEARS},
              "reference_et": {y: str(data / "reference_et.tif") for y in YEARS}}
    # Cropland is also a habitat threat reaching 4 km, so by default the block's neighbours
    # gain habitat quality too (a real land-use effect that would reward them). To test that
    # the reward follows the party that changed its land, the threats here are built-up land
    # and roads only.
    threats = pd.read_csv(demo.config_dir / "tables" / "threats.csv")
    threats[threats.threat != "crop"].to_csv(data / "threats.csv", index=False)
    out, att, transfers = _run(demo, data, tmp_path, layers, "reforest",
                               models={"habitat_quality": {
                                   "half_saturation_constant": 0.35,
                                   "threats_table": str(data / "threats.csv")}})
    assert (att.land_use == att.total).all()
    assert (att.climate == "0.00").all()
    changed = att[att.total != "0.00"]
    assert set(changed.party_id) == {"shanyuan"} and set(changed.year) == {"2021"}
    rewards = transfers[transfers.clause == "reward"]
    assert set(rewards.to_account) == {"shanyuan"} and set(rewards.year) == {"2021"}
    # the climate is the reference climate: the actual runs were reused, none made again
    assert not (out / "reference").exists()
