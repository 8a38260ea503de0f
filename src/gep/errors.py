"""Typed errors. Every error a user can cause names the file, the key or field, and the fix.

Like rasterio's hierarchy, each error is also a built-in exception type (``ValueError`` or
``OSError``) so generic callers can catch it without importing gep.
"""
from __future__ import annotations


class GepError(Exception):
    """Base class of gep's own errors."""


class ConfigError(GepError, ValueError):
    """A configuration value is missing or invalid.

    The message reads ``<file>: <key>: <problem>. Fix: <fix>``.
    """

    def __init__(self, key: str, problem: str, fix: str = "", file: str | None = None):
        self.key = key
        self.problem = problem
        self.fix = fix
        self.file = file
        where = f"{file}: " if file else ""
        msg = f"{where}{key}: {problem}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


class InputDataError(GepError, ValueError):
    """An input data file is malformed (wrong columns, bad values, no CRS...)."""

    def __init__(self, file: str, problem: str, fix: str = "", line: int | None = None,
                 field: str | None = None):
        self.file = str(file)
        self.line = line
        self.field = field
        self.problem = problem
        self.fix = fix
        where = self.file
        if line is not None:
            where += f", line {line}"
        if field:
            where += f", field '{field}'"
        msg = f"{where}: {problem}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)
