"""``gep sensitivity``: global sensitivity of GEP and payouts per party (SALib).

Over the ranges declared in ``config/tuning.yaml`` (``sensitivity.parameters``: name -> min,
max, unit, source), with SALib:

- **Morris** elementary effects (default): ``r`` trajectories on a ``p``-level grid,
  ``r (k + 1)`` evaluations for ``k`` parameters. Indices: ``mu_star`` (mean absolute
  elementary effect: overall influence), ``sigma`` (spread: interactions / non-linearity),
  ``mu_star_conf`` (bootstrap 95 % half-width). A parameter that does not enter a quantity has
  every elementary effect exactly 0. Because values lie on ``p`` levels, parameters without a
  surrogate need at most ``p`` InVEST runs per year each.
- **Sobol'** variance decomposition (Saltelli sampling, ``N (k + 2)`` evaluations without
  second order): ``S1`` (first order) and ``ST`` (total) with bootstrap confidence. Practical
  when every model parameter has a surrogate (Z, Kc and root-depth scales, half-saturation
  constant, threat weights) or is a price / agreement number.

Quantities, one per party: ``gep_total:<party>`` (GEP at constant prices, mean per year) and
``payout_net:<account>`` (net payout over the settled years). A quantity that does not vary
over the sample (e.g. a payout the bet withholds every year) gets indices 0 and
``constant = True``.

Also one-at-a-time **tornado** swings: each parameter at its declared min and max with the
others at the config's values. Outputs under ``results/<basin>/tuning/sensitivity/``:
``indices.csv``, ``ranked.csv`` (parameters ranked per quantity, and ``overall`` by mean
normalised index), ``tornado.csv``, ``tornado.png``, ``samples.csv``, ``sensitivity.json``.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.errors import ConfigError
from gep.tuning.engine import GEP_TOTAL, PAYOUT_NET, Study
from gep.tuning.params import Parameter


@dataclass
class SensitivityResult:
    indices: pd.DataFrame
    ranked: pd.DataFrame
    tornado: pd.DataFrame
    samples: pd.DataFrame
    meta: dict
    paths: dict[str, Path]


def outputs_per_scenario(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """Y matrix: one row per scenario, columns ``gep_total:<party>``, ``payout_net:<acc>``."""
    g = table[table["service_or_clause"] == GEP_TOTAL]
    gep = g.groupby(["scenario", "party_id"])["value"].mean().unstack("party_id")
    gep.columns = [f"{GEP_TOTAL}:{c}" for c in gep.columns]
    frames = [gep]
    p = table[table["service_or_clause"] == PAYOUT_NET]
    if not p.empty:
        pay = p.groupby(["scenario", "party_id"])["value"].sum().unstack("party_id")
        pay.columns = [f"{PAYOUT_NET}:{c}" for c in pay.columns]
        frames.append(pay)
    y = pd.concat(frames, axis=1).reindex(range(n))
    return y.fillna(0.0)


def _declared(study: Study, names: list[str] | None) -> list[tuple[str, Parameter, float, float,
                                                                    str, str]]:
    sens = study.tuning.sensitivity
    file = study.tuning.file
    if not sens.parameters:
        raise ConfigError("sensitivity.parameters", "no parameter ranges declared",
                          "declare name: {min, max, unit, source} entries in "
                          "config/tuning.yaml", file=file)
    chosen = names or list(sens.parameters)
    out, seen = [], set()
    for name in chosen:
        if name not in sens.parameters:
            raise ConfigError(f"--param {name}", "no range declared for it",
                              f"declare it under sensitivity.parameters in "
                              f"{file or 'config/tuning.yaml'} (declared: "
                              f"{', '.join(sens.parameters)})", file=file)
        r = sens.parameters[name]
        p = study.space.resolve(name)
        if p.name in seen:
            raise ConfigError(f"sensitivity.parameters.{name}", "declared twice (under "
                              "another name)", "keep one", file=file)
        seen.add(p.name)
        lo = study.space.check_value(p, r.min, f"{name} (min)")
        hi = study.space.check_value(p, r.max, f"{name} (max)")
        out.append((name, p, float(lo), float(hi), r.unit or p.unit, r.source))
    if len(out) < 2:
        raise ConfigError("sensitivity.parameters", "need at least 2 parameters",
                          "declare more ranges", file=file)
    return out


def run_sensitivity(config: str | Path, *, tuning: str | Path | None = None,
                    method: str | None = None, n: int | None = None, seed: int | None = None,
                    surrogate: bool | None = None, parameters: list[str] | None = None,
                    jobs: int | None = None, out_dir: str | Path | None = None,
                    tornado: bool = True, quality: str | Path | None = None,
                    log: Callable[[str], None] | None = None, executor: str | None = None,
                    profile: str | Path | None = None) -> SensitivityResult:
    """Run a Morris or Sobol' analysis over the declared ranges (see the module doc).

    ``n`` is the number of Morris trajectories or the Sobol' base sample size."""
    if out_dir:
        from gep.io import check_out_dir

        check_out_dir(out_dir)
    study = Study(config, tuning, jobs=jobs, log=log, quality=quality, executor=executor,
                  profile=profile)
    sens = study.tuning.sensitivity
    use_sur = sens.surrogate if surrogate is None else surrogate
    study.surrogate = use_sur
    method = (method or sens.method).lower()
    if method not in ("morris", "sobol"):
        raise ConfigError("--method", f"'{method}' is not a method", "use morris or sobol",
                          file=study.tuning.file)
    seed = sens.seed if seed is None else seed
    decl = _declared(study, parameters)
    names = [d[0] for d in decl]
    problem = {"num_vars": len(decl), "names": names, "bounds": [[d[2], d[3]] for d in decl]}
    X, r = _sample(study, method, problem, n, seed, decl)
    scenarios, oat = _scenarios(study, decl, X, tornado)
    plan = study.plan(scenarios + oat)
    _refuse_big_design(study, plan, decl, use_sur)
    study.log(f"{method}: {len(scenarios)} samples of {len(decl)} parameters"
              + (f" + {len(oat)} one-at-a-time runs" if oat else ""))
    ev = study.evaluate(scenarios + oat, plan)
    Y = outputs_per_scenario(ev.table, len(scenarios) + len(oat))
    Ys, Yo = Y.iloc[:len(scenarios)].reset_index(drop=True), Y.iloc[len(scenarios):]
    indices = analyse(method, problem, X, Ys, seed, sens)
    ranked = rank(indices, method)
    tor = tornado_table(decl, Yo.reset_index(drop=True)) if oat else pd.DataFrame()
    samples = pd.concat([pd.DataFrame(X, columns=names), Ys], axis=1)
    meta = {"method": method, "n": r, "seed": seed, "surrogate": use_sur,
            "evaluations": len(scenarios), "parameters": [
                {"name": d[0], "canonical": d[1].name, "min": d[2], "max": d[3],
                 "base": d[1].base, "unit": d[4], "source": d[5]} for d in decl],
            "surrogate_checks": ev.checks, "stats": ev.stats, "quality": study.quality}
    out = Path(out_dir) if out_dir else study.root / "sensitivity"
    paths = write_outputs(out, indices, ranked, tor, samples, meta)
    study.log(f"wrote {paths['ranked']}")
    return SensitivityResult(indices, ranked, tor, samples, meta, paths)


