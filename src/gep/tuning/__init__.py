"""Scientists' tuning (issue 7): parameter sweeps, SALib sensitivity analysis, calibration of
Z against runoff, and fast surrogates of InVEST's last equations.

Modules:

- :mod:`gep.tuning.params`: tunable names, the sweep grammar, validation before any work;
- :mod:`gep.tuning.engine`: evaluate many combinations of the annual batch with a
  content-addressed cache of InVEST runs, surrogates and a process pool;
- :mod:`gep.tuning.surrogate`: water yield and habitat quality re-computed from InVEST's
  aligned inputs, validated per pixel against InVEST;
- :mod:`gep.tuning.sweep`, :mod:`gep.tuning.sensitivity`, :mod:`gep.tuning.calibrate`: the
  three commands; :mod:`gep.tuning.api`: the same as pandas-returning functions;
- :mod:`gep.tuning.cli`: ``gep sweep``, ``gep sensitivity``, ``gep calibrate``.

The functions of :mod:`gep.tuning.api` are importable from here (loaded on first use, so that
``gep --help`` does not import pandas and InVEST)::

    from gep import tuning
    tuning.run_sweep("config/config.yaml", ["reward.rate=0.1,0.15,0.2"]).table
"""
from __future__ import annotations

__all__ = ["parameters", "run_calibration", "run_sensitivity", "run_sweep", "water_yield_map"]


def __getattr__(name: str):
    if name in __all__:
        from gep.tuning import api

        return getattr(api, name)
    raise AttributeError(f"module 'gep.tuning' has no attribute {name!r}")
