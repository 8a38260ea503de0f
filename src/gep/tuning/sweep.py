"""``gep sweep``: run the annual batch for every combination of parameter values.

``run_sweep(config, ["seasonality_constant=1:30:15", "reward.rate=0.1,0.15,0.2"])`` checks
every name and value first (see :mod:`gep.tuning.params` for the grammar), then evaluates the
Cartesian product through :class:`gep.tuning.engine.Study` (content-addressed InVEST runs,
optional surrogates, a process pool) and writes, under ``results/<basin>/tuning/sweep/``:

- ``sweep.csv``: one tidy table ``<param columns...>, year, party_id, service_or_clause,
  value, unit``. ``service_or_clause`` is a GEP service (``value`` in CNY at constant prices),
  ``gep_total`` (their sum), ``water_yield`` (m3), a compensation clause (``base``,
  ``reward``, ``bet``, ``grant``, ``clawback``, ``penalty``; CNY received, negative = paid) or
  ``payout_net`` (the account's net for the year);
- ``sweep.json``: the parameters and values, InVEST runs made / reused, surrogate checks,
  timings;
- ``plots/<param>.png``: main effect of each swept parameter on GEP and net payout per party.
"""
from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gep.tuning.engine import GEP_TOTAL, PAYOUT_NET, Study
from gep.tuning.params import SweepSpec, parse_sweep


@dataclass
class SweepResult:
    """The sweep's tidy table (pandas), its metadata and the files written."""

    table: pd.DataFrame
    params: list[str]
    meta: dict
    paths: dict[str, Path]

    def to_xarray(self):
        """The table as an xarray DataArray with one dimension per parameter, year, party
        and service/clause (units differ along ``service_or_clause``: see ``unit``)."""
        idx = [*self.params, "year", "party_id", "service_or_clause"]
        return self.table.set_index(idx)["value"].to_xarray()

    def pivot(self, what: str = GEP_TOTAL) -> pd.DataFrame:
        """``what`` (a service or clause) per parameter combination and party, summed over
        years."""
        sub = self.table[self.table["service_or_clause"] == what]
        return sub.pivot_table(index=self.params, columns="party_id", values="value",
                               aggfunc="sum")


def plan_sweep(study: Study, params: Sequence[str]) -> tuple[list[SweepSpec], list]:
    """Parse and validate ``params`` and build every combination's scenario (no work)."""
    specs = parse_sweep(study.space, list(params))
    n = math.prod(len(s.values) for s in specs)
    limit = study.tuning.sweep.max_combinations
    if n > limit:
        from gep.errors import ConfigError

        sizes = " x ".join(f"{len(s.values)} ({s.label})" for s in specs)
        raise ConfigError("sweep.max_combinations", f"the sweep has {n:,} combinations "
                          f"({sizes}), more than the {limit:,} allowed",
                          "use fewer values per --param (e.g. 1:30:15), or raise "
                          "sweep.max_combinations in tuning.yaml",
                          file=study.tuning.file)
    labels = {s.param: s.label for s in specs}
    combos = list(itertools.product(*[s.values for s in specs]))
    scenarios = [study.space.scenario({s.param: v for s, v in zip(specs, c)}, labels)
                 for c in combos]
    return specs, scenarios


def run_sweep(config: str | Path, params: Sequence[str], *, tuning: str | Path | None = None,
              surrogate: bool = False, jobs: int | None = None, out_dir: str | Path | None = None,
              plots: bool = True, quality: str | Path | None = None,
              log: Callable[[str], None] | None = None, executor: str | None = None,
              profile: str | Path | None = None) -> SweepResult:
    """Sweep ``params`` (``name=SPEC`` strings); return the tidy table (see module doc)."""
    if out_dir:
        from gep.io import check_out_dir

        check_out_dir(out_dir)
    study = Study(config, tuning, surrogate=surrogate, jobs=jobs, log=log, quality=quality,
                  executor=executor, profile=profile)
    specs, scenarios = plan_sweep(study, params)        # everything is validated here
    if study.quality is None and any(s.param.target == "agreement" for s in specs):
        from gep.errors import ConfigError

        raise ConfigError("compensation.quality", "agreement parameters are swept but there "
                          "is no section water-quality file, so no payout can be computed",
                          "set compensation.quality in config/tuning.yaml or pass --quality",
                          file=study.tuning.file)
    study.log(f"{len(scenarios)} combination(s) of {', '.join(s.label for s in specs)}")
    ev = study.evaluate(scenarios)
    combos = pd.DataFrame([[v for _, v in _ordered(sc.values, specs)] for sc in scenarios],
                          columns=[s.label for s in specs])
    combos["scenario"] = range(len(combos))
    table = combos.merge(ev.table, on="scenario").drop(columns="scenario")
    table = complete_payouts(table, [s.label for s in specs])
    meta = {
        "config": str(Path(config).resolve()) if not hasattr(config, "basin") else None,
        "basin": study.cfg.basin, "years": study.cfg.years, "surrogate": surrogate,
        "parameters": [{"label": s.label, "name": s.param.name, "values": list(s.values),
                        "base": s.param.base, "surrogate": s.param.surrogate}
                       for s in specs],
        "combinations": len(scenarios), "quality": study.quality,
        "surrogate_checks": ev.checks, "stats": ev.stats,
    }
    out = Path(out_dir) if out_dir else study.root / "sweep"
    paths = write_outputs(out, table, meta, specs if plots else [])
    study.log(f"wrote {paths['table']}")
    return SweepResult(table, [s.label for s in specs], meta, paths)


