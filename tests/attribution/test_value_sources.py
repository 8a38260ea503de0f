"""The shipped water-conservation numbers stay tied to the sources they cite (issue 10).

The figures below were read in the cited documents (config/tables/SOURCES.md), not taken from
gep's own output: if someone changes a number without changing its citation, these fail.
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

from gep.valuation import load_prices, load_runoff

# Baima Zhuoga et al. (2017), Acta Ecologica Sinica 37(19), Table 3, row 水源涵养:
# water conservation 321.49 x 10^8 m3, value 2269.71 x 10^8 CNY, in the 2010 accounts.
GARZE_WC_QUANTITY = Decimal("321.49")
GARZE_WC_VALUE = Decimal("2269.71")


def test_water_price_is_the_cited_table_row_at_its_price_year(repo):
    prices = load_prices(repo / "config" / "prices.yaml")
    wc = prices.service("water_conservation")
    price = Decimal(str(wc["unit_price"]))
    # the price reproduces the cited row to the table's own rounding (2 decimals of 10^8 CNY)
    assert abs(GARZE_WC_QUANTITY * price - GARZE_WC_VALUE) <= Decimal("0.01")
    assert prices.price_year == 2010                  # the year of the cited accounts
    source = " ".join(str(wc["source"]).split())
    for cited in ("37(19):6302-6312", "Table 3", "LY/T 1721-2008"):
        assert cited in source, f"water_conservation.source no longer cites {cited!r}"


def test_the_cropland_stand_in_is_labelled_and_equals_the_ratio_it_borrows(repo):
    path = repo / "config" / "tables" / "runoff_coefficients.csv"
    runoff = load_runoff(path)
    basis = pd.read_csv(path).set_index("lucode")["basis"]
    # SOURCES.md: cropland borrows the grass-shrub tussock ratio until a cited cropland
    # ratio replaces it; while it does, the row must say it is a stand-in
    if runoff[40] == runoff[30]:
        assert "stand-in" in basis[40]
    else:
        assert "stand-in" not in basis[40], "a new cropland ratio needs its source in basis"
