"""``gep allocate --config BASIN``: the files come from the basin (through Paths) and the
result equals the explicit-path call."""
from __future__ import annotations

import shutil

import pytest
import yaml

import gep.cli
from gep.config import load_config
from gep.paths import Paths

from .helpers import agreement_dict, quality_rows, write_case


@pytest.fixture(autouse=True)
def only_allocate(monkeypatch):
    monkeypatch.setattr(gep.cli, "_SUBCOMMAND_MODULES", ["gep.compensation.cli"])


def _case(tmp_path):
    increments = [[y, p, "water_conservation", "2000"] for y in (2021, 2022)
                  for p in ("up_a", "up_b")]
    return write_case(tmp_path / "in", agreement_dict(), increments,
                      quality_rows({2021: "0.9", 2022: "1.25"}),
                      performance=[[2021, "up_a", "redline", "false"]],
                      incidents=[["2022-02-02", "down_y", "10", "spill"]])


def test_basin_form_equals_the_explicit_form(tmp_path, capsys):
    c = _case(tmp_path)
    basin = tmp_path / "basin.yaml"
    basin.write_text(yaml.safe_dump({
        "basin": "t", "years": [2020, 2021, 2022], "results_dir": "res",
        "monitoring": {"enabled": False},
        "compensation": {"agreement": str(c["agreement_path"]),
                         "quality": str(c["quality_path"]),
                         "performance": str(c["performance_path"]),
                         "incidents": str(c["incidents_path"])}}), encoding="utf-8")
    p = Paths(load_config(basin))
    p.increments_csv.parent.mkdir(parents=True)
    shutil.copy(c["increments_path"], p.increments_csv)

    assert gep.cli.main(["allocate", "--config", str(basin)]) == 0
    assert f"wrote {p.compensation.transfers}" in capsys.readouterr().out
    out = tmp_path / "explicit"
    assert gep.cli.main(["allocate", "--agreement", str(c["agreement_path"]),
                         "--increments", str(c["increments_path"]),
                         "--quality", str(c["quality_path"]),
                         "--performance", str(c["performance_path"]),
                         "--incidents", str(c["incidents_path"]), "--out", str(out)]) == 0
    for name in ("transfers", "statement"):
        a = getattr(p.compensation, name).read_bytes()
        assert a == (out / getattr(type(p.compensation), name)).read_bytes(), name
    # the basin's performance and incidents files were used: without them the result differs
    bare = tmp_path / "bare"
    assert gep.cli.main(["allocate", "--agreement", str(c["agreement_path"]),
                         "--increments", str(c["increments_path"]),
                         "--quality", str(c["quality_path"]), "--out", str(bare)]) == 0
    assert (bare / "transfers.csv").read_bytes() != p.compensation.transfers.read_bytes()


def test_a_flag_overrides_the_basin(tmp_path, capsys):
    c = _case(tmp_path)
    basin = tmp_path / "basin.yaml"
    basin.write_text(yaml.safe_dump({
        "basin": "t", "years": [2021, 2022], "results_dir": "res",
        "monitoring": {"enabled": False},
        "compensation": {"agreement": str(tmp_path / "absent.yaml"),
                         "quality": str(c["quality_path"])}}), encoding="utf-8")
    out = tmp_path / "o"
    assert gep.cli.main(["allocate", "--config", str(basin), "--agreement",
                         str(c["agreement_path"]), "--increments", str(c["increments_path"]),
                         "--out", str(out)]) == 0
    assert (out / "transfers.csv").is_file()
    assert not (tmp_path / "res").exists()  # nothing went to the basin's results
