"""InVEST runs of a study as jobs of a small Snakemake workflow (``gep/tuning/runs.smk``) on
any Snakemake executor (``--executor slurm``, ``--profile profiles/slurm``), and the job's
own entry point (``gep tuning-run TASK.json``)."""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from gep.paths import Paths, TuningCacheFiles
from gep.tuning.errors import TuningError


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
        """Start the runs (tuples as for :func:`gep.tuning.runs.invest_task`) in the
        background; the returned function waits and gives each run's InVEST seconds."""
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
            task = jobs_dir / TuningCacheFiles.task_name(year, model, ws.name)
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
                rec = Path(workspace) / Paths.RUN_RECORD
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

