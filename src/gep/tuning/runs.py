"""InVEST run specs, their content-addressed keys and their execution.

A run is identified by its key: ``sha256(model, year, parameters with the *contents* of their
tables, SHA-256 of every input of the year, InVEST version, gep's runner code)``. The key is
an identity, not a staleness test: two runs with one key give the same workspace, so a cached
workspace is reused whenever its key is asked for again. Each run lives in
``results/<basin>/tuning/cache/invest/<year>/<model>/<key>/``.

The pipeline's own runs (exactly the config's parameters) are not run here: they are targets
of the basin's workflow (:mod:`gep.tuning.pipeline`), so Snakemake decides whether they are up
to date, and their workspaces are hard-linked into the cache under their key.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gep.paths import Paths, TuningCacheFiles
from gep.tuning.digests import file_digest, invest_version, module_digest, text_digest
from gep.tuning.params import digest
from gep.tuning.pool import Pool


@dataclass
class RunSpec:
    model: str
    year: int
    settings: dict[str, float]
    params: dict[str, Any]
    tables: dict[str, str]          # param -> rewritten table content (CSV text)
    key: str
    pipeline: bool = False          # the pipeline's own run (a target of its workflow)


def input_digests(year_dir: Path, basin: Path, subwatersheds: Path) -> dict[str, str]:
    """SHA-256 of every input a model of one year may read (part of each run's key)."""
    files = sorted(f for f in Path(year_dir).glob("*.tif") if not f.name.startswith("."))
    return {f.name: file_digest(f) for f in files + [Path(basin), Path(subwatersheds)]}


def run_key(model: str, year: int, params: dict[str, Any], tables: dict[str, str],
            inputs: dict[str, str]) -> str:
    """A run's key: its parameters with every table replaced by the digest of its content
    (``n_workers`` is left out: it changes speed, not results)."""
    key_params = {}
    for k, v in params.items():
        if k == "n_workers":
            continue
        if k.endswith("_table"):
            v = text_digest(tables[k]) if k in tables else file_digest(v)
        key_params[k] = v
    return digest({"model": model, "year": year, "params": key_params, "inputs": inputs,
                   "invest": invest_version(), "runner": module_digest("gep.invest")})[:20]


def invest_task(model: str, year: int, inputs_dir: str, params: dict, workspace: str) -> float:
    """One InVEST run in a pool worker; returns its seconds."""
    from gep.invest import run_model

    t0 = time.perf_counter()
    # no InVEST HTML report for the tuning cache's many runs (seconds each, read by nobody)
    run_model(model, Path(inputs_dir), params, Path(workspace), year, report=False)
    return time.perf_counter() - t0


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def link_workspace(src: Path, dst: Path, note: dict) -> None:
    """Hard-link workspace ``src`` into the cache as ``dst`` (atomically; ``note`` goes to
    ``gep_tuning.json``). The pipeline replaces a workspace it re-runs, so the links keep
    the old files."""
    from gep.io import atomic_dir

    with atomic_dir(dst) as tmp:
        shutil.copytree(src, tmp, copy_function=_link_or_copy, dirs_exist_ok=True)
        (tmp / TuningCacheFiles.link_note).write_text(json.dumps(note, indent=2))


class RunCache:
    """The InVEST runs of one study: specs, workspaces, and running the missing ones (in the
    pool, on a Snakemake executor, or as targets of the pipeline's workflow)."""

    def __init__(self, study):
        self.study = study
        self.root = study.cache / "invest"
        self._inputs: dict[int, dict[str, str]] = {}

    def input_digests(self, year: int) -> dict[str, str]:
        if year not in self._inputs:
            p = self.study.paths
            self._inputs[year] = input_digests(p.year_dir(year), p.basin_gpkg,
                                               p.subwatersheds_gpkg)
        return self._inputs[year]

    def spec(self, model: str, year: int, settings: dict[str, float]) -> RunSpec:
        from gep.tuning.pipeline import is_pipeline_run

        s = self.study
        params, tables = s.space.invest_params(model, settings)
        key = run_key(model, year, params, tables, self.input_digests(year))
        return RunSpec(model, year, dict(settings), params, tables, key,
                       is_pipeline_run(s.cfg, model, params, tables))

    def workspace(self, spec: RunSpec) -> Path:
        return self.root / str(spec.year) / spec.model / spec.key

    def cached(self, spec: RunSpec) -> bool:
        return (self.workspace(spec) / Paths.RUN_RECORD).exists()

    def materialise(self, spec: RunSpec) -> dict[str, Any]:
        """InVEST params with rewritten tables written to the cache (content-addressed)."""
        from gep.io import write_text

        params = dict(spec.params)
        for k, text in spec.tables.items():
            path = self.study.cache / "tables" / f"{text_digest(text)[:20]}.csv"
            if not path.exists():
                write_text(path, text)
            params[k] = str(path)
        return params

    def missing(self, specs: Sequence[RunSpec]) -> list[RunSpec]:
        """Runs InVEST would have to make here: neither cached nor the pipeline's own."""
        return [s for s in specs if not self.cached(s) and not s.pipeline]

    def from_pipeline(self, specs: Sequence[RunSpec]) -> None:
        """Bring the pipeline's runs up to date (Snakemake decides) and link them in."""
        s = self.study
        targets = {sp.key: s.paths.workspace(sp.year, sp.model) for sp in specs}
        s.pipeline.ensure(list(targets.values()))
        for sp in specs:
            main = targets[sp.key]
            rec = main / Paths.RUN_RECORD
            if not rec.is_file():
                from gep.tuning.errors import TuningError

                raise TuningError(f"{main}: the pipeline's workflow made no gep_run.json")
            link_workspace(main, self.workspace(sp), {"adopted_from": str(main),
                                                      "key": sp.key, "settings": sp.settings})
            if main in s.pipeline.made:
                s.stats["invest_runs"] += 1
                s.stats["invest_seconds"] += float(
                    json.loads(rec.read_text()).get("execute_seconds", 0.0))
            else:
                s.stats["adopted_runs"] += 1
                s.log(f"reused the pipeline's {sp.model} {sp.year} workspace")

    def start(self, specs: Sequence[RunSpec], pool: Pool,
              spare_cores: bool = False) -> Callable[[], list[RunSpec]]:
        """Start the runs missing from the cache in the background; the returned function
        waits for them. ``spare_cores``: fewer runs than cores lets InVEST's taskgraph use
        the rest (same results)."""
        s = self.study
        unique = list({sp.key: sp for sp in specs}.values())
        s.stats["cached_runs"] += sum(self.cached(sp) for sp in unique)
        self.from_pipeline([sp for sp in unique if not self.cached(sp) and sp.pipeline])
        todo = [sp for sp in unique if not self.cached(sp)]
        tasks = [(sp.model, sp.year, str(s.paths.year_dir(sp.year)), self.materialise(sp),
                  str(self.workspace(sp))) for sp in todo]
        if s.runner is not None:
            from gep.resources import basin_pixels

            s.runner.pixels = basin_pixels(s.cfg, s.paths.parties_tif)
            wait = s.runner.submit(tasks)
        else:
            if todo:
                s.log(f"running InVEST {len(todo)} time(s) on {min(s.jobs, len(todo))} "
                      "process(es)")
            if spare_cores and 0 < len(todo) < s.jobs:
                for t in tasks:
                    if t[3].get("n_workers", -1) == -1:
                        t[3]["n_workers"] = s.jobs // len(todo)
            wait = pool.submit(invest_task, tasks)

        def finish() -> list[RunSpec]:
            secs = wait()
            s.stats["invest_runs"] += len(todo)
            s.stats["invest_seconds"] += float(sum(secs))
            return todo
        return finish
