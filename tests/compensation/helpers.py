"""Builders for tiny synthetic compensation cases, shared by the tests in this folder.

Expected values in the tests are computed independently with ``fractions.Fraction`` (exact
rational arithmetic), never with the engine's own Decimal code.
"""
from __future__ import annotations

import copy
import csv
import json
from fractions import Fraction
from pathlib import Path

import yaml

from gep.compensation import allocate

BASELINES = {"codmn": "2.0", "nh3n": "0.12", "tp": "0.025", "tn": "1.10"}

# The issue's example agreement (issue 3), amounts kept small so they are easy to check by hand.
ISSUE_AGREEMENT: dict = {
    "agreement": "test-basin",
    "currency": "CNY",
    "base_year": 2020,
    "cpi": {2021: 0.02, 2022: 0.01, 2023: 0.002, 2024: 0.002},
    "accounts": [
        {"id": "central", "role": "central"},
        {"id": "basin_fund", "role": "fund"},
        {"id": "up_a", "role": "upstream", "base_weight": 1},
        {"id": "up_b", "role": "upstream", "base_weight": 2},
        {"id": "down_x", "role": "downstream", "benefit_weight": 3},
        {"id": "down_y", "role": "downstream", "benefit_weight": 1},
    ],
    "funding": {"central": 0.5, "downstream": 0.5},
    "base_payment": 1000000,
    # total / previous_year: these cases feed an increments file (actual-GEP deltas); the
    # land-use basis and the high-water mark are tested with attribution tables
    "reward": {"rate": 0.15, "services": ["water_conservation", "biodiversity"],
               "basis": "total", "baseline": "previous_year"},
    "tiers": {"basic": 0.5, "performance": 0.3, "excess": 0.2},
    "excess_margin": 0.15,
    "water_quality_bet": {
        "section": "boundary",
        "k0": 0.85,
        "indicators": {k: {"weight": 0.25, "baseline_mg_l": float(v)}
                       for k, v in BASELINES.items()},
        "clawback": {"min_rate": 0.10, "max_rate": 0.30, "p_at_max": 1.20,
                     "lookback_years": 1},
    },
    "punitive_multiplier": 3,
}


def agreement_dict(**overrides) -> dict:
    """A deep copy of the issue's agreement with top-level keys replaced."""
    data = copy.deepcopy(ISSUE_AGREEMENT)
    data.update(copy.deepcopy(overrides))
    return data


def quality_rows(factors: dict[int, object], section: str = "boundary") -> list[list]:
    """Quality rows where every indicator is ``factor * baseline`` in a year.

    With k0 = 0.85 and weights summing to 1 this gives P = 0.85 * factor exactly.
    """
    rows = []
    for year, factor in factors.items():
        for ind, base in BASELINES.items():
            conc = Fraction(base) * Fraction(str(factor))
            rows.append([year, section, ind, _dec_str(conc)])
    return rows


def _dec_str(x: Fraction) -> str:
    """Exact decimal text of a Fraction whose denominator divides a power of ten."""
    for places in range(20):
        scaled = x * 10**places
        if scaled.denominator == 1:
            n = scaled.numerator
            sign = "-" if n < 0 else ""
            digits = str(abs(n)).rjust(places + 1, "0")
            return sign + (digits[:-places] + "." + digits[-places:] if places else digits)
    raise ValueError(f"{x} has no finite decimal expansion")


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_case(directory: Path, agreement: dict, increments: list[list] | None,
               quality: list[list], performance: list[list] | None = None,
               incidents: list[list] | None = None) -> dict[str, Path | None]:
    """Write the input files of one case; return the paths by allocate() argument name."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path | None] = {"agreement_path": directory / "agreement.yaml"}
    paths["agreement_path"].write_text(yaml.safe_dump(agreement, allow_unicode=True),
                                       encoding="utf-8")
    paths["increments_path"] = None if increments is None else write_csv(
        directory / "increments.csv", ["year", "party_id", "service",
                                       "delta_value_cny_constant"], increments)
    paths["quality_path"] = write_csv(directory / "quality.csv",
                                      ["year", "section", "indicator", "concentration_mg_l"],
                                      quality)
    paths["performance_path"] = None if performance is None else write_csv(
        directory / "performance.csv", ["year", "party_id", "target", "met"], performance)
    paths["incidents_path"] = None if incidents is None else write_csv(
        directory / "incidents.csv", ["date", "party_id", "damage_cny", "description"],
        incidents)
    return paths


def read_outputs(out_dir: Path) -> tuple[list[dict], list[dict], dict]:
    with open(out_dir / "transfers.csv", newline="", encoding="utf-8-sig") as fh:
        transfers = list(csv.DictReader(fh))
    with open(out_dir / "statement.csv", newline="", encoding="utf-8-sig") as fh:
        statement = list(csv.DictReader(fh))
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    return transfers, statement, summary


def run_case(directory: Path, agreement: dict, increments, quality, performance=None,
             incidents=None):
    paths = write_case(directory, agreement, increments, quality, performance, incidents)
    out = directory / "out"
    allocate(out_dir=out, **paths)
    return read_outputs(out)


def fen(x: Fraction) -> Fraction:
    """Round half-up to 0.01 (amounts are positive in these tests)."""
    cents = x * 100
    whole = cents.numerator // cents.denominator
    if cents - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(whole, 100)


def hamilton(total: Fraction, weights: list[tuple[str, Fraction]]) -> dict[str, Fraction]:
    """Reference largest-remainder split of a fen amount (ties to the first listed)."""
    cents = int(total * 100)
    wsum = sum(w for _, w in weights)
    exact = [Fraction(cents) * w / wsum for _, w in weights]
    floors = [e.numerator // e.denominator for e in exact]
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[: cents - sum(floors)]:
        floors[i] += 1
    return {weights[i][0]: Fraction(floors[i], 100) for i in range(len(weights))}


def amounts(transfers: list[dict], **where) -> dict[tuple[str, str], Fraction]:
    """``(from, to) -> total amount`` of the transfers matching every ``field=value`` given."""
    out: dict[tuple[str, str], Fraction] = {}
    for t in transfers:
        if all(str(t[k]) == str(v) for k, v in where.items()):
            key = (t["from_account"], t["to_account"])
            out[key] = out.get(key, Fraction(0)) + Fraction(t["amount_cny"])
    return out
