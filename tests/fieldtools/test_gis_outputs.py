"""Outputs for GIS: COG rasters, the GeoPackage of GEP per party and its QGIS style."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio

from gep.gis import attribution_fields, class_breaks, gep_layers
from gep.money import to_fen
from gep.sources.base import COG_OPTIONS, Grid, iter_windows, open_cog, write_raster


def _is_cog(path) -> bool:
    with rasterio.open(path) as ds:
        return ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


def test_gep_rasters_are_cogs(field_run):
    _, out = field_run
    tifs = sorted((out / "inputs").rglob("*.tif"))
    assert len(tifs) > 20
    not_cog = [str(t.relative_to(out)) for t in tifs if not _is_cog(t)]
    assert not_cog == []


def test_open_cog_block_by_block_with_overviews(tmp_path):
    """A 1100 x 900 raster written strip by strip: a COG with internal overviews, the full
    resolution unchanged, and class codes kept as codes in the overviews (nearest)."""
    grid = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, 1100, 900)
    rng = np.random.default_rng(5)
    codes = rng.choice(np.array([10, 20, 40, 50, 255], np.uint8), size=(900, 1100))
    rain = rng.uniform(900, 2100, size=(900, 1100)).astype("float32")
    lc_path, rain_path = tmp_path / "lc.tif", tmp_path / "rain.tif"
    with open_cog(lc_path, grid.profile("uint8", 255)) as ds:
        for w in iter_windows(grid, block_rows=128):
            r0, h = int(w.row_off), int(w.height)
            ds.write(codes[r0:r0 + h], 1, window=w)
    write_raster(rain_path, rain, grid, -9999.0)
    for p in (lc_path, rain_path):
        assert _is_cog(p)
        with rasterio.open(p) as ds:
            assert ds.overviews(1), "no internal overviews"
            assert ds.block_shapes[0] == (256, 256)
            assert ds.profile["compress"].lower() == COG_OPTIONS["COMPRESS"].lower()
    with rasterio.open(lc_path) as ds:
        assert np.array_equal(ds.read(1), codes)
        small = ds.read(1, out_shape=(225, 275))  # served from an overview
        assert set(np.unique(small)) <= {10, 20, 40, 50, 255}
    with rasterio.open(rain_path) as ds:
        assert np.array_equal(ds.read(1), rain)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["lc.tif", "rain.tif"]  # no leftovers


def test_open_cog_failure_leaves_nothing(tmp_path):
    grid = Grid("EPSG:32650", 0.0, 0.0, 10.0, 300, 300)
    with pytest.raises(RuntimeError):
        with open_cog(tmp_path / "x.tif", grid.profile("float32", -1.0)):
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def _csv_totals(gep_csv):
    g = pd.read_csv(gep_csv, dtype=str, keep_default_na=False)
    tot = {}
    for y, p, v in zip(g["year"], g["party_id"], g["value_cny_constant"]):
        if v:
            tot[(int(y), p)] = tot.get((int(y), p), Decimal(0)) + Decimal(v)
    return g, tot


def test_geopackage_layers_fields_and_values(field_run):
    _, out = field_run
    gpkg = out / "gep" / "gep_by_party.gpkg"
    layers = dict(pyogrio.list_layers(gpkg))
    assert {"gep_2020", "gep_2021", "responsibility", "services", "layer_styles"} <= set(layers)
    assert layers["gep_2021"] == "Polygon" and layers["services"] is None
    info = pyogrio.read_info(gpkg, layer="gep_2021")
    types = dict(zip(info["fields"], info["dtypes"]))
    g, tot = _csv_totals(out / "gep" / "gep_by_party.csv")
    for s in set(g["service"]):
        assert types[f"{s}_qty"] == "float64"
        assert types[f"{s}_cny_const"] == "float64" and types[f"{s}_cny_cur"] == "float64"
    assert types["year"] == "int64" and types["name_zh"] == "object"
    parties = gpd.read_file(out / "inputs" / "parties.gpkg")
    for y in (2020, 2021):
        lay = gpd.read_file(gpkg, layer=f"gep_{y}")
        assert len(lay) == len(parties) and lay.crs == parties.crs
        for r in lay.itertuples():
            assert Decimal(repr(r.gep_cny_const)).quantize(Decimal("0.01")) == \
                to_fen(tot[(y, r.party_id)])
            want = g[(g.year == str(y)) & (g.party_id == r.party_id) &
                     (g.service == "water_yield")]["quantity"].astype(float).item()
            assert r.water_yield_qty == pytest.approx(want, rel=1e-12)
        assert "林溪县" in set(lay["name_zh"])
        # the polygons are the parties' own
        m = lay.merge(parties[["party_id", "geometry"]], on="party_id")
        assert all(a.equals(b) for a, b in zip(m["geometry_x"], m["geometry_y"]))
    resp = gpd.read_file(gpkg, layer="responsibility")
    perf = pd.read_csv(out / "monitoring" / "performance.csv")
    assert len(resp) == len(perf)
    assert resp["met"].dtype == bool
    assert resp["met"].tolist() == (perf["met"].astype(str).str.lower() == "true").tolist()


def test_qml_style_matches_the_layers(field_run):
    _, out = field_run
    qml = (out / "gep" / "gep_by_party.qml").read_text(encoding="utf-8")
    root = ET.fromstring(qml.split("\n", 1)[1])
    r = root.find("renderer-v2")
    field = r.get("attr")
    ranges = [(float(x.get("lower")), float(x.get("upper"))) for x in r.find("ranges")]
    assert len(r.find("symbols")) == len(ranges) >= 2
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))  # contiguous classes
    for y in (2020, 2021):
        v = gpd.read_file(out / "gep" / "gep_by_party.gpkg", layer=f"gep_{y}")[field]
        assert ((v >= ranges[0][0]) & (v <= ranges[-1][1])).all()
    label = root.find("labeling/settings/text-style")
    assert "name_zh" in label.get("fieldName") and "CJK" in label.get("fontFamily")
    styles = gpd.read_file(out / "gep" / "gep_by_party.gpkg", layer="layer_styles")
    assert set(styles["f_table_name"]) == {"gep_2020", "gep_2021"}
    assert (styles["styleQML"] == qml).all()


def test_class_breaks_cover_values():
    v = [3.2, 10.0, 55.5, 90.1, 120.9, float("nan")]
    b = class_breaks(v, 5)
    assert b[0] <= 3.2 and b[-1] >= 120.9 and b == sorted(set(b))
    assert class_breaks([7.0, 7.0]) == [7.0, 8.0]


def test_attribution_joined_when_present():
    from shapely.geometry import box

    parties = gpd.GeoDataFrame(
        {"party_id": ["a", "b"], "name": ["A County", "B City"], "name_zh": ["甲县", "乙市"],
         "role": ["upstream", "downstream"], "province": ["X", "Y"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 300, 100)], crs="EPSG:32650")
    gep = pd.DataFrame({"year": [2021] * 2, "party_id": ["a", "b"], "service": ["w"] * 2,
                        "quantity": [1.5, 2.5], "unit": ["m3"] * 2,
                        "value_cny_constant": ["10.10", "20.25"],
                        "value_cny_current": ["11.00", ""]})
    att = pd.DataFrame({"year": [2021] * 4, "party_id": ["a", "a", "b", "b"],
                        "driver": ["climate", "land cover"] * 2,
                        "delta_value_cny": [1.25, -3.5, 0.0, 7.0]})
    lay = gep_layers(parties, gep, att)[2021]
    assert lay.loc[lay.party_id == "a", "attr_climate_delta_value_cny"].item() == 1.25
    assert lay.loc[lay.party_id == "b", "attr_land_cover_delta_value_cny"].item() == 7.0
    assert lay["gep_cny_const"].tolist() == [10.10, 20.25]
    assert np.isnan(lay.loc[lay.party_id == "b", "w_cny_cur"].item())
    assert lay["gep_cny_const_per_ha"].tolist() == [10.10, 10.13]  # 10.125 half-up
    wide = attribution_fields(pd.DataFrame({"party_id": ["a"], "share": [0.4]}), 2021)
    assert wide.loc["a", "attr_share"] == 0.4
