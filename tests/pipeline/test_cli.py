"""The `gep` command for the batch stages: exit codes and messages users see."""
from __future__ import annotations

import json

import pandas as pd

from gep.cli import main


def test_validate_config_ok(repo, capsys):
    assert main(["validate-config", "--config", str(repo / "config" / "config.yaml")]) == 0
    assert "OK (basin demo, source demo, years 2020-2024" in capsys.readouterr().out


def test_bad_config_exits_2_with_key_and_fix(config_factory, capsys):
    path = config_factory(models={"habitat_quality": {"half_saturation": 0.3}})
    assert main(["validate-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "models.habitat_quality.half_saturation" in err
    assert "Fix: remove it or check its spelling" in err
    assert str(path) in err


def test_missing_config_file(tmp_path, capsys):
    assert main(["validate-config", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_stage_commands_on_tiny_basin(tiny_config, capsys):
    """acquire -> invest -> zonal -> value -> report, one command at a time."""
    c = str(tiny_config)
    assert main(["acquire", "--config", c, "--parties"]) == 0
    assert main(["acquire", "--config", c, "--static"]) == 0
    for y in ("2020", "2021"):
        assert main(["acquire", "--config", c, "--year", y]) == 0
        for m in ("annual_water_yield", "habitat_quality"):
            assert main(["invest", "--config", c, "--model", m, "--year", y]) == 0
        assert main(["zonal", "--config", c, "--year", y]) == 0
    assert main(["value", "--config", c]) == 0
    assert main(["report", "--config", c]) == 0
    out = tiny_config.parent.parent / "results" / "demo"
    gep = pd.read_csv(out / "gep" / "gep_by_party.csv")
    assert set(gep.year) == {2020, 2021} and gep.party_id.nunique() == 5
    run = json.loads((out / "invest" / "2021" / "annual_water_yield" / "gep_run.json")
                     .read_text())
    assert run["args"]["seasonality_constant"] == 5.0 and run["execute_seconds"] > 0
    assert (out / "report" / "index.html").stat().st_size > 10_000
    capsys.readouterr()
    assert main(["acquire", "--config", c, "--year", "1999"]) == 2
    assert "1999 is not a configured year" in capsys.readouterr().err
