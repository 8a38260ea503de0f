"""Fast surrogates of InVEST 3.20.2: annual water yield and habitat quality's last steps.

Why: a sweep of the seasonality constant Z over 30 values, a calibration or a Sobol analysis
would otherwise re-run InVEST hundreds of times, although only the last, pixel-wise equations
depend on those parameters. The surrogates re-apply exactly those equations, block by block
(numpy, float32 as InVEST does), to the aligned inputs InVEST already wrote in a workspace's
``intermediate/`` folder (or to the year's inputs, which lie on the same grid).

Annual water yield (``natcap.invest.annual_water_yield.fractp_op`` and ``wyield_op``), on the
pixels where every input is valid and P != 0 (nodata compared as InVEST does, ``isclose``)::

    PET   = Kc * ET0                       Kc, root depth, veg from the biophysical table
    phi   = Kc * ET0 / P                   (Kc x kc_scale, root depth x root_depth_scale)
    AWC   = min(root depth, soil depth) * PAWC
    w     = AWC / P * Z + 1.25, capped at 5
    AET/P = min(phi, 1 + PET/P - (1 + (PET/P)^w)^(1/w))    vegetated (lulc_veg = 1)
    AET/P = min(P, PET) / P                                  other classes
    yield = (1 - AET/P) * P                                  mm; -1 where invalid

Habitat quality (``_calculate_individual_degradation``, ``_calculate_total_degradation``,
``_calculate_habitat_quality``), from the filtered threat, sensitivity and access rasters::

    D = sum_r filtered_r * sens_r * (w_r / sum w) * access      (only when weights change)
    Q = H * (1 - D^2.5 / (D^2.5 + k^2.5))                       k: half-saturation constant

Every intermediate has InVEST's dtype (float32 arrays, Python-float parameters, float64 for
the normalised threat weight), so results agree with InVEST to the last bit or within an
ulp; :func:`compare` measures it per pixel and :func:`check_water_yield` /
:func:`check_habitat_quality` refuse a surrogate whose relative difference exceeds 1e-6.

Zonal sums (:meth:`WaterYieldSurrogate.zonal`) replicate :func:`gep.zonal.zonal_year` for the
``water_yield`` variable (same windows, same order of summation), for many parameter sets in
one pass over the rasters: that pass is what makes a 30-value sweep cost little more than one.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from rasterio.windows import Window

from gep.errors import InputDataError
from gep.models import annual_water_yield as _awy
from gep.models import habitat_quality as _hq
from gep.paths import Paths
from gep.sources.base import Grid, iter_windows

AWY = _awy.ID
HQ = _hq.ID
#: parameters the water-yield surrogate evaluates (everything else needs InVEST)
AWY_KEYS = ("seasonality_constant", "kc_scale", "root_depth_scale")
#: InVEST's output nodata for water yield (``nodata_dict['out_nodata']``)
AWY_NODATA = -1.0
#: InVEST habitat quality's scaling parameter z and its ``_OUT_NODATA``
HQ_SCALING = 2.5
HQ_OUT_NODATA = float(np.finfo(np.float32).min)
#: nodata pygeoprocessing.raster_map chooses for float32 outputs
F32_MAX = float(np.finfo(np.float32).max)
TOLERANCE = 1e-6

#: aligned inputs InVEST writes in a water-yield workspace, and the year's inputs they come from
WORKSPACE_INPUTS = {k: _awy.OUTPUTS[k] for k in ("lulc", "eto", "precip", "soil", "pawc")}
#: the same inputs as layers of the year's input folder
YEAR_LAYERS = {"lulc": "landcover", "eto": "reference_et", "precip": "precipitation",
               "soil": "root_restricting_depth", "pawc": "plant_available_water"}


class SurrogateError(InputDataError):
    """The surrogate cannot stand in for InVEST here (missing input, or it disagrees)."""


def _equals_nodata(array: np.ndarray, nodata) -> np.ndarray:
    """InVEST's nodata test (pygeoprocessing.array_equals_nodata): isclose for floats."""
    if nodata is None:
        return np.zeros(array.shape, dtype=bool)
    if np.issubdtype(array.dtype, np.integer):
        return array == nodata
    return np.isclose(array, nodata, equal_nan=True)


# -- reading ---------------------------------------------------------------------------------
def grid_of(ds) -> Grid:
    t = ds.transform
    return Grid(ds.crs.to_string(), t.c, t.f, t.a, ds.width, ds.height)


