"""Every exception class of the compensation, monitoring and ledger packages is a GepError,
so the command line reports it as one line (exit 2) instead of a traceback."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

from gep.errors import GepError

PACKAGES = ("gep.compensation", "gep.monitoring", "gep.ledger")


def _exception_classes():
    found = []
    for name in PACKAGES:
        pkg = importlib.import_module(name)
        for info in pkgutil.iter_modules(pkg.__path__, name + "."):
            if info.name.endswith(".cli") or ".migrations" in info.name:
                continue
            mod = importlib.import_module(info.name)
            for _, cls in inspect.getmembers(mod, inspect.isclass):
                if cls.__module__ == mod.__name__ and issubclass(cls, BaseException):
                    found.append(cls)
    return found


def test_the_packages_define_exception_classes():
    names = {c.__name__ for c in _exception_classes()}
    assert {"NoteError", "ProofError", "TransferConflictError", "ScanWorkerError"} <= names


@pytest.mark.parametrize("cls", _exception_classes(), ids=lambda c: c.__qualname__)
def test_every_exception_class_is_a_gep_error(cls):
    assert issubclass(cls, GepError)
