"""SDR and NDR under the reference climate without running InVEST again.

The climate enters both models only through pixel-wise steps, so the reference run needs the
actual run's intermediates plus the reference climate layer, pushed through InVEST's *own*
functions (the installed ``natcap.invest``), in InVEST's order:

- SDR: erosivity R enters RKLS = LS x R x K (``sdr._calculate_rkls``) and USLE = RKLS x CP
  (``sdr.usle_op``); the valued ``avoided_erosion`` is RKLS - USLE. Flow routing, LS, CP,
  d_up, d_dn, IC and SDR do not depend on R.
- NDR: the runoff proxy enters only the runoff proxy index (``ndr._normalize_raster`` of the
  masked proxy), which scales the loads (``ndr._mult_op``); surface / subsurface loads and
  exports follow (``_map_surface_load``, ``_map_subsurface_load``, ``numpy.multiply``,
  ``_sum_op``). Effective retention, NDR and sub-NDR do not depend on the proxy.

The reference layer is aligned and masked as InVEST aligns the actual one (same resampling,
pixel size, projection, vector mask) onto the actual aligned raster's grid. Given the same
inputs the functions return the same floats, so the outputs equal a full InVEST run pixel for
pixel. Whenever that cannot be guaranteed -- an intermediate is missing, the actual run used
other arguments or another InVEST version, the reference layer's grid or valid pixels differ
from the year's (SDR's mutual mask, hence its flow routing, would change) --
:class:`Unavailable` says why and the caller runs InVEST instead.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gep import models
from gep.config import Config
from gep.errors import GepError
from gep.io import atomic_dir
from gep.paths import Paths

LOG = logging.getLogger(__name__)

class Unavailable(GepError):
    """The surrogate cannot reproduce InVEST exactly here (the message says why); the caller
    runs InVEST instead, so a user never sees it."""


def _run_args(cfg: Config, p: Paths, year: int, model: str) -> dict[str, Any]:
    """The actual run's InVEST arguments, checked against what the config builds now."""
    from gep.invest import _invest_version, build_args, model_params

    actual = p.workspace(year, model)
    record_path = actual / Paths.RUN_RECORD
    if not record_path.exists():
        raise Unavailable(f"{record_path} is missing")
    record = json.loads(record_path.read_text())
    if record.get("invest_version") != _invest_version():
        raise Unavailable(f"the actual run used InVEST {record.get('invest_version')}, "
                          f"installed is {_invest_version()}")
    args = record.get("args", {})
    fresh = build_args(model, p.year_dir(year), model_params(cfg, model), actual, year)
    fresh = json.loads(json.dumps(fresh))
    fresh.pop("workspace_dir")
    for key, value in fresh.items():
        if key != "n_workers" and args.get(key) != value:
            raise Unavailable(f"the actual run's {key} ({args.get(key)!r}) is not the "
                              f"config's ({value!r})")
    if args.get("results_suffix") or args.get("drainage_path"):
        raise Unavailable("the actual run has a results suffix or a drainage layer")
    return args


def _intermediates(p: Paths, year: int, model: str) -> dict[str, str]:
    """Absolute paths of the actual run's intermediates the surrogate reads."""
    ws = p.workspace(year, model)
    names = getattr(_adapter_module(model), "INTERMEDIATES", None)
    if not names:
        raise Unavailable(f"the {model} adapter names no intermediates")
    files = {k: ws / v for k, v in names.items()}
    missing = [str(f) for f in files.values() if not f.exists()]
    if missing:
        raise Unavailable(f"{missing[0]} is missing from the actual run")
    return {k: str(f) for k, f in files.items()}


def _adapter_module(model: str):
    import importlib

    return importlib.import_module(f"gep.models.{model}")


def _same_grid(a: str | Path, b: str | Path) -> bool:
    import pygeoprocessing

    ia, ib = pygeoprocessing.get_raster_info(str(a)), pygeoprocessing.get_raster_info(str(b))
    return all(ia[k] == ib[k] for k in ("raster_size", "geotransform", "projection_wkt"))


