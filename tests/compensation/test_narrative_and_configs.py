"""Shipped configurations end to end, the statements in words, and a light import."""
from __future__ import annotations

import csv
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction as F
from pathlib import Path

from gep.compensation import allocate, narrative

from .helpers import read_outputs, write_csv

ROOT = Path(__file__).resolve().parents[2]
DEMO_AGREEMENT = ROOT / "config" / "agreement.yaml"
STANDIN = ROOT / "config" / "demo" / "section_quality_standin.csv"
XINAN = ROOT / "config" / "agreements" / "xinan_round1.yaml"
BASE = {"codmn": F("2.0"), "nh3n": F("0.12"), "tp": F("0.025"), "tn": F("1.10")}


def _demo_attribution(path: Path) -> Path:
    """An attribution table: land use as given, plus a climate part that the demo agreement's
    land-use basis must ignore (it is larger than the land-use part for linxi)."""
    rows = [[y, p, s, str(Decimal(v) + Decimal(c)), v, c] for y in range(2021, 2025)
            for p, v, c in (("shanyuan", "3000000", "-500"), ("linxi", "-100", "900"),
                            ("yunling", "1000", "0"), ("xiahe", "7", "1"))
            for s in ("water_conservation", "biodiversity")]
    return write_csv(path, ["year", "party_id", "service", "total", "land_use", "climate"],
                     rows)


def _allocate_demo(tmp_path: Path, out: Path):
    return allocate(DEMO_AGREEMENT, None, STANDIN, out,
                    attribution_path=_demo_attribution(tmp_path / "attribution.csv"))


def test_demo_standin_exercises_payment_and_clawback(tmp_path):
    # P from the stand-in, computed here: P = 0.85 * mean(C / C0)
    with open(STANDIN, newline="") as fh:
        conc: dict = {}
        for r in csv.DictReader(fh):
            conc.setdefault(int(r["year"]), {})[r["indicator"]] = F(r["concentration_mg_l"])
    p = {y: F(85, 100) * sum(c[k] / BASE[k] for k in BASE) / 4 for y, c in conc.items()}
    assert [y for y in sorted(p) if p[y] > 1] == [2023]      # the clawback year
    out = tmp_path / "out"
    _allocate_demo(tmp_path, out)
    transfers, _, summary = read_outputs(out)
    assert summary["years"] == [2021, 2022, 2023, 2024]
    for y in summary["years"]:
        assert abs(F(summary["by_year"][str(y)]["P"]) - p[y]) <= F(1, 2 * 10**6)
    assert {t["clause"] for t in transfers if t["year"] == "2023"} == {"clawback"}
    assert {t["clause"] for t in transfers if t["year"] == "2024"} == {"base", "reward"}
    # the upstream county whose land-use change is negative gets no reward, although its
    # total change (land use + climate) is positive: the demo agreement pays on land use
    assert not [t for t in transfers if t["clause"] == "reward" and t["to_account"] == "linxi"]
    assert summary["rules"]["reward_basis"] == "land_use"


def test_narrative_explains_each_account_in_both_languages(tmp_path):
    out = tmp_path / "out"
    _allocate_demo(tmp_path, out)
    _, statement, summary = read_outputs(out)
    story = narrative(out)
    assert set(story) == {"central", "basin_fund", "shanyuan", "linxi", "yunling", "xiahe",
                          "nanzhou"}
    for party, years in story.items():
        assert sorted(years) == [2021, 2022, 2023, 2024]
        for year, text in years.items():
            net = sum((Decimal(r["amount_cny"]) for r in statement
                       if r["party_id"] == party and r["year"] == str(year)), Decimal(0))
            shown = f"{abs(net):,.2f}"
            assert shown in text["en"] and shown in text["zh"]
            assert "元" in text["zh"] and "CNY" in text["en"]
    assert story["shanyuan"][2021]["zh"].startswith("2021年，山源县（上游）净收入")
    assert "P > 1, target missed" in story["linxi"][2023]["en"]
    assert "扣回" in story["linxi"][2023]["zh"]
    rate = Decimal(summary["by_year"]["2023"]["clawback_rate"]) * 100
    assert f"{rate:.2f}%" in story["yunling"][2023]["en"]
    assert "It had no transfers this year." in story["basin_fund"][2021]["en"]


def test_xinan_round1_bet_and_grant(tmp_path):
    rows = []
    for year, factor in ((2012, "1"), (2013, "1.2"), (2014, "1.17"), (2015, "0.5")):
        rows += [[year, "jiekou", k, str(Decimal(v) * Decimal(factor))] for k, v in
                 (("codmn", "2.0"), ("nh3n", "0.12"), ("tp", "0.025"), ("tn", "1.10"))]
    quality = write_csv(tmp_path / "q.csv", ["year", "section", "indicator",
                                             "concentration_mg_l"], rows)
    out = tmp_path / "out"
    allocate(XINAN, None, quality, out)
    transfers, _, summary = read_outputs(out)
    assert summary["years"] == [2012, 2013, 2014]          # end_year caps the round
    got = [(t["year"], t["clause"], t["from_account"], t["to_account"], t["amount_cny"])
           for t in transfers]
    assert got == [
        ("2012", "bet", "zhejiang", "anhui", "100000000.00"),   # P = 0.85
        ("2012", "grant", "central", "anhui", "300000000.00"),
        ("2013", "bet", "anhui", "zhejiang", "100000000.00"),   # P = 1.02
        ("2013", "grant", "central", "anhui", "300000000.00"),
        ("2014", "bet", "zhejiang", "anhui", "100000000.00"),   # P = 0.9945
        ("2014", "grant", "central", "anhui", "300000000.00"),
    ]
    story = narrative(out)
    assert "Anhui Province pays Zhejiang Province 100,000,000.00" in story["anhui"][2013]["en"]
    assert "浙江省向安徽省支付水质对赌 100,000,000.00 元" in story["zhejiang"][2014]["zh"]


def test_import_stays_light():
    code = ("import sys, gep.compensation; "
            "print(sorted(m for m in ('numpy', 'pandas', 'rasterio', 'geopandas', 'natcap')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