def _sample(study: Study, method: str, problem: dict, n: int | None, seed: int,
            decl) -> tuple[np.ndarray, int]:
    """SALib's design (integer parameters rounded) and its size parameter."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    sens = study.tuning.sensitivity
    if method == "morris":
        r = n or sens.morris.trajectories
        if r < 2:
            raise ConfigError("--n", "Morris needs at least 2 trajectories", "use --n 10",
                              file=study.tuning.file)
        X = morris_sample.sample(problem, N=r, num_levels=sens.morris.levels, seed=seed)
    else:
        r = n or sens.sobol.n
        if r < 2 or r & (r - 1):
            raise ConfigError("--n", f"{r} is not a power of 2", "use e.g. --n 64",
                              file=study.tuning.file)
        X = sobol_sample.sample(problem, N=r, calc_second_order=sens.sobol.second_order,
                                seed=seed)
    for j, d in enumerate(decl):
        if d[1].integer:
            X[:, j] = np.round(X[:, j])
    return X, r


def _scenarios(study: Study, decl, X: np.ndarray, tornado: bool) -> tuple[list, list]:
    """The design's scenarios, and the one-at-a-time ones of the tornado (base, then each
    parameter at its min and max)."""
    params = [d[1] for d in decl]
    labels = {d[1]: d[0] for d in decl}
    scenarios = [study.space.scenario(dict(zip(params, map(float, row))), labels) for row in X]
    oat = []
    if tornado:
        oat.append(study.space.scenario({}, labels))
        for d in decl:
            oat += [study.space.scenario({d[1]: d[2]}, labels),
                    study.space.scenario({d[1]: d[3]}, labels)]
    return scenarios, oat


def _refuse_big_design(study: Study, plan, decl, use_sur: bool) -> None:
    sens = study.tuning.sensitivity
    missing = study.missing_runs(plan)
    if len(missing) > sens.max_invest_runs:
        slow = sorted({d[0] for d in decl if d[1].target == "model"
                       and not (use_sur and d[1].surrogate)})
        raise ConfigError("sensitivity.max_invest_runs", f"this design needs about "
                          f"{len(missing)} InVEST runs (parameters run by InVEST: "
                          f"{', '.join(slow) or 'none'}), more than the {sens.max_invest_runs} "
                          "allowed", "use Morris with fewer levels, --surrogate, fewer "
                          "parameters, or raise sensitivity.max_invest_runs",
                          file=study.tuning.file)


def analyse(method: str, problem: dict, X: np.ndarray, Y: pd.DataFrame, seed: int,
            sens) -> pd.DataFrame:
    """Indices per (quantity, parameter); constant quantities get zeros."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    rows = []
    for col in Y.columns:
        y = Y[col].to_numpy(float)
        constant = bool(np.ptp(y) <= 1e-9 * max(1.0, float(np.abs(y).max())))
        if method == "morris":
            keys = ("mu", "mu_star", "sigma", "mu_star_conf")
            res = None if constant else morris_analyze.analyze(
                problem, X, y, num_levels=sens.morris.levels, seed=seed)
        else:
            keys = ("S1", "S1_conf", "ST", "ST_conf")
            res = None if constant else sobol_analyze.analyze(
                problem, y, calc_second_order=sens.sobol.second_order, seed=seed)
        for j, name in enumerate(problem["names"]):
            row = {"output": col, "parameter": name, "constant": constant}
            row.update({k: (0.0 if res is None else float(np.asarray(res[k])[j])) for k in keys})
            rows.append(row)
    return pd.DataFrame(rows)


