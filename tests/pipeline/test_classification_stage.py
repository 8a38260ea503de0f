"""Acquire with classification: the models read a land cover classified from imagery."""
from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from gep import acquire
from gep.config import load_config
from gep.errors import ConfigError


def test_demo_classification_feeds_the_models(config_factory):
    path = config_factory(demo={"rows": 96, "cols": 96}, years=[2021],
                          classification={"enabled": True, "demo_imagery": True})
    cfg = load_config(path)
    acquire.acquire_parties(cfg)
    acquire.acquire_static(cfg)
    paths = acquire.acquire_year(cfg, 2021)
    work = cfg.out / "landcover" / "2021"
    with rasterio.open(paths["landcover"]) as a, \
            rasterio.open(work / "reference_landcover.tif") as t:
        pred, truth = a.read(1), t.read(1)
    inside = truth != 255
    assert np.array_equal(pred == 255, ~inside)  # the basin mask is kept
    agree = float(np.mean(pred[inside] == truth[inside]))
    assert agree > 0.85  # docs/landcover.md states >= 0.85 overall accuracy
    metrics = json.loads((work / "metrics.json").read_text())
    assert metrics["overall_accuracy"] > 0.85
    # the threat layers were derived from the classified map, not the reference
    with rasterio.open(paths["threat_built"]) as tb:
        assert np.array_equal(tb.read(1) == 1, pred == 50)


def test_classification_needs_training_and_imagery(config_factory):
    with pytest.raises(ConfigError, match="classification.training"):
        load_config(config_factory(classification={"enabled": True}))
    with pytest.raises(ConfigError, match="classification.imagery: no image for 2020"):
        load_config(config_factory(classification={"enabled": True, "training": "t.gpkg"}))
