"""Compensation engine (补偿引擎): agreement + GEP increments + water quality -> transfers.

Public API (used by ``gep allocate``, the Snakemake rule, the daily dispatch and the ledger):

- :func:`allocate` — files in, ``transfers.csv``, ``statement.csv``, ``summary.json`` out;
- :func:`load_agreement` — the typed, validated agreement;
- :func:`p_index` — the water-quality index ``P = k0 * sum k_j C_j / C_j0``;
- :func:`narrative` — each account's statement in words (English and Chinese).

Pure Python (pydantic, PyYAML, the standard library): importing it pulls in no numpy, pandas
or raster library, so the dispatch and the ledger can import it cheaply.
"""
from gep.compensation.agreement import CLAUSES, Agreement, load_agreement, validate_agreement
from gep.compensation.allocate import allocate
from gep.compensation.engine import Settlement, Transfer, p_index, settle, transfer_id
from gep.compensation.inputs import EngineInputs, Incident, read_inputs
from gep.compensation.narrative import narrative

__all__ = [
    "CLAUSES", "Agreement", "EngineInputs", "Incident", "Settlement", "Transfer", "allocate",
    "load_agreement", "narrative", "p_index", "read_inputs", "settle", "transfer_id",
    "validate_agreement",
]
