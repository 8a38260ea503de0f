"""InVEST runs as the Workbench runs it: log, file registry, metadata, report, parameter set."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from natcap.invest import datastack

from gep.config import load_config
from gep.invest import MODULES, parameter_set_name


def _workspaces(field_run):
    cfg_path, out = field_run
    cfg = load_config(cfg_path)
    return [(y, m, out / "invest" / str(y) / m) for y in cfg.years for m in cfg.models.enabled()]


def test_every_workspace_reopens_with_the_same_args(field_run):
    """The parameter set reads back (through InVEST's own datastack) to exactly the args the
    model ran with, paths resolved to the final workspace, and InVEST validates it."""
    import importlib

    seen = set()
    for _, model, ws in _workspaces(field_run):
        ps = ws / parameter_set_name(model)
        assert ps.is_file(), ps
        raw = json.loads(ps.read_text())
        # relative paths: the results folder can move (or be mailed) and still open
        assert not [v for v in raw["args"].values() if isinstance(v, str) and v.startswith("/")]
        got = datastack.extract_parameter_set(str(ps))
        run = json.loads((ws / "gep_run.json").read_text())
        expected = dict(run["args"], workspace_dir=str(ws))
        assert got.model_id == importlib.import_module(MODULES[model]).MODEL_SPEC.model_id
        assert got.args == expected
        module = importlib.import_module(MODULES[model])
        assert module.validate(got.args) == []
        seen.add(model)
    assert {"annual_water_yield", "habitat_quality", "carbon"} <= seen


def test_every_workspace_has_invest_log_registry_and_metadata(field_run):
    for _year, _model, ws in _workspaces(field_run):
        logs = list(ws.glob("InVEST-*-log-*.txt"))
        assert len(logs) == 1, (ws, logs)
        text = logs[0].read_text(encoding="utf-8")
        assert "Starting model with parameters" in text
        assert "Execution finished; version: 3.20.2" in text
        registry = json.loads((ws / "file_registry.json").read_text())

        def paths(v):
            if isinstance(v, dict):
                for x in v.values():
                    yield from paths(x)
            else:
                yield v

        files = list(paths(registry))
        assert files
        # recorded under the workspace's final name (it was built under a temporary one)
        for f in files:
            assert Path(f).is_relative_to(ws), f
            assert Path(f).exists(), f
        assert list(ws.rglob("*.tif.yml")), "no InVEST metadata beside the rasters"


@pytest.mark.parametrize("model", ["annual_water_yield", "carbon"])
def test_invest_report_where_the_model_has_one(field_run, model):
    _, out = field_run
    html = out / "invest" / "2021" / model / f"{model}_report.html"
    assert html.is_file() and html.stat().st_size > 10_000
    text = html.read_text(encoding="utf-8")
    # it names where it was saved: the final workspace, not the temporary one it was built in
    assert f"saved to {html}" in text
    assert f"/.{model}." not in text


def test_threats_table_paths_are_relative_and_resolve(field_run):
    import pandas as pd

    _, out = field_run
    ws = out / "invest" / "2020" / "habitat_quality"
    t = pd.read_csv(ws / "gep_threats.csv")
    for p in t["cur_path"]:
        assert not Path(p).is_absolute()
        assert (ws / p).resolve() == (out / "inputs" / "2020" / Path(p).name).resolve()
