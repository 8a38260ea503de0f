"""The tamper-evident public ledger ("sunshine ledger", 阳光账本) of data and payments.

An append-only RFC 6962 / RFC 9162 Merkle log of canonical JSON records (transfers, data and
report digests, alerts) in SQLite, double-entry accounts with idempotent transfer ids, Ed25519
checkpoints in the C2SP signed-note / tlog-checkpoint formats, inclusion and consistency proofs,
and a static bilingual site where anyone can check a proof in the browser.

Importing this package is cheap and pulls in only the standard library (no numpy, pandas or
rasterio; ``cryptography`` and ``jinja2`` load only when signing, verifying or building the
site), so a process that appends to the ledger starts fast.
"""
from __future__ import annotations

_EXPORTS = {
    "Ledger": "gep.ledger.store",
    "Item": "gep.ledger.store",
    "AppendResult": "gep.ledger.store",
    "TransferConflictError": "gep.ledger.store",
    "AppendSummary": "gep.ledger.api",
    "append_transfers_csv": "gep.ledger.api",
    "append_digest": "gep.ledger.api",
    "append_digests": "gep.ledger.api",
    "append_alerts_csv": "gep.ledger.api",
    "append_record_digests": "gep.ledger.api",
    "received_by_year": "gep.ledger.api",
    "write_checkpoint": "gep.ledger.api",
    "keygen": "gep.ledger.api",
    "prove_inclusion": "gep.ledger.api",
    "prove_consistency": "gep.ledger.api",
    "verify": "gep.ledger.api",
    "export_jsonl": "gep.ledger.api",
    "build_site": "gep.ledger.site",
    "verify_ledger": "gep.ledger.audit",
    "VerifyReport": "gep.ledger.audit",
}

__all__ = [
    "AppendResult",
    "AppendSummary",
    "Item",
    "Ledger",
    "TransferConflictError",
    "VerifyReport",
    "append_alerts_csv",
    "append_digest",
    "append_digests",
    "append_record_digests",
    "append_transfers_csv",
    "build_site",
    "export_jsonl",
    "keygen",
    "prove_consistency",
    "prove_inclusion",
    "received_by_year",
    "verify",
    "verify_ledger",
    "write_checkpoint",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gep.ledger' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
