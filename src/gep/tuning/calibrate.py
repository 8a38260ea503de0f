"""``gep calibrate``: fit Zhang's Z (and optionally a Kc scale) to observed annual runoff.

Observations are a CSV ``year,station,runoff_m3``. A station drains the parties listed for it
in ``config/tuning.yaml`` (``calibration.stations``; ``all`` = the whole basin), and its
simulated annual runoff is the water yield (InVEST's ``P - AET``, m3) summed over those
parties, exactly the ``water_yield`` quantity of the GEP tables.

Fit: least squares on the runoff volumes (equivalently, the best Nash-Sutcliffe efficiency)::

    SSE(theta) = sum_i (Q_sim,i(theta) - Q_obs,i)^2         theta = Z  or  (Z, kc_scale)

1. a profile scan over Z (log-spaced between the bounds; kc_scale re-optimised at each point
   when it is fitted) gives a global starting point and the profile curve;
2. ``scipy.optimize.least_squares`` (trust-region reflective, bounds) refines it;
3. uncertainty: standard errors from the Gauss-Newton approximation of the Hessian at the
   optimum, ``cov = s^2 (J^T J)^-1`` with ``s^2 = SSE / (n - p)`` and J by central differences,
   a Wald interval ``theta +- t(n-p) se``, and for Z the profile-likelihood interval
   ``{Z : SSE_prof(Z) <= SSE_min (1 + F(1, n-p) / (n-p))}`` (exact for a non-linear
   model, where the Wald interval is only a linearisation).

Reported: the fitted values, their standard errors and intervals, NSE
``1 - SSE / sum (Q_obs - mean Q_obs)^2``, PBIAS ``100 sum (Q_obs - Q_sim) / sum Q_obs``
(positive: the model under-estimates), RMSE, and, when ``check`` is on, a per-pixel comparison
of the surrogate with an InVEST run at the fitted values on the check year.

The demo basin ships synthetic observations (``config/demo/observed_runoff.csv``) made by
:func:`make_demo_observations` with InVEST at ``DEMO_TRUE_Z``; ``docs/tuning.md`` explains them.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.paths import CalibrationFiles, Paths, TuningCacheFiles
from gep.errors import ConfigError, InputDataError
from gep.tuning.engine import Study
from gep.tuning.params import AWY

#: the synthetic demo observations: true Z, multiplicative noise (coefficient of variation),
#: random seed, and the gauging stations of the demo basin
DEMO_TRUE_Z = 3.6
DEMO_NOISE_CV = 0.005
DEMO_SEED = 20240607
OBS_COLUMNS = ("year", "station", "runoff_m3")


# -- stations and observations ------------------------------------------------------------------
def station_parties(stations: dict, parties_csv: Path, file: str | None = None
                    ) -> dict[str, list[int]]:
    """Station -> the raster labels of the parties that drain to it."""
    parties = pd.read_csv(parties_csv)
    label = dict(zip(parties["party_id"].astype(str), parties["index"].astype(int)))
    out = {}
    for st, members in stations.items():
        if members == "all":
            out[st] = sorted(label.values())
            continue
        bad = [m for m in members if m not in label]
        if bad:
            from gep.tables import unknown_id_fix

            raise ConfigError(f"calibration.stations.{st}", f"unknown party '{bad[0]}'",
                              unknown_id_fix(bad[0], sorted(label), str(parties_csv)),
                              file=file)
        if not members:
            raise ConfigError(f"calibration.stations.{st}", "no parties listed",
                              "list the parties draining to it, or 'all'", file=file)
        out[st] = sorted(label[m] for m in members)
    return out


def read_observed(path: str | Path, years: list[int], stations: list[str]) -> pd.DataFrame:
    """Validate ``year,station,runoff_m3`` (errors name the line and field)."""
    path = Path(path)
    if not path.is_file():
        raise InputDataError(path, "does not exist", "pass --observed with a CSV "
                             "year,station,runoff_m3 (or set calibration.observed)")
    from gep.tables import read_table

    rows, lines = [], []
    for r in read_table(path, OBS_COLUMNS, "observed runoff"):
        y = r.year("year")
        if y not in years:
            raise r.error("year", f"year {y} is not a year of the config {years}",
                          "drop the row or add the year to the config")
        station = r.id("station", stations, "calibration.stations")
        q = r.number("runoff_m3")
        if not np.isfinite(q) or q <= 0:
            raise r.error("runoff_m3", f"runoff {r['runoff_m3']} must be a positive volume",
                          "give m3 per year")
        rows.append((y, station, q))
        lines.append(r.line)
    out = pd.DataFrame(rows, columns=list(OBS_COLUMNS))
    dup = out.duplicated(["year", "station"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputDataError(path, f"{out.year[i]} / {out.station[i]} appears twice",
                             "keep one observation per year and station", line=lines[i],
                             field="station")
    if len(out) < 2:
        raise InputDataError(path, "fewer than 2 observations", "add observations")
    return out


# -- the runoff model ---------------------------------------------------------------------------
class RunoffModel:
    """Simulated annual runoff (m3) per (year, station) for (Z, kc_scale).

    With ``surrogate`` the water-yield surrogate reads each year's inputs directly (no InVEST
    run at all); without it every evaluation runs InVEST through the study's cache."""

    def __init__(self, study: Study, stations: dict[str, list[int]], surrogate: bool = True):
        from gep.sources.base import Grid
        from gep.tuning.surrogate import WaterYieldSurrogate
        from gep.zonal import LUCODES

        if AWY not in study.cfg.models.enabled():
            raise ConfigError(f"models.{AWY}.enabled", "calibration needs the annual water "
                              "yield model", "enable it", file=study.config_file)
        self.study, self.stations, self.surrogate = study, stations, surrogate
        p = study.paths
        study.ensure_inputs()
        self.years = list(study.cfg.years)
        parties = pd.read_csv(p.parties_csv)
        self.n_party = int(parties["index"].max()) + 1
        self.n_lc = len(LUCODES)
        self.table = str(study.cfg.path(study.cfg.models.annual_water_yield.biophysical_table))
        self.area = Grid.from_raster(p.parties_tif).pixel_area_m2
        self.names = list(stations)
        self.members = np.zeros((self.n_party, len(stations)))
        for j, st in enumerate(self.names):
            self.members[stations[st], j] = 1.0
        self._sur = {y: WaterYieldSurrogate.from_inputs(p.year_dir(y), self.table,
                                                        memory_mb=study.tuning.surrogate.memory_mb)
                     for y in self.years} if surrogate else {}
        self._memo: dict[tuple[float, float], np.ndarray] = {}
        self.evaluations = 0

    def _party_sums(self, year: int, z: float, kc: float) -> np.ndarray:
        p = self.study.paths
        if self.surrogate:
            sums, _ = self._sur[year].zonal_sums(
                [{"seasonality_constant": z, "kc_scale": kc}], p.parties_tif,
                p.year_file(year, "landcover"), self.n_party * self.n_lc, self.area)
            return sums[0].reshape(self.n_party, self.n_lc).sum(axis=1)
        from gep.tuning.engine import Pool
        from gep.zonal import zonal_year

        base = dict(self.study.space.base_settings[AWY])
        settings = base | {"seasonality_constant": z, "kc_scale": kc}
        specs = [self.study.run_spec(AWY, y, settings) for y in self.years]
        spec = specs[self.years.index(year)]
        if not (self.study.workspace(spec) / Paths.RUN_RECORD).exists():
            pool = Pool(self.study.jobs)      # all years at once, in parallel
            try:
                self.study.execute_runs(specs, pool)
            finally:
                pool.close()
        out = self.study.cache / "zonal" / "calibration" / TuningCacheFiles.zonal_name(spec.key)
        if not out.exists():
            zonal_year(year, p.year_dir(year), p.parties_tif,
                       p.parties_csv, {AWY: self.study.workspace(spec)}, out)
        z_df = pd.read_csv(out)
        z_df = z_df[z_df["variable"] == "water_yield"]
        parties = pd.read_csv(p.parties_csv)
        idx = dict(zip(parties["party_id"], parties["index"]))
        s = np.zeros(self.n_party)
        for pid, q in z_df.groupby("party_id")["quantity"].sum().items():
            s[idx[pid]] = q
        return s

    def simulate(self, z: float, kc: float = 1.0) -> np.ndarray:
        """``(n_years, n_stations)`` runoff in m3."""
        key = (round(float(z), 12), round(float(kc), 12))
        if key not in self._memo:
            self.evaluations += 1
            self._memo[key] = np.stack([self._party_sums(y, float(z), float(kc)) @ self.members
                                        for y in self.years])
        return self._memo[key]

    def frame(self, z: float, kc: float = 1.0) -> pd.DataFrame:
        sim = self.simulate(z, kc)
        return pd.DataFrame([(y, st, sim[i, j]) for i, y in enumerate(self.years)
                             for j, st in enumerate(self.names)],
                            columns=["year", "station", "runoff_m3"])


