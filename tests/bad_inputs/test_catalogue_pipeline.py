"""Issue 14, pipeline and ledger half: a catalogue of bad inputs to validate-config, run,
acquire, invest, zonal, value, report, publish and ledger verify/export. Each must exit 2 with
one line naming the file and the key or field and a fix, no traceback, and write nothing."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from .harness_pipeline import gep, run_bad


def _edit_yaml(path: Path, **changes) -> None:
    from gep.config import deep_merge

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(deep_merge(data, changes), allow_unicode=True),
                    encoding="utf-8")


def _drop_rows(path: Path, codes: set[str]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(ln for ln in lines if ln.split(",")[0] not in codes),
                    encoding="utf-8")


def _drop_column(path: Path, column: str) -> None:
    rows = [ln.rstrip("\n").split(",") for ln in path.read_text(encoding="utf-8").splitlines()]
    k = rows[0].index(column)
    path.write_text("".join(",".join(r[:k] + r[k + 1:]) + "\n" for r in rows), encoding="utf-8")


def _append_text(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# (case id, how to break the config folder, command, fragments the error line must hold)
# {cfg} is the config file; its folder is cfg.parent.
CASES = [
    ("missing-star-rating-rules", lambda c: (c.parent / "star_rating.yaml").unlink(),
     ["validate-config"], ["config.yaml", "rating.rules", "does not exist"]),
    ("star-rating-weights-not-summing-to-one",
     lambda c: _edit_yaml(c.parent / "star_rating.yaml",
                          indicators={"green_tech_share": {"weight": 0.5}}),
     ["validate-config"], ["star_rating.yaml", "weight"]),
    ("negative-portal-points",
     lambda c: _edit_yaml(c.parent / "portal.yaml", points={"per_patrol": -5}),
     ["validate-config"], ["portal.yaml", "per_patrol"]),
    ("missing-portal-settings", lambda c: (c.parent / "portal.yaml").unlink(),
     ["validate-config"], ["config.yaml", "portal.config", "does not exist"]),
    ("missing-biophysical-table", lambda c: (c.parent / "tables/biophysical.csv").unlink(),
     ["validate-config"], ["config.yaml", "models.annual_water_yield.biophysical_table",
                           "biophysical.csv", "does not exist"]),
    ("missing-agreement", lambda c: (c.parent / "agreement.yaml").unlink(),
     ["validate-config"], ["config.yaml", "compensation.agreement", "does not exist"]),
    ("duplicate-key-in-config", lambda c: _append_text(c, "years: [2020, 2021]\n"),
     ["validate-config"], ["config.yaml", "years", "duplicate key"]),
    ("duplicate-key-in-agreement",
     lambda c: _append_text(c.parent / "agreement.yaml", "base_year: 2021\n"),
     ["validate-config"], ["agreement.yaml", "base_year", "duplicate key"]),
    ("unknown-key", lambda c: _append_text(c, "yeers: [2020]\n"),
     ["validate-config"], ["config.yaml", "yeers", "spelling"]),
    ("wrong-type", lambda c: _edit_yaml(c, grid={"pixel_size": "thirty"}),
     ["validate-config"], ["config.yaml", "grid.pixel_size"]),
    ("year-out-of-range", lambda c: _edit_yaml(c, years=[1850, 1851]),
     ["validate-config"], ["config.yaml", "years", "1980"]),
    ("years-not-increasing", lambda c: _edit_yaml(c, years=[2021, 2020]),
     ["validate-config"], ["config.yaml", "years", "increasing"]),
    ("geographic-crs", lambda c: _edit_yaml(c, grid={"crs": "EPSG:4326"}),
     ["validate-config"], ["config.yaml", "grid.crs", "geographic"]),
    ("unknown-crs", lambda c: _edit_yaml(c, grid={"crs": "EPSG:999999"}),
     ["validate-config"], ["config.yaml", "grid.crs"]),
    ("basin-name-with-space", lambda c: _edit_yaml(c, basin="my basin"),
     ["validate-config"], ["config.yaml", "basin"]),
    ("biophysical-missing-column",
     lambda c: _drop_column(c.parent / "tables/biophysical.csv", "kc"),
     ["validate-config"], ["biophysical.csv", "field 'kc'", "missing column"]),
    ("biophysical-missing-lucode",
     lambda c: _drop_rows(c.parent / "tables/biophysical.csv", {"95"}),
     ["validate-config"], ["biophysical.csv", "field 'lucode'", "95"]),
    ("runoff-missing-lucode",
     lambda c: _drop_rows(c.parent / "tables/runoff_coefficients.csv", {"40"}),
     ["validate-config"], ["runoff_coefficients.csv", "field 'lucode'", "40"]),
    ("sensitivity-missing-threat-column",
     lambda c: _drop_column(c.parent / "tables/sensitivity.csv", "road"),
     ["validate-config"], ["sensitivity.csv", "field 'road'"]),
    ("threat-bad-decay",
     lambda c: (c.parent / "tables/threats.csv").write_text(
         (c.parent / "tables/threats.csv").read_text().replace("linear", "gaussian")),
     ["validate-config"], ["threats.csv", "field 'decay'", "gaussian"]),
    ("agreement-bad-yaml", lambda c: _append_text(c.parent / "agreement.yaml", "x: [1, 2\n"),
     ["validate-config"], ["agreement.yaml", "YAML"]),
    ("monitoring-unknown-key", lambda c: _append_text(c.parent / "monitoring.yaml", "bogus: 1\n"),
     ["validate-config"], ["monitoring.yaml", "bogus"]),
    ("prices-missing-cpi",
     lambda c: (c.parent / "prices.yaml").write_text("price_year: 2020\nbase_year: 2020\n"
                                                     "services: {}\n"),
     ["validate-config"], ["prices.yaml", "cpi"]),
    ("results-dir-is-a-file",
     lambda c: (_edit_yaml(c, results_dir="occupied"), (c.parent / "occupied").write_text("x")),
     ["validate-config"], ["config.yaml", "results_dir", "is a file"]),
    ("top-level-not-a-mapping", lambda c: c.write_text("- 1\n- 2\n"),
     ["validate-config"], ["config.yaml", "(top level)"]),
    ("run-missing-biophysical-table", lambda c: (c.parent / "tables/biophysical.csv").unlink(),
     ["run"], ["config.yaml", "models.annual_water_yield.biophysical_table"]),
    ("run-duplicate-key", lambda c: _append_text(c, "basin: other\n"),
     ["run"], ["config.yaml", "basin", "duplicate key"]),
    ("run-parties-file-missing", lambda c: _edit_yaml(c, parties={"path": "p.gpkg"}),
     ["run"], ["config.yaml", "parties.path", "does not exist"]),
    ("local-source-without-layers",
     lambda c: _edit_yaml(c, source="local", parties={"path": "p.gpkg"}),
     ["validate-config"], ["config.yaml", "layers.landcover"]),
    ("acquire-unconfigured-year", lambda c: None,
     ["acquire", "--year", "1999"], ["config.yaml", "years", "1999"]),
    ("invest-disabled-model", lambda c: None,
     ["invest", "--model", "sdr", "--year", "2020"], ["config.yaml", "models.sdr"]),
    ("invest-before-acquire", lambda c: None,
     ["invest", "--model", "annual_water_yield", "--year", "2020"],
     ["config.yaml", "years", "gep acquire"]),
    ("zonal-before-invest", lambda c: None,
     ["zonal", "--year", "2020"], ["parties.tif", "gep acquire"]),
    ("value-before-zonal", lambda c: None, ["value"], ["2020.csv", "gep zonal"]),
    ("report-before-value", lambda c: None, ["report"], ["gep_by_party.csv", "gep value"]),
    ("publish-before-value", lambda c: None, ["publish"], ["gep_by_party.csv", "gep value"]),
]


@pytest.fixture
def basin(tmp_path, config_copy):
    cfg = config_copy(tmp_path, demo={"rows": 16, "cols": 16}, years=[2020, 2021])
    return tmp_path, cfg


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(basin, case):
    _, mutate, command, expect = case
    root, cfg = basin
    mutate(cfg)
    run_bad([*command, "--config", str(cfg)], root, expect)


def test_missing_config_file(tmp_path):
    run_bad(["validate-config", "--config", str(tmp_path / "nope.yaml")], tmp_path,
            ["nope.yaml", "does not exist"])


# -- the ledger -----------------------------------------------------------------------------

def test_ledger_verify_of_a_file_that_is_not_a_ledger(tmp_path):
    (tmp_path / "ledger.db").write_text("id,amount\n1,2\n")
    run_bad(["ledger", "verify", "--db", str(tmp_path / "ledger.db")], tmp_path,
            ["ledger.db", "field 'db'"])


def test_ledger_verify_of_a_missing_ledger(tmp_path):
    run_bad(["ledger", "verify", "--db", str(tmp_path / "ledger.db")], tmp_path,
            ["ledger.db", "field 'db'", "no ledger"])


def _ledger(tmp_path: Path) -> Path:
    from tests.ledger.ledger_helpers import transfer_row, write_transfers

    db = tmp_path / "ledger.db"
    csv = write_transfers(tmp_path / "t.csv", [transfer_row(f"t{i}") for i in range(5)])
    assert gep(["ledger", "append", "--db", str(db), "--transfers", str(csv)],
               tmp_path).returncode == 0
    return db


def test_ledger_export_of_a_tampered_ledger(tmp_path):
    db = _ledger(tmp_path)
    conn = sqlite3.connect(db)
    raw = conn.execute("SELECT entry FROM entries WHERE idx=2").fetchone()[0]
    conn.execute("UPDATE entries SET entry=? WHERE idx=2",
                 (raw.replace(b'"100.00"', b'"900.00"'),))
    conn.commit()
    conn.close()
    run_bad(["ledger", "export", "--db", str(db), "--out", str(tmp_path / "x.jsonl")],
            tmp_path, ["ledger.db", "field 'db'", "fails verification", "entry 2", "backup"])


def test_ledger_append_transfers_with_missing_column(tmp_path):
    db = _ledger(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("transfer_id,year\nx,2021\n")
    run_bad(["ledger", "append", "--db", str(db), "--transfers", str(bad)], tmp_path,
            ["bad.csv", "field 'clause'", "missing column"])


# -- item 8: a land-cover code of the raster without a row in the biophysical table ----------

@pytest.fixture(scope="module")
def acquired(tmp_path_factory, config_copy):
    root = tmp_path_factory.mktemp("acquired")
    cfg = config_copy(root, demo={"rows": 32, "cols": 32}, years=[2020, 2021])
    for step in (["--parties"], ["--static"], ["--year", "2020"]):
        r = gep(["acquire", "--config", str(cfg), *step], root)
        assert r.returncode == 0, r.stderr
    return root, cfg


def test_invest_with_a_landcover_code_missing_from_the_table(acquired):
    from gep.checks import raster_codes

    root, cfg = acquired
    lc = root / "results" / "demo" / "inputs" / "2020" / "landcover.tif"
    present = sorted(raster_codes(lc))
    assert len(present) >= 2
    table = cfg.parent / "tables" / "biophysical.csv"
    original = table.read_bytes()
    try:
        _drop_rows(table, {str(present[-1])})
        line = run_bad(["invest", "--config", str(cfg), "--model", "annual_water_yield",
                        "--year", "2020"], root,
                       ["biophysical.csv", "field 'lucode'", str(present[-1]),
                        "models.annual_water_yield.biophysical_table", "landcover.tif"])
        assert f"add a row for lucode {present[-1]}" in line
        # validate-config now knows the raster's codes too
        run_bad(["validate-config", "--config", str(cfg)], root,
                ["biophysical.csv", str(present[-1])])
    finally:
        table.write_bytes(original)
