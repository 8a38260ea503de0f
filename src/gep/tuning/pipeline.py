"""The basin's own workflow as the one judge of what is stale.

A study needs the basin's inputs (``results/<basin>/inputs/``), the pipeline's InVEST
workspaces at the config's own parameters (``results/<basin>/invest/<year>/<model>/``), the
reference climate and, for SDR/NDR, the reference-climate runs. All of them are outputs of the
pipeline's rules, so the study asks the pipeline's Snakefile for them as targets (``gep run
--config C -- TARGET ...``, the local executor unless the study was given ``--executor`` or
``--profile``). Snakemake then applies its one rule (missing output, input newer, rule
parameters or code changed) and re-runs what is stale, exactly as ``gep run`` would; the
study only reads the results. Nothing here compares modification times or arguments itself.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gep.config import Config
from gep.paths import Paths
from gep.tuning.errors import TuningError


def is_pipeline_run(cfg: Config, model: str, params: dict[str, Any],
                    tables: dict[str, str]) -> bool:
    """True when a run has exactly the arguments of the pipeline's own InVEST rule
    (``n_workers`` aside: it changes speed, not results)."""
    from gep.invest import model_params

    if tables:
        return False
    own = {k: v for k, v in model_params(cfg, model).items() if k != "n_workers"}
    return own == {k: v for k, v in params.items() if k != "n_workers"}


def input_targets(cfg: Config, paths) -> list[Path]:
    """Every input file of the config's years (the acquire rules' outputs)."""
    from gep.paths import PARTY_FILES, STATIC_FILES, YEAR_FILES

    out = [paths.party_file(f) for f in PARTY_FILES]
    out += [paths.static_file(f) for f in STATIC_FILES]
    out += [paths.year_file(y, f) for y in cfg.years for f in YEAR_FILES]
    return out


def _stamp(target: Path) -> tuple[int, int] | None:
    """What changes when a rule (re)makes ``target``: a workspace's run record, or the file."""
    p = target / Paths.RUN_RECORD if target.is_dir() else target
    try:
        st = p.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


class Pipeline:
    """The pipeline's workflow for one basin, run on targets through ``gep run``.

    ``ensured``: targets brought up to date by this study; ``made``: those of them Snakemake
    had to (re)make."""

    def __init__(self, cfg: Config, config_file: str | None, state: Path, jobs: int,
                 executor: str | None = None, profile: str | None = None,
                 log: Callable[[str], None] | None = None):
        self.cfg, self.config_file, self.state = cfg, config_file, Path(state)
        self.jobs, self.executor, self.profile = jobs, executor, profile
        self.log = log or (lambda msg: None)
        self.ensured: set[Path] = set()
        self.made: set[Path] = set()

    def ensure(self, targets: Sequence[Path]) -> set[Path]:
        """Bring ``targets`` up to date; return those Snakemake (re)made."""
        todo = [Path(t) for t in dict.fromkeys(targets) if Path(t) not in self.ensured]
        if not todo:
            return set()
        before = {t: _stamp(t) for t in todo}
        if self.busy() and all(_stamp(t) is not None for t in todo):
            # A study run by a rule of the pipeline (e.g. `calibrate`): the running workflow
            # holds the basin and answers for its outputs; asking it again would deadlock.
            self.log("the pipeline's workflow is running on this basin: its outputs are "
                     "used as they are")
            self.ensured.update(todo)
            return set()
        self._run(todo)
        made = {t for t in todo if _stamp(t) != before[t]}
        self.ensured.update(todo)
        self.made.update(made)
        if made:
            self.log(f"the pipeline's workflow made {len(made)} of {len(todo)} target(s)")
        return made

    def busy(self) -> bool:
        """Whether a workflow holds the basin: ``gep run``'s lock, or Snakemake's own."""
        import fcntl

        locks = self.cfg.out / ".snakemake" / "locks"
        if locks.is_dir() and any(locks.iterdir()):
            return True
        path = self.cfg.out / ".gep-run.lock"
        if not path.exists():
            return False
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh, fcntl.LOCK_UN)
        return False

    def _config(self) -> str:
        """The config file ``gep run`` reads: the study's own, or (a study of a ``Config``
        object) its resolved content in a hidden file of the config's folder, since relative
        paths in a config are relative to the file's folder."""
        if self.config_file is not None:
            return str(Path(self.config_file).resolve())
        import yaml

        from gep.config import dump_resolved
        from gep.io import write_text

        data = dump_resolved(self.cfg)
        folder = Path(data.pop("config_dir"))
        path = folder / f".gep-tuning-{self.cfg.basin}.yaml"
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_text(path, text)
        return str(path)

    def command(self, targets: Sequence[Path]) -> list[str]:
        """``gep run`` on ``targets`` (relative to the basin's results folder, Snakemake's
        working directory)."""
        rel = [os.path.relpath(t, self.cfg.out) for t in targets]
        cmd = [sys.executable, "-m", "gep", "run", "--config", self._config(),
               "--cores", str(self.jobs), "--"]
        if self.profile is not None:
            cmd += ["--profile", str(self.profile)]
        if self.executor is not None:
            cmd += ["--executor", self.executor]
        return cmd + rel

    def _run(self, targets: Sequence[Path]) -> None:
        cmd = self.command(targets)
        logs = self.state / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / "pipeline.log"
        self.log(f"asking the pipeline's workflow for {len(targets)} target(s)")
        # `gep run` calls the rules' `gep` from the PATH: this interpreter's first
        env = dict(os.environ, PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        with open(log, "w", encoding="utf-8", errors="replace") as fh:
            rc = subprocess.call(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        if rc != 0:
            lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            tail = "\n".join(lines[-25:])
            raise TuningError(f"the pipeline's workflow failed (exit {rc}) making "
                              f"{', '.join(os.path.relpath(t, self.cfg.out) for t in targets)}"
                              f"; log {log}:\n{tail}")
