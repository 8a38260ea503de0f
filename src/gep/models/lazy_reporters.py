"""Import InVEST's report modules (``natcap.invest.<model>.reporter``) only when a report is made.

Every InVEST model's ``MODEL_SPEC`` names its reporter, and pydantic's validator of that field
imports it while the model module is imported. A reporter imports InVEST's report stack
(``natcap.invest.reports``: matplotlib.pyplot, altair, scipy.signal ...), about 1 s of every
job's start-up, also when ``models.invest_reports`` is off and no report is ever made.

:func:`install` puts a finder in front of ``sys.meta_path`` that serves each reporter as a light
module: its ``report`` (all the validator asks for) loads the real module into the same module
object on first call, and so does any other attribute (module ``__getattr__``). After that it
*is* InVEST's reporter (same code, same globals). :func:`load` forces the real module, which
``gep.invest.run_model`` does before a run that makes a report (``MODEL_SPEC.execute`` uses
``natcap.invest.reports`` before it calls ``report``).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
import types

PREFIX = "natcap.invest."
SUFFIX = ".reporter"
_LOCK = threading.RLock()
#: marks a reporter module served by this finder whose real code has not run yet
_PENDING = "__gep_lazy_reporter__"


def is_reporter(name: str) -> bool:
    """``natcap.invest.<package>.reporter`` (InVEST's naming of every model's reporter)."""
    return (name.startswith(PREFIX) and name.endswith(SUFFIX)
            and name.count(".") == 3)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if not is_reporter(name):
            return None
        real = importlib.machinery.PathFinder.find_spec(name, path)
        if real is None or real.loader is None:
            return None
        return importlib.util.spec_from_loader(name, _Loader(real), origin=real.origin)


class _Loader(importlib.abc.Loader):
    def __init__(self, real: importlib.machinery.ModuleSpec):
        self.real = real

    def create_module(self, spec):
        return None                       # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        module.__file__ = self.real.origin
        setattr(module, _PENDING, self.real)

        def report(*args, **kwargs):
            return _load(module).report(*args, **kwargs)

        def __getattr__(attr: str):
            if attr.startswith("__"):
                raise AttributeError(attr)
            return getattr(_load(module), attr)

        module.report = report
        module.__getattr__ = __getattr__


def _load(module: types.ModuleType) -> types.ModuleType:
    """Run the real reporter's code in ``module`` (once)."""
    with _LOCK:
        real = module.__dict__.pop(_PENDING, None)
        if real is not None:
            del module.__dict__["__getattr__"]
            del module.__dict__["report"]
            real.loader.exec_module(module)
    return module


def load(name: str) -> types.ModuleType:
    """The reporter ``name`` with its real code run (imported if needed)."""
    return _load(importlib.import_module(name))


def pending(name: str) -> bool:
    """True while ``name`` is imported but its real code has not run."""
    mod = sys.modules.get(name)
    return mod is not None and _PENDING in mod.__dict__


def install() -> None:
    """Serve reporters lazily from now on in this process (idempotent)."""
    with _LOCK:
        if not any(isinstance(f, _Finder) for f in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
