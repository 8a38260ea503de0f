"""The GeoTIFF codec of the rasters InVEST writes when gep runs it.

pygeoprocessing, and so every InVEST model, writes its intermediate and output GeoTIFFs with
``COMPRESS=LZW``: ``pygeoprocessing.geoprocessing_core.DEFAULT_CREATION_OPTIONS``, bound as the
default argument of its Python and Cython functions when they are defined. LZW costs about twice
the CPU of ZSTD at level 1 to write and to read again, for larger files; at 4000 x 4000 an SDR
run writes about thirty rasters, and its CPU falls by a fifth with ZSTD (docs/scaling.md).

The only place to choose the codec for all of them is that constant, before anything binds
it. :func:`install` puts an import hook in front of ``sys.meta_path`` (as
:mod:`gep.models.lazy_reporters` does for the reports): when ``geoprocessing_core`` has been
loaded, and before ``pygeoprocessing.geoprocessing`` and ``.routing`` import its constants,
every creation-option tuple of the module asking for ``COMPRESS=LZW`` asks for the selected
codec instead; tiling, block size, BIGTIFF and the rest are kept, and an explicit codec of a
call (SDR asks for DEFLATE once) is left alone. Nothing is patched while code runs. The few
functions of ``geoprocessing_core`` itself (``calculate_slope``) bind the constant while that
module loads and keep LZW.

Both codecs are lossless: every pixel InVEST writes is the same (tested). GDAL >= 2.3, QGIS and
rasterio read ZSTD GeoTIFFs; ``models.gtiff_compression: lzw`` keeps pygeoprocessing's own.
The codec is per process (the constant is read once): :func:`select` before InVEST is first
imported, :func:`in_force` tells which one the process has.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
import threading

LOG = logging.getLogger(__name__)

CORE = "pygeoprocessing.geoprocessing_core"
#: creation options that replace ``COMPRESS=LZW``, by codec name (None: leave LZW)
CODECS: dict[str, tuple[str, ...] | None] = {
    "zstd": ("COMPRESS=ZSTD", "ZSTD_LEVEL=1"),
    "lzw": None,
}
DEFAULT = "zstd"
_LOCK = threading.Lock()
_SELECTED = [DEFAULT]


def rewrite(options: tuple, replacement: tuple[str, ...]) -> tuple:
    """A tuple of creation options with ``COMPRESS=LZW`` replaced by ``replacement`` (and any
    option the replacement sets taken from it); unchanged when it does not ask for LZW."""
    if not any(isinstance(o, str) and o.strip().upper() == "COMPRESS=LZW" for o in options):
        return options
    keys = {r.split("=", 1)[0].upper() for r in replacement}
    kept = tuple(o for o in options if o.split("=", 1)[0].strip().upper() not in keys)
    return kept + tuple(replacement)


def retune(module, replacement: tuple[str, ...]) -> list[str]:
    """Rewrite every creation-option tuple of ``module`` that asks for LZW: plain tuples of
    options and ``(driver, options)`` pairs. Returns the names changed."""
    changed = []
    for name, value in list(vars(module).items()):
        if not isinstance(value, tuple) or name.startswith("_"):
            continue
        if len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], tuple):
            new = (value[0], rewrite(value[1], replacement))
        elif all(isinstance(o, str) for o in value):
            new = rewrite(value, replacement)
        else:
            continue
        if new != value:
            setattr(module, name, new)
            changed.append(name)
    return changed


class _Loader(importlib.abc.Loader):
    def __init__(self, real: importlib.machinery.ModuleSpec):
        self.real = real

    def create_module(self, spec):
        return self.real.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.real.loader.exec_module(module)
        replacement = CODECS[_SELECTED[0]]
        if replacement is not None:
            changed = retune(module, replacement)
            LOG.debug("GeoTIFF codec %s for pygeoprocessing (%s)", _SELECTED[0],
                      ", ".join(changed))


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != CORE:
            return None
        real = importlib.machinery.PathFinder.find_spec(name, path)
        if real is None or real.loader is None:
            return None
        spec = importlib.util.spec_from_loader(name, _Loader(real), origin=real.origin)
        spec.has_location = real.has_location
        spec.submodule_search_locations = real.submodule_search_locations
        return spec


def select(name: str) -> None:
    """Choose the codec for this process (a key of :data:`CODECS`) and install the hook. When
    pygeoprocessing is already imported with another codec: a job forked by the warm-start
    server restarts as a fresh ``gep`` (:func:`gep.warm.cold_restart`); elsewhere that codec
    stays, logged."""
    if name not in CODECS:
        raise ValueError(f"unknown GeoTIFF codec {name!r}; one of {', '.join(CODECS)}")
    with _LOCK:
        _SELECTED[0] = name
    install()
    if CORE in sys.modules and in_force() != name:
        from gep import warm

        # a job forked by the warm-start server that preloaded another codec: start afresh
        warm.cold_restart(f"pygeoprocessing writes {in_force()}, the job asks for {name}")
        LOG.warning("GeoTIFF codec: pygeoprocessing was imported before gep chose %s; this "
                    "process writes %s", name, in_force())


def install() -> None:
    """Put the hook in front of the import system (idempotent); it acts when pygeoprocessing
    is imported, which gep does only to run InVEST."""
    with _LOCK:
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())


def in_force() -> str | None:
    """The codec pygeoprocessing writes with in this process (None: not imported yet)."""
    core = sys.modules.get(CORE)
    if core is None:
        return None
    opts = {o.upper() for o in core.DEFAULT_CREATION_OPTIONS}
    for name, replacement in CODECS.items():
        if replacement is not None and set(replacement) <= opts:
            return name
    return "lzw" if "COMPRESS=LZW" in opts else "other"