def read_window(ds, grid: Grid, w: Window, fill) -> np.ndarray:
    """Raw values (dtype kept) of ``ds`` over window ``w`` of ``grid``; ``fill`` where ``ds``
    does not reach (InVEST clips its aligned inputs to the watershed's bounding box)."""
    from gep.zonal import lattice_offset

    r0, c0 = lattice_offset(grid_of(ds), grid, ds.name)
    h, wd = int(w.height), int(w.width)
    dtype = ds.dtypes[0]
    out = np.full((h, wd), fill if fill is not None else 0, dtype=dtype)
    sr0, sc0 = int(w.row_off) - r0, int(w.col_off) - c0
    rs, re_ = max(sr0, 0), min(sr0 + h, ds.height)
    cs, ce = max(sc0, 0), min(sc0 + wd, ds.width)
    if rs < re_ and cs < ce:
        out[rs - sr0:re_ - sr0, cs - sc0:ce - sc0] = ds.read(
            1, window=Window(cs, rs, ce - cs, re_ - rs))
    return out


def _need(paths: dict[str, Path], what: str) -> None:
    for name, p in paths.items():
        if not Path(p).exists():
            raise SurrogateError(p, f"missing ({what} input '{name}')",
                                 "run the InVEST model once for this year (gep invest), or "
                                 "acquire the year's inputs (gep acquire)")


# -- the biophysical table ---------------------------------------------------------------------
@dataclass(frozen=True)
class Biophysical:
    """Kc, root depth and lulc_veg by land-cover code, read with InVEST's own table reader
    (same parsing, same float64 values) so the float32 lookups equal InVEST's rasters."""

    lucodes: np.ndarray
    kc: np.ndarray
    root_depth: np.ndarray
    veg: np.ndarray
    path: str

    @classmethod
    def read(cls, path: str | Path) -> "Biophysical":
        from natcap.invest.annual_water_yield import annual_water_yield as awy

        try:
            df = awy.MODEL_SPEC.get_input("biophysical_table_path").get_validated_dataframe(
                str(path))
        except Exception as exc:  # InVEST raises ValueError with its own wording
            raise InputDataError(path, f"not a valid biophysical table ({exc})",
                                 "give lucode, lulc_veg, root_depth and kc columns") from None
        return cls(df.index.to_numpy(np.int64), df["kc"].to_numpy(np.float64),
                   df["root_depth"].to_numpy(np.float64), df["lulc_veg"].to_numpy(np.int64),
                   str(path))

    @classmethod
    def read_csv(cls, path: str | Path) -> "Biophysical":
        """The same table read with pandas alone (no InVEST import, which costs seconds per
        process): numbers parsed with correct rounding (``float_precision='round_trip'``),
        as InVEST's reader parses them, so the lookups are the same float32 values."""
        try:
            df = pd.read_csv(path, float_precision="round_trip")
        except Exception as exc:
            raise InputDataError(path, f"not a readable CSV table ({exc})",
                                 "give lucode, lulc_veg, root_depth and kc columns") from None
        df.columns = [str(c).strip().lower() for c in df.columns]
        missing = [c for c in ("lucode", "lulc_veg", "root_depth", "kc") if c not in df.columns]
        if missing:
            raise InputDataError(path, f"column '{missing[0]}' is missing",
                                 "give lucode, lulc_veg, root_depth and kc columns",
                                 field=missing[0])
        return cls(df["lucode"].to_numpy(np.int64), df["kc"].to_numpy(np.float64),
                   df["root_depth"].to_numpy(np.float64), df["lulc_veg"].to_numpy(np.int64),
                   str(path))

    def luts(self, kc_scale: float = 1.0, root_depth_scale: float = 1.0, size: int = 256):
        """float32 lookup tables indexed by land-cover code, as InVEST's reclassified rasters:
        Kc (x kc_scale), root depth (x root_depth_scale; 1 for non-vegetated classes, as
        InVEST substitutes), veg; -1 (InVEST's nodata) for codes not in the table."""
        size = max(size, int(self.lucodes.max()) + 1)
        kc = np.full(size, AWY_NODATA, np.float32)
        root = np.full(size, AWY_NODATA, np.float32)
        veg = np.full(size, AWY_NODATA, np.float32)
        for code, k, r, v in zip(self.lucodes, self.kc, self.root_depth, self.veg):
            # float64 products (as InVEST parses a table written with these values), then the
            # float32 cast reclassify_raster makes
            kc[code] = np.float32(float(k) * kc_scale)
            root[code] = np.float32(float(r) * root_depth_scale) if v == 1 else np.float32(1)
            veg[code] = np.float32(v)
        return kc, root, veg


