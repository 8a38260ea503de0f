"""The tuning package's one error class."""
from __future__ import annotations

from gep.errors import GepError


class TuningError(GepError, RuntimeError):
    """A tuning run failed (a model run, the pipeline's Snakemake, or a surrogate that
    disagrees with InVEST)."""
