"""``models.invest_reports``: `gep invest` writes InVEST's HTML report or leaves it out, and
the model's outputs are the same either way (issue 17: the report is a third of a water-yield
run and a station may not want it)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import rasterio


def _invest(cfg, cwd):
    r = subprocess.run([sys.executable, "-m", "gep", "invest", "--config", str(cfg),
                        "--model", "annual_water_yield", "--year", "2020"],
                       cwd=cwd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]


def test_invest_reports_switch(tmp_path, config_copy):
    from gep import acquire
    from gep.config import load_config
    from gep.models import get
    from gep.paths import Paths

    out = {}
    for on in (True, False):
        root = tmp_path / f"reports_{on}"
        root.mkdir()
        cfg_path = config_copy(root, demo={"rows": 32, "cols": 32}, years=[2020],
                               models={"invest_reports": on,
                                       "habitat_quality": {"enabled": False}})
        cfg = load_config(cfg_path)
        assert cfg.models.invest_reports is on
        acquire.acquire_parties(cfg)
        acquire.acquire_static(cfg)
        acquire.acquire_year(cfg, 2020)
        _invest(cfg_path, root)
        ws = Paths(cfg).workspace(2020, "annual_water_yield")
        reports = sorted(f.name for f in ws.glob("*_report.html"))
        assert reports == (["annual_water_yield_report.html"] if on else []), reports
        with rasterio.open(get("annual_water_yield").output(ws, "water_yield")) as src:
            out[on] = src.read(1, masked=True)
        assert list(ws.glob("*.invs.json"))  # the Workbench's parameter set either way
    assert np.array_equal(out[True].mask, out[False].mask)
    np.testing.assert_allclose(out[True].compressed(), out[False].compressed(), rtol=0, atol=0)
