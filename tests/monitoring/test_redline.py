"""Red-line natural cover (responsibility list) from land cover, parties and red-line rasters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

from gep.errors import ConfigError, InputDataError
from gep.monitoring import annual
from gep.monitoring.pipeline import monitor

from .helpers import STATIONS, day_frame, write_readings

NATURAL = (10, 20, 30, 80, 90)
PX_KM2 = 30 * 30 / 1e6


def _tif(path, arr, dtype, nodata, transform=None):
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0],
                       count=1, dtype=dtype, crs="EPSG:32650", nodata=nodata,
                       transform=transform or from_origin(700000, 3310000, 30, 30)) as dst:
        dst.write(arr.astype(dtype), 1)
    return path


@pytest.fixture
def basin(tmp_path):
    rng = np.random.default_rng(7)
    parties = np.zeros((10, 12), dtype=np.int16)
    parties[:9, :6] = 1
    parties[:9, 6:] = 2            # row 9 outside every party
    redline = np.zeros((10, 12), dtype=np.uint8)
    redline[:4] = 1
    redline[0, 0] = 255            # nodata: not in the zone
    redline[9] = 1                 # in the zone but outside the parties
    codes = np.array([10, 20, 30, 40, 50, 60, 80, 90, 255])
    lc = {y: codes[rng.integers(0, codes.size, (10, 12))] for y in (2021, 2022)}
    inputs = tmp_path / "inputs"
    for y, arr in lc.items():
        (inputs / str(y)).mkdir(parents=True)
        _tif(inputs / str(y) / "landcover.tif", arr, "uint8", 255)
    _tif(inputs / "parties.tif", parties, "int16", -1)
    _tif(inputs / "redline.tif", redline, "uint8", 255)
    pd.DataFrame({"index": [1, 2], "party_id": ["up_a", "up_b"], "name": ["A", "B"],
                  "name_zh": ["甲", "乙"], "role": ["upstream", "upstream"],
                  "province": ["Anhui", "Anhui"]}).to_csv(inputs / "parties.csv", index=False)
    return {"inputs": inputs, "lc": lc, "parties": parties, "redline": redline}


def _expected(b, year, party):
    nat = zone = 0
    for r in range(10):
        for c in range(12):
            if b["redline"][r, c] == 1 and b["parties"][r, c] == party:
                zone += 1
                nat += int(b["lc"][year][r, c]) in NATURAL
    return nat * PX_KM2, zone * PX_KM2


def test_natural_cover_counts_pixels_block_by_block(basin, monkeypatch):
    monkeypatch.setattr(annual, "BLOCK_ROWS", 3)  # four strips of a 10-row raster
    i = basin["inputs"]
    nat, zone = annual.natural_cover(i / "2021" / "landcover.tif", i / "parties.tif",
                                     i / "redline.tif", 2, list(NATURAL))
    for party in (1, 2):
        e_nat, e_zone = _expected(basin, 2021, party)
        assert nat[party] == pytest.approx(e_nat) and zone[party] == pytest.approx(e_zone)


def test_performance_has_the_redline_target(basin, tmp_path, small_config):
    import yaml

    data = yaml.safe_load(small_config.read_text(encoding="utf-8"))
    data["flow"]["ecological_min_m3s"]["up_b_outlet"] = 5.0
    small_config.write_text(yaml.safe_dump(data), encoding="utf-8")
    stations = pd.concat([STATIONS, pd.DataFrame([["b_out", "up_b", "up_b_outlet", "outlet",
                                                   118.8, 29.9]], columns=STATIONS.columns)])
    st_path = tmp_path / "st.csv"
    stations.to_csv(st_path, index=False)
    df = pd.concat([day_frame(s, d) for s in ("bnd", "up_out", "b_out")
                    for d in ("2021-06-01", "2022-06-01")])
    readings = write_readings(df, tmp_path / "r.parquet")
    i = basin["inputs"]
    paths = monitor(readings, st_path, small_config, tmp_path / "out",
                    landcover_by_year={2021: i / "2021" / "landcover.tif",
                                       2022: i / "2022" / "landcover.tif"},
                    parties_raster=i / "parties.tif", parties_csv=i / "parties.csv",
                    redline_raster=i / "redline.tif")
    perf = pd.read_csv(paths["performance"], dtype={"met": str})
    red = perf[perf["target"] == "redline_natural_cover_km2"].set_index(["year", "party_id"])
    assert len(red) == 4  # up_a from the configuration, up_b from parties.csv (upstream)
    for year in (2021, 2022):
        for party, pid in ((1, "up_a"), (2, "up_b")):
            e_nat, e_zone = _expected(basin, year, party)
            row = red.loc[(year, pid)]
            assert row["value"] == pytest.approx(e_nat, abs=1e-6)
            assert row["threshold"] == pytest.approx(0.8 * e_zone, abs=1e-6)  # min_share 0.8
            assert row["met"] == ("true" if e_nat >= 0.8 * e_zone - 1e-9 else "false")


def test_grid_mismatch_and_partial_inputs_fail(basin, tmp_path, small_config, stations_csv):
    i = basin["inputs"]
    _tif(tmp_path / "shifted.tif", basin["redline"], "uint8", 255,
         transform=from_origin(700030, 3310000, 30, 30))
    with pytest.raises(InputDataError, match="not on the land-cover grid"):
        annual.natural_cover(i / "2021" / "landcover.tif", i / "parties.tif",
                             tmp_path / "shifted.tif", 2, list(NATURAL))
    readings = write_readings(day_frame("bnd", "2021-06-01"), tmp_path / "r.csv")
    with pytest.raises(ConfigError, match="needs land cover by year, parties.tif, parties.csv "
                                          "and redline.tif together"):
        monitor(readings, stations_csv, small_config, tmp_path / "out",
                parties_raster=i / "parties.tif")
    assert not (tmp_path / "out").exists()
