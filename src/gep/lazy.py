"""Lazy package exports (PEP 562), so that ``gep --help`` and a stage's ``cli`` module load no
pydantic, numpy or pandas before a command actually runs.

A package's ``__init__`` calls ``lazy_exports(__name__, {"pkg.sub": ("name", ...)})`` instead
of ``from pkg.sub import name``: the name is imported on first access. A sub-module named like
the function it exports (``gep.compensation.allocate``) keeps the package attribute bound to
the function, as the eager ``from ... import`` did, whichever is imported first.
"""
from __future__ import annotations

import importlib
import sys
import types


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]) -> None:
    where = {name: mod for mod, names in exports.items() for name in names}

    class _LazyPackage(types.ModuleType):
        def __getattr__(self, name: str):
            if name not in where:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            value = getattr(importlib.import_module(where[name]), name)
            types.ModuleType.__setattr__(self, name, value)
            return value

        def __setattr__(self, name: str, value) -> None:
            # importing sub-module ``allocate`` binds it on the package: keep the function
            if isinstance(value, types.ModuleType) and where.get(name) == value.__name__:
                value = getattr(value, name)
            types.ModuleType.__setattr__(self, name, value)

        def __dir__(self):
            return sorted(set(super().__dir__()) | set(where))

    sys.modules[package].__class__ = _LazyPackage
