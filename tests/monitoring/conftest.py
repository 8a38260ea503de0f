"""Fixtures: the shipped configuration adapted to tiny test networks."""
from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import CONFIG, STATIONS


@pytest.fixture
def config_path() -> Path:
    return CONFIG


@pytest.fixture
def small_config(tmp_path) -> Path:
    """The shipped configuration with ecological minimum flows for the test sections."""
    import yaml

    data = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    data["flow"]["ecological_min_m3s"] = {"boundary": 30.0, "up_a_outlet": 5.0}
    data["target_class"]["sections"] = {"boundary": "II"}
    data["responsibility"]["parties"] = {"up_a": {}}
    path = tmp_path / "monitoring.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def stations_csv(tmp_path) -> Path:
    path = tmp_path / "stations.csv"
    STATIONS.to_csv(path, index=False)
    return path