def _align_like(base: str, like: str, target: str, resample: str, pixel_size,
                scratch: Path, **kwargs) -> None:
    """``base`` aligned as InVEST aligned the year's layer into ``like`` (same grid)."""
    import pygeoprocessing

    bbox = pygeoprocessing.get_raster_info(like)["bounding_box"]
    pygeoprocessing.align_and_resize_raster_stack(
        [base], [target], [resample], pixel_size, list(bbox), working_dir=str(scratch),
        **kwargs)
    if not _same_grid(target, like):
        raise Unavailable(f"the reference layer does not align onto the grid of {like}")


def _same_valid_pixels(a: str, b: str) -> bool:
    """Whether rasters ``a`` and ``b`` (same grid) have nodata at the same pixels."""
    import pygeoprocessing
    from osgeo import gdal

    na = pygeoprocessing.get_raster_info(a)["nodata"][0]
    nb = pygeoprocessing.get_raster_info(b)["nodata"][0]
    ds = gdal.OpenEx(b, gdal.OF_RASTER)
    band = ds.GetRasterBand(1)
    for offset, block in pygeoprocessing.iterblocks((a, 1)):
        other = band.ReadAsArray(**offset)
        if not np.array_equal(pygeoprocessing.array_equals_nodata(block, na),
                              pygeoprocessing.array_equals_nodata(other, nb)):
            return False
    return True


def _sdr(args: dict, f: dict[str, str], reference: str, out: Callable[[str], Path],
         scratch: Path) -> None:
    """``avoided_erosion`` of the actual run's land cover under the reference erosivity."""
    import pygeoprocessing
    from natcap.invest.sdr import sdr

    dem = pygeoprocessing.get_raster_info(args["dem_path"])
    size = float(np.min(np.abs(dem["pixel_size"])))
    aligned = str(scratch / "aligned_erosivity.tif")
    _align_like(reference, f["aligned_erosivity"], aligned, "bilinear", (size, -size), scratch,
                target_projection_wkt=dem["projection_wkt"],
                mask_options={"mask_vector_path": args["watersheds_path"]})
    if not _same_valid_pixels(aligned, f["aligned_erosivity"]):
        # the mutual mask (hence the masked DEM and the flow routing) would change
        raise Unavailable("the reference erosivity is valid at other pixels than the year's")
    masked, rkls, usle = (str(scratch / n) for n in ("masked_erosivity.tif", "rkls.tif",
                                                      "usle.tif"))
    pygeoprocessing.raster_map(op=sdr._mask_single_raster_op, rasters=[aligned, f["mask"]],
                               target_path=masked)
    sdr._calculate_rkls(f["ls"], masked, f["masked_erodibility"], f["stream"], rkls)
    pygeoprocessing.raster_map(op=sdr.usle_op, rasters=[rkls, f["cp"]], target_path=usle)
    pygeoprocessing.raster_map(op=np.subtract, rasters=[rkls, usle],
                               target_path=str(out("avoided_erosion")))


def _runoff_proxy_index(args: dict, f: dict[str, str], reference: str, scratch: Path) -> str:
    """InVEST's runoff proxy index of the reference layer (proxy / its mean)."""
    import pygeoprocessing
    from natcap.invest.ndr import ndr
    from osgeo import gdal

    dem = pygeoprocessing.get_raster_info(args["dem_path"])
    aligned, masked, rpi = (str(scratch / n) for n in (
        "aligned_runoff_proxy.tif", "masked_runoff_proxy.tif", "runoff_proxy_index.tif"))
    _align_like(reference, f["aligned_runoff_proxy"], aligned, "near", dem["pixel_size"],
                scratch)
    ndr._mask_raster(source_raster_path=aligned, mask_raster_path=f["mask"],
                     target_masked_raster_path=masked, target_dtype=gdal.GDT_Float32,
                     target_nodata=ndr._TARGET_NODATA)
    mean = args.get("runoff_proxy_av")
    ndr._normalize_raster((masked, 1), rpi, user_provided_mean=float(mean) if mean else None)
    return rpi


