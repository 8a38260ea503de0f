"""``gep allocate`` through ``gep.cli.main``, as a user runs it."""
from __future__ import annotations

import pytest

import gep.cli

from .helpers import agreement_dict, quality_rows, read_outputs, write_case


@pytest.fixture(autouse=True)
def only_allocate(monkeypatch):
    # Build the parser from this subsystem alone so the test does not depend on which other
    # subsystems are installed yet; main() itself runs unchanged.
    monkeypatch.setattr(gep.cli, "_SUBCOMMAND_MODULES", ["gep.compensation.cli"])


def _inputs(tmp_path, quality):
    increments = [[y, p, "water_conservation", "2000"] for y in (2021, 2022)
                  for p in ("up_a", "up_b")]
    return write_case(tmp_path / "in", agreement_dict(), increments, quality,
                      performance=[[2021, "up_a", "redline", "false"]],
                      incidents=[["2022-02-02", "down_y", "10", "spill"]])


def test_allocate_writes_the_three_files_and_reports_each_year(tmp_path, capsys):
    p = _inputs(tmp_path, quality_rows({2021: "0.9", 2022: "1.25"}))
    out = tmp_path / "out"
    code = gep.cli.main(["allocate", "--agreement", str(p["agreement_path"]),
                         "--increments", str(p["increments_path"]),
                         "--quality", str(p["quality_path"]),
                         "--performance", str(p["performance_path"]),
                         "--incidents", str(p["incidents_path"]), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "2021: P 0.765000 (met)" in printed          # 0.85 * 0.9
    assert "2022: P 1.062500 (missed" in printed        # 0.85 * 1.25
    transfers, _, summary = read_outputs(out)
    assert {t["clause"] for t in transfers} == {"base", "reward", "clawback", "penalty"}
    assert summary["years"] == [2021, 2022]
    assert f"wrote {out / 'summary.json'}" in printed


def test_allocate_bad_input_exits_2_with_the_error_and_writes_nothing(tmp_path, capsys):
    quality = [r for r in quality_rows({2021: "0.9", 2022: "1.25"}) if r[2] != "nh3n"]
    p = _inputs(tmp_path, quality)
    out = tmp_path / "out"
    code = gep.cli.main(["allocate", "--agreement", str(p["agreement_path"]),
                         "--increments", str(p["increments_path"]),
                         "--quality", str(p["quality_path"]), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("gep allocate: error: ")
    assert "missing indicator(s) nh3n for 2021" in err and "Fix: " in err
    assert not out.exists()


def test_allocate_without_a_basin_config_needs_its_files(tmp_path, monkeypatch, capsys):
    """Paths default to the basin's (--config); with no basin config, a missing one is named."""
    monkeypatch.chdir(tmp_path)  # no config/config.yaml here
    assert gep.cli.main(["allocate", "--agreement", "a.yaml"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--quality" in err[0] and "--config" in err[0]
    assert "Fix: " in err[0]
