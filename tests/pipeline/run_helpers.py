"""Helpers for tests that drive ``gep run`` end to end (kept out of conftest.py so the tests
import them explicitly)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def basin_folder(folder: Path, file_name: str = "config.yaml", *, rows: int = 64,
                 minimal: bool = False, keys: Path | None = None, **overrides) -> Path:
    """A copy of config/ as ``folder`` with the demo config saved as ``file_name``.

    Paths in it stay relative (results in ``folder/results``): the run must resolve them
    against the config file's own folder. ``minimal``: the smallest DAG that still runs InVEST
    and every published stage (annual water yield only, no sensor network; the stand-in water
    quality is cut to the configured years). ``keys``: the ``ledger.key_dir`` to use (the
    signing key and the portal's secret, from which the portal's public pseudonyms derive):
    runs that must publish the same ledger share it, as one installation would.
    """
    from gep.config import deep_merge

    shutil.copytree(REPO / "config", folder)
    default = folder / "config.yaml"
    data = yaml.safe_load(default.read_text(encoding="utf-8"))
    default.unlink()
    years = [2020, 2021]
    data = deep_merge(data, {"results_dir": "results", "years": years,
                             "demo": {"rows": rows, "cols": rows}})
    if minimal:
        data["models"]["habitat_quality"] = {"enabled": False}
        data["monitoring"] = {"enabled": False}
        q = folder / "demo" / "section_quality_standin.csv"
        lines = q.read_text(encoding="utf-8").splitlines(keepends=True)
        q.write_text("".join([lines[0]] + [ln for ln in lines[1:]
                                           if int(ln.split(",")[0]) in years]),
                     encoding="utf-8")
    if keys is not None:
        data["ledger"]["key_dir"] = str(keys)
    data = deep_merge(data, overrides)
    cfg = folder / file_name
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return cfg


def gep_run_cmd(cfg: Path) -> list[str]:
    return [sys.executable, "-m", "gep", "run", "--config", str(cfg), "--cores", "2"]


def gep_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


def gep_run(cfg: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(gep_run_cmd(cfg), cwd=cwd, env=gep_env(), capture_output=True,
                          text=True, timeout=1800)


#: published outputs compared between runs (relative to results/<basin>/)
PUBLISHED = ["gep/gep_by_party.csv", "gep/increments.csv", "compensation/transfers.csv",
             "compensation/statement.csv", "compensation/summary.json", "report/index.html"]


def published(out: Path) -> dict[str, bytes]:
    """The published files' bytes and the ledger's verified root."""
    from gep.ledger import api

    files = {f: (out / f).read_bytes() for f in PUBLISHED}
    report = api.verify(out / "ledger" / "ledger.db")
    assert report.ok, report.summary()
    files["ledger root"] = report.root
    files["ledger size"] = str(report.size).encode()
    return files
