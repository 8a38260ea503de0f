"""Evaluate many parameter combinations of the annual GEP batch, reusing everything a
parameter does not touch.

The pipeline of one combination is the annual batch itself: InVEST models per year
(``gep.invest.run_model``), per-party zonal sums (``gep.zonal.zonal_year``), valuation and
increments (``gep.valuation``), and the compensation settlement
(``gep.compensation.allocate``). What makes sweeps cheap:

- **Content-addressed model runs.** A run is keyed by (model, year, parameters with table
  *contents*, digests of every input file of the year, InVEST version, gep's runner code):
  ``results/<basin>/tuning/cache/invest/<year>/<model>/<key>/``. A price, reward or tier sweep
  maps every combination to the same keys, so InVEST runs at most once per model and year, and
  not at all when the pipeline's own workspace (``results/<basin>/invest/<year>/<model>``) was
  made with the same arguments and no input is newer than it (the rule Snakemake applies):
  that workspace is then hard-linked into the cache instead of re-run.
- **Zonal tables** are cached by the keys of the runs they read.
- **Surrogates** (``--surrogate``): a combination that differs from a cached run only in
  parameters a surrogate evaluates (Z, Kc and root-depth scales; half-saturation constant and
  threat weights) reuses that run's aligned inputs and replaces only the affected zonal rows,
  for all such combinations in one pass over the rasters. Before any surrogate result is used
  it is compared per pixel with InVEST on the check year (see :mod:`gep.tuning.surrogate`).
- **Parallelism.** Missing InVEST runs, zonal tables, surrogate passes and the valuation +
  settlement of each distinct combination run in a process pool (``concurrent.futures``).
- **Scale-out.** With an ``executor`` (any Snakemake executor, e.g. ``slurm``) or a Snakemake
  ``profile``, the missing InVEST runs are instead jobs of a small Snakemake workflow
  (``gep/tuning/runs.smk``, :class:`SnakemakeRunner`) on that executor, with the memory and
  run time :mod:`gep.resources` gives the pipeline's own InVEST rule: a 1,000-run Sobol' study
  fans out over a cluster the same way the pipeline does. The cheap steps after InVEST stay
  in the local pool.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from gep.config import Config, load_config
from gep.errors import ConfigError, GepError
from gep.paths import PARTY_FILES, STATIC_FILES, YEAR_FILES, Paths
from gep.tuning.params import (
    AWY,
    HQ,
    ParameterSpace,
    Scenario,
    digest,
    is_surrogate_key,
)
from gep.tuning.settings import TuningConfig, load_tuning

GEP_TOTAL = "gep_total"
PAYOUT_NET = "payout_net"
TABLE_COLUMNS = ("year", "party_id", "service_or_clause", "value", "unit")
#: variables of the zonal table each surrogate replaces
SURROGATE_VARIABLES = {AWY: "water_yield", HQ: "habitat_quality"}


class TuningError(GepError, RuntimeError):
    """A tuning run failed (a model run, or a surrogate that disagrees with InVEST)."""


# -- digests ----------------------------------------------------------------------------------
_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (memoised on path, size and modification time)."""
    p = Path(path)
    st = p.stat()
    k = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if k not in _DIGESTS:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
        _DIGESTS[k] = h.hexdigest()
    return _DIGESTS[k]


def _module_digest(name: str) -> str:
    import importlib

    return file_digest(importlib.import_module(name).__file__)[:16]


def invest_version() -> str:
    from gep.invest import _invest_version

    return _invest_version()


# -- process pool ----------------------------------------------------------------------------
def _guard(fn: Callable, args: tuple):
    """Run in a worker; return errors as text (gep's errors do not pickle)."""
    try:
        return ("ok", fn(*args))
    except GepError as exc:
        return ("gep", type(exc).__name__, str(exc))
    except Exception as exc:  # noqa: BLE001 - reported to the parent with its type
        import traceback

        return ("err", type(exc).__name__, f"{exc}\n{traceback.format_exc(limit=6)}")


def _unwrap(res):
    if res[0] == "ok":
        return res[1]
    if res[0] == "gep":
        raise TuningError(f"{res[2]}")
    raise TuningError(f"{res[1]}: {res[2]}")


