"""Shared fixtures: tiny synthetic basins and configs, built inside the tests."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

os.environ.setdefault("MPLBACKEND", "Agg")
# the workflow's rules call `gep` from the PATH: this interpreter's environment first
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def make_config(tmp: Path, **overrides) -> Path:
    """A copy of config/ in ``tmp`` with the demo config changed by ``overrides`` (deep)."""
    from gep.config import deep_merge

    cdir = tmp / "config"
    shutil.copytree(REPO / "config", cdir, dirs_exist_ok=True)
    data = yaml.safe_load((cdir / "config.yaml").read_text())
    data = deep_merge(data, {"results_dir": str(tmp / "results")} | overrides)
    (cdir / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return cdir / "config.yaml"


@pytest.fixture(scope="session")
def config_copy():
    """``config_copy(root, **overrides)`` -> a copy of config/ under ``root`` (results in
    ``root/results``); for session-scoped fixtures that choose their own folder."""
    return make_config


@pytest.fixture
def config_factory(tmp_path):
    """``config_factory(**overrides)`` -> path of a config copy with those overrides."""
    return lambda **overrides: make_config(tmp_path, **overrides)


@pytest.fixture
def tiny_config(tmp_path) -> Path:
    return make_config(tmp_path, demo={"rows": 64, "cols": 64}, years=[2020, 2021])
