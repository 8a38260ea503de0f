"""Compensation engine (补偿引擎): agreement + GEP increments + water quality -> transfers.

Public API (used by ``gep allocate``, the Snakemake rule, the daily dispatch and the ledger):

- :func:`allocate` — files in, ``transfers.csv``, ``statement.csv``, ``summary.json`` out;
- :func:`load_agreement` — the typed, validated agreement;
- :func:`p_index` — the water-quality index ``P = k0 * sum k_j C_j / C_j0``;
- :func:`narrative` — each account's statement in words (English and Chinese).

Pure Python (pydantic, PyYAML, the standard library): importing it pulls in no numpy, pandas
or raster library, so the dispatch and the ledger can import it cheaply.
"""
from gep.lazy import lazy_exports

# imported on first use, so ``gep --help`` (which imports gep.compensation.cli) stays light
lazy_exports(__name__, {
    "gep.compensation.agreement": ("CLAUSES", "Agreement", "load_agreement",
                                   "validate_agreement"),
    "gep.compensation.allocate": ("allocate",),
    "gep.compensation.engine": ("Settlement", "Transfer", "p_index", "settle", "transfer_id"),
    "gep.compensation.inputs": ("EngineInputs", "Incident", "read_inputs"),
    "gep.compensation.narrative": ("narrative",),
})

__all__ = [
    "CLAUSES", "Agreement", "EngineInputs", "Incident", "Settlement", "Transfer", "allocate",
    "load_agreement", "narrative", "p_index", "read_inputs", "settle", "transfer_id",
    "validate_agreement",
]
