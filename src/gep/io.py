"""Atomic file output: write to a temporary sibling, then rename.

A crash never leaves a half-written file under its final name, so Snakemake and users never
mistake a partial output for a finished one.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from gep.errors import ConfigError, InputDataError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    The temporary name keeps the file's extension (GDAL drivers pick formats from it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are meant to be shared
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``path``; move it onto ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | os.PathLike, obj, **kwargs) -> Path:
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("ensure_ascii", False)
    return write_text(path, json.dumps(obj, **kwargs) + "\n")


def write_csv(path: str | os.PathLike, header: Sequence[str],
              rows: Iterable[Sequence | Mapping], bom: bool = False) -> Path:
    """Write rows (sequences, or mappings keyed by header) as CSV, atomically.

    ``bom=True`` for CSVs meant for people: a UTF-8 byte-order mark makes Excel read the
    file as UTF-8 (Chinese names instead of mojibake). Machine CSVs stay plain; gep's readers
    (``read_csv_rows``, pandas) accept both.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            for row in rows:
                if isinstance(row, Mapping):
                    row = [row[h] for h in header]
                w.writerow(row)
    return Path(path)


def read_yaml(path: str | os.PathLike, what: str, fix: str):
    """Parse a YAML file; a missing file or bad syntax is a ConfigError naming the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError("(file)", f"{what} {path} does not exist", fix)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError("(syntax)", f"not valid YAML ({exc})", "fix the YAML syntax",
                          file=str(path)) from None


def read_csv_rows(path: str | os.PathLike, columns: Sequence[str],
                  what: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` of a CSV after checking it exists and has ``columns``.

    Header names and values are stripped; blank lines are skipped (line numbers stay true).
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(str(path), f"{what} file does not exist",
                             "check the path passed on the command line")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise InputDataError(str(path), f"missing column(s) {', '.join(missing)}",
                                 f"the header must include {','.join(columns)}", line=1)
        reader.fieldnames = header
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # blank line
            yield reader.line_num, {k: (row.get(k) or "").strip() for k in header}
