"""Evaluate many parameter combinations of the annual GEP batch, reusing everything a
parameter does not touch.

This module only gathers the names of the study's parts, each in its own module, so that
``from gep.tuning.engine import Study`` keeps working:

- :mod:`gep.tuning.study`: :class:`Study` and :class:`Evaluation` (the orchestration);
- :mod:`gep.tuning.plan`: :class:`Plan`, :class:`CheckSpec`, :func:`scenario_values`;
- :mod:`gep.tuning.runs`: :class:`RunSpec`, run keys, the content-addressed run cache;
- :mod:`gep.tuning.pipeline`: the pipeline's workflow, the one judge of what is stale;
- :mod:`gep.tuning.pool`, :mod:`gep.tuning.executor`: the process pool and the Snakemake
  executor for InVEST runs (:class:`SnakemakeRunner`, :func:`run_task_file`);
- :mod:`gep.tuning.zonal`, :mod:`gep.tuning.surrogate_steps`, :mod:`gep.tuning.reference`;
- :mod:`gep.tuning.downstream`, :mod:`gep.tuning.settlement`: valuation and settlement in
  memory.
"""
from __future__ import annotations

from gep.tuning.digests import file_digest, invest_version
from gep.tuning.downstream import GEP_TOTAL, PAYOUT_NET, TABLE_COLUMNS, downstream_task
from gep.tuning.errors import TuningError
from gep.tuning.executor import SnakemakeRunner, run_task_file
from gep.tuning.plan import CheckSpec, Plan, scenario_values
from gep.tuning.pool import Pool
from gep.tuning.reference import CLIMATE_VARIABLES
from gep.tuning.runs import RunSpec
from gep.tuning.study import Evaluation, Study
from gep.tuning.surrogate_steps import SURROGATE_VARIABLES, build_surrogate, surrogate_params
from gep.tuning.zonal import replace_variable

__all__ = ["CLIMATE_VARIABLES", "GEP_TOTAL", "PAYOUT_NET", "SURROGATE_VARIABLES",
           "TABLE_COLUMNS", "CheckSpec", "Evaluation", "Plan", "Pool", "RunSpec",
           "SnakemakeRunner", "Study", "TuningError", "build_surrogate", "downstream_task",
           "file_digest", "invest_version", "replace_variable", "run_task_file",
           "scenario_values", "surrogate_params"]
