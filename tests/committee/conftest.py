"""One tiny demo run (64 x 64, 2020-2023) through the whole DAG, shared by the committee
tests; papers as HTML only (the PDF tests render their own)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


@pytest.fixture(scope="session")
def committee_run(repo, tmp_path_factory, config_copy):
    tmp = tmp_path_factory.mktemp("committee")
    cfg = config_copy(tmp, demo={"rows": 64, "cols": 64}, years=[2020, 2021, 2022, 2023],
                      committee={"pdf": False}, ledger={"key_dir": str(tmp / "keys")})
    cmd = [SNAKEMAKE, "--snakefile", str(repo / "Snakefile"), "--directory", str(tmp),
           "--configfile", str(cfg), "--cores", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return tmp, cfg, tmp / "results" / "demo"