class Pool:
    """A lazily started process pool.

    On Linux the workers are forked (Python 3.11's default there): the parent holds no open
    datasets and no threads when the pool starts, and forking spares every worker the import
    of InVEST and GDAL. Elsewhere they are spawned, which needs the usual
    ``if __name__ == "__main__":`` guard in scripts.
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self._ex: ProcessPoolExecutor | None = None

    def map(self, fn: Callable, tasks: Sequence[tuple], chunksize: int = 1) -> list:
        if not tasks:
            return []
        if self.jobs == 1 or len(tasks) == 1:
            return [_unwrap(_guard(fn, t)) for t in tasks]
        out = self._executor().map(_guard, [fn] * len(tasks), tasks, chunksize=chunksize)
        return [_unwrap(r) for r in out]

    def submit(self, fn: Callable, tasks: Sequence[tuple]) -> Callable[[], list]:
        """Start ``tasks`` in the background; return a function that waits for the results.
        With one job they run at once, in this process."""
        if not tasks:
            return lambda: []
        if self.jobs == 1:
            results = [_unwrap(_guard(fn, t)) for t in tasks]
            return lambda: results
        ex = self._executor()
        futures = [ex.submit(_guard, fn, t) for t in tasks]
        return lambda: [_unwrap(f.result()) for f in futures]

    def _executor(self) -> ProcessPoolExecutor:
        if self._ex is None:
            import multiprocessing as mp
            import sys

            ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
            self._ex = ProcessPoolExecutor(self.jobs, mp_context=ctx)
        return self._ex

    def close(self) -> None:
        if self._ex is not None:
            self._ex.shutdown()
            self._ex = None


def _threats(table: Path) -> pd.DataFrame:
    """A threats table with its raster paths resolved (they are relative to the table)."""
    df = pd.read_csv(table)
    df["cur_path"] = [str((table.parent / p).resolve()) for p in df["cur_path"]]
    return df


class SnakemakeRunner:
    """InVEST runs as jobs of ``gep/tuning/runs.smk`` on a Snakemake executor.

    ``executor``: a Snakemake executor plugin name (``local``, ``slurm``, ...) or None to take
    it from ``profile`` (a Snakemake profile folder, e.g. the repository's profiles/slurm).
    ``jobs``: at most this many jobs at once (default: the profile's, else 100 on a cluster
    executor and the CPUs locally). Each job calls ``gep`` from the PATH, so the nodes need
    gep's environment (the same venv on a shared file system, or the profile's
    ``software-deployment-method``)."""

    def __init__(self, workdir: Path, executor: str | None = None, profile: str | None = None,
                 jobs: int | None = None, pixels: int = 0,
                 log: Callable[[str], None] | None = None, extra_args: Sequence[str] = ()):
        if executor is None and profile is None:
            raise ValueError("SnakemakeRunner needs an executor or a profile")
        self.workdir = Path(workdir)
        self.executor, self.profile, self.jobs = executor, profile, jobs
        self.pixels = pixels
        self.extra_args = list(extra_args)
        self.log = log or (lambda msg: None)

    def command(self, tasks_file: Path, targets: Sequence[str]) -> list[str]:
        import sys

        cmd = [sys.executable, "-m", "snakemake", "--snakefile",
               str(Path(__file__).with_name("runs.smk")), "--directory", str(self.workdir),
               "--config", f"tasks={tasks_file}", "--nolock"]
        if self.profile is not None:
            cmd += ["--profile", str(self.profile)]
        else:   # no profile: not the workflow's default profile either
            cmd += ["--workflow-profile", "none"]
        if self.executor is not None:
            cmd += ["--executor", self.executor]
        jobs = self.jobs
        if jobs is None and self.profile is None:
            jobs = (os.cpu_count() or 1) if self.executor in ("local", None) else 100
        if jobs is not None:
            cmd += ["--jobs", str(jobs)]
            if self.executor == "local":
                cmd += ["--cores", str(jobs)]
        return cmd + self.extra_args + list(targets)

    def submit(self, tasks: Sequence[tuple]) -> Callable[[], list[float]]:
        """Start the runs (tuples as for ``_invest_task``) in the background; the returned
        function waits and gives each run's InVEST seconds."""
        import subprocess
        import sys

        from gep import resources

        if not tasks:
            return lambda: []
        jobs_dir = self.workdir / "jobs"
        jobs_dir.mkdir(parents=True, exist_ok=True)
        index, targets = {}, []
        for model, year, inputs_dir, params, workspace in tasks:
            ws = Path(workspace)
            rel = ws.relative_to(self.workdir).as_posix()
            task = jobs_dir / f"{year}-{model}-{ws.name}.json"
            task.write_text(json.dumps({"model": model, "year": year, "inputs": inputs_dir,
                                        "params": params, "workspace": str(ws)}, indent=1))
            index[rel] = {"task": str(task),
                          "mem_mb": resources.mem_mb("invest", self.pixels),
                          "runtime": resources.runtime("invest", self.pixels)}
            targets.append(rel)
        fd, name = tempfile.mkstemp(prefix="tasks-", suffix=".json", dir=jobs_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(index, fh)
        cmd = self.command(Path(name), targets)
        self.log(f"{len(tasks)} InVEST run(s) as Snakemake jobs "
                 f"({'profile ' + str(self.profile) if self.profile else ''}"
                 f"{' ' if self.profile and self.executor else ''}"
                 f"{'executor ' + self.executor if self.executor else ''})")
        out = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        # the jobs call `gep` from the PATH: this interpreter's environment first
        env = dict(os.environ, PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)

        def wait() -> list[float]:
            rc = proc.wait()
            Path(name).unlink(missing_ok=True)
            out.seek(0)
            text = out.read()
            out.close()
            if rc != 0:
                tail = "\n".join(text.strip().splitlines()[-25:])
                raise TuningError(f"the InVEST runs' Snakemake jobs failed (exit {rc}); job "
                                  f"logs in {self.workdir / 'logs'}:\n{tail}")
            secs = []
            for _, _, _, _, workspace in tasks:
                rec = Path(workspace) / "gep_run.json"
                if not rec.is_file():
                    raise TuningError(f"Snakemake finished but {rec} is missing")
                secs.append(float(json.loads(rec.read_text()).get("execute_seconds", 0.0)))
            return secs
        return wait


def run_task_file(path: str | Path, workers: int | None = None) -> Path:
    """One InVEST run from a task file written by :class:`SnakemakeRunner` (``gep
    tuning-run``)."""
    from gep.invest import run_model
    from gep.resources import invest_workers

    t = json.loads(Path(path).read_text(encoding="utf-8"))
    params = dict(t["params"])
    if workers is not None and workers > 1:
        params["n_workers"] = invest_workers(workers)
    return run_model(t["model"], Path(t["inputs"]), params, Path(t["workspace"]), t["year"])


# -- worker tasks (module level so they pickle) ------------------------------------------------
def _invest_task(model: str, year: int, inputs_dir: str, params: dict, workspace: str) -> float:
    from gep.invest import run_model

    t0 = time.perf_counter()
    # no InVEST HTML report for the tuning cache's many runs (seconds each, read by nobody)
    run_model(model, Path(inputs_dir), params, Path(workspace), year, report=False)
    return time.perf_counter() - t0


def _zonal_task(year: int, inputs_dir: str, parties_tif: str, parties_csv: str,
                workspaces: dict[str, str], out: str) -> str:
    from gep.zonal import zonal_year

    return str(zonal_year(year, Path(inputs_dir), Path(parties_tif), Path(parties_csv),
                          {m: Path(w) for m, w in workspaces.items()}, Path(out)))


def surrogate_params(model: str, settings: dict, reference: dict):
    from gep.tuning import surrogate as s

    if model == AWY:
        return s.WaterYieldParams(settings["seasonality_constant"],
                                  settings.get("kc_scale", 1.0),
                                  settings.get("root_depth_scale", 1.0))
    weights = tuple(sorted((k.split(".")[1], v) for k, v in settings.items()
                           if k.startswith("threats.") and k.endswith(".weight")))
    ref_w = tuple(sorted((k.split(".")[1], v) for k, v in reference.items()
                         if k.startswith("threats.") and k.endswith(".weight")))
    return s.HabitatParams(settings["half_saturation_constant"],
                           weights if weights != ref_w else None)


def build_surrogate(model: str, workspace: str | Path, biophysical_table: str | None,
                    memory_mb: float = 2000.0):
    from gep.tuning import surrogate as s

    if model == AWY:
        return s.WaterYieldSurrogate.from_workspace(workspace, biophysical_table,
                                                    memory_mb=memory_mb)
    return s.HabitatQualitySurrogate.from_workspace(workspace)


def _surrogate_task(model: str, year: int, workspace: str, table: str | None, inputs_dir: str,
                    parties_tif: str, parties_csv: str, settings: list[dict], reference: dict,
                    memory_mb: float, threads: int = 1) -> list[pd.DataFrame]:
    sur = build_surrogate(model, workspace, table, memory_mb)
    plist = [surrogate_params(model, s, reference) for s in settings]
    return sur.zonal(year, inputs_dir, parties_tif, parties_csv, plist, threads=threads)


def _check_task(model: str, year: int, ref_ws: str, table: str | None, check_ws: str,
                settings: dict, reference: dict, tolerance: float) -> dict:
    from gep.tuning import surrogate as s

    sur = build_surrogate(model, ref_ws, table)
    p = surrogate_params(model, settings, reference)
    fn = s.check_water_yield if model == AWY else s.check_habitat_quality
    return fn(sur, check_ws, p, year, tolerance).as_dict()


#: zonal variables the reference climate changes (the rest is taken from the actual run)
CLIMATE_VARIABLES = ("precipitation", "water_yield", "avoided_erosion", "n_retained",
                     "p_retained")


def _reference_task(year: int, inputs_dir: str, parties_tif: str, parties_csv: str,
                    awy: dict | None, table: str | None, pipeline_ws: dict[str, str],
                    ref_dir: str, out: str) -> str:
    """Zonal rows of ``year``'s land cover under the reference climate, for the variables the
    climate changes: water yield from the surrogate with the scenario's settings (no InVEST),
    SDR / NDR from the pipeline's reference (or actual) workspaces."""
    from gep.zonal import zonal_year

    ref = Path(ref_dir)
    with tempfile.TemporaryDirectory(prefix="gep-ref-") as tmp:
        ws = {m: Path(w) for m, w in pipeline_ws.items()}
        if awy is not None:
            from gep.tuning import surrogate as s

            d = Path(inputs_dir)
            rasters = {"lulc": d / "landcover.tif", "eto": ref / "reference_et.tif",
                       "precip": ref / "precipitation.tif",
                       "soil": d / "root_restricting_depth.tif",
                       "pawc": d / "plant_available_water.tif"}
            sur = s.WaterYieldSurrogate(rasters, s.Biophysical.read(table))
            sur.write(Path(tmp) / "awy" / "output" / "per_pixel" / "wyield.tif",
                      s.WaterYieldParams.from_mapping(awy))
            ws[AWY] = Path(tmp) / "awy"
        return str(zonal_year(year, Path(inputs_dir), Path(parties_tif), Path(parties_csv),
                              ws, Path(out),
                              input_files={"precipitation.tif": ref / "precipitation.tif"}))


_PRICES: dict[tuple, Any] = {}


def _downstream_task(zonals: list[pd.DataFrame], prices_path: str, runoff_path: str,
                     agreement_path: str | None, quality: str | None, performance: str | None,
                     incidents: str | None, ref_zonals: list[pd.DataFrame] | None = None
                     ) -> tuple[list[tuple], list[tuple]]:
    """Valuation, increments, attribution and settlement of one combination (files only in a
    temp dir)."""
    from gep.valuation import INCREMENT_HEADER, increments, load_prices, load_runoff, value_year

    def cached(path: str, loader):
        st = os.stat(path)  # keyed on mtime too: a notebook may edit the file between calls
        k = (path, st.st_mtime_ns, st.st_size)
        if k not in _PRICES:
            _PRICES[k] = loader(Path(path))
        return _PRICES[k]

    prices, runoff = cached(prices_path, load_prices), cached(runoff_path, load_runoff)
    rows: list[dict] = []
    prev = None
    for z in sorted(zonals, key=lambda d: int(d["year"].iloc[0])):
        rows.extend(value_year(z, prices, runoff, prev))
        prev = z
    gep: list[tuple] = []
    totals: dict[tuple[int, str], Decimal] = {}
    for r in rows:
        y, party = int(r["year"]), str(r["party_id"])
        if r["value_cny_constant"] != "":
            v = Decimal(r["value_cny_constant"])
            gep.append((y, party, r["service"], float(v), "CNY"))
            totals[(y, party)] = totals.get((y, party), Decimal(0)) + v
        elif r["service"] == "water_yield":
            gep.append((y, party, "water_yield", float(r["quantity"]), "m3"))
    gep += [(y, p, GEP_TOTAL, float(v), "CNY") for (y, p), v in sorted(totals.items())]
    pay: list[tuple] = []
    if agreement_path is not None:
        from gep.compensation import allocate
        from gep.io import write_csv

        from gep.attribution.attribute import (ATTRIBUTION_HEADER, attribution_rows,
                                               value_frames)

        inc = increments(rows)
        with tempfile.TemporaryDirectory(prefix="gep-tuning-") as d:
            inc_path = write_csv(Path(d) / "increments.csv", INCREMENT_HEADER, inc)
            att_path = None
            if ref_zonals is not None:
                att = attribution_rows(rows, value_frames(ref_zonals, prices, runoff))
                att_path = write_csv(Path(d) / "attribution.csv", ATTRIBUTION_HEADER, att)
            paths = allocate(agreement_path, inc_path, quality, Path(d) / "out",
                             performance_path=performance, incidents_path=incidents,
                             attribution_path=att_path)
            st = pd.read_csv(paths["statement"], dtype={"amount_cny": str})
            summary = json.loads(Path(paths["summary"]).read_text(encoding="utf-8"))
        net: dict[tuple[int, str], Decimal] = {}
        for r in st.itertuples(index=False):
            amt = Decimal(r.amount_cny)
            pay.append((int(r.year), str(r.party_id), str(r.clause), float(amt), "CNY"))
            net[(int(r.year), str(r.party_id))] = net.get((int(r.year), str(r.party_id)),
                                                         Decimal(0)) + amt
        accounts = [a["id"] for a in summary["accounts"]]
        for y in summary["years"]:
            for a in accounts:
                pay.append((int(y), a, PAYOUT_NET, float(net.get((int(y), a), Decimal(0))),
                            "CNY"))
    return gep, pay


# -- the study -------------------------------------------------------------------------------
@dataclass
class RunSpec:
    model: str
    year: int
    settings: dict[str, float]
    params: dict[str, Any]
    tables: dict[str, str]
    key: str


@dataclass
class Evaluation:
    """Results of many combinations: one tidy table and what it took to make it."""

    table: pd.DataFrame            # scenario, year, party_id, service_or_clause, value, unit
    checks: list[dict] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


class Study:
    """A basin config, its tuning settings, its parameter space and its run cache."""

    def __init__(self, config: str | Path | Config, tuning: str | Path | None = None, *,
                 surrogate: bool = False, jobs: int | None = None,
                 log: Callable[[str], None] | None = None, quality: str | Path | None = None,
                 executor: str | None = None, profile: str | Path | None = None):
        if isinstance(config, Config):
            self.cfg, self.config_file = config, None
        else:
            self.config_file = str(config)
            self.cfg = load_config(config)
        self.tuning: TuningConfig = load_tuning(tuning, Path(self.cfg.config_dir))
        self.space = ParameterSpace(self.cfg, self.config_file)
        self.paths = Paths(self.cfg)
        self.root = self.cfg.out / "tuning"
        self.cache = self.root / "cache"
        self.jobs = jobs or self.tuning.jobs or os.cpu_count() or 1
        # InVEST runs on a Snakemake executor (None: this machine's process pool)
        self.runner: SnakemakeRunner | None = None
        if executor is not None or profile is not None:
            self.runner = SnakemakeRunner(
                self.cache, executor, None if profile is None else str(Path(profile).resolve()),
                jobs or self.tuning.jobs, log=log)
        self.surrogate = surrogate
        self.log = log or (lambda msg: None)
        self.check_year = self.tuning.surrogate.check_year or self.cfg.years[0]
        if self.check_year not in self.cfg.years:
            raise ConfigError("surrogate.check_year", f"{self.check_year} is not a year of the "
                              "config", f"use one of {self.cfg.years}", file=self.tuning.file)
        self.payouts_skipped: str | None = None
        self.quality, self.performance, self.incidents = self._compensation_inputs(quality)
        self._input_digests: dict[int, dict[str, str]] = {}
        self.stats: dict[str, Any] = {"invest_runs": 0, "invest_seconds": 0.0,
                                      "cached_runs": 0, "adopted_runs": 0, "zonal_tables": 0,
                                      "surrogate_sets": 0, "downstream": 0}

    # -- inputs --------------------------------------------------------------------------------
    def _compensation_inputs(self, quality):
        cfg, t = self.cfg, self.tuning
        if cfg.compensation.agreement is None:
            return None, None, None
        mon = self.paths.monitoring
        q = Path(quality) if quality else (mon / "section_quality.csv"
                                           if (mon / "section_quality.csv").exists()
                                           else t.path(t.compensation.quality))
        if q is None or not Path(q).is_file():
            if quality or q is not None:
                raise ConfigError("compensation.quality", f"water-quality file {q} does not "
                                  "exist", "run the monitoring stage, or set "
                                  "compensation.quality in config/tuning.yaml (e.g. "
                                  "demo/section_quality_standin.csv)",
                                  file=None if quality else t.file)
            # no water-quality data at all: GEP only, payouts skipped (recorded in the stats)
            self.payouts_skipped = "no section water-quality file: payouts not computed"
            return None, None, None
        perf = cfg.path(cfg.compensation.performance) or t.path(t.compensation.performance)
        if perf is None and (mon / "performance.csv").exists():
            perf = mon / "performance.csv"
        inc = cfg.path(cfg.compensation.incidents) or t.path(t.compensation.incidents)
        return (str(q), str(perf) if perf else None, str(inc) if inc else None)

    def ensure_inputs(self) -> None:
        """Acquire the basin's inputs (as the pipeline's acquire rules do) if any is missing."""
        from gep import acquire

        p = self.paths
        if not all(p.party_file(f).exists() for f in PARTY_FILES):
            self.log("acquiring parties (inputs missing)")
            acquire.acquire_parties(self.cfg)
        if not all(p.static_file(f).exists() for f in STATIC_FILES):
            self.log("acquiring static layers (inputs missing)")
            acquire.acquire_static(self.cfg)
        for y in self.cfg.years:
            if not all(p.year_file(y, f).exists() for f in YEAR_FILES):
                self.log(f"acquiring {y} (inputs missing)")
                acquire.acquire_year(self.cfg, y)

    def input_digests(self, year: int) -> dict[str, str]:
        """SHA-256 of every input a model of ``year`` may read (part of each run's key)."""
        if year not in self._input_digests:
            d = self.paths.year_dir(year)
            files = sorted(f for f in d.glob("*.tif") if not f.name.startswith("."))
            files += [self.paths.party_file("basin.gpkg"),
                      self.paths.party_file("subwatersheds.gpkg")]
            self._input_digests[year] = {f.name: file_digest(f) for f in files}
        return self._input_digests[year]

    # -- runs ----------------------------------------------------------------------------------
    def run_spec(self, model: str, year: int, settings: dict[str, float]) -> RunSpec:
        params, tables = self.space.invest_params(model, settings)
        key_params = {}
        for k, v in params.items():
            if k == "n_workers":
                continue  # changes speed, not results
            if k.endswith("_table"):
                v = (hashlib.sha256(tables[k].encode()).hexdigest() if k in tables
                     else file_digest(v))
            key_params[k] = v
        key = digest({"model": model, "year": year, "params": key_params,
                      "inputs": self.input_digests(year), "invest": invest_version(),
                      "runner": _module_digest("gep.invest")})[:20]
        return RunSpec(model, year, dict(settings), params, tables, key)

    def workspace(self, spec: RunSpec) -> Path:
        return self.cache / "invest" / str(spec.year) / spec.model / spec.key

    def _materialise(self, spec: RunSpec) -> dict[str, Any]:
        """InVEST params with rewritten tables written to the cache (content-addressed)."""
        from gep.io import write_text

        params = dict(spec.params)
        for k, text in spec.tables.items():
            path = self.cache / "tables" / f"{hashlib.sha256(text.encode()).hexdigest()[:20]}.csv"
            if not path.exists():
                write_text(path, text)
            params[k] = str(path)
        return params

    def _adopt(self, spec: RunSpec) -> bool:
        """Hard-link the pipeline's own workspace into the cache if it is this very run."""
        from gep.invest import build_args
        from gep.io import atomic_dir

        if spec.tables:
            return False
        main = self.paths.workspace(spec.year, spec.model)
        rec = main / "gep_run.json"
        if not rec.is_file():
            return False
        try:
            data = json.loads(rec.read_text())
        except (OSError, ValueError):
            return False
        if data.get("model") != spec.model or data.get("invest_version") != invest_version():
            return False
        inputs = self.paths.year_dir(spec.year)
        with tempfile.TemporaryDirectory() as tmp:
            args = build_args(spec.model, inputs, spec.params, Path(tmp), spec.year)
            expected = {k: (str(v).replace(tmp, str(main)) if isinstance(v, str) else v)
                        for k, v in args.items() if k != "workspace_dir"}
            # n_workers changes speed, not results (the pipeline passes a job's threads)
            made = {k: v for k, v in (data.get("args") or {}).items() if k != "n_workers"}
            if made != json.loads(json.dumps(
                    {k: v for k, v in expected.items() if k != "n_workers"})):
                return False
            if spec.model == HQ:
                if not (main / "gep_threats.csv").exists() or not _threats(
                        Path(tmp) / "gep_threats.csv").equals(_threats(
                        main / "gep_threats.csv")):
                    return False
        used = [Path(v) for v in expected.values() if isinstance(v, str) and
                Path(v).is_file() and not str(v).startswith(str(main))]
        used += [self.paths.year_dir(spec.year) / n for n in self.input_digests(spec.year)
                 if (self.paths.year_dir(spec.year) / n).exists()]
        if any(p.stat().st_mtime > rec.stat().st_mtime for p in used):
            return False
        ws = self.workspace(spec)
        with atomic_dir(ws) as tmpdir:
            shutil.copytree(main, tmpdir, copy_function=_link_or_copy, dirs_exist_ok=True)
            (tmpdir / "gep_tuning.json").write_text(json.dumps(
                {"adopted_from": str(main), "key": spec.key, "settings": spec.settings},
                indent=2))
        return True

    def execute_runs(self, specs: Sequence[RunSpec], pool: Pool) -> list[RunSpec]:
        """Make sure every run exists in the cache; return those InVEST actually ran."""
        return self.start_runs(specs, pool, spare_cores=True)()

    def start_runs(self, specs: Sequence[RunSpec], pool: Pool,
                   spare_cores: bool = False) -> Callable[[], list[RunSpec]]:
        """Start the runs missing from the cache in the background; the returned function
        waits for them. ``spare_cores``: fewer runs than cores lets InVEST's taskgraph use
        the rest (same results)."""
        todo, seen = [], set()
        for s in specs:
            if s.key in seen:
                continue
            seen.add(s.key)
            if (self.workspace(s) / "gep_run.json").exists():
                self.stats["cached_runs"] += 1
            elif self._adopt(s):
                self.stats["adopted_runs"] += 1
                self.log(f"reused the pipeline's {s.model} {s.year} workspace")
            else:
                todo.append(s)
        if todo and self.runner is None:
            self.log(f"running InVEST {len(todo)} time(s) on {min(self.jobs, len(todo))} "
                     "process(es)")
        tasks = [(s.model, s.year, str(self.paths.year_dir(s.year)), self._materialise(s),
                  str(self.workspace(s))) for s in todo]
        if self.runner is not None:
            from gep.resources import basin_pixels

            self.runner.pixels = basin_pixels(self.cfg, self.paths.party_file("parties.tif"))
            wait = self.runner.submit(tasks)
        else:
            if spare_cores and 0 < len(todo) < self.jobs:
                for t in tasks:
                    if t[3].get("n_workers", -1) == -1:
                        t[3]["n_workers"] = self.jobs // len(todo)
            wait = pool.submit(_invest_task, tasks)

        def finish() -> list[RunSpec]:
            secs = wait()
            self.stats["invest_runs"] += len(todo)
            self.stats["invest_seconds"] += float(sum(secs))
            return todo
        return finish

    # -- the whole evaluation ------------------------------------------------------------------
    def plan(self, scenarios: Sequence[Scenario]) -> "Plan":
        """Decide which runs, surrogate sets and checks the scenarios need (no model runs;
        the inputs are acquired first if missing, since run keys digest them)."""
        self.ensure_inputs()
        years, models = self.cfg.years, self.cfg.models.enabled()
        runs: dict[str, RunSpec] = {}
        assign: list[dict[tuple[str, int], tuple[str, dict | None]]] = []
        for sc in scenarios:
            a = {}
            for model in models:
                settings = sc.settings[model]
                use = self.surrogate and model in SURROGATE_VARIABLES
                ref = self.space.reference(model, settings) if use else settings
                sur = settings if (use and ref != settings) else None
                for year in years:
                    spec = self.run_spec(model, year, ref)
                    runs.setdefault(spec.key, spec)
                    a[(model, year)] = (spec.key, sur)
            assign.append(a)
        checks = []
        mode = self.tuning.surrogate.check
        if self.surrogate and mode != "none":
            groups: dict[tuple[str, str], list[dict]] = {}
            for a in assign:
                for (model, year), (key, sur) in a.items():
                    if year == self.check_year and sur is not None:
                        groups.setdefault((model, key), []).append(sur)
            for (model, key), surs in groups.items():
                ref = runs[key].settings
                if mode == "reference":
                    checks.append(CheckSpec(model, self.check_year, key, ref, ref, None))
                else:  # the swept check reads the reference run's inputs too
                    far = max(surs, key=lambda s: _distance(model, s, ref))
                    spec = self.run_spec(model, self.check_year, far)
                    runs.setdefault(spec.key, spec)
                    checks.append(CheckSpec(model, self.check_year, key, ref, far, spec.key))
        return Plan(list(scenarios), runs, assign, checks)

    def missing_runs(self, plan: "Plan") -> list[RunSpec]:
        """Runs the plan needs that neither the cache nor the pipeline's workspaces hold
        (an estimate: a pipeline workspace is adopted only if it matches at run time)."""
        out = []
        for s in plan.runs.values():
            if (self.workspace(s) / "gep_run.json").exists():
                continue
            if not s.tables and (self.paths.workspace(s.year, s.model) / "gep_run.json").exists():
                continue
            out.append(s)
        return out

    def evaluate(self, scenarios: Sequence[Scenario], plan: "Plan | None" = None) -> Evaluation:
        t0 = time.perf_counter()
        plan = plan or self.plan(scenarios)
        pool = Pool(self.jobs)
        try:
            # The runs the results are built from come first; the checks' own InVEST runs then
            # go on in the background while zonal tables, surrogate passes and valuation are
            # computed. Nothing is returned (or written by the callers) before every check
            # has passed: a failed check raises here and the table is discarded.
            used = {k for a in plan.assign for k, _ in a.values()}
            self.execute_runs([s for k, s in plan.runs.items() if k in used], pool)
            finish_checks = self.start_runs([s for k, s in plan.runs.items() if k not in used],
                                            pool)
            finish_zonal = self._zonal(plan, pool)
            sur_frames = self._surrogates(plan, pool)
            table = self._downstream(plan, finish_zonal(), sur_frames, pool)
            finish_checks()
            checks = self._run_checks(plan, pool)
        finally:
            pool.close()
        stats = dict(self.stats, seconds=time.perf_counter() - t0, jobs=self.jobs,
                     scenarios=len(plan.scenarios), payouts_skipped=self.payouts_skipped)
        return Evaluation(table, checks, stats)

    def _run_checks(self, plan: "Plan", pool: Pool) -> list[dict]:
        if not plan.checks:
            return []
        from gep.tuning import surrogate as s

        tasks = []
        for c in plan.checks:
            ref_ws = self.workspace(plan.runs[c.ref_key])
            check_ws = ref_ws if c.check_key is None else self.workspace(plan.runs[c.check_key])
            table = plan.runs[c.ref_key].params.get("biophysical_table") if c.model == AWY \
                else None
            tasks.append((c.model, c.year, str(ref_ws), table, str(check_ws), c.settings,
                          c.reference, self.tuning.surrogate.tolerance))
        results = pool.map(_check_task, tasks)
        for r in results:
            self.log(f"surrogate check {r['model']} {r['year']} {r['params']}: max relative "
                     f"difference {r['max_rel_diff']:.2e} over {r['n_pixels']} pixels")
            if not r["ok"]:
                s.require(s.Check(**{k: v for k, v in r.items() if k != "ok"}))
        return results

    def _zonal(self, plan: "Plan", pool: Pool) -> Callable[[], dict[tuple, Path]]:
        p = self.paths
        parties = {"tif": file_digest(p.party_file("parties.tif")),
                   "csv": file_digest(p.party_file("parties.csv"))}
        code = _module_digest("gep.zonal")
        need: dict[tuple, tuple[int, dict[str, str], Path]] = {}
        for a in plan.assign:
            for year in self.cfg.years:
                keys = tuple(sorted((m, a[(m, year)][0]) for m in self.cfg.models.enabled()))
                if (year, keys) in need:
                    continue
                zkey = digest({"year": year, "runs": keys, "parties": parties,
                               "code": code})[:20]
                out = self.cache / "zonal" / str(year) / f"{zkey}.csv"
                ws = {m: str(self.workspace(plan.runs[k])) for m, k in keys}
                need[(year, keys)] = (year, ws, out)
        todo = [(y, str(p.year_dir(y)), str(p.party_file("parties.tif")),
                 str(p.party_file("parties.csv")), ws, str(out))
                for y, ws, out in need.values() if not out.exists()]
        wait = pool.submit(_zonal_task, todo)
        self.stats["zonal_tables"] += len(todo)
        paths = {k: v[2] for k, v in need.items()}

        def finish() -> dict[tuple, Path]:
            wait()
            return paths
        return finish

    def _surrogates(self, plan: "Plan", pool: Pool) -> dict[tuple, pd.DataFrame]:
        """(model, year, ref key, settings digest) -> the surrogate's zonal rows."""
        groups: dict[tuple[str, int, str], dict[str, dict]] = {}
        for a in plan.assign:
            for (model, year), (key, sur) in a.items():
                if sur is not None:
                    groups.setdefault((model, year, key), {})[digest(sur)] = sur
        tasks, index = [], []
        p = self.paths
        for (model, year, key), surs in groups.items():
            spec = plan.runs[key]
            table = spec.params.get("biophysical_table") if model == AWY else None
            tasks.append([model, year, str(self.workspace(spec)), table, str(p.year_dir(year)),
                          str(p.party_file("parties.tif")), str(p.party_file("parties.csv")),
                          list(surs.values()), spec.settings,
                          self.tuning.surrogate.memory_mb, 1])
            index.append([(model, year, key, d) for d in surs])
        threads = max(1, self.jobs // max(1, len(tasks)))   # spare cores go to threads
        tasks = [tuple(t[:-1] + [threads]) for t in tasks]
        results = pool.map(_surrogate_task, tasks)
        out = {}
        for keys, frames in zip(index, results):
            out.update(dict(zip(keys, frames)))
            self.stats["surrogate_sets"] += len(frames)
        return out

    def _inputs_file(self, kind: str, data: dict | None, key: str | None,
                     original: Path | None) -> str | None:
        """The base file when unchanged, else a content-addressed copy in the cache."""
        import yaml

        from gep.io import write_text

        if data is None:
            return None
        base = getattr(self.space, f"{kind}_raw")
        if data == base:
            return str(original)
        path = self.cache / "inputs" / f"{kind}-{key[:20]}.yaml"
        if not path.exists():
            write_text(path, yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
        return str(path)

    def _reference_rows(self, plan: "Plan", pool: Pool) -> dict:
        """Zonal rows under the reference climate for every (year, water-yield settings) the
        scenarios use: the surrogate evaluates water yield, so no InVEST model runs (SDR and
        NDR reference values come from the pipeline's reference runs)."""
        from gep.attribution.climate import reference_climate, same_raster
        from gep.invest import model_params
        from gep.paths import CLIMATE_FILES

        p, cfg = self.paths, self.cfg
        if not all(p.reference_file(n).exists() for n in CLIMATE_FILES):
            self.log("computing the reference climate")
            reference_climate(cfg, p)
        clim = {n: file_digest(p.reference_file(n)) for n in CLIMATE_FILES}
        models = cfg.models.enabled()
        table = model_params(cfg, AWY)["biophysical_table"] if AWY in models else None
        parties = {"tif": file_digest(p.party_file("parties.tif")),
                   "csv": file_digest(p.party_file("parties.csv"))}
        code = [_module_digest("gep.zonal"), _module_digest("gep.tuning.surrogate")]
        assign, todo = {}, {}
        for sc, a in zip(plan.scenarios, plan.assign):
            for year in cfg.years:
                awy = dict(sc.settings[AWY]) if AWY in models else None
                ws = {}
                for m in ("sdr", "ndr"):
                    if m not in models:
                        continue
                    ref_ws = p.reference_workspace(year, m)
                    names = {"sdr": ("erosivity",), "ndr": ("precipitation",)}[m]
                    if all(same_raster(p.year_file(year, n), p.reference_file(n))
                           for n in names):
                        ws[m] = str(self.workspace(plan.runs[a[(m, year)][0]]))
                    elif ref_ws.exists():
                        ws[m] = str(ref_ws)
                    else:
                        raise TuningError(f"{ref_ws}: no reference-climate {m} run for {year}."
                                          " Fix: run the pipeline first (gep run), which "
                                          "makes it")
                key = digest({"year": year, "awy": awy, "ws": ws, "climate": clim,
                              "parties": parties, "inputs": self.input_digests(year),
                              "code": code, "table": file_digest(table) if table else None}
                             )[:20]
                assign[(id(sc), year)] = key
                out = self.cache / "zonal_reference" / str(year) / f"{key}.csv"
                if key not in todo:
                    todo[key] = (year, str(p.year_dir(year)), str(p.party_file("parties.tif")),
                                 str(p.party_file("parties.csv")), awy, table, ws,
                                 str(p.reference_climate), str(out))
        missing = [t for t in todo.values() if not Path(t[-1]).exists()]
        if missing:
            self.log(f"reference-climate zonal sums: {len(missing)} (surrogate)")
        pool.map(_reference_task, missing)
        frames = {k: pd.read_csv(t[-1]) for k, t in todo.items()}
        return {"assign": assign, "frames": frames}

    def _downstream(self, plan: "Plan", zonal_paths: dict, sur_frames: dict,
                    pool: Pool) -> pd.DataFrame:
        models = self.cfg.models.enabled()
        ref_cache: dict[Path, pd.DataFrame] = {}
        combined: dict[str, pd.DataFrame] = {}
        tasks: dict[str, tuple] = {}
        which: list[str] = []
        runoff = str(self.cfg.path(self.cfg.valuation.runoff_coefficients))
        refs = self._reference_rows(plan, pool) if self.quality is not None else None
        for sc, a in zip(plan.scenarios, plan.assign):
            zids = []
            rids = []
            for year in self.cfg.years:
                keys = tuple(sorted((m, a[(m, year)][0]) for m in models))
                zpath = zonal_paths[(year, keys)]
                subs = tuple(sorted((m, digest(a[(m, year)][1])) for m in models
                                    if a[(m, year)][1] is not None))
                zid = f"{zpath.stem}:{subs}"
                if zid not in combined:
                    if zpath not in ref_cache:
                        ref_cache[zpath] = pd.read_csv(zpath)
                    z = ref_cache[zpath]
                    for m, d in subs:
                        z = _replace_variable(z, sur_frames[(m, year, a[(m, year)][0], d)],
                                              SURROGATE_VARIABLES[m])
                    combined[zid] = z
                zids.append(zid)
                if refs is not None:
                    rkey = refs["assign"][(id(sc), year)]
                    rid = f"ref:{zid}:{rkey}"
                    if rid not in combined:
                        z = combined[zid]
                        rows = refs["frames"][rkey]
                        for v in CLIMATE_VARIABLES:
                            if (z["variable"] == v).any():
                                z = _replace_variable(z, rows[rows["variable"] == v], v)
                        combined[rid] = z
                    rids.append(rid)
            prices = self._inputs_file("prices", sc.prices, sc.prices_key,
                                       self.space.prices_path)
            agreement = None if self.quality is None else self._inputs_file(
                "agreement", sc.agreement, sc.agreement_key, self.space.agreement_path)
            tkey = digest([prices, agreement, zids, rids])
            if tkey not in tasks:
                tasks[tkey] = ([combined[z] for z in zids], prices, runoff, agreement,
                               self.quality, self.performance, self.incidents,
                               [combined[z] for z in rids] if refs is not None else None)
            which.append(tkey)
        keys = list(tasks)
        self.log(f"valuing and settling {len(keys)} distinct combination(s)")
        chunk = max(1, len(keys) // (4 * pool.jobs))
        results = dict(zip(keys, pool.map(_downstream_task, [tasks[k] for k in keys],
                                          chunksize=chunk)))
        self.stats["downstream"] += len(keys)
        frames = []
        for i, k in enumerate(which):
            gep, pay = results[k]
            df = pd.DataFrame(gep + pay, columns=list(TABLE_COLUMNS))
            df.insert(0, "scenario", i)
            frames.append(df)
        return pd.concat(frames, ignore_index=True)


@dataclass
class CheckSpec:
    model: str
    year: int
    ref_key: str
    reference: dict
    settings: dict
    check_key: str | None      # None: compare with the reference run itself


@dataclass
class Plan:
    scenarios: list[Scenario]
    runs: dict[str, RunSpec]
    assign: list[dict]
    checks: list[CheckSpec]


def _distance(model: str, s: dict, ref: dict) -> float:
    return sum(abs(s[k] - ref[k]) / max(abs(ref[k]), 1e-9) for k in s
               if is_surrogate_key(model, k))


def _replace_variable(z: pd.DataFrame, rows: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Zonal table ``z`` with ``variable``'s quantity and nodata counts taken from ``rows``
    (matched on party and land cover)."""
    mask = (z["variable"] == variable).to_numpy()
    keys = pd.MultiIndex.from_frame(z.loc[mask, ["party_id", "lucode"]])
    r = rows.set_index(["party_id", "lucode"]).reindex(keys)
    if r["quantity"].isna().any() or len(rows) != int(mask.sum()):
        raise TuningError(f"surrogate rows for {variable} do not match the zonal bins")
    out = z.copy()
    out.loc[mask, "quantity"] = r["quantity"].to_numpy()
    out.loc[mask, "nodata_pixels"] = r["nodata_pixels"].to_numpy()
    return out


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def scenario_values(plan_or_scenarios, labels: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per scenario with a column per parameter (``labels`` renames canonical names)."""
    scs = plan_or_scenarios.scenarios if isinstance(plan_or_scenarios, Plan) \
        else plan_or_scenarios
    labels = labels or {}
    rows = [{labels.get(k, k): v for k, v in sc.values} for sc in scs]
    df = pd.DataFrame(rows)
    df.index.name = "scenario"
    return df
