"""What the stage commands share: the basin ``--config``, output and input overrides, and the
lookup of every default path through :class:`gep.paths.Paths`.

A stage command takes the basin config (``--config``, default ``config/config.yaml``) and
finds its inputs and outputs through ``Paths``; an explicit path flag overrides one of them.
The config is read only when a default is actually needed, so a command given every path
runs without one. Nothing heavy is imported here (``gep --help`` imports this module).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable, Iterable, Mapping

from gep.errors import ConfigError, InputDataError

DEFAULT_CONFIG = "config/config.yaml"


class _Default(str):
    """The default ``--config`` value: tells a given ``--config`` from the default one."""


def add_config(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--config FILE``: the basin configuration."""
    p.add_argument("--config", default=_Default(DEFAULT_CONFIG), metavar="FILE",
                   help=help or f"basin configuration (default {DEFAULT_CONFIG})")


def add_out(p: argparse.ArgumentParser, default: str, folder: bool = True,
            flag: str = "--out") -> None:
    """An output override; ``default`` says where the output goes without it."""
    p.add_argument(flag, metavar="DIR" if folder else "FILE",
                   help=f"output {'folder' if folder else 'file'} (default {default})")


def config_given(args: argparse.Namespace) -> bool:
    """Whether ``--config`` was on the command line (not its default)."""
    return not isinstance(getattr(args, "config", None), _Default)


def forget_config(args: argparse.Namespace) -> None:
    """Put ``--config`` back to its default (its value was meant for another flag)."""
    args.config = _Default(DEFAULT_CONFIG)


class Basin:
    """The basin of a command line: its config and ``Paths``, read on first use."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.file = str(getattr(args, "config", None) or DEFAULT_CONFIG)
        self.explicit = config_given(args)
        self._cfg = None
        self._paths = None
        self.used = False  # a default was taken from the basin config

    @property
    def cfg(self):
        if self._cfg is None:
            from gep.config import load_config

            self._cfg = load_config(self.file)
        return self._cfg

    @property
    def paths(self):
        if self._paths is None:
            from gep.paths import Paths

            self._paths = Paths(self.cfg)
        return self._paths

    @property
    def available(self) -> bool:
        """The config file (given or default) exists."""
        return Path(self.file).is_file()

    def cfg_or_none(self):
        return self.cfg if self.available else None

    def path(self, value, flag: str, default: Callable[["Basin"], object]) -> Path:
        """``value`` (the flag's) if given, else ``default(self)`` from the basin config."""
        return Path(self.value(value, flag, default))

    def value(self, value, flag: str, default: Callable[["Basin"], object]):
        """Like :meth:`path`, for a value that is not a path (a name, an origin line)."""
        if value is not None:
            return value
        if not self.explicit and not self.available:
            raise ConfigError(flag, f"not given, and there is no basin config ({self.file}) "
                              "to take it from", f"pass {flag}, or --config with the basin "
                              "configuration")
        self.used = True
        found = default(self)
        if found is None:
            raise ConfigError(flag, "not given, and the basin config does not name it",
                              f"pass {flag}", file=self.file)
        return found

    @property
    def in_use(self) -> bool:
        """The command works on the basin: --config was given or a default was taken."""
        return self.explicit or self.used

    def optional(self, value, default: Callable[["Basin"], object]) -> Path | None:
        """An optional input: the flag's value, else (when the basin is in use, see
        :attr:`in_use`) ``default(self)``, which may be None."""
        if value is not None:
            return Path(value)
        if not self.in_use:
            return None
        found = default(self)
        return Path(found) if found is not None else None


def basin(args: argparse.Namespace):
    """``(cfg, paths)`` of ``--config``."""
    b = Basin(args)
    return b.cfg, b.paths


def require(files: Iterable, before: str) -> None:
    """A stage's inputs from earlier stages must exist; say which stage makes them."""
    for f in files:
        if not Path(f).exists():
            raise InputDataError(str(f), "not found; this stage reads it",
                                 fix=f"run {before} first (or the whole pipeline: gep run)")


def check_year(year: int, cfg, config_file: str) -> None:
    if year not in cfg.years:
        raise ConfigError("years", f"{year} is not a configured year", f"use one of "
                          f"{cfg.years}", file=config_file)


def print_written(paths: Mapping | Iterable) -> None:
    """``wrote <path>`` per output."""
    for path in (paths.values() if isinstance(paths, Mapping) else paths):
        print(f"wrote {path}")


def print_json(paths: Mapping) -> None:
    print(json.dumps({k: str(v) for k, v in paths.items()}, indent=1))


def note(command: str, text: str) -> None:
    """A remark (e.g. a former form of a flag), not an error: a debug message (``-v``), so an
    error stays the one line on stderr."""
    import logging

    logging.getLogger("gep.cli").debug("gep %s: %s", command, text)


def help_action(p: argparse.ArgumentParser):
    """``func`` of a command group: print its help, exit code 2."""
    return lambda args: (p.print_help(), 2)[1]