# -- fitting ------------------------------------------------------------------------------------
@dataclass
class CalibrationResult:
    summary: dict
    fit: pd.DataFrame          # year, station, observed_m3, simulated_m3, residual_m3
    profile: pd.DataFrame      # seasonality_constant, kc_scale, sse, nse
    paths: dict[str, Path]

    @property
    def z(self) -> float:
        return self.summary["parameters"]["seasonality_constant"]["value"]


def nse(obs: np.ndarray, sim: np.ndarray) -> float:
    return float(1.0 - np.sum((sim - obs) ** 2) / np.sum((obs - obs.mean()) ** 2))


def pbias(obs: np.ndarray, sim: np.ndarray) -> float:
    return float(100.0 * np.sum(obs - sim) / np.sum(obs))


class _Objective:
    """SSE of the simulated runoff at the observations, for theta = (Z,) or (Z, kc_scale)."""

    def __init__(self, model: RunoffModel, observed: pd.DataFrame, fit_kc: bool,
                 kc_bounds: tuple[float, float]):
        yi = {y: i for i, y in enumerate(model.years)}
        si = {s: j for j, s in enumerate(model.names)}
        self.rows = np.array([yi[y] for y in observed["year"]])
        self.cols = np.array([si[s] for s in observed["station"]])
        self.y = observed["runoff_m3"].to_numpy(float)
        self.model, self.fit_kc, self.kc_bounds = model, fit_kc, kc_bounds
        self.n, self.p = len(self.y), 2 if fit_kc else 1

    def sim(self, theta) -> np.ndarray:
        kc = theta[1] if self.fit_kc else 1.0
        return self.model.simulate(theta[0], kc)[self.rows, self.cols]

    def sse(self, theta) -> float:
        return float(np.sum((self.sim(theta) - self.y) ** 2))

    def profile_sse(self, z: float) -> tuple[float, float]:
        """(SSE, kc_scale) with kc_scale re-optimised at ``z`` when fitted."""
        from scipy import optimize

        kc = 1.0
        if self.fit_kc:
            r = optimize.minimize_scalar(lambda k: self.sse((z, k)), bounds=self.kc_bounds,
                                         method="bounded", options={"xatol": 1e-5})
            kc = float(r.x)
        return self.sse((z, kc)), kc


