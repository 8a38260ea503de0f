"""The one logging configuration of the ``gep`` command, and its progress bars.

``configure(verbosity, log_file)`` is called once by :func:`gep.cli.main`:

* a console handler on stderr: INFO by default, DEBUG with ``-v``, WARNING with ``-q``
  (everything logged anywhere, InVEST's own messages included, reaches it, so a Snakemake
  rule's log, which captures stderr, holds them);
* a file handler at DEBUG when a log path is given (``--log-file``).

Progress bars (:func:`progress`, :func:`invest_progress`) are tqdm bars on stderr, shown only
when stderr is a terminal (``disable=None``) and never with ``-q``. Log lines are written
through ``tqdm.write`` so they do not tear a bar in half.
"""
from __future__ import annotations

import contextlib
import logging
import os
import sys
from typing import Iterable, Iterator

CONSOLE_FORMAT = "%(levelname)s %(name)s: %(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"

#: libraries that log every step at INFO/DEBUG; shown from WARNING unless -vv
NOISY = ("taskgraph", "matplotlib", "fiona", "rasterio", "PIL", "urllib3", "fontTools",
         "weasyprint", "numexpr", "asyncio", "alembic", "httpx", "aiosmtpd", "mail.log")

_state: dict = {"progress_disable": None, "configured": False}


class _TqdmHandler(logging.StreamHandler):
    """A stream handler that writes through ``tqdm.write`` (bars are redrawn below)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def level_for(verbosity: int) -> int:
    """Console level: -1 (``-q``) WARNING, 0 INFO, 1+ (``-v``) DEBUG."""
    if verbosity < 0:
        return logging.WARNING
    return logging.INFO if verbosity == 0 else logging.DEBUG


def configure(verbosity: int = 0, log_file: str | os.PathLike | None = None,
              stream=None) -> None:
    """(Re)configure the root logger: one console handler, optionally one file handler.

    Calling it again replaces the handlers it installed before (tests call ``main`` many
    times in one process) and leaves handlers installed by others alone.
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_gep", False):
            root.removeHandler(h)
            h.close()
    console = _TqdmHandler(stream if stream is not None else sys.stderr)
    console.setLevel(level_for(verbosity))
    console.setFormatter(logging.Formatter(CONSOLE_FORMAT))
    console._gep = True
    root.addHandler(console)
    root_level = console.level
    if log_file is not None:
        from pathlib import Path

        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(log_file, encoding="utf-8")
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter(FILE_FORMAT))
        fh._gep = True
        root.addHandler(fh)
        root_level = logging.DEBUG
    root.setLevel(root_level)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    logging.captureWarnings(True)  # library warnings (InVEST's included) go to the log too
    _state["progress_disable"] = True if verbosity < 0 else None
    _state["configured"] = True


def progress_disabled() -> bool | None:
    """``True`` with ``-q``; otherwise ``None`` (tqdm shows the bar only on a terminal)."""
    return _state["progress_disable"]


def progress(iterable: Iterable | None = None, **kwargs):
    """A tqdm bar on stderr, quiet when not a TTY or with ``-q``."""
    from tqdm import tqdm

    kwargs.setdefault("disable", progress_disabled())
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, **kwargs)


class _BarHandler(logging.Handler):
    """Advances a bar by one step per log record and shows the latest message."""

    def __init__(self, bar):
        super().__init__(logging.INFO)
        self.bar = bar

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = record.getMessage().splitlines()[0] if record.getMessage() else ""
            self.bar.set_postfix_str(msg[:70], refresh=False)
            self.bar.update(1)
        except Exception:  # pragma: no cover
            self.handleError(record)


@contextlib.contextmanager
def invest_progress(model_id: str, year=None) -> Iterator[object]:
    """A bar for one InVEST run: elapsed time, messages seen and InVEST's latest message.

    InVEST reports its progress only through logging (pygeoprocessing logs "x% complete"
    every few seconds), so the bar follows the ``natcap`` and ``pygeoprocessing`` loggers.
    """
    label = f"InVEST {model_id}" + (f" {year}" if year is not None else "")
    bar = progress(total=None, desc=label, unit=" msg",
                   bar_format="{desc}: {elapsed} {n_fmt} messages{postfix}")
    handlers, consoles = [], []
    quiet = _QuietInvest()
    if not bar.disable:
        for name in ("natcap", "pygeoprocessing"):
            h = _BarHandler(bar)
            logging.getLogger(name).addHandler(h)
            handlers.append((name, h))
        # on a terminal the bar shows InVEST's step; its INFO lines stay in InVEST's own log
        # file (off a terminal, e.g. in a Snakemake rule's log, they are all printed)
        consoles = [h for h in logging.getLogger().handlers if isinstance(h, _TqdmHandler)]
        for h in consoles:
            h.addFilter(quiet)
    try:
        yield bar
    finally:
        for name, h in handlers:
            logging.getLogger(name).removeHandler(h)
        for h in consoles:
            h.removeFilter(quiet)
        bar.close()


class _QuietInvest(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(
            ("natcap", "pygeoprocessing", "taskgraph"))
