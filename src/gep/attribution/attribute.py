"""Reference-climate GEP and the attribution table ``gep/attribution.csv``."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd

from gep.errors import InputDataError
from gep.io import write_csv
from gep.money import D, fmt
from gep.valuation import GEP_HEADER, VALUED_SERVICES, load_prices, load_runoff, value_year

ATTRIBUTION_HEADER = ("year", "party_id", "service", "total", "land_use", "climate")


def value_frames(zonals: list[pd.DataFrame], prices, runoff) -> list[dict]:
    """GEP rows of several years' zonal tables (carbon sequestration from the year before)."""
    rows: list[dict] = []
    prev = None
    for z in sorted(zonals, key=lambda d: int(d["year"].iloc[0])):
        rows.extend(value_year(z, prices, runoff, prev))
        prev = z
    return rows


def _constant(rows) -> dict[tuple[int, str, str], Decimal]:
    out = {}
    for r in rows:
        if r["service"] in VALUED_SERVICES and str(r["value_cny_constant"]) not in ("", "nan"):
            key = (int(r["year"]), str(r["party_id"]), r["service"])
            out[key] = D(str(r["value_cny_constant"]))
    return out


def attribution_rows(actual: list[dict], reference: list[dict]) -> list[dict]:
    """One row per year from the second, party and valued service present in both years:
    ``total`` (change of actual GEP), ``land_use`` (change of reference-climate GEP) and
    ``climate = total - land_use``, constant prices, exact to the fen."""
    a, r = _constant(actual), _constant(reference)
    years = sorted({k[0] for k in a})
    out = []
    for prev, year in zip(years, years[1:]):
        for key in sorted(k for k in a if k[0] == year):
            _, party, service = key
            pk = (prev, party, service)
            if pk not in a:
                continue
            if key not in r or pk not in r:
                raise InputDataError("gep/gep_reference.csv", f"no reference-climate value of "
                                     f"{service} for {party} in {prev} or {year}",
                                     "re-run gep reference for both years")
            total = a[key] - a[pk]
            land = r[key] - r[pk]
            out.append(dict(year=year, party_id=party, service=service, total=fmt(total),
                            land_use=fmt(land), climate=fmt(total - land)))
    return out


def attribute(gep_csv: Path, reference_zonal_csvs: list[Path], prices_path: Path,
              runoff_path: Path, out_reference: Path, out_attribution: Path) -> tuple[Path, Path]:
    """Write ``gep_reference.csv`` (GEP_HEADER) and ``attribution.csv``."""
    prices, runoff = load_prices(prices_path), load_runoff(runoff_path)
    ref_rows = value_frames([pd.read_csv(p) for p in reference_zonal_csvs], prices, runoff)
    actual = pd.read_csv(gep_csv, dtype={"value_cny_constant": str},
                         keep_default_na=False).to_dict("records")
    rows = attribution_rows(actual, ref_rows)
    write_csv(out_reference, GEP_HEADER, ref_rows)
    write_csv(out_attribution, ATTRIBUTION_HEADER, rows)
    return Path(out_reference), Path(out_attribution)