def _ordered(values: tuple, specs: list[SweepSpec]):
    d = dict(values)
    return [(s.label, d[s.param.name]) for s in specs]


def complete_payouts(table: pd.DataFrame, param_cols: list[str]) -> pd.DataFrame:
    """A clause an account received in some combination is 0 (not missing) in the others."""
    from gep.compensation import CLAUSES

    is_clause = table["service_or_clause"].isin(CLAUSES)
    pay = table[is_clause]
    if pay.empty:
        return table
    keys = pay[["year", "party_id", "service_or_clause", "unit"]].drop_duplicates()
    combos = table[param_cols].drop_duplicates()
    full = combos.merge(keys, how="cross")
    pay = full.merge(pay, on=[*param_cols, "year", "party_id", "service_or_clause", "unit"],
                     how="left").fillna({"value": 0.0})
    out = pd.concat([table[~is_clause], pay[table.columns]], ignore_index=True)
    return out.sort_values([*param_cols, "year", "party_id", "service_or_clause"],
                           kind="stable").reset_index(drop=True)


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as written to sweep.csv: money (unit CNY) as exact two-decimal strings.

    Values are floats in memory (for the analysis); every CNY value comes from a Decimal
    amount to the fen with at most 15 significant digits, so its shortest ``repr`` gives that
    Decimal back exactly and :func:`gep.money.fmt` writes it to the fen. Payouts therefore sum
    to exactly zero per year in the file, as in the settlement. Other values keep 10
    significant digits.
    """
    from gep.money import fmt

    out = table.copy()
    money = out["unit"].eq("CNY").to_numpy()
    out["value"] = [fmt(v) if m and v == v else f"{v:.10g}"
                    for v, m in zip(out["value"].tolist(), money)]
    return out


def write_outputs(out: Path, table: pd.DataFrame, meta: dict,
                  specs: list[SweepSpec]) -> dict[str, Path]:
    """Write the sweep folder atomically (a failed sweep leaves the previous one intact)."""
    import json

    from gep.io import atomic_dir
    from gep.paths import SweepFiles

    with atomic_dir(out) as tmp:
        work = SweepFiles(tmp)
        csv_table(table).to_csv(work.table, index=False)
        work.meta.write_text(json.dumps(meta, indent=2, default=str,
                                        ensure_ascii=False) + "\n", encoding="utf-8")
        plot_paths = plot_main_effects(table, specs, work.plots)
    done = SweepFiles(out)
    paths = {"table": done.table, "meta": done.meta}
    paths.update({f"plot:{k}": done.plots / p.name for k, p in plot_paths.items()})
    return paths


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def plot_main_effects(table: pd.DataFrame, specs: list[SweepSpec],
                      folder: Path) -> dict[str, Path]:
    """Per swept parameter: mean GEP per year and total net payout per party against the
    parameter (averaged over the other parameters' values: its main effect)."""
    specs = [s for s in specs if len(s.values) > 1]
    if not specs:
        return {}

    from gep.fonts import configure_matplotlib

    configure_matplotlib()
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    labels = [s.label for s in specs]
    for s in specs:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, what, agg, title in (
                (axes[0], GEP_TOTAL, "mean", "GEP per party (mean per year, CNY)"),
                (axes[1], PAYOUT_NET, "sum", "net payout per account (all years, CNY)")):
            sub = table[table["service_or_clause"] == what]
            if sub.empty:
                ax.set_axis_off()
                continue
            per = sub.groupby([*labels, "party_id"])["value"].agg(
                "mean" if agg == "mean" else "sum").reset_index()
            eff = per.groupby([s.label, "party_id"])["value"].mean().unstack("party_id")
            for col in eff.columns:
                ax.plot(eff.index, eff[col] / 1e6, marker="o", ms=3, label=col)
            ax.set_xlabel(s.label)
            ax.set_ylabel("million CNY")
            ax.set_title(title, fontsize=10)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.suptitle(f"Sweep of {s.label} ({s.param.name})", fontsize=11)
        fig.tight_layout()
        path = folder / f"{_safe(s.label)}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out[s.label] = path
    return out