# -- the equations ----------------------------------------------------------------------------
def fractp(kc, eto, precip, root, soil, pawc, veg, z: float) -> np.ndarray:
    """AET / P on valid pixels (1-D float32 arrays), operation for operation as InVEST's
    ``fractp_op``. ``z`` must be a Python float (InVEST's preprocess casts it), so numpy
    treats it as a weak scalar and the arithmetic stays float32."""
    z = float(z)
    phi = (kc * eto) / precip
    pet = kc * eto
    awc = np.where(root < soil, root, soil) * pawc
    climate_w = ((awc / precip) * z) + 1.25
    climate_w[climate_w > 5] = 5
    aet_p = (1 + (pet / precip)) - ((1 + (pet / precip) ** climate_w) ** (1 / climate_w))
    veg_result = np.where(phi < aet_p, phi, aet_p)
    nonveg_result = kc * eto
    nonveg_mask = precip < kc * eto
    nonveg_result[nonveg_mask] = precip[nonveg_mask]
    nonveg_result_fract = nonveg_result / precip
    return np.where(veg == 1, veg_result, nonveg_result_fract).astype(np.float32, copy=False)


class _Terms:
    """Z-independent terms of ``fractp`` for one block and one (kc, root) lookup, computed
    with the same operations as InVEST so the per-Z part below gives identical bits."""

    __slots__ = ("phi", "pet_p", "awc_p", "veg", "nonveg", "precip")

    def __init__(self, kc, eto, precip, root, soil, pawc, veg):
        self.phi = (kc * eto) / precip
        pet = kc * eto
        self.pet_p = pet / precip
        awc = np.where(root < soil, root, soil) * pawc
        self.awc_p = awc / precip
        self.veg = veg == 1
        nonveg_result = kc * eto
        nonveg_mask = precip < kc * eto
        nonveg_result[nonveg_mask] = precip[nonveg_mask]
        self.nonveg = nonveg_result / precip
        self.precip = precip

    def wyield(self, z: float) -> np.ndarray:
        climate_w = (self.awc_p * float(z)) + 1.25
        climate_w[climate_w > 5] = 5
        aet_p = (1 + self.pet_p) - ((1 + self.pet_p ** climate_w) ** (1 / climate_w))
        veg_result = np.where(self.phi < aet_p, self.phi, aet_p)
        fp = np.where(self.veg, veg_result, self.nonveg).astype(np.float32, copy=False)
        return (1 - fp) * self.precip


@dataclass(frozen=True)
class WaterYieldParams:
    """One parameter set of the water-yield surrogate."""

    seasonality_constant: float
    kc_scale: float = 1.0
    root_depth_scale: float = 1.0

    @classmethod
    def from_mapping(cls, m: dict) -> "WaterYieldParams":
        return cls(float(m["seasonality_constant"]), float(m.get("kc_scale", 1.0)),
                   float(m.get("root_depth_scale", 1.0)))


@dataclass
class _Block:
    """Compressed valid pixels of one window (those inside a party with a known land cover
    and valid for InVEST), plus the window's counts of party pixels InVEST leaves nodata."""

    bins: np.ndarray
    li: np.ndarray
    eto: np.ndarray
    precip: np.ndarray
    soil: np.ndarray
    pawc: np.ndarray
    nodata_bins: np.ndarray


