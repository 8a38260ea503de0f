"""Valuation and settlement of every distinct combination, in memory.

Each scenario's zonal tables (the cached tables of its runs, with surrogate rows swapped in)
are valued with :func:`gep.valuation.value_year` and, when the basin has an agreement and
water-quality data, settled with the compensation engine (:mod:`gep.tuning.settlement`). No
file is written: prices and agreements are the scenario's own mappings, turned into the
objects valuation and settlement take. A combination is computed once per distinct (prices,
zonal tables, agreement).
"""
from __future__ import annotations

from decimal import Decimal

import pandas as pd

from gep.tuning.params import digest
from gep.tuning.settlement import PAYOUT_NET, settle_rows
from gep.tuning.surrogate_steps import SURROGATE_VARIABLES
from gep.tuning.zonal import replace_variable, run_keys

GEP_TOTAL = "gep_total"
TABLE_COLUMNS = ("year", "party_id", "service_or_clause", "value", "unit")
__all__ = ["GEP_TOTAL", "PAYOUT_NET", "TABLE_COLUMNS", "Settling", "downstream",
           "downstream_task", "gep_table_rows", "prices_from_mapping"]


def prices_from_mapping(data: dict, file: str | None = None):
    """A price file's content as :class:`gep.valuation.Prices` (what ``load_prices`` builds
    from the file; the checks of values are the parameter space's)."""
    from gep.errors import ConfigError
    from gep.money import D
    from gep.valuation import Prices

    for key in ("price_year", "base_year", "cpi", "services"):
        if key not in data:
            raise ConfigError(key, "missing", "add it (see config/prices.yaml)", file=file)
    cpi = {int(y): D(v) for y, v in data["cpi"].items()}
    return Prices(int(data["price_year"]), int(data["base_year"]), cpi, data["services"],
                  str(file))


def gep_table_rows(rows: list[dict]) -> list[tuple]:
    """Valuation rows as table rows: each valued service (CNY, constant prices), the
    physical water yield (m3) and each party's ``gep_total`` per year."""
    out: list[tuple] = []
    totals: dict[tuple[int, str], Decimal] = {}
    for r in rows:
        y, party = int(r["year"]), str(r["party_id"])
        if r["value_cny_constant"] != "":
            v = Decimal(r["value_cny_constant"])
            out.append((y, party, r["service"], float(v), "CNY"))
            totals[(y, party)] = totals.get((y, party), Decimal(0)) + v
        elif r["service"] == "water_yield":
            out.append((y, party, "water_yield", float(r["quantity"]), "m3"))
    return out + [(y, p, GEP_TOTAL, float(v), "CNY") for (y, p), v in sorted(totals.items())]


class Settling:
    """What a settlement reads besides GEP: the agreement and the basin's files."""

    def __init__(self, agreement, quality: str, performance: str | None = None,
                 incidents: str | None = None):
        self.agreement, self.quality = agreement, quality
        self.performance, self.incidents = performance, incidents


def downstream_task(zonals: list[pd.DataFrame], prices, runoff: dict,
                    settling: Settling | None = None,
                    ref_zonals: list[pd.DataFrame] | None = None
                    ) -> tuple[list[tuple], list[tuple]]:
    """Valuation, attribution and settlement of one combination: (GEP rows, payout rows)."""
    from gep.attribution.attribute import value_frames

    rows = value_frames(zonals, prices, runoff)
    pay: list[tuple] = []
    if settling is not None:
        pay = settle_rows(settling.agreement, rows, value_frames(ref_zonals, prices, runoff),
                          settling.quality, settling.performance, settling.incidents)
    return gep_table_rows(rows), pay


class _Combiner:
    """Each scenario's zonal tables (surrogate rows and reference-climate rows swapped in),
    built once per distinct table."""

    def __init__(self, study, plan, zonal_paths: dict, sur_frames: dict, refs: dict | None):
        self.study, self.plan, self.zonal_paths = study, plan, zonal_paths
        self.sur_frames, self.refs = sur_frames, refs
        self.read: dict = {}
        self.tables: dict[str, pd.DataFrame] = {}

    def actual(self, a: dict, year: int) -> str:
        models = self.study.cfg.models.enabled()
        zpath = self.zonal_paths[(year, run_keys(a, year, models))]
        subs = tuple(sorted((m, digest(a[(m, year)][1])) for m in models
                            if a[(m, year)][1] is not None))
        zid = f"{zpath.stem}:{subs}"
        if zid not in self.tables:
            if zpath not in self.read:
                self.read[zpath] = pd.read_csv(zpath)
            z = self.read[zpath]
            for m, d in subs:
                z = replace_variable(z, self.sur_frames[(m, year, a[(m, year)][0], d)],
                                     SURROGATE_VARIABLES[m])
            self.tables[zid] = z
        return zid

    def reference(self, sc, zid: str, year: int) -> str:
        from gep.tuning.reference import CLIMATE_VARIABLES

        rkey = self.refs["assign"][(id(sc), year)]
        rid = f"ref:{zid}:{rkey}"
        if rid not in self.tables:
            z, rows = self.tables[zid], self.refs["frames"][rkey]
            for v in CLIMATE_VARIABLES:
                if (z["variable"] == v).any():
                    z = replace_variable(z, rows[rows["variable"] == v], v)
            self.tables[rid] = z
        return rid


def _tasks(study, plan, combiner: _Combiner) -> tuple[dict[str, tuple], list[str]]:
    """One task per distinct (prices, zonal tables, agreement); the task of each scenario."""
    from gep.valuation import load_runoff

    runoff = load_runoff(study.cfg.path(study.cfg.valuation.runoff_coefficients))
    prices: dict[str, object] = {}
    settling: dict[str | None, Settling | None] = {}
    tasks: dict[str, tuple] = {}
    which: list[str] = []
    for sc, a in zip(plan.scenarios, plan.assign):
        zids = [combiner.actual(a, y) for y in study.cfg.years]
        rids = [combiner.reference(sc, z, y) for z, y in zip(zids, study.cfg.years)] \
            if combiner.refs is not None else []
        if sc.prices_key not in prices:
            prices[sc.prices_key] = prices_from_mapping(sc.prices, str(study.space.prices_path))
        akey = sc.agreement_key if study.quality is not None else None
        if akey not in settling:
            settling[akey] = None if akey is None else study.settling(sc.agreement)
        tkey = digest([sc.prices_key, akey, zids, rids])
        if tkey not in tasks:
            tasks[tkey] = ([combiner.tables[z] for z in zids], prices[sc.prices_key], runoff,
                           settling[akey], [combiner.tables[z] for z in rids] or None)
        which.append(tkey)
    return tasks, which


def downstream(study, plan, zonal_paths: dict, sur_frames: dict, pool) -> pd.DataFrame:
    """The tidy table of every scenario: scenario, year, party_id, service_or_clause, value,
    unit."""
    from gep.tuning.reference import reference_rows

    refs = reference_rows(study, plan, pool) if study.quality is not None else None
    tasks, which = _tasks(study, plan, _Combiner(study, plan, zonal_paths, sur_frames, refs))
    keys = list(tasks)
    study.log(f"valuing and settling {len(keys)} distinct combination(s)")
    chunk = max(1, len(keys) // (4 * pool.jobs))
    results = dict(zip(keys, pool.map(downstream_task, [tasks[k] for k in keys],
                                      chunksize=chunk)))
    study.stats["downstream"] += len(keys)
    frames = []
    for i, k in enumerate(which):
        gep, pay = results[k]
        df = pd.DataFrame(gep + pay, columns=list(TABLE_COLUMNS))
        df.insert(0, "scenario", i)
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