def rank(indices: pd.DataFrame, method: str) -> pd.DataFrame:
    """Parameters ranked per quantity by ``mu_star`` (Morris) or ``ST`` (Sobol'), with the
    index normalised by the quantity's largest; plus an ``overall`` ranking."""
    key = "mu_star" if method == "morris" else "ST"
    df = indices[["output", "parameter", key, "constant"]].copy()
    mx = df.groupby("output")[key].transform(lambda s: s.abs().max())
    df["normalised"] = np.where(mx > 0, df[key].abs() / mx.where(mx > 0, 1.0), 0.0)
    df["rank"] = df.groupby("output")["normalised"].rank(ascending=False, method="min")
    varying = df[~df["constant"]]
    overall = varying.groupby("parameter")["normalised"].mean().rename("normalised")
    overall = overall.reset_index().assign(output="overall", constant=False)
    overall[key] = np.nan
    overall["rank"] = overall["normalised"].rank(ascending=False, method="min")
    out = pd.concat([df, overall[df.columns]], ignore_index=True)
    out["rank"] = out["rank"].astype(int)
    return out.sort_values(["output", "rank", "parameter"]).reset_index(drop=True)


def tornado_table(decl, Yo: pd.DataFrame) -> pd.DataFrame:
    """Rows (output, parameter, low, high, y_base, y_low, y_high, swing) from the OAT runs
    (row 0 = base, then low/high per parameter)."""
    rows = []
    base = Yo.iloc[0]
    for j, d in enumerate(decl):
        lo, hi = Yo.iloc[1 + 2 * j], Yo.iloc[2 + 2 * j]
        for col in Yo.columns:
            rows.append({"output": col, "parameter": d[0], "low": d[2], "high": d[3],
                         "y_base": float(base[col]), "y_low": float(lo[col]),
                         "y_high": float(hi[col]),
                         "swing": abs(float(hi[col]) - float(lo[col]))})
    return pd.DataFrame(rows)