@dataclass
class WaterYieldSurrogate:
    """Annual water yield from aligned rasters (see the module docstring)."""

    rasters: dict[str, Path]
    table: Biophysical
    memory_mb: float = 2000.0
    _blocks: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_workspace(cls, workspace: str | Path, biophysical_table: str | Path,
                       **kw) -> "WaterYieldSurrogate":
        """Read the aligned inputs an InVEST water-yield run wrote in ``intermediate/``."""
        ws = Path(workspace)
        rasters = {k: ws / v for k, v in WORKSPACE_INPUTS.items()}
        _need(rasters, "InVEST workspace")
        return cls(rasters, Biophysical.read(biophysical_table), **kw)

    @classmethod
    def from_inputs(cls, year_dir: str | Path, biophysical_table: str | Path,
                    **kw) -> "WaterYieldSurrogate":
        """Read a year's inputs (``results/<basin>/inputs/<year>/``) directly: they lie on the
        basin grid, which InVEST only clips to the watershed's bounding box."""
        d = Path(year_dir)
        rasters = {k: Paths.input_layer(d, v) for k, v in YEAR_LAYERS.items()}
        _need(rasters, "year")
        return cls(rasters, Biophysical.read(biophysical_table), **kw)

    @property
    def grid(self) -> Grid:
        return Grid.from_raster(self.rasters["lulc"])

    # -- per pixel ---------------------------------------------------------------------------
    def _open(self):
        return {k: rasterio.open(p) for k, p in self.rasters.items()}

    def _window_inputs(self, dss, grid: Grid, w: Window):
        raw = {k: read_window(ds, grid, w, ds.nodata) for k, ds in dss.items()}
        nod = {k: ds.nodata for k, ds in dss.items()}
        lulc = raw["lulc"]
        lulc_bad = _equals_nodata(lulc, nod["lulc"])
        codes = lulc.astype(np.int64)
        known = np.isin(codes, self.table.lucodes)
        unknown = ~lulc_bad & ~known
        if unknown.any():
            raise SurrogateError(self.rasters["lulc"], f"land-cover code {int(codes[unknown][0])}"
                                 f" is not in the biophysical table {self.table.path}",
                                 "add a row for it (InVEST would stop here too)")
        li = np.where(lulc_bad, -1, codes)
        return raw, nod, li

    @staticmethod
    def _valid(raw, nod, li, kc_lut, root_lut, veg_lut) -> np.ndarray:
        """InVEST's ``valid_mask`` in fractp_op (Kc/root/veg are -1 where lulc is nodata)."""
        bad = li < 0
        kc = np.where(bad, np.float32(AWY_NODATA), kc_lut[np.maximum(li, 0)])
        root = np.where(bad, np.float32(AWY_NODATA), root_lut[np.maximum(li, 0)])
        veg = np.where(bad, np.float32(AWY_NODATA), veg_lut[np.maximum(li, 0)])
        valid = (~_equals_nodata(kc, AWY_NODATA) & ~_equals_nodata(root, AWY_NODATA)
                 & ~_equals_nodata(veg, AWY_NODATA) & ~_equals_nodata(raw["precip"], 0))
        for k in ("eto", "precip", "soil", "pawc"):
            valid &= ~_equals_nodata(raw[k], nod[k])
        return valid

    def array(self, params: WaterYieldParams | dict, grid: Grid | None = None,
              window: Window | None = None) -> np.ndarray:
        """Per-pixel water yield (mm, float32, -1 = nodata) on ``grid`` (default: the grid of
        the surrogate's rasters), like InVEST's per-pixel water yield."""
        p = params if isinstance(params, WaterYieldParams) else \
            WaterYieldParams.from_mapping(params)
        grid = grid or self.grid
        window = window or Window(0, 0, grid.width, grid.height)
        luts = self.table.luts(p.kc_scale, p.root_depth_scale)
        dss = self._open()
        try:
            raw, nod, li = self._window_inputs(dss, grid, window)
        finally:
            for ds in dss.values():
                ds.close()
        valid = self._valid(raw, nod, li, *luts)
        kc_lut, root_lut, veg_lut = luts
        lv = li[valid]
        fp = fractp(kc_lut[lv], raw["eto"][valid], raw["precip"][valid], root_lut[lv],
                    raw["soil"][valid], raw["pawc"][valid], veg_lut[lv],
                    p.seasonality_constant)
        out = np.full(valid.shape, np.float32(AWY_NODATA), np.float32)
        out[valid] = (1 - fp) * raw["precip"][valid]
        return out

    def write(self, path: str | Path, params: WaterYieldParams | dict, **creation) -> Path:
        """Write the per-pixel water yield (mm) on the surrogate's grid, block by block;
        ``creation`` overrides GeoTIFF creation options (e.g. ``compress="zstd"``)."""
        from gep.io import atomic_path

        grid = self.grid
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", **(grid.profile("float32", AWY_NODATA) | creation)) \
                    as dst:
                for w in iter_windows(grid):
                    dst.write(self.array(params, grid, w), 1, window=w)
        return Path(path)

    # -- zonal sums --------------------------------------------------------------------------
    def _iter_blocks(self, parties_tif: Path, landcover_tif: Path) -> Iterator[_Block]:
        """Windows of the parties grid (as gep.zonal.zonal_year iterates them), compressed to
        the pixels that count; cached in memory when they fit in ``memory_mb``."""
        key = (str(parties_tif), str(landcover_tif))
        if key in self._blocks:
            yield from self._blocks[key]
            return
        from gep.sources.base import LANDCOVER_NODATA
        from gep.zonal import LUCODES

        grid = Grid.from_raster(parties_tif)
        lut = np.full(256, -1, np.int64)
        lut[LUCODES] = np.arange(len(LUCODES))
        n_lc = len(LUCODES)
        kc_lut, root_lut, veg_lut = self.table.luts()
        budget = self.memory_mb * 1e6
        kept: list[_Block] | None = []
        used = 0.0
        dss = self._open()
        try:
            with rasterio.open(landcover_tif) as lc_ds, rasterio.open(parties_tif) as pa_ds:
                for w in iter_windows(grid):
                    lc = lc_ds.read(1, window=w)
                    pa = pa_ds.read(1, window=w).astype(np.int64)
                    lci = lut[lc]
                    unknown = (lc != LANDCOVER_NODATA) & (lci < 0) & (pa > 0)
                    if unknown.any():
                        raise SurrogateError(landcover_tif, f"land-cover code "
                                             f"{int(lc[unknown][0])} is not a WorldCover code",
                                             "map it with landcover_legend")
                    ok = (pa > 0) & (lci >= 0)
                    raw, nod, li = self._window_inputs(dss, grid, w)
                    valid = self._valid(raw, nod, li, kc_lut, root_lut, veg_lut)
                    bins = pa * n_lc + lci
                    good = ok & valid
                    blk = _Block(bins[good].astype(np.int32), li[good].astype(np.int16),
                                 raw["eto"][good], raw["precip"][good], raw["soil"][good],
                                 raw["pawc"][good], bins[ok & ~valid].astype(np.int32))
                    if kept is not None:
                        used += sum(a.nbytes for a in (blk.bins, blk.li, blk.eto, blk.precip,
                                                       blk.soil, blk.pawc, blk.nodata_bins))
                        if used <= budget:
                            kept.append(blk)
                        else:
                            kept = None
                    yield blk
        finally:
            for ds in dss.values():
                ds.close()
        if kept is not None:
            self._blocks[key] = kept

    def zonal_sums(self, params_list: Sequence[WaterYieldParams | dict], parties_tif: Path,
                   landcover_tif: Path, n_bins: int, pixel_area: float, threads: int = 1):
        """Water-yield volume (m3) per zonal bin (party x land cover) for each parameter set,
        and the bins' counts of nodata pixels: arrays ``(len(params_list), n_bins)``.

        With ``threads > 1`` and the compressed blocks in memory, parameter sets are shared
        among threads (numpy releases the GIL); each set still sums its blocks in order, so
        results do not depend on the number of threads."""
        ps = [p if isinstance(p, WaterYieldParams) else WaterYieldParams.from_mapping(p)
              for p in params_list]
        sums = np.zeros((len(ps), n_bins))
        nodata = np.zeros((len(ps), n_bins), np.int64)
        blocks = self._iter_blocks(parties_tif, landcover_tif)
        if threads > 1 and len(ps) > 1:
            blocks = list(blocks)
            if self._blocks.get((str(parties_tif), str(landcover_tif))) is not None:
                from concurrent.futures import ThreadPoolExecutor

                parts = [list(a) for a in np.array_split(np.arange(len(ps)), threads) if len(a)]
                with ThreadPoolExecutor(len(parts)) as ex:
                    list(ex.map(lambda idx: self._accumulate(blocks, ps, idx, sums, nodata,
                                                             n_bins, pixel_area), parts))
                return sums, nodata
            blocks = self._iter_blocks(parties_tif, landcover_tif)   # too big to keep
        self._accumulate(blocks, ps, range(len(ps)), sums, nodata, n_bins, pixel_area)
        return sums, nodata

    def _accumulate(self, blocks, ps, idx, sums, nodata, n_bins, pixel_area) -> None:
        groups: dict[tuple[float, float], list[int]] = {}
        for i in idx:
            groups.setdefault((ps[i].kc_scale, ps[i].root_depth_scale), []).append(i)
        luts = {g: self.table.luts(*g) for g in groups}
        for blk in blocks:
            li = blk.li.astype(np.int64)
            nb = np.bincount(blk.nodata_bins, minlength=n_bins) if blk.nodata_bins.size else 0
            for g, members in groups.items():
                kc_lut, root_lut, veg_lut = luts[g]
                terms = _Terms(kc_lut[li], blk.eto, blk.precip, root_lut[li], blk.soil,
                               blk.pawc, veg_lut[li])
                for i in members:
                    wy = terms.wyield(ps[i].seasonality_constant).astype(np.float64)
                    fin = np.isfinite(wy)
                    q = wy[fin] / 1000.0 * pixel_area
                    sums[i] += np.bincount(blk.bins[fin], weights=q, minlength=n_bins)
                    nodata[i] += nb
                    if not fin.all():
                        nodata[i] += np.bincount(blk.bins[~fin], minlength=n_bins)

    def zonal(self, year: int, inputs_dir: str | Path, parties_tif: str | Path,
              parties_csv: str | Path, params_list: Sequence[WaterYieldParams | dict],
              threads: int = 1) -> list[pd.DataFrame]:
        """For each parameter set, the ``water_yield`` rows of :func:`gep.zonal.zonal_year`
        (``year,party_id,lucode,variable,quantity,unit,nodata_pixels``)."""
        return _zonal_frames(year, inputs_dir, parties_tif, parties_csv, "water_yield", "m3",
                             lambda nb, area: self.zonal_sums(
                                 params_list, Path(parties_tif),
                                 Paths.input_layer(inputs_dir, "landcover"), nb, area,
                                 threads))


