"""Per-party, per-land-cover zonal sums of InVEST outputs, block by block.

For one year, every pixel with a party label (``inputs/parties.tif``) and a valid land-cover
code adds its contribution to the ``(party, land cover)`` cell of each variable:

=======================  ===================================================  ========
variable                 per-pixel contribution                                unit
=======================  ===================================================  ========
area                     pixel area                                            ha
precipitation            P (mm) / 1000 x pixel area                            m3
water_yield              InVEST annual water yield (mm) / 1000 x A             m3
habitat_quality          InVEST habitat quality (0-1) x pixel area             ha
avoided_erosion          InVEST SDR avoided erosion (t/ha) x area (ha)         t
n_retained / p_retained  NDR modified load minus export (kg/ha) x ha / 1000    t
carbon_storage           InVEST carbon storage (t/ha) x area (ha)              t C
=======================  ===================================================  ========

Each model's adapter (``gep.models.<model_id>``) declares its variables: the workspace file
it reads, the unit and the scale (:attr:`gep.models.base.ModelAdapter.variables`).

Pixels where an InVEST output is nodata add nothing to that variable (and are counted in
``nodata_pixels`` so gaps are visible). Sums are accumulated in float64 with ``np.bincount``
over row strips, so memory stays flat however large the basin is. Because the parties raster
labels each pixel once, party totals add up exactly to the basin total.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from gep import models
from gep.errors import InputDataError
from gep.io import write_csv
from gep.log import progress
from gep.models.base import Variable  # noqa: F401  (defined there, re-exported here)
from gep.paths import Paths
from gep.sources.base import LANDCOVER_NODATA, Grid, iter_windows

LUCODES = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100])


#: every zonal variable, model by model (a snapshot of the registry, for old callers;
#: :func:`zonal_year` reads the registry itself)
VARIABLES = models.variables()


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


def read_aligned(ds, grid: Grid, w) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``ds`` that covers basin-grid window ``w``: values as float64 and a mask,
    True where the raster is nodata or does not reach (a plain pair, not a masked array: the
    zonal loop only needs the two, and numpy.ma's bookkeeping cost more than the sums)."""
    sub = Grid(ds.crs.to_string(), ds.transform.c, ds.transform.f, ds.transform.a, ds.width,
               ds.height)
    r0, c0 = lattice_offset(sub, grid, ds.name)
    h, wd = int(w.height), int(w.width)
    # window rows/cols in the source's own pixel coordinates
    sr0, sc0 = int(w.row_off) - r0, int(w.col_off) - c0
    rs, re = max(sr0, 0), min(sr0 + h, ds.height)
    cs, ce = max(sc0, 0), min(sc0 + wd, ds.width)
    if (rs, re, cs, ce) == (sr0, sr0 + h, sc0, sc0 + wd):  # the raster covers the window
        part = ds.read(1, window=Window(cs, rs, ce - cs, re - rs), masked=True)
        return part.data.astype(np.float64), np.ma.getmaskarray(part)
    values, masked = np.zeros((h, wd), np.float64), np.ones((h, wd), bool)
    if rs < re and cs < ce:
        part = ds.read(1, window=Window(cs, rs, ce - cs, re - rs), masked=True)
        inner = np.s_[rs - sr0:re - sr0, cs - sc0:ce - sc0]
        values[inner] = part.data
        masked[inner] = np.ma.getmaskarray(part)
    return values, masked


def read_parties_table(path: str | Path) -> dict[int, str]:
    """``parties.csv`` (index,party_id,...) checked: unique positive indexes and ids; index ->
    party_id in the file's order (a dict, not a DataFrame: the zonal job needs no pandas)."""
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
    return dict(rows)


ZONAL_HEADER = ("year", "party_id", "lucode", "variable", "quantity", "unit", "nodata_pixels")

#: (first raster, raster subtracted from it or None) of each variable
Sources = dict[str, tuple[Path, Path | None]]


def zonal_year(year: int, inputs_dir: Path, parties_tif: Path, parties_csv: Path,
               workspaces: dict[str, Path], out_csv: Path,
               input_files: dict[str, Path] | None = None) -> Path:
    """Write ``year,party_id,lucode,variable,quantity,unit,nodata_pixels`` for one year.

    ``input_files`` replaces layers of ``inputs_dir`` by name (e.g. ``precipitation`` or
    ``precipitation.tif`` by the reference climate's) for the variables read from the inputs."""
    inputs_dir = Path(inputs_dir)
    parties = read_parties_table(parties_csv)
    grid = Grid.from_raster(parties_tif)
    variables = models.variables()
    sources = variable_sources(variables, inputs_dir, workspaces, input_files)
    check_sources(sources, grid)
    bins = _Bins(max(parties) + 1, grid.pixel_area_m2)
    sums, nodata = accumulate(year, Paths.input_layer(inputs_dir, "landcover"), parties_tif,
                              grid, sources, variables, bins)
    units = {v.name: v.unit for v in variables} | {"area": "ha"}
    return write_csv(out_csv, ZONAL_HEADER, zonal_rows(year, parties, sums, nodata, units))


