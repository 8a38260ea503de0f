"""``gep monitor`` / ``gep dispatch``: the basin form (``--config BASIN``, files through
Paths), the settings flag (``--settings``) and the former form (``--config monitoring.yaml``)
give the same results."""
from __future__ import annotations

import csv
import shutil

import pandas as pd
import pytest
import yaml

from gep.cli import main

from .helpers import day_frame, write_readings

AGREEMENT = {
    "agreement": "cli", "base_year": 2020, "cpi": {2021: 0.0},
    "accounts": [{"id": "central", "role": "central"}, {"id": "fund", "role": "fund"},
                 {"id": "up_a", "role": "upstream", "base_weight": 1},
                 {"id": "down", "role": "downstream", "benefit_weight": 1}],
    "funding": {"central": 0.5, "downstream": 0.5}, "base_payment": 730,
    "tiers": {"basic": 0.5, "performance": 0.3, "excess": 0.2}, "excess_margin": 0.15,
    "water_quality_bet": {"section": "boundary", "k0": 0.85, "indicators": {
        k: {"weight": 0.25, "baseline_mg_l": v}
        for k, v in {"codmn": 2.0, "nh3n": 0.1, "tp": 0.03, "tn": 1.0}.items()}},
}


@pytest.fixture
def readings(tmp_path):
    df = pd.concat([day_frame(s, d) for s in ("bnd", "up_out")
                    for d in ("2021-03-01", "2021-03-02")])
    return write_readings(df, tmp_path / "r.csv")


def test_settings_and_the_former_config_form_agree(tmp_path, readings, stations_csv,
                                                   small_config, capsys):
    common = ["monitor", "--readings", str(readings), "--stations", str(stations_csv)]
    assert main(["-v", *common, "--config", str(small_config), "--out",
                 str(tmp_path / "a")]) == 0
    assert "reading it as --settings" in capsys.readouterr().err  # said with -v
    assert main([*common, "--settings", str(small_config), "--out", str(tmp_path / "b")]) == 0
    assert "--settings" not in capsys.readouterr().err
    for name in ("daily_index.csv", "section_quality.csv", "performance.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_dispatch_in_the_basin_form(tmp_path, readings, stations_csv, small_config, capsys):
    from gep.config import load_config
    from gep.monitoring.dispatch import TRANSFER_HEADER
    from gep.paths import Paths

    mon = tmp_path / "mon"
    assert main(["monitor", "--readings", str(readings), "--stations", str(stations_csv),
                 "--settings", str(small_config), "--out", str(mon)]) == 0
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(AGREEMENT), encoding="utf-8")
    basin = tmp_path / "basin.yaml"
    basin.write_text(yaml.safe_dump({
        "basin": "t", "years": [2021], "results_dir": "res",
        "compensation": {"agreement": "a.yaml"},
        "monitoring": {"config": str(small_config)}}), encoding="utf-8")
    p = Paths(load_config(basin))
    shutil.copytree(mon, p.monitoring)
    p.compensation.mkdir(parents=True)
    with open(p.compensation.transfers, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(TRANSFER_HEADER)
        w.writerow(["x", 2021, "base", "central", "up_a", "365.00", ""])

    # the schedule pays year t's settlement during t + 1: 2021 pays out 2020, not settled
    capsys.readouterr()
    assert main(["dispatch", "--config", str(basin), "--year", "2021"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--year" in err[0] and "base_year 2020" in err[0]
    assert not p.dispatch(2021).exists()

    assert main(["dispatch", "--config", str(basin), "--year", "2021",
                 "--entitlement-year", "2021"]) == 0
    explicit = tmp_path / "disp"
    assert main(["dispatch", "--transfers", str(p.compensation.transfers),
                 "--daily-index", str(mon / "daily_index.csv"),
                 "--agreement", str(tmp_path / "a.yaml"),
                 "--quality", str(mon / "section_quality.csv"), "--year", "2021",
                 "--config", str(small_config), "--out", str(explicit)]) == 0
    for name in ("disbursements", "alerts", "settlement", "ledger_transfers"):
        got = getattr(p.dispatch(2021), name).read_bytes()
        assert got == (explicit / getattr(type(p.dispatch(2021)), name)).read_bytes(), name