def _zonal_frames(year, inputs_dir, parties_tif, parties_csv, variable, unit, compute
                  ) -> list[pd.DataFrame]:
    """Rows like zonal_year's for one variable, for bins with area > 0 (zonal_year's rule)."""
    from gep.zonal import LUCODES

    parties = pd.read_csv(parties_csv)
    n_party = int(parties["index"].max()) + 1
    n_lc = len(LUCODES)
    nbins = n_party * n_lc
    grid = Grid.from_raster(parties_tif)
    area_bins = _area_bins(Paths.input_layer(inputs_dir, "landcover"), Path(parties_tif), n_lc,
                           nbins)
    sums, nodata = compute(nbins, grid.pixel_area_m2)
    ids = dict(zip(parties["index"], parties["party_id"]))
    present = np.flatnonzero(area_bins > 0)
    p_idx, l_idx = np.divmod(present, n_lc)
    out = []
    for s, n in zip(sums, nodata):
        out.append(pd.DataFrame({
            "year": year, "party_id": [ids[int(p)] for p in p_idx],
            "lucode": LUCODES[l_idx].astype(int), "variable": variable,
            "quantity": s[present], "unit": unit, "nodata_pixels": n[present].astype(int)}))
    return out


def _area_bins(landcover_tif: Path, parties_tif: Path, n_lc: int, nbins: int) -> np.ndarray:
    from gep.zonal import LUCODES

    lut = np.full(256, -1, np.int64)
    lut[LUCODES] = np.arange(len(LUCODES))
    counts = np.zeros(nbins, np.int64)
    grid = Grid.from_raster(parties_tif)
    with rasterio.open(landcover_tif) as lc_ds, rasterio.open(parties_tif) as pa_ds:
        for w in iter_windows(grid):
            lci = lut[lc_ds.read(1, window=w)]
            pa = pa_ds.read(1, window=w).astype(np.int64)
            ok = (pa > 0) & (lci >= 0)
            counts += np.bincount((pa * n_lc + lci)[ok], minlength=nbins)
    return counts


