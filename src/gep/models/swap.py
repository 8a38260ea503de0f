"""Attributes of InVEST's or pygeoprocessing's modules replaced for the length of a block.

gep changes a few functions of the libraries while InVEST runs (how its reports read rasters,
:mod:`gep.models.report_rasters`; how its watershed tables clip, :mod:`gep.models.zonal_clip`).
A :class:`Swap` puts the replacements in when the first (outermost) block starts and the
originals back when the last one ends, so blocks nest and threads may share them.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator


class Swap:
    """One set of replacements: ``with swap(targets):`` where ``targets()`` returns
    ``(object, attribute name, replacement)`` triples (called when the outermost block
    starts, so it sees the originals)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: list[tuple[object, str, object]] = []

    @contextlib.contextmanager
    def __call__(self, targets: Callable[[], list[tuple[object, str, object]]]
                 ) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                items = targets()
                self._saved = [(obj, name, getattr(obj, name)) for obj, name, _ in items]
                for obj, name, new in items:
                    setattr(obj, name, new)
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    for obj, name, old in reversed(self._saved):
                        setattr(obj, name, old)
                    self._saved = []


def rebound(func: Callable, **names) -> Callable:
    """A pygeoprocessing function (wrapped by its ``gdal_use_exceptions``) whose own code runs
    with some of its module's global ``names`` replaced (say ``gdal`` by an object whose
    ``Warp`` does less), within the same GDAL-exceptions block as the original. Built from
    ``__wrapped__``, so from the original's code also while the function is swapped."""
    import functools
    import types

    from pygeoprocessing.utils import GDALUseExceptions

    inner = func.__wrapped__
    code = types.FunctionType(inner.__code__, {**inner.__globals__, **names}, inner.__name__,
                              inner.__defaults__, inner.__closure__)
    code.__kwdefaults__ = inner.__kwdefaults__

    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        with GDALUseExceptions():
            return code(*args, **kwargs)

    return wrapper


class GdalWarp:
    """``osgeo.gdal`` with ``Warp`` done by ``warp(gdal, destination, source, **kwargs)``, for
    a function :func:`rebound` to call: every other attribute is GDAL's."""

    def __init__(self, gdal, warp: Callable):
        self._gdal, self._warp = gdal, warp

    def __getattr__(self, name):
        return getattr(self._gdal, name)

    def Warp(self, destNameOrDestDS, srcDSOrSrcDSTab, **kwargs):  # noqa: N802 (GDAL's name)
        return self._warp(self._gdal, destNameOrDestDS, srcDSOrSrcDSTab, **kwargs)
