"""GEP valuation: physical quantities per party -> yuan at constant and current prices.

Inputs are the zonal tables of :mod:`gep.zonal` (per party and land cover), the price file
(``config/prices.yaml``) and the runoff coefficients. For party *p*, year *t* and land cover *c*:

- ``water_yield`` (m3, physical only) = sum_c WY[p,c]
- ``water_conservation`` (m3) = sum_c (WY[p,c] - alpha[c] * P[p,c]) over the land covers the
  runoff table counts (``water_conservation: yes``); since InVEST's yield is P - AET this is
  Ouyang's Q = sum (P - R - ET) x A with annual surface runoff R = alpha x P. Built-up and
  bare land lie outside the ecosystems of the GEP guideline and count no water conservation.
  Value = Q x 7.06 CNY/m3 (2010 prices).
- ``biodiversity`` (ha, habitat-quality-weighted) = sum_c HQ[p,c];
  value = sum_c HQ[p,c] x EF[c] x standard equivalent value (Xie et al. 2015).
- ``soil_retention`` (t) = SDR avoided erosion; value = lambda A/rho x dredging cost
  + A (N% x N price + P% x P price).
- ``water_purification`` (t N + P retained); value = N x N price + P x P price.
- ``carbon_storage`` (t C, physical only) and ``carbon_sequestration`` (t C since the previous
  year, valued at CO2 price x 44/12; not reported for the first year).

Money is ``Decimal``: value = to_fen(quantity x price x CPI index), with
CPI index(a -> b) = prod(1 + cpi[y], y = a+1..b) (inverse when b < a) from the price file.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from pathlib import Path

import pandas as pd
import yaml

from gep import models
from gep.errors import ConfigError
from gep.io import write_csv
from gep.models.base import ValuationContext, Valued, quantity
from gep.money import D, fmt, to_fen
from gep.services import VALUED_SERVICES  # noqa: F401  (defined there, re-exported here)

GEP_HEADER = ("year", "party_id", "service", "quantity", "unit", "value_cny_constant",
              "value_cny_current")
INCREMENT_HEADER = ("year", "party_id", "service", "delta_value_cny_constant")


@dataclass(frozen=True)
class Prices:
    price_year: int
    base_year: int
    cpi: dict[int, Decimal]
    services: dict
    file: str

    def index(self, a: int, b: int) -> Decimal:
        """CPI index moving a price from year a to year b."""
        lo, hi = min(a, b), max(a, b)
        with localcontext() as ctx:
            ctx.prec = 40
            f = Decimal(1)
            for y in range(lo + 1, hi + 1):
                if y not in self.cpi:
                    raise ConfigError(f"cpi.{y}", f"no CPI change for {y} (needed to move "
                                      f"prices from {a} to {b})",
                                      f"add '{y}: <annual change, e.g. 0.002>' under cpi",
                                      file=self.file)
                f *= 1 + self.cpi[y]
            return f if b >= a else 1 / f

    def service(self, name: str) -> dict:
        if name not in self.services:
            raise ConfigError(f"services.{name}", "no prices for this service",
                              "add its prices (see config/prices.yaml)", file=self.file)
        return self.services[name]

    def num(self, service: str, key: str) -> Decimal:
        s = self.service(service)
        if key not in s:
            raise ConfigError(f"services.{service}.{key}", "missing", "add it", file=self.file)
        v = D(s[key])
        if v < 0:
            raise ConfigError(f"services.{service}.{key}", "must not be negative",
                              "give a price >= 0", file=self.file)
        return v


def load_prices(path: Path) -> Prices:
    path = Path(path)
    if not path.exists():
        raise ConfigError("valuation.prices", f"price file {path} does not exist",
                          "point valuation.prices at a file like config/prices.yaml")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in ("price_year", "base_year", "cpi", "services"):
        if key not in data:
            raise ConfigError(key, "missing", "add it (see config/prices.yaml)", file=str(path))
    try:
        cpi = {int(y): D(v) for y, v in data["cpi"].items()}
    except Exception:
        raise ConfigError("cpi", "must map years to annual changes (0.02 = 2 %)",
                          "write e.g. '2021: 0.009'", file=str(path)) from None
    for y, v in cpi.items():
        if v <= -1:
            raise ConfigError(f"cpi.{y}", f"{v} would make prices non-positive",
                              "give the annual change as a fraction, e.g. 0.02", file=str(path))
    return Prices(int(data["price_year"]), int(data["base_year"]), cpi, data["services"],
                  str(path))


_YES_NO = {"yes": True, "no": False, "true": True, "false": False, "1": True, "0": False}


def load_runoff(path: Path) -> dict[int, Decimal | None]:
    """Annual surface-runoff ratio by land-cover code; ``None`` for land covers that count no
    water conservation (column ``water_conservation: no``, e.g. built-up and bare land)."""
    from gep.tables import read_table

    out: dict[int, Decimal | None] = {}
    for r in read_table(path, ("lucode", "runoff_coefficient"), "runoff coefficients",
                        optional=("water_conservation",)):
        code = r.integer("lucode", "a land-cover code (a whole number)")
        a = r.decimal("runoff_coefficient")
        if not (0 <= a <= 1):
            raise r.error("runoff_coefficient", f"runoff coefficient {a} outside [0, 1]",
                          "use a fraction")
        if code in out:
            raise r.error("lucode", f"lucode {code} is listed twice", "keep one row per code")
        counted = True
        if r.get("water_conservation"):
            counted = _YES_NO.get(r["water_conservation"].lower())
            if counted is None:
                raise r.error("water_conservation",
                              f"'{r['water_conservation']}' is not yes or no",
                              "write yes (counted) or no (outside the ecosystems that "
                              "conserve water)")
        out[code] = a if counted else None
    return out


ZONAL_COLUMNS = ("year", "party_id", "lucode", "variable", "quantity", "unit")


def read_zonal(path: str | Path) -> pd.DataFrame:
    """One year's zonal table (``gep zonal``), checked: one year, integer codes, finite
    quantities, no thousands separators."""
    from gep.tables import read_table

    rows = []
    t = read_table(path, ZONAL_COLUMNS, "zonal table",
                   missing_fix="run gep zonal for every year of the config first")
    for r in t:
        rows.append((r.year("year"), r.text("party_id", "party id"),
                     r.integer("lucode", "a land-cover code (a whole number)"),
                     r.text("variable"), r.number("quantity"), r["unit"]))
    if not rows:
        raise t.error("no rows", "re-run gep zonal for this year")
    years = {y for y, *_ in rows}
    if len(years) > 1:
        raise t.error(f"several years ({', '.join(map(str, sorted(years)))}) in one table",
                      "keep one year per zonal table", field="year")
    return pd.DataFrame(rows, columns=list(ZONAL_COLUMNS))


def _q(x) -> Decimal:
    return quantity(x)


def value_year(zonal: pd.DataFrame, prices: Prices, runoff: dict[int, Decimal | None],
               previous: pd.DataFrame | None = None) -> list[dict]:
    """GEP rows (dicts with GEP_HEADER keys, Decimal values) for one year's zonal table: each
    model's adapter values its services (``gep.models.<model_id>``), party by party."""
    year = int(zonal["year"].iloc[0])
    k_const = prices.index(prices.price_year, prices.base_year)
    k_cur = prices.index(prices.price_year, year)
    piv = zonal.pivot_table(index=["party_id", "lucode"], columns="variable", values="quantity",
                            aggfunc="sum")
    ctx = ValuationContext(prices, runoff, previous)
    rows = []
    with localcontext() as c:
        c.prec = 40
        for party, sub in piv.groupby(level="party_id", sort=False):
            sub = sub.droplevel("party_id")
            for adapter in models.ADAPTERS.values():
                for v in adapter.valued(sub, ctx.at(party)):
                    rows.append(gep_row(year, party, v, k_const, k_cur))
    return rows


