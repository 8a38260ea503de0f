"""Issue 16's acceptance: the architecture step changed no result.

The 64 x 64 demo, two years, is run twice with ``gep run``: once with this checkout and once
with the tree of ``BEFORE``, the last commit before the redesign (taken from this clone's own
history with ``git archive``). Both use one installation's keys, as two runs of one station
would. Every table a person or the ledger reads must be byte-identical; the committee report
too, except that its listing of the effective configuration shows the two keys issue 17 added
(``ADDED_KEYS``); and the ledger must hold the same entries in the same order, the report's
digest being the only one allowed to differ (and only through those keys).
"""
from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import tarfile

import pytest

from .run_helpers import REPO, basin_folder

pytestmark = pytest.mark.slow

#: main before issue 16 (the redesign): the outputs it produced are the reference
BEFORE = "35d2574c8d83b729cb03d3914689edec8258721e"

#: config keys added after the redesign (issue 17): the report prints the effective
#: configuration, so its "after" copy shows them; nothing else may differ
ADDED_KEYS = ("invest_reports", "reuse_dem_products", "gtiff_compression")

#: folders under results/<basin>/ whose tables are compared file by file
COMPARED = ("gep", "compensation", "dispatch", "monitoring", "rating", "committee")
SUFFIXES = (".csv", ".json")


def _old_tree(dest):
    """This repository's files at ``BEFORE``, unpacked into ``dest``."""
    r = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", BEFORE],
                       capture_output=True)
    if r.returncode != 0:
        pytest.fail(f"commit {BEFORE[:10]} (main before issue 16) is not in this clone's "
                    f"history: {r.stderr.decode(errors='replace').strip()}. Fix: run the test "
                    f"in a full clone (git fetch --unshallow)")
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _run(src, cfg, cwd):
    env = dict(os.environ)
    # the rules call `gep` from PATH; with src first on PYTHONPATH it is that tree's gep, and
    # `gep run` takes that tree's Snakefile
    env["PYTHONPATH"] = str(src) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("GEP_COMMAND", None)
    r = subprocess.run([sys.executable, "-m", "gep", "run", "--config", str(cfg),
                        "--cores", "2"], cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=1800)
    assert r.returncode == 0, f"{src}: {r.stdout[-3000:]}{r.stderr[-3000:]}"
    return cfg.parent / "results" / "demo"


#: an input raster's row in the report's audit trail: file, bytes, SHA-256. Issue 17 changed
#: the compression of gep's GeoTIFFs (DEFLATE to ZSTD, lossless): their bytes and digests
#: differ, their pixels may not (test_input_rasters_hold_the_same_pixels)
RASTER_AUDIT_ROW = re.compile(r"<td>(inputs/[^<]*\.tif)</td><td>\d+</td><td>[0-9a-f]{64}</td>")


def _report_without_added_keys(html: bytes) -> str:
    """The report's text with the lines of ``ADDED_KEYS`` dropped from its configuration
    listing and the JSON commas that separate lines removed (a dropped last key leaves the
    line before it without one), and the input rasters' sizes and digests blanked."""
    keys = "|".join(ADDED_KEYS)
    lines = [ln for ln in html.decode("utf-8").split("\n")
             if not re.match(rf"\s*&#34;({keys})&#34;: ", ln)]
    text = "\n".join(ln.rstrip(",") for ln in lines)
    return RASTER_AUDIT_ROW.sub(r"<td>\1</td><td>-</td><td>-</td>", text)


def _rasters(out):
    """Every GeoTIFF under inputs/: its grid, nodata, type and pixels."""
    import rasterio

    found = {}
    for f in sorted((out / "inputs").rglob("*.tif")):
        with rasterio.open(f) as ds:
            found[str(f.relative_to(out))] = (ds.transform, ds.crs, ds.nodata, ds.dtypes,
                                              ds.read())
    return found


def _entries(db):
    with sqlite3.connect(db) as con:
        return [(t, json.loads(e)) for t, e in
                con.execute("SELECT type, entry FROM entries ORDER BY idx")]


def _tables(out):
    files = {}
    for top in COMPARED:
        for dirpath, _, names in os.walk(out / top):
            for n in names:
                if n.endswith(SUFFIXES):
                    p = os.path.join(dirpath, n)
                    files[os.path.relpath(p, out)] = open(p, "rb").read()
    return files


@pytest.fixture(scope="module")
def before_after(tmp_path_factory):
    from gep.ledger import api

    keys = tmp_path_factory.mktemp("keys")
    old = _old_tree(tmp_path_factory.mktemp("before_tree"))
    runs = {}
    for name, src in (("before", old / "src"), ("after", REPO / "src")):
        root = tmp_path_factory.mktemp(name)
        cfg = basin_folder(root / "cfg", rows=64, keys=keys)
        out = _run(src, cfg, root)
        report = api.verify(out / "ledger" / "ledger.db")
        assert report.ok, report.summary()
        runs[name] = {"tables": _tables(out), "rasters": _rasters(out),
                      "root": report.root, "size": report.size,
                      "entries": _entries(out / "ledger" / "ledger.db"),
                      "report": (out / "report" / "index.html").read_bytes()}
    return runs


def test_the_same_tables_are_written(before_after):
    before, after = before_after["before"]["tables"], before_after["after"]["tables"]
    assert sorted(after) == sorted(before)
    # the run must have produced what the comparison is about
    for must in ("gep/gep_by_party.csv", "gep/increments.csv", "compensation/transfers.csv",
                 "compensation/statement.csv"):
        assert must in after
    changed = [f for f in before if before[f] != after[f]]
    assert not changed, f"tables that differ from main before issue 16: {changed}"


def test_the_report_differs_only_by_the_added_config_keys(before_after):
    b, a = before_after["before"]["report"], before_after["after"]["report"]
    assert _report_without_added_keys(a) == _report_without_added_keys(b)
    # the normalisation does not hide everything: the report has its content, and only the
    # input rasters' audit rows were blanked
    assert len(_report_without_added_keys(a)) > 100_000
    assert 0 < len(RASTER_AUDIT_ROW.findall(a.decode("utf-8"))) < 20


def test_input_rasters_hold_the_same_pixels(before_after):
    """Every input raster, re-encoded (issue 17), keeps its grid, nodata, type and pixels."""
    import numpy as np

    b, a = before_after["before"]["rasters"], before_after["after"]["rasters"]
    assert sorted(a) == sorted(b) and len(a) > 10
    for f in b:
        *meta_b, pix_b = b[f]
        *meta_a, pix_a = a[f]
        assert meta_a == meta_b, f
        assert np.array_equal(pix_a, pix_b), f


def test_the_ledger_holds_the_same_entries_in_the_same_order(before_after):
    """Same size, and every entry identical, except the report's digest (the report prints the
    configuration, see above); with no key added the roots would be equal too."""
    b, a = before_after["before"], before_after["after"]
    assert a["size"] == b["size"] > 0
    assert [t for t, _ in a["entries"]] == [t for t, _ in b["entries"]]
    differing = [(eb, ea) for (_, eb), (_, ea) in zip(b["entries"], a["entries"]) if eb != ea]
    for eb, ea in differing:
        assert eb.get("kind") == ea.get("kind") == "report", (eb, ea)
        assert {k for k in eb if eb[k] != ea.get(k)} <= {"sha256", "size_bytes"}, (eb, ea)
    if not differing:
        assert a["root"] == b["root"]