def variable_sources(variables: list[Variable], inputs_dir: Path, workspaces: dict[str, Path],
                     input_files: dict[str, Path] | None = None) -> Sources:
    """The rasters of each variable whose model has a workspace (input variables always)."""
    replaced = input_files or {}
    sources: Sources = {}
    for v in variables:
        if v.model is None:
            own = Paths.input_layer(inputs_dir, v.path)
            sources[v.name] = (Path(replaced.get(v.path, replaced.get(own.name, own))), None)
        elif v.model in workspaces:
            ws = Path(workspaces[v.model])
            sources[v.name] = (ws / v.path, ws / v.path2 if v.path2 else None)
    return sources


def check_sources(sources: Sources, grid: Grid) -> None:
    """Every raster exists and lies on the basin grid (before any pixel is summed)."""
    for name, (p, p2) in sources.items():
        for q in (p, p2):
            if q is None:
                continue
            if not q.exists():
                raise InputDataError(q, f"missing (needed for '{name}')",
                                     "re-run the model that writes it")
            lattice_offset(Grid.from_raster(q), grid, q)


class _Bins:
    """(party, land cover) bins: bin = party index x number of land covers + land-cover index."""

    def __init__(self, n_party: int, pixel_area_m2: float):
        self.n_lc = len(LUCODES)
        self.n = n_party * self.n_lc
        self.area = pixel_area_m2
        self.lut = np.full(256, -1, np.int64)
        self.lut[LUCODES] = np.arange(len(LUCODES))


def accumulate(year: int, landcover: Path, parties_tif: Path, grid: Grid, sources: Sources,
               variables: list[Variable], bins: _Bins) -> tuple[dict, dict]:
    """Sums (``area`` and every source) and nodata pixel counts per bin, strip by strip.

    Each strip's bin of every pixel is computed once and serves all variables; a variable's
    pixels count where its raster (and the one subtracted, and its ``same_pixels_as``
    variable's) has data and the value is finite, else they count as nodata."""
    by_name = {v.name: v for v in variables}
    sums = {name: np.zeros(bins.n) for name in ["area", *sources]}
    nodata = {name: np.zeros(bins.n, np.int64) for name in sources}
    with contextlib.ExitStack() as stack:
        lc_ds = stack.enter_context(rasterio.open(landcover))
        pa_ds = stack.enter_context(rasterio.open(parties_tif))
        handles = {name: (stack.enter_context(rasterio.open(p)),
                          stack.enter_context(rasterio.open(p2)) if p2 else None)
                   for name, (p, p2) in sources.items()}
        for w in progress(list(iter_windows(grid)), desc=f"zonal {year}", unit="strip"):
            pa, lci, ok = _strip_bins(lc_ds, pa_ds, w, bins, landcover)
            idx = pa * bins.n_lc + lci
            sums["area"] += np.bincount(idx[ok], minlength=bins.n) * (bins.area / 10000.0)
            vals = _strip_values(handles, grid, w)
            for name, (val, masked) in vals.items():
                var = by_name[name]
                if var.same_pixels_as in vals:
                    masked = masked | vals[var.same_pixels_as][1]
                bad = masked | ~np.isfinite(val)
                good = ok & ~bad
                q = var.scale(val[good], bins.area)
                sums[name] += np.bincount(idx[good], weights=q, minlength=bins.n)
                nodata[name] += np.bincount(idx[ok & bad], minlength=bins.n)
    return sums, nodata


def _strip_bins(lc_ds, pa_ds, w, bins: _Bins, landcover: Path):
    """Party labels, land-cover indexes and the pixels that count (labelled, known code)."""
    lc = lc_ds.read(1, window=w)
    pa = pa_ds.read(1, window=w).astype(np.int64)
    lci = bins.lut[lc]
    unknown = (lc != LANDCOVER_NODATA) & (lci < 0) & (pa > 0)
    if unknown.any():
        raise InputDataError(landcover, f"land-cover code {int(lc[unknown][0])} is not a "
                             "WorldCover code", "map it with landcover_legend")
    return pa, lci, (pa > 0) & (lci >= 0)


def _strip_values(handles: dict, grid: Grid, w) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each variable's (values, masked) over the strip (the difference for load-minus-export
    ones, masked where either raster is)."""
    vals = {}
    for name, (ds, ds2) in handles.items():
        val, masked = read_aligned(ds, grid, w)
        if ds2 is not None:
            val2, masked2 = read_aligned(ds2, grid, w)
            with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: counted as nodata
                val = val - val2
            masked = masked | masked2
        vals[name] = (val, masked)
    return vals


def zonal_rows(year: int, parties: dict[int, str], sums: dict, nodata: dict,
               units: dict[str, str]) -> list[tuple]:
    """Rows of the zonal table for every bin with area, variable by variable; ``parties``
    maps a parties.tif value to its party_id (:func:`read_parties_table`)."""
    n_lc = len(LUCODES)
    rows = []
    for name, arr in sums.items():
        for b in np.flatnonzero(sums["area"] > 0):
            p, li = divmod(int(b), n_lc)
            rows.append((year, parties[p], int(LUCODES[li]), name, repr(float(arr[b])), units[name],
                         int(nodata[name][b]) if name in nodata else 0))
    return rows
