"""DEM-only products computed once per basin and reused by SDR and NDR in every year.

SDR and NDR each fill the DEM's pits, compute slope, flow direction, flow accumulation, streams
and (SDR) the LS factor, (NDR) the distances to the channel, for every year, although the DEM
never changes. Here those steps are memoised by the **content** of their inputs:

* InVEST runs exactly as without reuse (``MODEL_SPEC.execute``, its own task graph, its own
  aligning and masking). While it runs, :func:`reuse` puts a memoising wrapper around the
  DEM-only functions it calls (``pygeoprocessing.routing.fill_pits``, ``flow_dir_mfd``, ...,
  ``sdr._calculate_ls_factor``, ``ndr.calculate_ic``; the full list is :data:`STEPS`).
* A step's key is the SHA-256 of: the function, its scalar arguments (threshold, ``l_max``,
  ``trace_threshold_proportion``, ... with defaults applied), the content digest of each input
  raster, and the versions of natcap.invest, pygeoprocessing, numpy and GDAL. A raster's content
  digest covers its data type, size, geotransform, projection, nodata and every pixel
  (:func:`raster_digest`) -- never its file name or modification time.
* The chain starts at ``fill_pits``, whose input is InVEST's *masked* DEM: the mask is the
  mutual valid mask of all of the model's inputs (land cover, erosivity, runoff proxy ...), so a
  year whose mask differs has a different masked DEM, hence a different key. Every other step is
  memoised only when all its raster inputs are products of this cache (their digests are known);
  anything depending on land cover or climate (``w``, ``ws_inverse``, loads ...) therefore runs
  as usual. One exception, a step whose land-cover inputs are *hashed* (``Step.hashed``):
  NDR's effective retention, keyed by the content of its retention-efficiency and
  critical-length rasters, so P's comes from N's when their parameters are equal and a re-run
  of a year routes neither.
* Products live in ``results/<basin>/invest/dem/<key>/`` (``Paths.dem_products``): the output
  rasters and ``manifest.json`` (function, arguments, input and output digests, versions, the
  CPU seconds the step took: a reuse reports them less its copying as saved). A
  folder is written with :func:`gep.io.atomic_dir` under an exclusive file lock
  (``.locks/<key>.lock``), so two jobs needing the same key compute it once and nobody ever
  reads a half-written folder. A hit copies the cached files to the paths InVEST asked for, so
  the workspace is byte for byte what InVEST would have written.

Because SDR's and NDR's flow direction are equal in content (their masked DEMs differ only in
the nodata value), flow accumulation, streams and what follows are shared between the models too.

With InVEST worker processes (``n_workers`` >= 1, taskgraph's forked pool) the wrapper travels
by pickle as a reference to the patched module attribute, and what one process placed is noted
in ``.placed/<run>/`` under the cache (path, inode, size, mtime and digest) for the others; the
notes go when the run ends. A file changed since it was placed is simply unknown again: the step
runs as usual. :class:`Stats` count the steps of the calling process only.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import importlib
import inspect
import json
import logging
import os
import shutil
import threading
import time
import types
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from gep.io import atomic_dir, write_json

LOG = logging.getLogger(__name__)

#: bump when the key's recipe changes, so older folders are never read as newer ones
SCHEME = "gep-dem-products/1"
MANIFEST = "manifest.json"
#: InVEST models whose runs are memoised
MODELS = ("sdr", "ndr")


@dataclass(frozen=True)
class Step:
    """A DEM-only function: where it lives, which arguments are input/output rasters."""

    module: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    root: bool = False          # inputs are hashed (the masked DEM), not looked up
    ignore: tuple[str, ...] = ("working_dir",)   # scratch space only; not part of the key
    #: inputs hashed when they are not products of the cache (land-cover rasters)
    hashed: tuple[str, ...] = ()


_R = "pygeoprocessing.routing"
STEPS: tuple[Step, ...] = (
    Step(_R, "fill_pits", ("dem_raster_path_band",), ("target_filled_dem_raster_path",),
         root=True),
    Step("pygeoprocessing", "calculate_slope", ("base_elevation_raster_path_band",),
         ("target_slope_path",)),
    Step(_R, "flow_dir_mfd", ("dem_raster_path_band",), ("target_flow_dir_path",)),
    Step(_R, "flow_dir_d8", ("dem_raster_path_band",), ("target_flow_dir_path",)),
    Step(_R, "flow_accumulation_mfd", ("flow_dir_mfd_raster_path_band", "weight_raster_path_band"),
         ("target_flow_accum_raster_path",)),
    Step(_R, "flow_accumulation_d8", ("flow_dir_raster_path_band", "weight_raster_path_band"),
         ("target_flow_accum_raster_path",)),
    Step(_R, "extract_streams_mfd", ("flow_accum_raster_path_band", "flow_dir_mfd_path_band"),
         ("target_stream_raster_path",)),
    Step(_R, "extract_streams_d8", ("flow_accum_raster_path_band",),
         ("target_stream_raster_path",)),
    Step(_R, "distance_to_channel_mfd", ("flow_dir_mfd_raster_path_band",
                                         "channel_raster_path_band", "weight_raster_path_band"),
         ("target_distance_to_channel_raster_path",)),
    Step(_R, "distance_to_channel_d8", ("flow_dir_d8_raster_path_band",
                                        "channel_raster_path_band", "weight_raster_path_band"),
         ("target_distance_to_channel_raster_path",)),
    Step("pygeoprocessing", "raster_map", ("rasters",), ("target_path",)),
    Step("natcap.invest.sdr.sdr", "_calculate_ls_factor", ("flow_accumulation_path",
                                                           "slope_path"),
         ("target_ls_factor_path",)),
    Step("natcap.invest.sdr.sdr", "_calculate_bar_factor",
         ("flow_direction_path", "factor_path", "flow_accumulation_path"),
         ("accumulation_path", "out_bar_path")),
    Step("natcap.invest.sdr.sdr", "_calculate_what_drains_to_stream",
         ("flow_dir_path", "dist_to_channel_path"), ("target_mask_path",)),
    Step("natcap.invest.ndr.ndr", "d_up_calculation", ("s_bar_path", "flow_accum_path"),
         ("target_d_up_path",)),
    Step("natcap.invest.ndr.ndr", "calculate_ic", ("d_up_path", "d_dn_path"),
         ("target_ic_path",)),
    # not DEM-only: NDR's effective retention routes the land cover's retention efficiency and
    # critical length (hashed) down the DEM's flow directions to its streams (products). Equal
    # inputs give the same raster: P's when P's parameters equal N's, every year's on a re-run.
    Step("natcap.invest.ndr.ndr_core", "ndr_eff_calculation",
         ("flow_direction_path", "stream_path", "retention_eff_lulc_path", "crit_len_path"),
         ("effective_retention_path",), hashed=("retention_eff_lulc_path", "crit_len_path")),
)


# --- content digests ---------------------------------------------------------------------

def raster_digest(path: str | os.PathLike, band: int = 1) -> str:
    """SHA-256 of a raster band's content: data type, size, geotransform, projection, nodata
    and every pixel, read block by block. Independent of the file's name, modification time,
    compression and tiling."""
    import numpy as np
    from osgeo import gdal

    ds = gdal.OpenEx(str(path), gdal.OF_RASTER)
    if ds is None:
        raise FileNotFoundError(errno.ENOENT, "not a raster", str(path))
    b = ds.GetRasterBand(band)
    h = hashlib.sha256()
    head = {"type": gdal.GetDataTypeName(b.DataType), "size": [ds.RasterXSize, ds.RasterYSize],
            "geotransform": list(ds.GetGeoTransform()), "projection": ds.GetProjection(),
            "nodata": repr(b.GetNoDataValue())}
    h.update(json.dumps(head, sort_keys=True).encode())
    bx, by = b.GetBlockSize()
    step = max(by, max(1, (1 << 22) // max(1, ds.RasterXSize)))   # ~4 M pixels per read
    for y0 in range(0, ds.RasterYSize, step):
        rows = min(step, ds.RasterYSize - y0)
        h.update(np.ascontiguousarray(b.ReadAsArray(0, y0, ds.RasterXSize, rows)).tobytes())
    return h.hexdigest()


#: digests of the products this process placed: (path, inode, size, mtime_ns) -> digest.
#: Only a memo of content already hashed; a file changed since is simply unknown again.
_KNOWN: dict[tuple, str] = {}
_KNOWN_LOCK = threading.Lock()


def _stat_key(path: str) -> tuple:
    st = os.stat(path)
    return (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns)


def _placed_note(path_key: tuple) -> Path | None:
    """Where worker processes of the same run find what another one placed (taskgraph with
    ``n_workers`` >= 1 runs steps in several processes)."""
    cache = _ACTIVE["cache"]
    if cache is None:
        return None
    return (cache.root / ".placed" / _ACTIVE["session"]
            / hashlib.sha256(path_key[0].encode()).hexdigest())


def _register(path: str, digest: str) -> None:
    key = _stat_key(path)
    with _KNOWN_LOCK:
        _KNOWN[key] = digest
    note = _placed_note(key)
    if note is not None:
        note.parent.mkdir(parents=True, exist_ok=True)
        write_json(note, {"stat": list(key), "digest": digest})


def _known(path: str) -> str | None:
    try:
        key = _stat_key(path)
    except OSError:
        return None
    with _KNOWN_LOCK:
        if key in _KNOWN:
            return _KNOWN[key]
    note = _placed_note(key)
    try:
        found = json.loads(note.read_text()) if note is not None else None
    except (OSError, ValueError):
        return None
    # the same file, unchanged since it was placed (else: unknown, and the step simply runs)
    return found["digest"] if found and tuple(found["stat"]) == key else None


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Versions of the libraries whose code computes the products (part of every key)."""
    from importlib.metadata import version

    from osgeo import gdal

    out = {"scheme": SCHEME, "gdal": gdal.__version__}
    for pkg in ("natcap.invest", "pygeoprocessing", "numpy"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # pragma: no cover - broken installation
            out[pkg] = "unknown"
    return out


# --- the cache -----------------------------------------------------------------------------

@dataclass
class Stats:
    """What one :func:`reuse` block did: steps served from the cache, computed, passed on."""

    reused: list[str] = field(default_factory=list)
    computed: list[str] = field(default_factory=list)
    #: CPU seconds the reused steps took when they were computed (their manifests'
    #: ``cpu_seconds``), less what serving them from the cache took: the time reuse saved
    saved_cpu_seconds: float = 0.0


class DemCache:
    """Content-keyed folders ``<root>/<key>/`` of DEM products, one per memoised step."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def folder(self, key: str) -> Path:
        return self.root / key

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Exclusive across processes and threads (one open file description each)."""
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{key}.lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def manifest(self, key: str) -> dict | None:
        f = self.folder(key) / MANIFEST
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError):
            return None

    def get_or_compute(self, key: str, compute: Callable[[Path], dict[str, Any]]
                       ) -> tuple[dict, bool]:
        """The manifest of ``key``, computing the folder with ``compute(tmp)`` (which returns
        the manifest, its files written into ``tmp``) if no one has. -> (manifest, computed)."""
        found = self.manifest(key)
        if found is not None:
            return found, False
        with self.lock(key):
            found = self.manifest(key)        # someone else computed it while we waited
            if found is not None:
                return found, False
            with atomic_dir(self.folder(key)) as tmp:
                man = compute(tmp)
                write_json(tmp / MANIFEST, man)
            return man, True


