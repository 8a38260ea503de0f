"""A tuning study: one basin config, its tuning settings, its parameter space, its run cache;
planning many parameter combinations and evaluating them.

The steps, one module each:

- :mod:`gep.tuning.plan`: which runs, surrogate sets and checks the scenarios need;
- :mod:`gep.tuning.pipeline`: the basin's inputs and the pipeline's own runs, from the
  pipeline's workflow (Snakemake decides what is stale);
- :mod:`gep.tuning.runs`: content-addressed InVEST runs, in the process pool
  (:mod:`gep.tuning.pool`) or on a Snakemake executor (:mod:`gep.tuning.executor`);
- :mod:`gep.tuning.zonal`, :mod:`gep.tuning.surrogate_steps`, :mod:`gep.tuning.reference`:
  zonal sums, surrogate passes and checks, reference-climate rows;
- :mod:`gep.tuning.downstream`: valuation and settlement in memory.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from gep.config import Config, load_config
from gep.errors import ConfigError
from gep.paths import Paths
from gep.tuning.executor import SnakemakeRunner
from gep.tuning.params import ParameterSpace, Scenario
from gep.tuning.pipeline import Pipeline
from gep.tuning.plan import Plan, make_plan
from gep.tuning.pool import Pool
from gep.tuning.runs import RunCache, RunSpec
from gep.tuning.settings import TuningConfig, load_tuning


@dataclass
class Evaluation:
    """Results of many combinations: one tidy table and what it took to make it."""

    table: pd.DataFrame            # scenario, year, party_id, service_or_clause, value, unit
    checks: list[dict] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


def compensation_files(cfg: Config, tuning: TuningConfig, paths: Paths, quality=None
                       ) -> tuple[str | None, str | None, str | None, str | None]:
    """(quality, performance, incidents, why payouts are skipped) for the settlement: the
    monitoring stage's files when present, else those of the tuning settings."""
    if cfg.compensation.agreement is None:
        return None, None, None, None
    mon = paths.monitoring
    q = Path(quality) if quality else (mon.section_quality
                                       if mon.section_quality.exists()
                                       else tuning.path(tuning.compensation.quality))
    if q is None or not Path(q).is_file():
        if quality or q is not None:
            raise ConfigError("compensation.quality", f"water-quality file {q} does not "
                              "exist", "run the monitoring stage, or set "
                              "compensation.quality in config/tuning.yaml (e.g. "
                              "demo/section_quality_standin.csv)",
                              file=None if quality else tuning.file)
        # no water-quality data at all: GEP only, payouts skipped (recorded in the stats)
        return None, None, None, "no section water-quality file: payouts not computed"
    perf = cfg.path(cfg.compensation.performance) or tuning.path(tuning.compensation.performance)
    if perf is None and mon.performance.exists():
        perf = mon.performance
    inc = cfg.path(cfg.compensation.incidents) or tuning.path(tuning.compensation.incidents)
    return str(q), str(perf) if perf else None, str(inc) if inc else None, None


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
        self.surrogate = surrogate
        self.log = log or (lambda msg: None)
        profile = None if profile is None else str(Path(profile).resolve())
        # InVEST runs on a Snakemake executor (None: this machine's process pool)
        self.runner: SnakemakeRunner | None = None
        if executor is not None or profile is not None:
            self.runner = SnakemakeRunner(self.cache, executor, profile, jobs or self.tuning.jobs,
                                          log=log)
        self.pipeline = Pipeline(self.cfg, self.config_file, self.cache, self.jobs,
                                 executor=executor, profile=profile, log=self.log)
        self.check_year = self.tuning.surrogate.check_year or self.cfg.years[0]
        if self.check_year not in self.cfg.years:
            raise ConfigError("surrogate.check_year", f"{self.check_year} is not a year of the "
                              "config", f"use one of {self.cfg.years}", file=self.tuning.file)
        self.quality, self.performance, self.incidents, self.payouts_skipped = \
            compensation_files(self.cfg, self.tuning, self.paths, quality)
        self.runs = RunCache(self)
        self.stats: dict[str, Any] = {"invest_runs": 0, "invest_seconds": 0.0,
                                      "cached_runs": 0, "adopted_runs": 0, "zonal_tables": 0,
                                      "surrogate_sets": 0, "downstream": 0}

    # -- inputs and runs (see gep.tuning.pipeline and gep.tuning.runs) --------------------------
    def ensure_inputs(self) -> None:
        """Bring the basin's inputs up to date through the pipeline's workflow."""
        from gep.tuning.pipeline import input_targets

        self.pipeline.ensure(input_targets(self.cfg, self.paths))

    def input_digests(self, year: int) -> dict[str, str]:
        """SHA-256 of every input a model of ``year`` may read (part of each run's key)."""
        return self.runs.input_digests(year)

    def run_spec(self, model: str, year: int, settings: dict[str, float]) -> RunSpec:
        return self.runs.spec(model, year, settings)

    def workspace(self, spec: RunSpec) -> Path:
        return self.runs.workspace(spec)

    def execute_runs(self, specs: Sequence[RunSpec], pool: Pool) -> list[RunSpec]:
        """Make sure every run exists in the cache; return those InVEST actually ran here."""
        return self.runs.start(specs, pool, spare_cores=True)()

    def start_runs(self, specs: Sequence[RunSpec], pool: Pool,
                   spare_cores: bool = False) -> Callable[[], list[RunSpec]]:
        return self.runs.start(specs, pool, spare_cores)

    def settling(self, agreement: dict):
        """The settlement's inputs for one agreement mapping (validated)."""
        from gep.compensation import validate_agreement
        from gep.tuning.downstream import Settling

        return Settling(validate_agreement(agreement, file=str(self.space.agreement_path)),
                        self.quality, self.performance, self.incidents)

    # -- the whole evaluation ------------------------------------------------------------------
    def plan(self, scenarios: Sequence[Scenario]) -> Plan:
        """Decide which runs, surrogate sets and checks the scenarios need (no model runs
        but the pipeline's own, which its workflow brings up to date with the inputs)."""
        return make_plan(self, scenarios)

    def missing_runs(self, plan: Plan) -> list[RunSpec]:
        """Runs the plan needs that neither the cache nor the pipeline holds."""
        return self.runs.missing(list(plan.runs.values()))

    def evaluate(self, scenarios: Sequence[Scenario], plan: Plan | None = None) -> Evaluation:
        from gep.tuning.downstream import downstream
        from gep.tuning.surrogate_steps import run_checks, surrogate_rows
        from gep.tuning.zonal import start_zonal

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
            finish_zonal = start_zonal(self, plan, pool)
            sur_frames = surrogate_rows(self, plan, pool)
            table = downstream(self, plan, finish_zonal(), sur_frames, pool)
            finish_checks()
            checks = run_checks(self, plan, pool)
        finally:
            pool.close()
        stats = dict(self.stats, seconds=time.perf_counter() - t0, jobs=self.jobs,
                     scenarios=len(plan.scenarios), payouts_skipped=self.payouts_skipped)
        return Evaluation(table, checks, stats)
