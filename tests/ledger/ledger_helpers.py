"""Helpers for the ledger tests: tiny transfer files and an independent RFC 6962 oracle.

(Kept out of conftest.py so tests can import these functions.)
"""
from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

HEADER = ["transfer_id", "year", "clause", "from_account", "to_account", "amount_cny",
          "explanation"]


def write_transfers(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def transfer_row(tid: str, amount: str = "100.00", year: int = 2021,
                 frm: str = "zhejiang", to: str = "anhui", clause: str = "base",
                 explanation: str = "基础补偿 base payment") -> dict:
    return {"transfer_id": tid, "year": str(year), "clause": clause, "from_account": frm,
            "to_account": to, "amount_cny": amount, "explanation": explanation}


def canonical(record: dict) -> bytes:
    """The issue-5 contract, written out independently of gep.ledger."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def mth(entries: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 Merkle Tree Hash, recursively (independent oracle)."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()
