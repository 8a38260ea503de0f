"""One tiny demo run through the whole workflow, shared by the tests of this folder."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.fixture(scope="session")
def field_run(repo, tmp_path_factory, config_copy):
    """``(config path, results/demo)`` of a 64 x 64 demo basin, 2020-2021, with the carbon
    model on too (a third InVEST model with its own HTML report)."""
    tmp = tmp_path_factory.mktemp("field")
    cfg = config_copy(tmp, demo={"rows": 64, "cols": 64}, years=[2020, 2021],
                      models={"carbon": {"enabled": True}})
    cmd = [SNAKEMAKE, "--snakefile", str(repo / "Snakefile"), "--directory", str(tmp),
           "--configfile", str(cfg), "--cores", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return cfg, tmp / "results" / "demo"
