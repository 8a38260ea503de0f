"""Zonal sums over several row strips, every model's variables at once, against a naive
pixel-by-pixel sum computed in the test: clipped rasters crossing a strip boundary, nodata in
the subtracted raster, non-finite values and the ``same_pixels_as`` rule included."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gep import models
from gep.sources.base import Grid, write_raster
from gep.zonal import LUCODES, zonal_year

ROWS, COLS = 1100, 40  # three 512-row strips
GRID = Grid("EPSG:32650", 500000.0, 3300000.0, 30.0, COLS, ROWS)
A = 900.0
CLIP = (slice(300, 900), slice(5, 33))  # InVEST's bounding-box clip, across strip edges


def test_zonal_equals_a_naive_sum_over_every_pixel(tmp_path):
    rng = np.random.default_rng(3)
    lc = rng.choice(np.array([10, 20, 40, 50, 80, 255], np.uint8), size=(ROWS, COLS))
    pa = rng.integers(0, 4, size=(ROWS, COLS)).astype(np.int16)
    inputs = tmp_path / "inputs"
    write_raster(inputs / "landcover.tif", lc, GRID, 255)
    write_raster(tmp_path / "parties.tif", pa, GRID, -1)
    pd.DataFrame({"index": [1, 2, 3], "party_id": ["a", "b", "c"]}).to_csv(
        tmp_path / "parties.csv", index=False)
    arrays, valid, workspaces = {}, {}, {}
    for v in models.variables():
        for path in filter(None, (v.path, v.path2)):
            a = rng.uniform(0, 50, (ROWS, COLS)).astype(np.float32)
            a[rng.random((ROWS, COLS)) < 0.05] = -1.0
            a[7, 3] = np.inf  # non-finite: counted as nodata, never summed
            if v.model is None:
                file = inputs / f"{path}.tif"
            else:
                file = tmp_path / "ws" / v.model / path
                workspaces[v.model] = tmp_path / "ws" / v.model
            ok = a != -1.0
            if v.name == "water_yield":  # clipped: nothing outside the box
                clipped = Grid(GRID.crs, GRID.x0 + CLIP[1].start * 30.0,
                               GRID.y0 - CLIP[0].start * 30.0, 30.0,
                               CLIP[1].stop - CLIP[1].start, CLIP[0].stop - CLIP[0].start)
                write_raster(file, a[CLIP], clipped, -1.0)
                inside = np.zeros_like(ok)
                inside[CLIP] = True
                ok &= inside
            else:
                write_raster(file, a, GRID, -1.0)
            arrays[path], valid[path] = a.astype(np.float64), ok
    out = zonal_year(2021, inputs, tmp_path / "parties.tif", tmp_path / "parties.csv",
                     workspaces, tmp_path / "zonal.csv")
    z = pd.read_csv(out).set_index(["party_id", "lucode", "variable"])

    by_name = {v.name: v for v in models.variables()}
    rows = 0
    for label, pid in ((1, "a"), (2, "b"), (3, "c")):
        for code in LUCODES:
            cell = (pa == label) & (lc == code)
            if not cell.any():
                continue
            assert z.loc[(pid, code, "area"), "quantity"] == pytest.approx(cell.sum() * A / 1e4)
            for name, v in by_name.items():
                val, ok = arrays[v.path], valid[v.path].copy()
                if v.path2:
                    with np.errstate(invalid="ignore"):  # inf - inf
                        val = val - arrays[v.path2]
                    ok = ok & valid[v.path2]
                if v.same_pixels_as:
                    other = by_name[v.same_pixels_as]
                    ok &= valid[other.path]
                ok &= np.isfinite(val)
                want, bad = 0.0, 0
                for r, c in zip(*np.nonzero(cell)):
                    if ok[r, c]:
                        want += float(v.scale(np.array([val[r, c]]), A)[0])
                    else:
                        bad += 1
                row = z.loc[(pid, code, name)]
                assert math.isclose(row["quantity"], want, rel_tol=1e-12, abs_tol=1e-12), name
                assert row["nodata_pixels"] == bad, name
                rows += 1
    assert rows == len(z) - len(z.xs("area", level="variable"))
