"""Tiny demo basins for the tuning tests: 64 x 64 pixels, built once per session and copied."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY = {"demo": {"rows": 64, "cols": 64}, "years": [2020, 2021]}


@pytest.fixture(scope="session")
def tiny_config_copy(config_copy):
    """``tiny_config_copy(root, **overrides)`` -> a tiny-basin config under ``root`` (nothing
    acquired)."""
    return lambda root, **over: config_copy(Path(root), **(TINY | over))


@pytest.fixture(scope="session")
def tiny_inputs(tmp_path_factory, config_copy) -> Path:
    """A tiny basin with its inputs acquired (no model run): the config path."""
    from gep import acquire
    from gep.config import load_config

    root = tmp_path_factory.mktemp("tiny_inputs")
    path = config_copy(root, **TINY)
    cfg = load_config(path)
    acquire.acquire_parties(cfg)
    acquire.acquire_static(cfg)
    for y in cfg.years:
        acquire.acquire_year(cfg, y)
    return path


@pytest.fixture
def fresh_basin(tiny_inputs, tmp_path, config_copy):
    """``fresh_basin()`` -> config path of a new copy of the tiny basin: inputs only, no model
    run, no tuning cache (copying the inputs is much faster than acquiring them)."""
    def make(**overrides) -> Path:
        root = tmp_path / f"basin{len(list(tmp_path.glob('basin*')))}"
        path = config_copy(root, **(TINY | overrides))
        shutil.copytree(tiny_inputs.parents[1] / "results" / "demo" / "inputs",
                        root / "results" / "demo" / "inputs")
        return path
    return make