# -- habitat quality --------------------------------------------------------------------------
@dataclass(frozen=True)
class Threat:
    name: str
    decay: str
    weight: float


@dataclass(frozen=True)
class HabitatParams:
    """One parameter set of the habitat-quality surrogate: k and (optionally) new weights."""

    half_saturation_constant: float
    weights: tuple[tuple[str, float], ...] | None = None


def read_threats(path: str | Path) -> list[Threat]:
    """Threats in table order, read with InVEST's reader (its order is the order InVEST sums
    the degradation rasters in)."""
    from natcap.invest.habitat_quality import habitat_quality as hqm

    # InVEST evaluates which path columns are required from the scenario arguments
    args = {"lulc_cur_path": "cur", "lulc_fut_path": "", "lulc_bas_path": ""}
    df = hqm.MODEL_SPEC.get_input("threats_table_path").get_validated_dataframe(
        str(path), args=args).fillna("")
    return [Threat(str(t), str(r["decay"]), float(r["weight"])) for t, r in df.iterrows()]


@dataclass
class HabitatQualitySurrogate:
    """Habitat quality from an InVEST habitat-quality workspace (current scenario)."""

    workspace: Path
    threats: list[Threat]

    @classmethod
    def from_workspace(cls, workspace: str | Path,
                       threats_table: str | Path | None = None) -> "HabitatQualitySurrogate":
        ws = Path(workspace)
        table = Path(threats_table) if threats_table else _hq.ADAPTER.output(ws, "threats_table")
        threats = read_threats(table)
        s = cls(ws, threats)
        _need(s._paths(with_threats=True), "InVEST habitat-quality workspace")
        return s

    def _paths(self, with_threats: bool) -> dict[str, Path]:
        ws, out = self.workspace, _hq.ADAPTER.output
        p = {"habitat": out(ws, "habitat"), "deg_sum": out(ws, "degradation")}
        if with_threats:
            p["access"] = out(ws, "access")
            for t in self.threats:
                p[f"filtered:{t.name}"] = out(ws, "filtered", decay=t.decay, threat=t.name)
                p[f"sens:{t.name}"] = out(ws, "sensitivity", threat=t.name)
        return p

    @property
    def grid(self) -> Grid:
        return Grid.from_raster(_hq.ADAPTER.output(self.workspace, "degradation"))

    def _quality(self, raw, nod, params: HabitatParams):
        """(quality float32, valid mask) for one window."""
        if params.weights is not None:
            weights = dict(params.weights)
            w_all = np.array([weights.get(t.name, t.weight) for t in self.threats], np.float64)
            w_sum = w_all.sum()
            indiv, ok = [], np.ones(raw["habitat"].shape, bool)
            for t, w in zip(self.threats, w_all):
                f, s, a = raw[f"filtered:{t.name}"], raw[f"sens:{t.name}"], raw["access"]
                v = (~_equals_nodata(f, nod[f"filtered:{t.name}"])
                     & ~_equals_nodata(s, nod[f"sens:{t.name}"])
                     & ~_equals_nodata(a, nod["access"]))
                deg = np.full(f.shape, np.float32(F32_MAX), np.float32)
                weight_avg = np.float64(w) / w_sum      # numpy float64, as InVEST's row/sum
                deg[v] = f[v] * s[v] * weight_avg * a[v]
                indiv.append(deg)
                ok &= ~_equals_nodata(deg, F32_MAX)
            deg_sum = np.full(ok.shape, np.float32(F32_MAX), np.float32)
            deg_sum[ok] = np.sum([d[ok] for d in indiv], axis=0)
            deg_nodata = F32_MAX
        else:
            deg_sum, deg_nodata = raw["deg_sum"], nod["deg_sum"]
        hab = raw["habitat"]
        valid = ~_equals_nodata(deg_sum, deg_nodata) & ~_equals_nodata(hab, nod["habitat"])
        ksq = float(params.half_saturation_constant) ** HQ_SCALING
        d, h = deg_sum[valid], hab[valid]
        q = np.full(valid.shape, np.float32(F32_MAX), np.float32)
        q[valid] = h * (1 - (d ** HQ_SCALING) / (d ** HQ_SCALING + ksq))
        return q, valid

    def _read(self, grid: Grid, w: Window, with_threats: bool):
        raw, nod = {}, {}
        for k, p in self._paths(with_threats).items():
            with rasterio.open(p) as ds:
                raw[k] = read_window(ds, grid, w, ds.nodata)
                nod[k] = ds.nodata
        return raw, nod

    def array(self, params: HabitatParams, grid: Grid | None = None,
              window: Window | None = None) -> np.ndarray:
        """Per-pixel habitat quality (float32, nodata float32 max) like ``quality_c.tif``."""
        grid = grid or self.grid
        window = window or Window(0, 0, grid.width, grid.height)
        raw, nod = self._read(grid, window, params.weights is not None)
        return self._quality(raw, nod, params)[0]

    def zonal(self, year: int, inputs_dir: str | Path, parties_tif: str | Path,
              parties_csv: str | Path, params_list: Sequence[HabitatParams],
              threads: int = 1) -> list[pd.DataFrame]:
        """``habitat_quality`` rows of zonal_year (ha, quality-weighted) per parameter set
        (``threads`` is accepted for symmetry; the pass is read-bound)."""
        from gep.zonal import LUCODES

        def compute(nbins, area):
            grid = Grid.from_raster(parties_tif)
            lut = np.full(256, -1, np.int64)
            lut[LUCODES] = np.arange(len(LUCODES))
            n_lc = len(LUCODES)
            sums = np.zeros((len(params_list), nbins))
            nodata = np.zeros((len(params_list), nbins), np.int64)
            with_threats = any(p.weights is not None for p in params_list)
            with rasterio.open(Paths.input_layer(inputs_dir, "landcover")) as lc_ds, \
                    rasterio.open(parties_tif) as pa_ds:
                for w in iter_windows(grid):
                    lci = lut[lc_ds.read(1, window=w)]
                    pa = pa_ds.read(1, window=w).astype(np.int64)
                    ok = (pa > 0) & (lci >= 0)
                    bins = pa * n_lc + lci
                    raw, nod = self._read(grid, w, with_threats)
                    for i, p in enumerate(params_list):
                        q, valid = self._quality(raw, nod, p)
                        q64 = q.astype(np.float64)
                        good = ok & valid & np.isfinite(q64)
                        sums[i] += np.bincount(bins[good], weights=q64[good] * area / 10000.0,
                                               minlength=nbins)
                        nodata[i] += np.bincount(bins[ok & ~good], minlength=nbins)
            return sums, nodata

        return _zonal_frames(year, inputs_dir, parties_tif, parties_csv, "habitat_quality",
                             "ha", compute)