def _refine(obj: _Objective, prof: list, lo: list, hi: list):
    """``least_squares`` from the scan's best point; (theta, SSE, optimizer result)."""
    from scipy import optimize

    i0 = int(np.argmin([s for _, _, s in prof]))
    x0 = [prof[i0][0]] + ([prof[i0][1]] if obj.fit_kc else [])
    scale = float(np.mean(obj.y))
    res = optimize.least_squares(lambda th: (obj.sim(th) - obj.y) / scale, x0, bounds=(lo, hi),
                                 method="trf", x_scale="jac", diff_step=1e-3, xtol=1e-10,
                                 ftol=1e-12, gtol=1e-12)
    theta = np.asarray(res.x, float)
    sse_min = obj.sse(theta)
    if sse_min > prof[i0][2]:            # keep the scan's point if the refinement did worse
        theta, sse_min = np.asarray(x0, float), prof[i0][2]
    return theta, sse_min, res


def _covariance(obj: _Objective, theta: np.ndarray, sse_min: float, lo: list, hi: list):
    """Gauss-Newton covariance from a central-difference Jacobian (float32 noise in the
    surrogate is ~1e-7 relative, so steps of 1e-3 relative are safe); (cov, se)."""
    n, p = obj.n, obj.p
    J = np.empty((n, p))
    for k in range(p):
        h = 1e-3 * max(abs(theta[k]), 1e-3)
        tp, tm = theta.copy(), theta.copy()
        tp[k] = min(theta[k] + h, hi[k])
        tm[k] = max(theta[k] - h, lo[k])
        J[:, k] = (obj.sim(tp) - obj.sim(tm)) / (tp[k] - tm[k])
    s2 = sse_min / (n - p)
    try:
        cov = s2 * np.linalg.inv(J.T @ J)
        return cov, np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        return np.full((p, p), np.nan), np.full(p, np.nan)


