"""Zonal sums and valuation against values computed independently in the test."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
import yaml

from gep.errors import ConfigError, InputDataError
from gep.sources.base import Grid, write_raster
from gep.valuation import load_prices, value
from gep.zonal import zonal_year

GRID = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, 7, 6)
A = 900.0  # m2 per pixel


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(7)
    inputs = tmp_path / "inputs" / "2021"
    lc = rng.choice([10, 20, 40, 50, 80], size=(6, 7)).astype(np.uint8)
    lc[0, 0] = 255  # nodata land cover inside a party: excluded everywhere
    parties = np.array([[1] * 4 + [2] * 3] * 3 + [[3] * 7] * 3, dtype=np.int16)
    parties[5, 6] = 0  # outside every party
    precip = rng.uniform(1500, 2100, (6, 7)).astype(np.float32)
    wy = rng.uniform(500, 1200, (6, 7)).astype(np.float32)
    wy[2, 2] = -1.0  # InVEST nodata pixel
    hq = rng.uniform(0, 1, (6, 7)).astype(np.float32)
    write_raster(inputs / "landcover.tif", lc, GRID, 255)
    write_raster(inputs / "precipitation.tif", precip, GRID, -9999.0)
    write_raster(tmp_path / "parties.tif", parties, GRID, -1)
    ws_awy = tmp_path / "ws" / "annual_water_yield"
    write_raster(ws_awy / "output" / "per_pixel" / "wyield.tif", wy, GRID, -1.0)
    ws_hq = tmp_path / "ws" / "habitat_quality"
    write_raster(ws_hq / "quality_c.tif", hq, GRID, -1.0)
    pd.DataFrame({"index": [1, 2, 3], "party_id": ["a", "b", "c"], "name": "x", "name_zh": "x",
                  "role": ["upstream", "upstream", "downstream"], "province": "p"}).to_csv(
        tmp_path / "parties.csv", index=False)
    out = zonal_year(2021, inputs, tmp_path / "parties.tif", tmp_path / "parties.csv",
                     {"annual_water_yield": ws_awy, "habitat_quality": ws_hq},
                     tmp_path / "zonal.csv")
    return dict(lc=lc, parties=parties, precip=precip, wy=wy, hq=hq, out=out, tmp=tmp_path)


def test_zonal_sums_match_direct_numpy(tiny):
    z = pd.read_csv(tiny["out"])
    lc, pa = tiny["lc"], tiny["parties"]
    for label, pid in [(1, "a"), (2, "b"), (3, "c")]:
        sel = (pa == label) & (lc != 255)
        expect_wy = float(np.sum(tiny["wy"][sel & (tiny["wy"] != -1)].astype(np.float64))) \
            / 1000 * A
        got = z[(z.party_id == pid) & (z.variable == "water_yield")]["quantity"].sum()
        assert got == pytest.approx(expect_wy, rel=1e-12)
        expect_hq = float(np.sum(tiny["hq"][sel].astype(np.float64))) * A / 1e4
        got = z[(z.party_id == pid) & (z.variable == "habitat_quality")]["quantity"].sum()
        assert got == pytest.approx(expect_hq, rel=1e-12)
        area = z[(z.party_id == pid) & (z.variable == "area")]["quantity"].sum()
        assert area == pytest.approx(sel.sum() * A / 1e4)
    # the nodata pixel is counted, not silently dropped
    nod = z[(z.variable == "water_yield")]["nodata_pixels"].sum()
    assert nod == 1


def test_parties_add_up_to_basin(tiny):
    z = pd.read_csv(tiny["out"])
    lc, pa, wy = tiny["lc"], tiny["parties"], tiny["wy"]
    basin = (pa > 0) & (lc != 255) & (wy != -1)
    total = z[z.variable == "water_yield"]["quantity"].sum()
    assert total == pytest.approx(float(wy[basin].astype(np.float64).sum()) / 1000 * A, rel=1e-12)


def test_clipped_output_on_same_lattice_is_read_in_place(tiny):
    """InVEST clips AWY/SDR outputs to the watershed bounding box: read them at an offset."""
    sub = Grid("EPSG:32650", 500030.0, 3300000.0 - 60.0, 30.0, 5, 3)  # rows 2-4, cols 1-5
    ws = tiny["tmp"] / "clipped"
    write_raster(ws / "quality_c.tif", tiny["hq"][2:5, 1:6], sub, -1.0)
    out = zonal_year(2021, tiny["tmp"] / "inputs" / "2021", tiny["tmp"] / "parties.tif",
                     tiny["tmp"] / "parties.csv", {"habitat_quality": ws}, tiny["tmp"] / "z3.csv")
    z = pd.read_csv(out)
    sel = np.zeros((6, 7), bool)
    sel[2:5, 1:6] = True
    sel &= (tiny["parties"] == 3) & (tiny["lc"] != 255)
    got = z[(z.party_id == "c") & (z.variable == "habitat_quality")]["quantity"].sum()
    assert got == pytest.approx(float(tiny["hq"][sel].astype(np.float64).sum()) * A / 1e4)


def test_off_grid_output_is_refused(tiny):
    other = Grid("EPSG:32650", 500010.0, 3300000.0, 30.0, 7, 6)
    ws = tiny["tmp"] / "bad"
    write_raster(ws / "quality_c.tif", tiny["hq"], other, -1.0)
    with pytest.raises(InputDataError, match="shifted lattice"):
        zonal_year(2021, tiny["tmp"] / "inputs" / "2021", tiny["tmp"] / "parties.tif",
                   tiny["tmp"] / "parties.csv", {"habitat_quality": ws}, tiny["tmp"] / "z2.csv")
    assert not (tiny["tmp"] / "z2.csv").exists()


def _fen(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_valuation_matches_hand_computation(tiny, repo):
    z = pd.read_csv(tiny["out"])
    z2 = z.copy()
    z2["year"] = 2022
    z2.loc[z2.variable == "habitat_quality", "quantity"] *= 1.1
    z2.to_csv(tiny["tmp"] / "z2022.csv", index=False)
    prices_path = repo / "config" / "prices.yaml"
    runoff_path = repo / "config" / "tables" / "runoff_coefficients.csv"
    gep, inc = value([tiny["out"], tiny["tmp"] / "z2022.csv"], prices_path, runoff_path,
                     tiny["tmp"] / "gep.csv", tiny["tmp"] / "inc.csv")
    g = pd.read_csv(gep, dtype={"value_cny_constant": str, "value_cny_current": str})
    prices = yaml.safe_load(prices_path.read_text())
    rt = pd.read_csv(runoff_path).set_index("lucode")
    runoff = rt["runoff_coefficient"].to_dict()
    counted = {int(c) for c in rt.index[rt["water_conservation"] == "yes"]}
    cpi = {int(k): Decimal(str(v)) for k, v in prices["cpi"].items()}
    k2020 = Decimal(1)
    for y in range(2011, 2021):
        k2020 *= 1 + cpi[y]
    k2021 = k2020 * (1 + cpi[2021])

    lc, pa, wy, pr = tiny["lc"], tiny["parties"], tiny["wy"], tiny["precip"]
    sel = (pa == 1) & (lc != 255) & (wy != -1)
    # built-up and bare land count no water conservation (runoff table: water_conservation no)
    wc = sum(Decimal(repr(float(w) / 1000 * A)) - Decimal(str(runoff[int(c)]))
             * Decimal(repr(float(p) / 1000 * A)) for w, p, c in zip(wy[sel], pr[sel], lc[sel])
             if int(c) in counted)
    row = g[(g.year == 2021) & (g.party_id == "a") & (g.service == "water_conservation")].iloc[0]
    assert float(row.quantity) == pytest.approx(float(wc), abs=0.0005)  # 3 decimals
    assert Decimal(row.value_cny_constant) == pytest.approx(_fen(wc * Decimal("7.06") * k2020),
                                                            abs=Decimal("0.02"))
    assert Decimal(row.value_cny_current) == pytest.approx(_fen(wc * Decimal("7.06") * k2021),
                                                           abs=Decimal("0.02"))
    # biodiversity: Q x area x factor x 3406.5
    ef = {int(k): Decimal(str(v)) for k, v in prices["services"]["biodiversity"][
        "equivalent_factors"].items()}
    sel_b = (pa == 2) & (lc != 255)
    bio = sum(Decimal(repr(float(q) * A / 1e4)) * ef[int(c)] * Decimal("3406.5")
              for q, c in zip(tiny["hq"][sel_b], lc[sel_b]))
    row = g[(g.year == 2021) & (g.party_id == "b") & (g.service == "biodiversity")].iloc[0]
    assert Decimal(row.value_cny_constant) == pytest.approx(_fen(bio * k2020),
                                                            abs=Decimal("0.05"))
    # water_yield is physical only
    wyr = g[g.service == "water_yield"]
    assert wyr["value_cny_constant"].isna().all()
    # increments: exact difference of the constant values, 10 % more habitat quality
    i = pd.read_csv(inc, dtype={"delta_value_cny_constant": str})
    for pid in "abc":
        v = {y: Decimal(g[(g.year == y) & (g.party_id == pid) & (g.service == "biodiversity")]
                        .value_cny_constant.iloc[0]) for y in (2021, 2022)}
        d = Decimal(i[(i.party_id == pid) & (i.service == "biodiversity")]
                    .delta_value_cny_constant.iloc[0])
        assert d == v[2022] - v[2021]
        assert d > 0
        wcd = Decimal(i[(i.party_id == pid) & (i.service == "water_conservation")]
                      .delta_value_cny_constant.iloc[0])
        assert wcd == 0  # water unchanged between the two years


def test_missing_cpi_year_is_an_error(tmp_path, repo):
    data = yaml.safe_load((repo / "config" / "prices.yaml").read_text())
    del data["cpi"][2015]
    p = tmp_path / "prices.yaml"
    p.write_text(yaml.safe_dump(data))
    prices = load_prices(p)
    with pytest.raises(ConfigError) as exc:
        prices.index(2010, 2020)
    assert exc.value.key == "cpi.2015" and str(p) in str(exc.value)
    assert prices.index(2016, 2020) * prices.index(2020, 2016) == pytest.approx(Decimal(1))