# -- validation against InVEST ----------------------------------------------------------------
@dataclass(frozen=True)
class Check:
    """Per-pixel comparison of a surrogate with InVEST's raster."""

    model: str
    year: int | None
    params: dict
    invest_raster: str
    n_pixels: int
    mask_mismatch: int
    max_abs_diff: float
    max_rel_diff: float
    tolerance: float = TOLERANCE

    @property
    def ok(self) -> bool:
        return self.mask_mismatch == 0 and self.max_rel_diff < self.tolerance

    def as_dict(self) -> dict:
        return {"model": self.model, "year": self.year, "params": self.params,
                "invest_raster": self.invest_raster, "n_pixels": self.n_pixels,
                "mask_mismatch": self.mask_mismatch, "max_abs_diff": self.max_abs_diff,
                "max_rel_diff": self.max_rel_diff, "tolerance": self.tolerance, "ok": self.ok}


def compare(candidate: np.ndarray, invest_tif: str | Path, candidate_grid: Grid,
            nodata_candidate: float) -> tuple[int, int, float, float]:
    """Compare ``candidate`` (on ``candidate_grid``) with an InVEST raster over the InVEST
    raster's extent: (valid pixels, nodata-mask mismatches, max |a-b|, max |a-b|/|b|).

    Where InVEST's value is exactly 0 the relative difference is |a| (a zero must stay 0)."""
    with rasterio.open(invest_tif) as ds:
        ref = ds.read(1)
        ref_nodata = ds.nodata
        inv_grid = grid_of(ds)
    from gep.zonal import lattice_offset

    r0, c0 = lattice_offset(inv_grid, candidate_grid, invest_tif)
    if r0 < 0 or c0 < 0 or r0 + inv_grid.height > candidate_grid.height or \
            c0 + inv_grid.width > candidate_grid.width:
        raise SurrogateError(invest_tif, "extends beyond the surrogate's grid",
                             "build the surrogate from the same workspace or year")
    cand = candidate[r0:r0 + inv_grid.height, c0:c0 + inv_grid.width]
    m_ref = _equals_nodata(ref, ref_nodata) | ~np.isfinite(ref)
    m_cand = _equals_nodata(cand, nodata_candidate) | ~np.isfinite(cand)
    both = ~m_ref & ~m_cand
    a, b = cand[both].astype(np.float64), ref[both].astype(np.float64)
    diff = np.abs(a - b)
    rel = np.where(b != 0, diff / np.where(b != 0, np.abs(b), 1.0), diff)
    return (int(both.sum()), int((m_ref != m_cand).sum()),
            float(diff.max()) if diff.size else 0.0, float(rel.max()) if rel.size else 0.0)


