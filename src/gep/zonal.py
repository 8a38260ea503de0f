"""Per-party, per-land-cover zonal sums of InVEST outputs, block by block.

For one year, every pixel with a party label (``inputs/parties.tif``) and a valid land-cover
code adds its contribution to the ``(party, land cover)`` cell of each variable:

=======================  ======================================================  ========
variable                 per-pixel contribution                                   unit
=======================  ======================================================  ========
area                     pixel area                                               ha
precipitation            P (mm) / 1000 x pixel area                               m3
water_yield              InVEST ``output/per_pixel/wyield.tif`` (mm) / 1000 x A   m3
habitat_quality          InVEST ``quality_c.tif`` (0-1) x pixel area              ha
avoided_erosion          InVEST SDR ``avoided_erosion.tif`` (t/ha) x area (ha)    t
n_retained / p_retained  NDR modified load minus export (kg/ha) x ha / 1000       t
carbon_storage           InVEST carbon ``c_storage_bas.tif`` (t/ha) x area (ha)   t C
=======================  ======================================================  ========

Pixels where an InVEST output is nodata add nothing to that variable (and are counted in
``nodata_pixels`` so gaps are visible). Sums are accumulated in float64 with ``np.bincount``
over row strips, so memory stays flat however large the basin is. Because the parties raster
labels each pixel once, party totals add up exactly to the basin total.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import rasterio

from gep.errors import InputDataError
from gep.io import write_csv
from gep.log import progress
from gep.sources.base import LANDCOVER_NODATA, Grid, iter_windows

LUCODES = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100])


@dataclass(frozen=True)
class Variable:
    name: str
    model: str | None            # None: read from the year's inputs
    path: str                    # relative to the model workspace (or the inputs folder)
    unit: str
    scale: Callable[[np.ndarray, float], np.ndarray]  # (values, pixel area m2) -> quantity
    path2: str | None = None     # for differences (load minus export)
    same_pixels_as: str | None = None  # count only where this variable is valid too


VARIABLES = [
    # over the pixels where water yield is valid, so WY - alpha P compares like with like
    Variable("precipitation", None, "precipitation.tif", "m3", lambda v, a: v / 1000.0 * a,
             same_pixels_as="water_yield"),
    Variable("water_yield", "annual_water_yield", "output/per_pixel/wyield.tif", "m3",
             lambda v, a: v / 1000.0 * a),
    Variable("habitat_quality", "habitat_quality", "quality_c.tif", "ha",
             lambda v, a: v * a / 10000.0),
    Variable("avoided_erosion", "sdr", "avoided_erosion.tif", "t",
             lambda v, a: v * a / 10000.0),
    Variable("n_retained", "ndr", "intermediate_outputs/modified_load_n.tif", "t",
             lambda v, a: v * a / 10000.0 / 1000.0, path2="n_total_export.tif"),
    Variable("p_retained", "ndr", "intermediate_outputs/modified_load_p.tif", "t",
             lambda v, a: v * a / 10000.0 / 1000.0, path2="p_surface_export.tif"),
    Variable("carbon_storage", "carbon", "c_storage_bas.tif", "t C",
             lambda v, a: v * a / 10000.0),
]


BY_NAME = {v.name: v for v in VARIABLES}


def lattice_offset(sub: Grid, grid: Grid, path) -> tuple[int, int]:
    """(row, col) offset of ``sub`` inside ``grid``; both must share CRS, pixel size and
    lattice (InVEST clips some outputs to the watershed's bounding box, on the same lattice)."""
    from pyproj import CRS

    fix = ("InVEST outputs must lie on the inputs' grid; check that every input layer was "
           "written by `gep acquire`")
    if CRS.from_user_input(sub.crs) != CRS.from_user_input(grid.crs) or \
            abs(sub.pixel_size - grid.pixel_size) > 1e-9 * grid.pixel_size:
        raise InputDataError(path, "not on the basin grid of parties.tif (CRS or pixel size)",
                             fix)
    c = (sub.x0 - grid.x0) / grid.pixel_size
    r = (grid.y0 - sub.y0) / grid.pixel_size
    if abs(c - round(c)) > 1e-6 or abs(r - round(r)) > 1e-6:
        raise InputDataError(path, "not on the basin grid of parties.tif (shifted lattice)", fix)
    return int(round(r)), int(round(c))


def read_aligned(ds, grid: Grid, w) -> np.ma.MaskedArray:
    """Read the part of ``ds`` that covers basin-grid window ``w`` (masked where absent)."""
    sub = Grid(ds.crs.to_string(), ds.transform.c, ds.transform.f, ds.transform.a, ds.width,
               ds.height)
    r0, c0 = lattice_offset(sub, grid, ds.name)
    h, wd = int(w.height), int(w.width)
    out = np.ma.masked_all((h, wd), dtype=np.float64)
    # window rows/cols in the source's own pixel coordinates
    sr0, sc0 = int(w.row_off) - r0, int(w.col_off) - c0
    rs, re = max(sr0, 0), min(sr0 + h, ds.height)
    cs, ce = max(sc0, 0), min(sc0 + wd, ds.width)
    if rs < re and cs < ce:
        from rasterio.windows import Window

        part = ds.read(1, window=Window(cs, rs, ce - cs, re - rs), masked=True)
        out[rs - sr0:re - sr0, cs - sc0:ce - sc0] = part.astype(np.float64)
    return out


def read_parties_table(path: str | Path) -> pd.DataFrame:
    """``parties.csv`` (index,party_id,...) checked: unique positive indexes and ids."""
    from gep.tables import read_table

    rows, seen_idx, seen_id = [], {}, {}
    for r in read_table(path, ("index", "party_id"), "parties table"):
        idx = r.integer("index", "a positive whole number (the party's value in parties.tif)")
        if not 1 <= idx <= 255:
            raise r.error("index", f"index {idx} is outside 1-255", "number the parties 1, 2, "
                          "... as in parties.tif")
        pid = r.text("party_id", "party id")
        for key, seen, field in ((idx, seen_idx, "index"), (pid, seen_id, "party_id")):
            if key in seen:
                raise r.error(field, f"{field} {key} is used twice (first on line "
                              f"{seen[key]})", f"give every party its own {field}")
            seen[key] = r.line
        rows.append((idx, pid))
    if not rows:
        raise InputDataError(str(path), "no parties", "add one row per party")
    return pd.DataFrame(rows, columns=["index", "party_id"])


def zonal_year(year: int, inputs_dir: Path, parties_tif: Path, parties_csv: Path,
               workspaces: dict[str, Path], out_csv: Path,
               input_files: dict[str, Path] | None = None) -> Path:
    """Write ``year,party_id,lucode,variable,quantity,unit,nodata_pixels`` for one year.

    ``input_files`` replaces files of ``inputs_dir`` by name (e.g. ``precipitation.tif`` by
    the reference climate's) for the variables read from the inputs."""
    inputs_dir = Path(inputs_dir)
    parties = read_parties_table(parties_csv)
    n_party = int(parties["index"].max()) + 1
    grid = Grid.from_raster(parties_tif)
    area = grid.pixel_area_m2
    lut = np.full(256, -1, np.int64)
    lut[LUCODES] = np.arange(len(LUCODES))
    n_lc = len(LUCODES)
    nbins = n_party * n_lc

    sources: dict[str, tuple[Path, Path | None]] = {}
    for v in VARIABLES:
        if v.model is None:
            sources[v.name] = (Path((input_files or {}).get(v.path, inputs_dir / v.path)), None)
        elif v.model in workspaces:
            ws = Path(workspaces[v.model])
            sources[v.name] = (ws / v.path, ws / v.path2 if v.path2 else None)
    for name, (p, p2) in sources.items():
        for q in (p, p2):
            if q is None:
                continue
            if not q.exists():
                raise InputDataError(q, f"missing (needed for '{name}')",
                                     "re-run the model that writes it")
            lattice_offset(Grid.from_raster(q), grid, q)

    sums = {name: np.zeros(nbins) for name in ["area", *sources]}
    nodata = {name: np.zeros(nbins, np.int64) for name in sources}
    handles = {}
    try:
        lc_ds = rasterio.open(inputs_dir / "landcover.tif")
        pa_ds = rasterio.open(parties_tif)
        for name, (p, p2) in sources.items():
            handles[name] = (rasterio.open(p), rasterio.open(p2) if p2 else None)
        for w in progress(list(iter_windows(grid)), desc=f"zonal {year}", unit="strip"):
            lc = lc_ds.read(1, window=w)
            pa = pa_ds.read(1, window=w).astype(np.int64)
            lci = lut[lc]
            unknown = (lc != LANDCOVER_NODATA) & (lci < 0) & (pa > 0)
            if unknown.any():
                raise InputDataError(inputs_dir / "landcover.tif",
                                     f"land-cover code {int(lc[unknown][0])} is not a WorldCover "
                                     "code", "map it with landcover_legend")
            ok = (pa > 0) & (lci >= 0)
            idx = (pa * n_lc + lci)[ok]
            sums["area"] += np.bincount(idx, minlength=nbins) * (area / 10000.0)
            vals = {}
            for name, (ds, ds2) in handles.items():
                val = read_aligned(ds, grid, w)
                if ds2 is not None:
                    val = val - read_aligned(ds2, grid, w)
                vals[name] = val
            for name, val in vals.items():
                var = BY_NAME[name]
                if var.same_pixels_as in vals:
                    val = np.ma.masked_where(np.ma.getmaskarray(vals[var.same_pixels_as]), val)
                bad = np.ma.getmaskarray(val) | ~np.isfinite(val.filled(0))
                good = ok & ~bad
                q = var.scale(val.filled(0.0)[good], area)
                sums[name] += np.bincount((pa * n_lc + lci)[good], weights=q, minlength=nbins)
                nodata[name] += np.bincount((pa * n_lc + lci)[ok & bad], minlength=nbins)
    finally:
        for a, b in handles.values():
            a.close()
            if b is not None:
                b.close()
        if "lc_ds" in locals():
            lc_ds.close()
        if "pa_ds" in locals():
            pa_ds.close()

    ids = dict(zip(parties["index"], parties["party_id"]))
    units = {v.name: v.unit for v in VARIABLES} | {"area": "ha"}
    rows = []
    for name, arr in sums.items():
        for b in np.flatnonzero(sums["area"] > 0):
            p, li = divmod(int(b), n_lc)
            rows.append((year, ids[p], int(LUCODES[li]), name, repr(float(arr[b])), units[name],
                         int(nodata[name][b]) if name in nodata else 0))
    return write_csv(out_csv, ("year", "party_id", "lucode", "variable", "quantity", "unit",
                               "nodata_pixels"), rows)
