"""The ``gep`` command: a thin layer over the stage functions.

Each subsystem contributes its sub-commands through a ``register(subparsers)`` function in its
own ``cli`` module, listed in ``_SUBCOMMAND_MODULES``; each sub-command sets ``func`` to a
callable taking the parsed ``argparse.Namespace`` and returning an exit code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from gep.errors import GepError

_SUBCOMMAND_MODULES = [
    "gep.pipeline_cli",        # run, acquire, invest, zonal, value, report, validate-config
    "gep.compensation.cli",    # allocate
    "gep.monitoring.cli",      # monitor, dispatch
    "gep.ledger.cli",          # ledger ...
    "gep.landcover_cli",       # classify
    "gep.tuning.cli",          # sweep, sensitivity, calibrate
    "gep.operations.cli",      # station, daily, operations (issue 18)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gep",
        description="Gross Ecosystem Product and river-basin ecological compensation.",
    )
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMAND_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                # subsystem not part of this build
                continue
            raise
        mod.register(sub)
    return parser


def _version() -> str:
    from gep import __version__

    return f"gep {__version__}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GepError as exc:
        print(f"gep {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
