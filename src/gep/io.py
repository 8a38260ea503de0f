"""File input and output shared by every stage.

Atomic output: write to a temporary sibling, then rename. A crash never leaves a half-written
file under its final name, so Snakemake and users never mistake a partial output for a
finished one. Settings input: :func:`load_settings`, the one YAML-to-pydantic loader, whose
errors are one line naming the file, the key and the fix.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import re
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
    check_out_file(path, "the output path")
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
    check_out_dir(path, "the output folder")
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


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first: int):
        super().__init__(key)
        self.key, self.line, self.first = key, line, first


_LOADER = None


def _unique_key_loader():
    """A SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class UniqueKeyLoader(yaml.SafeLoader):
            def construct_mapping(self, node, deep=False):
                if isinstance(node, yaml.MappingNode):
                    seen: dict = {}
                    for key_node, _ in node.value:
                        if key_node.tag == "tag:yaml.org,2002:merge":
                            continue
                        key = self.construct_object(key_node, deep=True)
                        try:
                            hash(key)
                        except TypeError:
                            continue  # the base class reports unhashable keys
                        line = key_node.start_mark.line + 1
                        if key in seen:
                            raise _DuplicateKey(str(key), line, seen[key])
                        seen[key] = line
                return super().construct_mapping(node, deep=deep)

        _LOADER = UniqueKeyLoader
    return _LOADER


def read_yaml(path: str | os.PathLike, what: str, fix: str):
    """Parse a YAML file; a missing file or bad syntax is a ConfigError naming the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError("(file)", f"{what} {path} does not exist", fix)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_unique_key_loader())
    except _DuplicateKey as exc:
        raise ConfigError(exc.key, f"duplicate key on line {exc.line} (first on line "
                          f"{exc.first}); YAML would silently keep only the last value",
                          "keep one of the two", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError("(syntax)", f"not valid YAML ({_yaml_problem(exc)})",
                          "fix the YAML syntax", file=str(path)) from None


def _yaml_problem(exc) -> str:
    """A PyYAML error on one line: ``line 2, column 1: expected ',' or ']' ...``."""
    mark = getattr(exc, "problem_mark", None)
    problem = " ".join(p for p in (getattr(exc, "context", None), getattr(exc, "problem", None))
                       if p) or " ".join(str(exc).split())
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


def read_csv_rows(path: str | os.PathLike, columns: Sequence[str],
                  what: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line_number, row)`` of a CSV checked by :func:`gep.tables.read_table`.

    UTF-8 only (BOM accepted), the header must have ``columns``, every line as many fields as
    the header. Header names and values are stripped; blank lines are skipped (line numbers
    stay true).
    """
    from gep.tables import read_table

    table = read_table(path, columns, what)
    for row in table:
        yield row.line, row.values


def check_out_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Refuse an output folder that is an existing file (or lies under one), before any work.

    Raises :class:`InputDataError` naming the path and the flag; returns the path.
    """
    path = Path(path)
    for p in (path, *path.parents):
        if p.exists() and not p.is_dir():
            what = "is an existing file" if p == path else f"lies under the file {p}"
            raise InputDataError(str(path), f"the output folder {what}, not a folder",
                                 f"pass a folder to {flag} (it is created if missing)",
                                 field=flag)
    return path


def check_out_file(path: str | os.PathLike, flag: str) -> Path:
    """Refuse an output file path that is an existing folder or lies under a file."""
    path = Path(path)
    if path.is_dir():
        raise InputDataError(str(path), "the output file is an existing folder",
                             f"pass a file name to {flag}", field=flag)
    check_out_dir(path.parent, flag)
    return path


#: fixes of pydantic error types every settings file shares; ``{example}`` is the file's
#: annotated example (config/monitoring.yaml ...)
_SETTINGS_FIXES = {
    "missing": "add this key",
    "extra_forbidden": "remove it or check its spelling against {example}",
}
_NAMED_KEY = re.compile(r"^([\w.\[\]-]+): (.*)$", flags=re.S)


def _settings_key(err: dict) -> str:
    return ".".join(str(x) for x in err.get("loc", ())) or "(top level)"


def settings_error(exc, *, file: str | None, example: str, doc: str,
                   fixes: Mapping[str, str] | None = None, key=None) -> ConfigError:
    """The first error of a pydantic ``ValidationError`` as one :class:`ConfigError` line:
    ``file: key: problem. Fix: ...``.

    The fix is ``fixes[type]`` (this file's own texts), else a shared one (``missing``,
    ``extra_forbidden``), else ``doc``. ``key(err)`` may render the key path (default
    ``a.b.0.c``). A check of the whole file that names its key in the message
    (``"reward.rate: must be ..."``) is reported under that key.
    """
    err = exc.errors()[0]
    name = key(err) if key is not None else _settings_key(err)
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    named = _NAMED_KEY.match(msg)
    if not err.get("loc") and named:
        name, msg = named.groups()
    fix = ({**_SETTINGS_FIXES, **(fixes or {})}.get(err.get("type", ""), doc)
           .format(example=example))
    return ConfigError(name, msg, fix, file=file)


def validate_settings(data, model_cls, *, file: str | None, example: str, doc: str,
                      fixes: Mapping[str, str] | None = None, key=None):
    """Validate a settings mapping with ``model_cls``; any problem is one ConfigError."""
    from pydantic import ValidationError

    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("(top level)", "the file must hold a mapping of keys",
                          f"start from {example}", file=file)
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        raise settings_error(exc, file=file, example=example, doc=doc, fixes=fixes,
                             key=key) from None


def read_settings(path: str | os.PathLike, *, what: str, missing_fix: str):
    """A settings file's YAML: UTF-8 checked, duplicate keys refused, empty file = ``{}``."""
    from gep.tables import check_utf8_config

    check_utf8_config(path)
    data = read_yaml(path, what, missing_fix)
    return {} if data is None else data


def load_settings(path: str | os.PathLike, model_cls, *, what: str, example: str, doc: str,
                  missing_fix: str | None = None, fixes: Mapping[str, str] | None = None,
                  key=None, extra: Mapping | None = None, overrides: Mapping | None = None):
    """Read a YAML settings file and validate it with the pydantic ``model_cls``.

    The one loader of every settings file (basin config, monitoring, tuning, star-rating
    rules, agreement, operations, portal): a missing file, bad UTF-8, bad YAML, a duplicate
    key or an invalid value is a single :class:`ConfigError` naming the file, the key and the
    fix. ``what`` names the file in messages ("monitoring configuration"), ``example`` is the
    annotated example to start from, ``doc`` the fix when no specific one applies,
    ``missing_fix`` the fix when the file does not exist, ``fixes`` this file's fixes per
    pydantic error type. ``overrides`` are merged (deeply) over the file, ``extra`` keys
    added to it (set by the loader, e.g. the file's folder).
    """
    data = read_settings(path, what=what,
                         missing_fix=missing_fix or f"pass an existing file, e.g. {example}")
    if isinstance(data, dict):
        if overrides:
            data = deep_merge(data, overrides)
        if extra:
            data = {**data, **extra}
    return validate_settings(data, model_cls, file=str(path), example=example, doc=doc,
                             fixes=fixes, key=key)


def deep_merge(base: Mapping, over: Mapping) -> dict:
    """``base`` with ``over`` merged in, mappings merged key by key."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out