def check_water_yield(surrogate: WaterYieldSurrogate, invest_workspace: str | Path,
                      params: WaterYieldParams | dict, year: int | None = None,
                      tolerance: float = TOLERANCE) -> Check:
    """Compare the surrogate with the per-pixel water yield of an InVEST run made with
    ``params``; the returned :class:`Check` says whether it passes (see :func:`require`)."""
    p = params if isinstance(params, WaterYieldParams) else WaterYieldParams.from_mapping(params)
    tif = _awy.ADAPTER.output(invest_workspace, "water_yield")
    if not tif.exists():
        raise SurrogateError(tif, "missing", "re-run InVEST annual water yield")
    grid = surrogate.grid
    arr = np.concatenate([surrogate.array(p, grid, w) for w in iter_windows(grid)], axis=0)
    n, mm, da, dr = compare(arr, tif, grid, AWY_NODATA)
    return Check(AWY, year, p.__dict__.copy(), str(tif), n, mm, da, dr, tolerance)


def check_habitat_quality(surrogate: HabitatQualitySurrogate, invest_workspace: str | Path,
                          params: HabitatParams, year: int | None = None,
                          tolerance: float = TOLERANCE) -> Check:
    tif = _hq.ADAPTER.output(invest_workspace, "quality")
    if not tif.exists():
        raise SurrogateError(tif, "missing", "re-run InVEST habitat quality")
    grid = surrogate.grid
    arr = np.concatenate([surrogate.array(params, grid, w) for w in iter_windows(grid)], axis=0)
    n, mm, da, dr = compare(arr, tif, grid, F32_MAX)
    d = {"half_saturation_constant": params.half_saturation_constant}
    if params.weights:
        d.update({f"threats.{k}.weight": v for k, v in params.weights})
    return Check(HQ, year, d, str(tif), n, mm, da, dr, tolerance)


def require(check: Check) -> Check:
    """Raise :class:`SurrogateError` unless the surrogate matches InVEST per pixel."""
    if not check.ok:
        what = (f"{check.mask_mismatch} pixels differ in nodata" if check.mask_mismatch else
                f"max relative difference {check.max_rel_diff:.3g} >= {check.tolerance:g}")
        raise SurrogateError(check.invest_raster, f"the {check.model} surrogate disagrees with "
                             f"InVEST ({what}; params {check.params}, year {check.year})",
                             "run without --surrogate (InVEST for every value) and report this")
    return check


def speedup(invest_seconds: float, surrogate_seconds: float) -> float:
    return invest_seconds / surrogate_seconds if surrogate_seconds > 0 else math.inf