def _ndr(args: dict, f: dict[str, str], reference: str, out: Callable[[str], Path],
         scratch: Path) -> None:
    """Modified loads and exports of N and P under the reference runoff proxy."""
    import pygeoprocessing
    from natcap.invest.ndr import ndr

    if not (args.get("calc_n") and args.get("calc_p")):
        raise Unavailable("the actual run did not compute both N and P")
    table = ndr.MODEL_SPEC.get_input("biophysical_table_path").get_validated_dataframe(
        args["biophysical_table_path"], args=args)
    rpi = _runoff_proxy_index(args, f, reference, scratch)
    nod = ndr._TARGET_NODATA
    n_surface = scratch / "n_surface_export.tif"
    for nutrient, export in (("n", n_surface), ("p", out("p_export"))):
        load = str(out(f"modified_load_{nutrient}"))
        pygeoprocessing.raster_map(op=ndr._mult_op, rasters=[f[f"load_{nutrient}"], rpi],
                                   target_path=load, target_nodata=nod)
        proportion = (table["proportion_subsurface_n"].to_dict() if nutrient == "n" else None)
        surface = str(scratch / f"surface_load_{nutrient}.tif")
        ndr._map_surface_load(load, f["masked_lulc"], proportion, surface)
        pygeoprocessing.raster_map(op=np.multiply, rasters=[surface, f[f"ndr_{nutrient}"]],
                                   target_path=str(export), target_nodata=nod)
    sub_load, sub_export = str(scratch / "sub_load_n.tif"), str(scratch / "n_sub_export.tif")
    ndr._map_subsurface_load(str(out("modified_load_n")), f["masked_lulc"],
                             table["proportion_subsurface_n"].to_dict(), sub_load)
    pygeoprocessing.raster_map(op=np.multiply, rasters=[sub_load, f["sub_ndr_n"]],
                               target_path=sub_export, target_nodata=nod)
    pygeoprocessing.raster_map(op=ndr._sum_op, rasters=[str(n_surface), sub_export],
                               target_path=str(out("n_export")), target_nodata=nod)


#: model id -> (the surrogate, the climate layer it replaces)
SURROGATES = {"sdr": (_sdr, "erosivity"), "ndr": (_ndr, "precipitation")}


def reference_surrogate(cfg: Config, p: Paths, year: int, model: str, workspace: Path) -> Path:
    """Write ``model``'s valued outputs of ``year``'s land cover under the reference climate
    into ``workspace`` (at the adapter's output paths) from the actual run's intermediates;
    raises :class:`Unavailable` (nothing written) when that would not equal InVEST."""
    from gep import invest

    func, layer = SURROGATES[model]
    args = _run_args(cfg, p, year, model)
    files = _intermediates(p, year, model)
    adapter = models.get(model)
    reference, year_layer = p.reference_file(layer), args[adapter.climate[layer]]
    if not _same_grid(reference, year_layer):
        raise Unavailable(f"{reference} is not on the grid of {year_layer}")
    with atomic_dir(workspace) as tmp:
        scratch = tmp / "scratch"
        scratch.mkdir()

        def out(key: str) -> Path:
            path = adapter.output(tmp, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            return path

        # written in the process's GeoTIFF codec (gep.models.gtiff: `gep reference` selects
        # models.gtiff_compression before pygeoprocessing is imported)
        # a reference layer already on the year's grid is aligned by a copy (near only)
        from gep.models import aligned_copy

        with aligned_copy.copied():
            func(args, files, str(reference), out, scratch)
        shutil.rmtree(scratch)
        (tmp / Paths.REFERENCE_RECORD).write_text(json.dumps(
            {"model": model, "year": year, "method": "surrogate",
             "reference_years": cfg.reference_years,
             "reused": {k: str(Path(v)) for k, v in files.items()},
             "inputs": {layer: str(reference)}, "invest_version": invest._invest_version()},
            indent=2))
    return workspace


def reference_run(cfg: Config, p: Paths, year: int, model: str, workspace: Path) -> str:
    """``model`` of ``year`` under the reference climate into ``workspace``: the surrogate
    where it is exact, else a full InVEST run (logged with the reason). Returns the method."""
    from gep.invest import model_params, run_model

    if model in SURROGATES:
        try:
            reference_surrogate(cfg, p, year, model, workspace)
            return "surrogate"
        except Unavailable as why:
            LOG.warning("reference %s %s: running InVEST again (%s)", model, year, why)
    climate = models.get(model).climate
    overrides = {arg: str(p.reference_file(name)) for name, arg in climate.items()}
    # no HTML report: nobody reads a reference run's, and InVEST spends CPU on making it
    run_model(model, p.year_dir(year), model_params(cfg, model), workspace, year, report=False,
              overrides=overrides)
    return "invest"
