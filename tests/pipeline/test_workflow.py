"""The whole DAG on a tiny demo basin, its contract, and what re-runs when something changes."""
from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml
from rasterio import features

SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def snakemake(repo: Path, workdir: Path, config: Path, *args: str) -> str:
    cmd = [SNAKEMAKE, "--snakefile", str(repo / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config), "--cores", "2", *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r.stdout + r.stderr


def planned_jobs(out: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    stats = out[out.index("Job stats:"):] if "Job stats:" in out else ""
    return {m.group(1): int(m.group(2)) for m in
            re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, flags=re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def tiny_run(repo, tmp_path_factory, config_copy):
    tmp = tmp_path_factory.mktemp("tiny")
    cfg_path = config_copy(tmp, demo={"rows": 64, "cols": 64}, years=[2020, 2021])
    snakemake(repo, tmp, cfg_path)
    return tmp, cfg_path, tmp / "results" / "demo"


def test_contract_outputs_exist(tiny_run):
    _, _, out = tiny_run
    for y in (2020, 2021):
        for f in ("landcover", "precipitation", "reference_et", "dem", "root_restricting_depth",
                  "plant_available_water", "threat_built"):
            assert (out / "inputs" / str(y) / f"{f}.tif").exists()
        assert (out / "invest" / str(y) / "annual_water_yield" / "output" / "per_pixel"
                / "wyield.tif").exists()
        assert (out / "invest" / str(y) / "habitat_quality" / "quality_c.tif").exists()
    assert "party_id" in gpd.read_file(out / "inputs" / "parties.gpkg").columns
    gep = pd.read_csv(out / "gep" / "gep_by_party.csv")
    assert list(gep.columns) == ["year", "party_id", "service", "quantity", "unit",
                                 "value_cny_constant", "value_cny_current"]
    assert {"water_yield", "water_conservation", "biodiversity"} <= set(gep.service)
    assert len(gep) == len(gep.drop_duplicates(["year", "party_id", "service"]))
    inc = pd.read_csv(out / "gep" / "increments.csv")
    assert list(inc.columns) == ["year", "party_id", "service", "delta_value_cny_constant"]
    assert set(inc.year) == {2021}
    for f in ("transfers.csv", "statement.csv", "summary.json"):
        assert (out / "compensation" / f).exists()
    for f in ("readings_qc.parquet", "daily_index.csv", "section_quality.csv",
              "performance.csv"):
        assert (out / "monitoring" / f).exists()
    for f in ("ledger.db", "checkpoint", "verifier.vkey", "site/index.html"):
        assert (out / "ledger" / f).exists()
    html = (out / "report" / "index.html").read_text()
    assert "生态系统生产总值" in html and "Gross Ecosystem Product" in html
    assert "src=\"data:image/png;base64," in html  # self-contained: images embedded
    assert not re.search(r"(src|href)=\"(?!data:|#)[^\"]+\"", html)  # no external files


def test_party_water_yield_is_sum_of_invest_pixels(tiny_run):
    """Per-party water yield = sum of InVEST's per-pixel wyield over the party polygon x pixel
    area, computed here from the polygons (not the parties raster); parties add up to the
    basin total InVEST reports."""
    _, _, out = tiny_run
    gep = pd.read_csv(out / "gep" / "gep_by_party.csv")
    parties = gpd.read_file(out / "inputs" / "parties.gpkg")
    for year in (2020, 2021):
        ws = out / "invest" / str(year) / "annual_water_yield"
        with rasterio.open(ws / "output" / "per_pixel" / "wyield.tif") as ds:
            wy = ds.read(1, masked=True).astype(np.float64)
            area = abs(ds.transform.a * ds.transform.e)
            for _, p in parties.iterrows():
                inside = features.geometry_mask([p.geometry], wy.shape, ds.transform,
                                                invert=True)
                expect = float(wy[inside].sum()) / 1000.0 * area
                got = gep[(gep.year == year) & (gep.party_id == p.party_id)
                          & (gep.service == "water_yield")].quantity.iloc[0]
                assert got == pytest.approx(expect, rel=1e-6)
        basin = pd.read_csv(ws / "output" / "watershed_results_wyield.csv")["wyield_vol"].sum()
        total = gep[(gep.year == year) & (gep.service == "water_yield")].quantity.sum()
        assert total == pytest.approx(basin, rel=1e-5)


def test_ledger_of_the_run_verifies(tiny_run):
    """The published checkpoint verifies and the settlement transfers are all in the log."""
    from gep import ledger

    _, _, out = tiny_run
    rep = ledger.verify(out / "ledger" / "ledger.db", out / "ledger" / "checkpoint",
                        [out / "ledger" / "verifier.vkey"])
    assert rep.ok, rep.summary()
    ids = set(pd.read_csv(out / "compensation" / "transfers.csv", dtype=str)["transfer_id"])
    buf = io.StringIO()
    ledger.export_jsonl(out / "ledger" / "ledger.db", buf)
    logged = {json.loads(line)["record"].get("transfer_id")
              for line in buf.getvalue().splitlines()}
    assert ids and ids <= logged


def test_price_change_reruns_no_invest(tiny_run, repo):
    tmp, cfg_path, _ = tiny_run
    prices = tmp / "config" / "prices.yaml"
    text = prices.read_text()
    prices.write_text(text.replace("unit_price: 7.06", "unit_price: 8.00"))
    try:
        jobs = planned_jobs(snakemake(repo, tmp, cfg_path, "--dry-run"))
    finally:
        prices.write_text(text)
    assert "invest" not in jobs and "acquire_year" not in jobs
    assert jobs.get("value") == 1 and jobs.get("report") == 1


def test_model_parameter_reruns_only_that_model(tiny_run, repo):
    tmp, cfg_path, _ = tiny_run
    text = cfg_path.read_text()
    data = yaml.safe_load(text)
    data["models"]["annual_water_yield"]["seasonality_constant"] = 7.5
    cfg_path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        out = snakemake(repo, tmp, cfg_path, "--dry-run", "--printshellcmds")
    finally:
        cfg_path.write_text(text)
    jobs = planned_jobs(out)
    assert jobs.get("invest") == 2  # two years, water yield only
    assert "--model habitat_quality" not in out
    assert "acquire_year" not in jobs


def test_report_and_ledger_do_not_wait_for_the_committee_papers(repo, tmp_path, config_copy):
    """Nothing reads the committee's papers, so rendering their PDFs runs beside the report and
    the ledger, not before them; the full run still builds them."""
    cfg = config_copy(tmp_path, demo={"rows": 64, "cols": 64}, years=[2020, 2021])
    full = planned_jobs(snakemake(repo, tmp_path, cfg, "--dry-run"))
    assert full.get("committee_year") == 2 and full.get("committee_index") == 1
    ledger = planned_jobs(snakemake(repo, tmp_path, cfg, "--dry-run",
                                    "results/demo/ledger/checkpoint"))
    assert ledger.get("report") == 1 and ledger.get("execution") == 1
    assert "committee_year" not in ledger and "committee_index" not in ledger


def test_lint_is_clean(repo):
    r = subprocess.run([SNAKEMAKE, "--lint", "--snakefile", str(repo / "Snakefile"),
                        "--directory", str(repo), "--configfile",
                        str(repo / "config" / "config.yaml")], capture_output=True, text=True)
    assert r.returncode == 0
    assert "Lints for" not in r.stdout + r.stderr


def test_snakemake_report_bundles_annotated_outputs(tiny_run, repo, tmp_path):
    import zipfile

    tmp, cfg_path, _ = tiny_run
    z = tmp_path / "report.zip"
    snakemake(repo, tmp, cfg_path, "--report", str(z))
    names = zipfile.ZipFile(z).namelist()
    for f in ("gep_by_party.csv", "increments.csv", "transfers.csv", "index.html"):
        assert any(n.endswith(f) for n in names), f