# --- the memoising wrapper ---------------------------------------------------------------------

class _State(threading.local):
    busy = False        # inside a computation: nested calls of wrapped functions run plainly


_STATE = _State()
_ACTIVE: dict[str, Any] = {"cache": None, "stats": None, "session": None}
_PATCH_LOCK = threading.RLock()


def _callable_id(fn) -> str | None:
    """A stable identity for an ``op`` argument, or None when it may carry hidden state."""
    import numpy as np

    if isinstance(fn, np.ufunc):
        return f"numpy.ufunc.{fn.__name__}"
    if isinstance(fn, types.FunctionType) and not fn.__closure__:
        code = fn.__code__
        body = hashlib.sha256(code.co_code + repr(code.co_consts).encode()
                              + repr(code.co_names).encode()).hexdigest()
        return (f"{fn.__module__}.{fn.__qualname__}:{code.co_firstlineno}:{body}"
                f":{fn.__defaults__!r}")
    return None


class _Unknown(Exception):
    """An argument the key cannot describe: the call runs without the cache."""


def _scalar_id(value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return float(value)            # NDR passes float(threshold), SDR the int
    if isinstance(value, (list, tuple)):
        return [_scalar_id(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _scalar_id(v) for k, v in sorted(value.items())}
    if isinstance(value, type):        # e.g. target_dtype=numpy.float32
        return f"{value.__module__}.{value.__qualname__}"
    if callable(value):
        ident = _callable_id(value)
        if ident is None:
            raise _Unknown(repr(value))
        return ident
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return _scalar_id(value.item())
        if isinstance(value, np.dtype):
            return str(value)
    except ImportError:  # pragma: no cover
        pass
    raise _Unknown(repr(value))


def _raster_id(value, root: bool, hashed: bool = False):
    """Digest of an input raster (path or (path, band)); None stays None. ``root``: hashed
    always; ``hashed``: the cache's digest if it placed the file, else hashed."""
    if value is None:
        return None
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
        path, band = value
        if band != 1 and not root:
            raise _Unknown(f"band {band}")
        return [_digest(path, band, root, hashed), band]
    if isinstance(value, (str, os.PathLike)):
        return _digest(value, 1, root, hashed)
    if isinstance(value, (list, tuple)):
        return [_raster_id(v, root, hashed) for v in value]
    raise _Unknown(repr(value))


def _digest(path, band: int, root: bool, hashed: bool) -> str:
    """A raster's content digest: hashed (``root``), else the one the cache placed it with,
    else hashed (``hashed``) or :class:`_Unknown`."""
    digest = raster_digest(path, band) if root else _known(str(path))
    if digest is None and hashed:
        digest = raster_digest(path, band)
    if digest is None:
        raise _Unknown(str(path))
    return digest


def _call_key(step: Step, bound: inspect.BoundArguments) -> tuple[str, dict]:
    skip = set(step.inputs) | set(step.outputs) | set(step.ignore)
    desc = {"function": f"{step.module}.{step.name}", "versions": versions(),
            "inputs": {n: _raster_id(bound.arguments.get(n), step.root, n in step.hashed)
                       for n in step.inputs},
            "arguments": {k: _scalar_id(v) for k, v in bound.arguments.items() if k not in skip}}
    text = json.dumps(desc, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest(), desc


def _wrap(step: Step, real: Callable) -> Callable:
    try:
        sig = inspect.signature(real)
    except (TypeError, ValueError):
        return real
    if not set(step.inputs + step.outputs) <= set(sig.parameters):
        LOG.warning("%s.%s has an unexpected signature %s: not reused", step.module,
                    step.name, sig)
        return real
    return _Memoised(step, real, sig)


def _patched(module: str, name: str) -> Callable:
    """Unpickling a :class:`_Memoised` in a worker: whatever the module holds there (the
    wrapper in a worker forked during the run, else the plain function)."""
    return getattr(importlib.import_module(module), name)


class _Memoised:
    """The wrapper of one step: serves the call from the cache or computes and stores it."""

    def __init__(self, step: Step, real: Callable, sig: inspect.Signature):
        functools.update_wrapper(self, real)    # first: it copies real's __dict__ over ours
        self.step, self.real, self.sig = step, real, sig

    def __reduce__(self):            # taskgraph sends tasks to its worker processes by pickle
        return _patched, (self.step.module, self.step.name)

    def __call__(self, *args, **kwargs):
        cache, stats = _ACTIVE["cache"], _ACTIVE["stats"]
        if cache is None or _STATE.busy:
            return self.real(*args, **kwargs)
        bound = self.sig.bind(*args, **kwargs)
        bound.apply_defaults()
        try:
            key, desc = _call_key(self.step, bound)
        except _Unknown:
            return self.real(*args, **kwargs)   # depends on more than the DEM: run as usual
        man, computed = cache.get_or_compute(key, functools.partial(self._compute, bound, desc))
        served = time.process_time()
        folder = cache.folder(key)
        for n in self.step.outputs:
            target, out = str(bound.arguments[n]), man["outputs"][n]
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / out["file"], target)
            _register(target, out["digest"])
        (stats.computed if computed else stats.reused).append(f"{self.step.name}:{key[:12]}")
        if not computed:
            stats.saved_cpu_seconds += (float(man.get("cpu_seconds", 0.0))
                                        - (time.process_time() - served))
        return None

    def _compute(self, bound: inspect.BoundArguments, desc: dict, tmp: Path) -> dict:
        call = dict(bound.arguments)
        files = {n: f"{n}.tif" for n in self.step.outputs}
        for n, name in files.items():
            call[n] = str(tmp / name)
        _STATE.busy = True
        t0 = time.process_time()
        try:
            self.real(**call)
        finally:
            _STATE.busy = False
        cpu = round(time.process_time() - t0, 3)   # what a later reuse saves (not the digests)
        return desc | {"outputs": {n: {"file": f, "digest": raster_digest(tmp / f)}
                                   for n, f in files.items()}, "cpu_seconds": cpu}


@contextlib.contextmanager
def memoised_steps(cache_root: str | os.PathLike) -> Iterator[Stats]:
    """Within the block, the functions of :data:`STEPS` are served from / stored in the
    content-keyed cache at ``cache_root``. Yields the block's :class:`Stats`.

    If another block of this process (a thread) is active, this one runs through its patches
    (or, once that ends, through the plain functions): correct either way, less reuse."""
    stats = Stats()
    saved = []
    with _PATCH_LOCK:
        if _ACTIVE["cache"] is None:
            for step in STEPS:
                mod = importlib.import_module(step.module)
                real = getattr(mod, step.name)
                saved.append((mod, step.name, real))
                setattr(mod, step.name, _wrap(step, real))
            _ACTIVE.update(cache=DemCache(cache_root), stats=stats,
                           session=f"{os.getpid()}-{uuid.uuid4().hex}")
        else:
            LOG.debug("DEM product reuse already active; %s shares it", cache_root)
    try:
        yield stats
    finally:
        if saved:
            with _PATCH_LOCK:
                for mod, name, real in saved:
                    setattr(mod, name, real)
                shutil.rmtree(Path(cache_root) / ".placed" / _ACTIVE["session"],
                              ignore_errors=True)       # the notes of this block's workers
                _ACTIVE.update(cache=None, stats=None, session=None)


# --- the hook of gep.invest.run_model --------------------------------------------------------

def cache_root_for(inputs: str | os.PathLike) -> Path:
    """The basin's DEM product folder for a year's input folder (``Paths.dem_products``)."""
    from gep.paths import Paths

    year_dir = Path(inputs).resolve()
    return Paths(None, root=year_dir.parent.parent).dem_products


def enabled(model_id: str, params: dict[str, Any]) -> bool:
    return model_id in MODELS and bool(params.get("reuse_dem_products", True))


@contextlib.contextmanager
def reuse(model_id: str, inputs: str | os.PathLike, params: dict[str, Any],
          cache_root: str | os.PathLike | None = None) -> Iterator[Stats | None]:
    """Around ``MODEL_SPEC.execute`` of SDR/NDR: reuse the basin's DEM products (see module
    doc); for other models, or with ``reuse_dem_products: false``, nothing changes."""
    if not enabled(model_id, params):
        yield None
        return
    root = Path(cache_root) if cache_root is not None else cache_root_for(inputs)
    with memoised_steps(root) as stats:
        yield stats
    LOG.info("InVEST %s: DEM products reused %d, computed %d (%s)", model_id,
             len(stats.reused), len(stats.computed), root)
