"""The demo basin's water-using enterprises: a deterministic set of declarations.

About 60 enterprises (mostly in the downstream city and district, some in the upstream
counties), one row per enterprise and year; revenue grows, environmental investment and
pollutant reductions improve over the years for most firms, a few declarations stay
unverified, so every star count and the provisional case appear.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

from gep.io import write_csv
from gep.money import to_fen
from gep.rating.declarations import DECLARATION_COLUMNS

SECTORS = [("paper", "造纸"), ("textiles", "纺织印染"), ("chemicals", "化工"),
           ("food", "食品加工"), ("electronics", "电子"), ("brewing", "酿造"),
           ("pharmaceuticals", "制药"), ("water supply", "供水")]
# party -> share of the enterprises (the downstream city holds most of the industry)
PARTY_SHARE = {"xiahe": 0.45, "nanzhou": 0.25, "shanyuan": 0.1, "linxi": 0.1, "yunling": 0.1}


def _d(x: float, places: int) -> str:
    return f"{Decimal(repr(round(float(x), places))):.{places}f}"


def generate(years: list[int], out_csv: str | Path, n: int = 60, seed: int = 20240601,
             parties: list[str] | None = None) -> Path:
    rng = np.random.default_rng(seed + 12)
    pids = [p for p in PARTY_SHARE if parties is None or p in parties] or list(parties or [])
    share = np.array([PARTY_SHARE.get(p, 1.0) for p in pids])
    share = share / share.sum()
    rows = []
    for i in range(n):
        party = pids[int(rng.choice(len(pids), p=share))]
        sector, sector_zh = SECTORS[int(rng.integers(len(SECTORS)))]
        name = f"{sector_zh}企业{i + 1:02d} Demo {sector.title()} Co. {i + 1:02d}"
        revenue = rng.lognormal(np.log(2.0e8), 0.8)
        inv0 = rng.uniform(0.002, 0.06)
        inv_trend = rng.uniform(-0.002, 0.006)
        baseline = rng.uniform(20, 400)
        red0 = rng.uniform(0.0, 0.32)
        red_trend = rng.uniform(-0.01, 0.04)
        green0 = rng.uniform(0.05, 0.65)
        unverified = rng.random() < 0.12
        for k, y in enumerate(years):
            rev = revenue * (1.05 ** k)
            inv_share = min(0.2, max(0.0, inv0 + inv_trend * k))
            red = min(0.95, max(0.0, red0 + red_trend * k))
            green = min(1.0, max(0.0, green0 + 0.03 * k))
            emissions = baseline * (1 - red) * rng.uniform(0.9, 1.1)
            rev_cny = to_fen(Decimal(repr(rev)))
            rows.append([y, f"E-{i + 1:04d}", name, party, sector, f"{rev_cny:.2f}",
                         f"{to_fen(rev_cny * Decimal(repr(inv_share))):.2f}",
                         _d(baseline, 3), _d(baseline * red, 3), _d(green, 4),
                         _d(emissions, 3),
                         "false" if unverified and k >= len(years) - 2 else "true"])
    rows.sort(key=lambda r: (r[0], r[1]))
    return write_csv(out_csv, DECLARATION_COLUMNS, rows)