def _profile_interval(obj: _Objective, prof: list, zhat: float, crit: float) -> list:
    """Where the profile SSE crosses ``crit`` on each side of ``zhat`` (None: not within the
    bounds)."""
    from scipy import optimize

    def excess(z: float) -> float:
        return obj.profile_sse(z)[0] - crit

    ci = []
    for side in (-1, 1):
        pts = sorted((z for z, _, _ in prof if (z - zhat) * side > 0),
                     key=lambda z: abs(z - zhat))
        bound, prev = None, zhat
        for z in pts:
            if excess(z) > 0:
                bound = float(optimize.brentq(excess, min(prev, z), max(prev, z), xtol=1e-4))
                break
            prev = z
        ci.append(bound)
    return ci


def _parameters(theta, se, cov, tq: float, ci: list, z_bounds, kc_bounds,
                fit_kc: bool) -> dict:
    zhat = float(theta[0])
    params = {"seasonality_constant": {
        "value": zhat, "se": float(se[0]),
        "ci_wald": [zhat - tq * float(se[0]), zhat + tq * float(se[0])],
        "ci_profile": ci, "bounds": list(z_bounds),
        "ci_profile_note": "null = SSE stays below the threshold up to the bound "
                           "(Z not identified on that side)"}}
    if fit_kc:
        params["kc_scale"] = {"value": float(theta[1]), "se": float(se[1]),
                              "ci_wald": [float(theta[1]) - tq * float(se[1]),
                                          float(theta[1]) + tq * float(se[1])],
                              "bounds": list(kc_bounds)}
        params["correlation"] = float(cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])) \
            if np.all(np.isfinite(cov)) else None
    return params


