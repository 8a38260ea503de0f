"""Water-quality monitoring, QA/QC, responsibility lists and the daily dispatch (issue 4).

Stages (docs/monitoring.md):

- :func:`monitor` — readings + stations -> QARTOD flags (``ioos_qc``), daily GB 3838-2002
  compliance, the daily ecological performance index, ``section_quality.csv`` and the
  responsibility lists in ``performance.csv``;
- :func:`dispatch` — the compensation engine's entitlements paid out day by day, anomaly days
  withheld into escrow with alerts, escrow settled on the annual P index;
- :func:`generate_demo` — the demo basin's synthetic sensor network;
- ``gep.monitoring.plots`` — the daily-index chart and the responsibility map.

Importing the package loads nothing heavy: each name is imported on first use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

_EXPORTS = {
    "monitor": ("gep.monitoring.pipeline", "monitor"),
    "dispatch": ("gep.monitoring.dispatch", "dispatch"),
    "generate_demo": ("gep.monitoring.demo", "generate"),
    "load_settings": ("gep.monitoring.settings", "load_settings"),
    "read_readings": ("gep.monitoring.ingest", "read_readings"),
    "read_stations": ("gep.monitoring.ingest", "read_stations"),
}

__all__ = ["dispatch", "generate_demo", "load_settings", "monitor", "read_readings",
           "read_stations"]

if TYPE_CHECKING:  # pragma: no cover
    from gep.monitoring.demo import generate as generate_demo
    from gep.monitoring.dispatch import dispatch
    from gep.monitoring.ingest import read_readings, read_stations
    from gep.monitoring.pipeline import monitor
    from gep.monitoring.settings import load_settings


def __getattr__(name: str):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'gep.monitoring' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(target[0]), target[1])