def gep_row(year: int, party: str, v: Valued, k_const: Decimal, k_cur: Decimal) -> dict:
    """A row of ``gep_by_party.csv``: the value moved from price-year prices to constant
    (base-year) and current prices, to the fen; empty for a physical-only service."""
    with localcontext() as ctx:
        ctx.prec = 40
        vc = None if v.value is None else fmt(v.value * k_const)
        vt = None if v.value is None else fmt(v.value * k_cur)
    return dict(year=year, party_id=party, service=v.service, quantity=f"{v.quantity:.3f}",
                unit=v.unit, value_cny_constant="" if vc is None else vc,
                value_cny_current="" if vt is None else vt)


def value(zonal_csvs: list[Path], prices_path: Path, runoff_path: Path, out_gep: Path,
          out_increments: Path) -> tuple[Path, Path]:
    """Write ``gep_by_party.csv`` and ``increments.csv`` from the years' zonal tables."""
    prices = load_prices(prices_path)
    runoff = load_runoff(runoff_path)
    frames = sorted((read_zonal(p) for p in zonal_csvs), key=lambda d: int(d["year"].iloc[0]))
    rows: list[dict] = []
    prev = None
    for z in frames:
        rows.extend(value_year(z, prices, runoff, prev))
        prev = z
    inc = increments(rows)
    write_csv(out_gep, GEP_HEADER, rows, bom=True)
    write_csv(out_increments, INCREMENT_HEADER, inc, bom=True)
    return Path(out_gep), Path(out_increments)


def increments(rows: list[dict]) -> list[dict]:
    """Year-on-year change of constant-price value per party and valued service."""
    by = {(r["year"], r["party_id"], r["service"]): r for r in rows
          if r["service"] in VALUED_SERVICES and r["value_cny_constant"] != ""}
    years = sorted({r["year"] for r in rows})
    out = []
    for prev, year in zip(years, years[1:]):
        for (y, party, service), r in by.items():
            if y != year or (prev, party, service) not in by:
                continue
            delta = D(r["value_cny_constant"]) - D(by[(prev, party, service)]["value_cny_constant"])
            out.append(dict(year=year, party_id=party, service=service,
                            delta_value_cny_constant=fmt(to_fen(delta))))
    return out