def fit(model: RunoffModel, observed: pd.DataFrame, *, fit_kc: bool = False,
        z_bounds: tuple[float, float] = (1.0, 30.0), kc_bounds: tuple[float, float] = (0.7, 1.3),
        grid_points: int = 41, confidence: float = 0.95,
        log: Callable[[str], None] | None = None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Fit Z (and kc_scale); return (summary, fit table, profile table)."""
    from scipy import stats

    log = log or (lambda m: None)
    obj = _Objective(model, observed, fit_kc, kc_bounds)
    n, p, obs_v = obj.n, obj.p, obj.y
    if n <= p:
        raise InputDataError("observed", f"{n} observations cannot fit {p} parameters",
                             "add observations")
    zs = np.geomspace(z_bounds[0], z_bounds[1], grid_points)
    prof = [(float(z), *reversed(obj.profile_sse(float(z)))) for z in zs]   # (z, kc, sse)
    log(f"profile scan: {grid_points} values of Z in [{z_bounds[0]:g}, {z_bounds[1]:g}]")
    lo = [z_bounds[0]] + ([kc_bounds[0]] if fit_kc else [])
    hi = [z_bounds[1]] + ([kc_bounds[1]] if fit_kc else [])
    theta, sse_min, res = _refine(obj, prof, lo, hi)
    cov, se = _covariance(obj, theta, sse_min, lo, hi)
    tq = float(stats.t.ppf(0.5 + confidence / 2, n - p))
    crit = sse_min * (1.0 + float(stats.f.ppf(confidence, 1, n - p)) / (n - p))
    ci = _profile_interval(obj, prof, float(theta[0]), crit)
    sim_v = obj.sim(theta)
    summary = {
        "objective": "sum of squared errors of annual runoff (m3^2); = maximum NSE",
        "parameters": _parameters(theta, se, cov, tq, ci, z_bounds, kc_bounds, fit_kc),
        "n_observations": n, "n_parameters": p,
        "sse_m3sq": sse_min, "nse": nse(obs_v, sim_v), "pbias_percent": pbias(obs_v, sim_v),
        "rmse_m3": float(np.sqrt(sse_min / n)), "confidence": confidence,
        "profile_threshold_sse": crit, "evaluations": model.evaluations,
        "optimizer": {"method": "scipy.optimize.least_squares (trf)", "status": int(res.status),
                      "message": str(res.message)},
    }
    fit_df = observed.rename(columns={"runoff_m3": "observed_m3"}).assign(
        simulated_m3=sim_v, residual_m3=sim_v - obs_v)
    prof_df = pd.DataFrame(prof, columns=["seasonality_constant", "kc_scale", "sse_m3sq"])
    prof_df["nse"] = 1.0 - prof_df["sse_m3sq"] / float(np.sum((obs_v - obs_v.mean()) ** 2))
    return summary, fit_df, prof_df


def run_calibration(config: str | Path, *, tuning: str | Path | None = None,
                    observed: str | Path | None = None, fit_kc: bool | None = None,
                    surrogate: bool = True, check: bool | None = None,
                    out_dir: str | Path | None = None, jobs: int | None = None,
                    log: Callable[[str], None] | None = None, executor: str | None = None,
                    profile: str | Path | None = None) -> CalibrationResult:
    """Calibrate Z (and optionally kc_scale) for a basin; write ``tuning/calibration/``."""
    if out_dir:
        from gep.io import check_out_dir

        check_out_dir(out_dir)
    # the observations are checked first, with the config and tuning settings alone (cheap):
    # a bad file then costs no model introspection and no acquisition
    from gep.config import Config, load_config
    from gep.tuning.settings import load_tuning

    cfg = config if isinstance(config, Config) else load_config(config)
    settings = load_tuning(tuning, Path(cfg.config_dir))
    obs_path = Path(observed) if observed else settings.path(settings.calibration.observed)
    if obs_path is None:
        raise ConfigError("calibration.observed", "no observed runoff given",
                          "pass --observed FILE or set calibration.observed in "
                          "config/tuning.yaml", file=settings.file)
    obs = read_observed(obs_path, cfg.years, list(settings.calibration.stations))
    study = Study(config, tuning, surrogate=surrogate, jobs=jobs, log=log, executor=executor,
                  profile=profile)
    cal = study.tuning.calibration
    fit_kc = cal.kc_scale.fit if fit_kc is None else fit_kc
    check = cal.check if check is None else check
    zb = (cal.seasonality_constant.min, cal.seasonality_constant.max)
    z_param = study.space.resolve("seasonality_constant")
    for v in zb:
        study.space.check_value(z_param, v, "calibration.seasonality_constant")
    kb = (cal.kc_scale.min, cal.kc_scale.max)
    if not zb[0] < zb[1] or not kb[0] < kb[1]:
        raise ConfigError("calibration", "a lower bound is not below its upper bound",
                          "fix seasonality_constant / kc_scale min and max",
                          file=study.tuning.file)
    study.ensure_inputs()
    stations = station_parties(cal.stations, study.paths.parties_csv,
                               study.tuning.file)
    model = RunoffModel(study, stations, surrogate=surrogate)
    summary, fit_df, prof_df = fit(model, obs, fit_kc=fit_kc, z_bounds=zb, kc_bounds=kb,
                                   grid_points=cal.grid_points, confidence=cal.confidence,
                                   log=study.log)
    summary["observed"] = str(obs_path)
    summary["stations"] = {k: (v if v == "all" else list(v)) for k, v in cal.stations.items()}
    summary["surrogate"] = surrogate
    zhat = summary["parameters"]["seasonality_constant"]["value"]
    kchat = summary["parameters"].get("kc_scale", {}).get("value", 1.0)
    if check and surrogate:
        summary["surrogate_check"] = check_fitted(study, zhat, kchat)
    summary["suggestion"] = (f"models.{AWY}.seasonality_constant: {zhat:.3g}"
                             + (f" (and Kc x {kchat:.3g} in the biophysical table)"
                                if fit_kc else ""))
    out = Path(out_dir) if out_dir else study.root / "calibration"
    paths = write_outputs(out, summary, fit_df, prof_df)
    study.log(f"Z = {zhat:.4g} (se {summary['parameters']['seasonality_constant']['se']:.2g}), "
              f"NSE {summary['nse']:.4f}, PBIAS {summary['pbias_percent']:.2f} %")
    return CalibrationResult(summary, fit_df, prof_df, paths)


def check_fitted(study: Study, z: float, kc: float = 1.0) -> dict:
    """Run InVEST once at the fitted values on the check year; compare per pixel."""
    from gep.tuning.engine import Pool
    from gep.tuning.surrogate import WaterYieldSurrogate, check_water_yield, require

    year = study.check_year
    settings = dict(study.space.base_settings[AWY]) | {"seasonality_constant": float(z),
                                                       "kc_scale": float(kc)}
    spec = study.run_spec(AWY, year, settings)
    study.execute_runs([spec], Pool(1))
    table = str(study.cfg.path(study.cfg.models.annual_water_yield.biophysical_table))
    sur = WaterYieldSurrogate.from_inputs(study.paths.year_dir(year), table)
    c = check_water_yield(sur, study.workspace(spec), settings, year,
                          study.tuning.surrogate.tolerance)
    study.log(f"surrogate check at the fitted values ({year}): max relative difference "
              f"{c.max_rel_diff:.2e} over {c.n_pixels} pixels")
    return require(c).as_dict()


def write_outputs(out: Path, summary: dict, fit_df: pd.DataFrame,
                  prof_df: pd.DataFrame) -> dict[str, Path]:
    from gep.io import atomic_dir
    from gep.paths import CalibrationFiles as F

    with atomic_dir(out) as tmp:
        work = F(tmp)
        work.summary.write_text(json.dumps(summary, indent=2, default=str) + "\n")
        fit_df.to_csv(work.fit, index=False, float_format="%.6f")
        prof_df.to_csv(work.profile, index=False, float_format="%.10g")
        _plots(tmp, summary, fit_df, prof_df)
    return {k: F(out).file(k) for k in ("summary", "fit", "profile", "plot")}


def _plots(folder: Path, summary: dict, fit_df: pd.DataFrame, prof_df: pd.DataFrame) -> None:

    from gep.fonts import configure_matplotlib

    configure_matplotlib()
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.4))
    a1.plot(prof_df["seasonality_constant"], prof_df["sse_m3sq"] / 1e12, "-o", ms=3)
    z = summary["parameters"]["seasonality_constant"]
    a1.axhline(summary["profile_threshold_sse"] / 1e12, color="grey", ls="--",
               label=f"{summary['confidence']:.0%} profile threshold")
    a1.axvline(z["value"], color="C3", label=f"Z = {z['value']:.3g}")
    for b in z["ci_profile"]:
        if b is not None:
            a1.axvline(b, color="C3", ls=":")
    a1.set_xscale("log")
    a1.set_yscale("log")
    a1.set_xlabel("seasonality constant Z")
    a1.set_ylabel("SSE (10^12 m6)")
    a1.set_title("Profile of the fit", fontsize=10)
    a1.legend(fontsize=8)
    for st, g in fit_df.groupby("station"):
        a2.scatter(g["observed_m3"] / 1e6, g["simulated_m3"] / 1e6, s=16, label=st)
    lim = [fit_df[["observed_m3", "simulated_m3"]].min().min() / 1e6 * 0.95,
           fit_df[["observed_m3", "simulated_m3"]].max().max() / 1e6 * 1.05]
    a2.plot(lim, lim, color="grey", lw=0.8)
    a2.set_xlabel("observed runoff (million m3)")
    a2.set_ylabel("simulated runoff (million m3)")
    a2.set_title(f"NSE {summary['nse']:.3f}, PBIAS {summary['pbias_percent']:.2f} %",
                 fontsize=10)
    a2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(CalibrationFiles(folder).plot, dpi=110)
    plt.close(fig)


# -- synthetic observations for the demo ----------------------------------------------------------
def make_demo_observations(config, *, true_z: float = DEMO_TRUE_Z,
                           noise_cv: float = DEMO_NOISE_CV, seed: int = DEMO_SEED,
                           tuning: str | Path | None = None, engine: str = "invest",
                           log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Annual runoff at the declared stations simulated with Z = ``true_z`` (by InVEST, or by
    the surrogate with ``engine="surrogate"``), times (1 + noise_cv * N(0, 1)) with a seeded
    generator, rounded to whole m3: ``year,station,runoff_m3``."""
    study = Study(config, tuning, surrogate=engine == "surrogate", log=log)
    study.ensure_inputs()
    stations = station_parties(study.tuning.calibration.stations,
                               study.paths.parties_csv, study.tuning.file)
    model = RunoffModel(study, stations, surrogate=engine == "surrogate")
    truth = model.frame(true_z)
    rng = np.random.default_rng(seed)
    noisy = truth["runoff_m3"].to_numpy() * (1.0 + noise_cv * rng.standard_normal(len(truth)))
    return truth.assign(runoff_m3=np.round(noisy).astype(np.int64))
