"""The ``gep`` command: a thin layer over the stage functions.

Each subsystem contributes its sub-commands through a ``register(subparsers)`` function in its
own ``cli`` module, listed in ``_SUBCOMMAND_MODULES``; each sub-command sets ``func`` to a
callable taking the parsed ``argparse.Namespace`` and returning an exit code.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from gep.errors import GepError

_SUBCOMMAND_MODULES = [
    "gep.pipeline.cli",        # run, validate-config, acquire, invest, zonal, value, report
    "gep.attribution.cli",     # reference-climate, reference, attribute
    "gep.compensation.cli",    # allocate
    "gep.monitoring.cli",      # monitor, dispatch
    "gep.ledger.cli",          # publish, ledger ...
    "gep.pipeline.classify",   # classify, demo-imagery
    "gep.tuning.cli",          # sweep, sensitivity, calibrate
    "gep.rating.cli",          # rate, rate-demo
    "gep.committee.cli",       # execution, bulletin, agreement file
    "gep.gis.cli",             # gis
    "gep.portal.cli",          # serve, portal ...
    "gep.operations.cli",      # station, daily, operations (issue 18)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gep",
        description="Gross Ecosystem Product and river-basin ecological compensation.",
    )
    parser.add_argument("--version", action="version", version=_version())
    add_logging_options(parser, top=True)
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
    _add_logging_options_below(sub)
    return parser


def add_logging_options(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """``-v``/``-q``/``--log-file``, accepted before or after a sub-command (``gep -v run``,
    ``gep run -v``). Below the top level the defaults are suppressed, so a sub-command does
    not reset what was given before it; an option string a sub-command already uses for
    itself (``--quiet`` of the tuning commands) is left to it."""
    taken = set(parser._option_string_actions)
    default = (lambda v: v) if top else (lambda v: argparse.SUPPRESS)
    after = "" if top else "_after"  # counted apart: a sub-parser starts its count at zero
    g = parser.add_argument_group("output (any command)")
    for flags, kw in (
        (("-v", "--verbose"), dict(dest="log_verbose" + after, action="count",
                                   default=default(0),
                                   help="more messages (debug); -vv also libraries' details")),
        (("-q", "--quiet"), dict(dest="log_quiet" + after, action="count", default=default(0),
                                 help="warnings and errors only, no progress bars")),
        (("--log-file",), dict(dest="log_file", metavar="PATH", default=default(None),
                               help="also write every message (debug level) to this file")),
    ):
        flags = [f for f in flags if f not in taken]
        if flags:
            g.add_argument(*flags, **kw)


def verbosity(args: argparse.Namespace) -> int:
    """-q/-v given before and after the sub-command, summed: -1 quiet, 0 normal, 1+ verbose."""
    v = sum(getattr(args, f"log_verbose{s}", 0) for s in ("", "_after"))
    return v - sum(getattr(args, f"log_quiet{s}", 0) for s in ("", "_after"))


def _add_logging_options_below(sub) -> None:
    for p in set(sub.choices.values()):
        add_logging_options(p)
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                _add_logging_options_below(a)


def _version() -> str:
    from gep import __version__

    return f"gep {__version__}"


def _issues() -> str:
    """Where to report a bug: the package's ``Issues`` project URL when it declares one."""
    try:
        from importlib.metadata import metadata

        for entry in metadata("gep").get_all("Project-URL") or []:
            label, _, url = entry.partition(",")
            if label.strip().lower() in ("issues", "bug tracker", "tracker"):
                return url.strip()
    except Exception:
        pass
    return "the gep project's issue tracker"


def one_line(text: str) -> str:
    """An error message on one line (multi-line details joined with '; ')."""
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip())


#: GeoPackages record a "last change" time in gpkg_contents; a fixed one keeps every output
#: byte-identical for identical inputs (the ledger and the report digest them). GDAL reads
#: its configuration options from the environment.
FIXED_GPKG_DATE = "2000-01-01T00:00:00.000Z"


def main(argv: list[str] | None = None) -> int:
    if argv is None and os.environ.get("GEP_WARM_SOCKET"):
        from gep import warm   # a job of `gep run`: run it in the warm-start server if we can

        code = warm.delegate(sys.argv[1:])
        if code is not None:
            return code
    os.environ.setdefault("OGR_CURRENT_DATE", FIXED_GPKG_DATE)
    parser = build_parser()
    args = parser.parse_args(argv)
    from gep import log

    log.configure(verbosity(args), args.log_file)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GepError as exc:
        # A user error: one line naming the file, the key and the fix; no traceback.
        print(f"gep {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gep {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in gep (or its libraries): log it, say where
        log = _log_internal_error(args, exc)
        print(f"gep {args.command}: internal error ({type(exc).__name__}: "
              f"{one_line(exc)[:300]}); this is a bug in gep, not in your input. "
              f"Full traceback: {log}. Please report it, with that file, at {_issues()}",
              file=sys.stderr)
        return 1


def _log_internal_error(args, exc: BaseException) -> str:
    """Write the traceback to a fresh file in the temporary folder; return its path."""
    import tempfile
    import time
    import traceback

    text = (f"gep {_version()} internal error at {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            f"command line: {sys.argv!r}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    try:
        fd, path = tempfile.mkstemp(prefix="gep-internal-error-", suffix=".log")
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path
    except OSError:
        return "(could not be written: " + one_line(text)[-500:] + ")"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