def money_text(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df`` with the money ``columns`` (GEP and payouts, CNY) as exact two-decimal text.

    The floats are sums of amounts to the fen, far from half a fen off, so rounding their
    shortest repr to the fen gives the exact amounts (see gep.tuning.sweep.csv_table)."""
    from gep.money import fmt

    out = df.copy()
    for c in columns:
        out[c] = [fmt(v) if v == v else "" for v in out[c].tolist()]  # NaN: empty
    return out


def write_outputs(out: Path, indices, ranked, tor, samples, meta) -> dict[str, Path]:
    from gep.io import atomic_dir
    from gep.paths import SensitivityFiles as F

    with atomic_dir(out) as tmp:
        work = F(tmp)
        indices.to_csv(work.indices, index=False, float_format="%.8g")
        ranked.to_csv(work.ranked, index=False, float_format="%.8g")
        money_text(samples, [c for c in samples.columns if ":" in str(c)]).to_csv(
            work.samples, index=False, float_format="%.10g")
        if not tor.empty:
            money_text(tor, ["y_base", "y_low", "y_high", "swing"]).to_csv(
                work.tornado, index=False, float_format="%.10g")
            plot_tornado(tor, work.tornado_png)
        work.meta.write_text(json.dumps(meta, indent=2, default=str) + "\n")
    keys = ["indices", "ranked", "samples", "meta"]
    if not tor.empty:
        keys += ["tornado", "tornado_png"]
    return {k: F(out).file(k) for k in keys}


def plot_tornado(tor: pd.DataFrame, path: Path, max_panels: int = 12) -> Path:
    """One panel per quantity: change from the base value when each parameter goes to its
    min (light) and max (dark), parameters sorted by swing."""

    from gep.fonts import configure_matplotlib

    configure_matplotlib()
    import matplotlib.pyplot as plt

    outs = [o for o in tor["output"].unique() if tor[tor.output == o]["swing"].max() > 0]
    outs = (sorted(o for o in outs if o.startswith(GEP_TOTAL))
            + sorted(o for o in outs if not o.startswith(GEP_TOTAL)))[:max_panels]
    if not outs:
        outs = list(tor["output"].unique())[:1]
    ncol = 3 if len(outs) > 4 else max(1, len(outs))
    nrow = int(np.ceil(len(outs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 0.5 + 2.6 * nrow), squeeze=False)
    for ax in axes.flat[len(outs):]:
        ax.set_axis_off()
    for ax, o in zip(axes.flat, outs):
        sub = tor[tor.output == o].sort_values("swing")
        yb = sub["y_base"].iloc[0]
        pos = np.arange(len(sub))
        ax.barh(pos, (sub["y_low"] - yb) / 1e6, color="#9ecae1", label="min")
        ax.barh(pos, (sub["y_high"] - yb) / 1e6, color="#08519c", label="max")
        ax.set_yticks(pos, [re.sub(r"^models\.\w+\.", "", p) for p in sub["parameter"]],
                      fontsize=7)
        ax.axvline(0, color="k", lw=0.6)
        kind, party = o.split(":", 1)
        ax.set_title(f"{party}: {'GEP / yr' if kind == GEP_TOTAL else 'net payout'} "
                     f"(base {yb / 1e6:,.1f} M)", fontsize=8)
        ax.set_xlabel("change, million CNY", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("One-at-a-time swings over the declared ranges", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
