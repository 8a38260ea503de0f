"""Content digests: what a run's key, a zonal table's key and a reference row's key are made
of. A digest is of a file's *bytes*; a file rewritten with the same content keeps its digest
(and so every key built from it), whatever its modification time."""
from __future__ import annotations

import hashlib
from pathlib import Path

_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (memoised on path, size and modification time, so a file
    rewritten in place is read again)."""
    p = Path(path)
    st = p.stat()
    k = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if k not in _DIGESTS:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
        _DIGESTS[k] = h.hexdigest()
    return _DIGESTS[k]


def text_digest(text: str) -> str:
    """SHA-256 of a text's UTF-8 bytes (a rewritten table held in memory)."""
    return hashlib.sha256(text.encode()).hexdigest()


def module_digest(name: str) -> str:
    """A digest of a module's source: results made by other code get other keys."""
    import importlib

    return file_digest(importlib.import_module(name).__file__)[:16]


def invest_version() -> str:
    from gep.invest import _invest_version

    return _invest_version()
