"""Tiny demo basins for the tuning tests: 64 x 64 pixels, built once per session and copied."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def write_config(root: Path, **overrides) -> Path:
    """A copy of config/ under ``root`` whose results go to ``root/results``."""
    from gep.config import deep_merge

    cdir = root / "config"
    shutil.copytree(REPO / "config", cdir, dirs_exist_ok=True)
    data = yaml.safe_load((cdir / "config.yaml").read_text())
    data = deep_merge(data, {"results_dir": str(root / "results")} | overrides)
    (cdir / "config.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return cdir / "config.yaml"


TINY = {"demo": {"rows": 64, "cols": 64}, "years": [2020, 2021]}


@pytest.fixture(scope="session")
def tiny_config_copy():
    """``tiny_config_copy(root, **overrides)`` -> a tiny-basin config under ``root`` (nothing
    acquired)."""
    return lambda root, **over: write_config(Path(root), **(TINY | over))


@pytest.fixture(scope="session")
def tiny_inputs(tmp_path_factory) -> Path:
    """A tiny basin with its inputs acquired (no model run): the config path."""
    from gep import acquire
    from gep.config import load_config

    root = tmp_path_factory.mktemp("tiny_inputs")
    path = write_config(root, **TINY)
    cfg = load_config(path)
    acquire.acquire_parties(cfg)
    acquire.acquire_static(cfg)
    for y in cfg.years:
        acquire.acquire_year(cfg, y)
    return path


@pytest.fixture
def fresh_basin(tiny_inputs, tmp_path):
    """``fresh_basin()`` -> config path of a new copy of the tiny basin: inputs only, no model
    run, no tuning cache (copying the inputs is much faster than acquiring them)."""
    def make(**overrides) -> Path:
        root = tmp_path / f"basin{len(list(tmp_path.glob('basin*')))}"
        path = write_config(root, **(TINY | overrides))
        shutil.copytree(tiny_inputs.parents[1] / "results" / "demo" / "inputs",
                        root / "results" / "demo" / "inputs")
        return path
    return make
