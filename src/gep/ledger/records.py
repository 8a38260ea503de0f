"""Log records: canonical JSON bytes, the three record types, and their idempotency keys.

Every log entry is the canonical JSON of one record (sorted keys, no spaces, UTF-8, no ASCII
escaping), so anyone can rebuild the exact bytes that were hashed from the record alone.
Amounts are decimal strings with exactly two places: floats never enter the log.

Record types:

* ``transfer`` — one double-entry transfer; its ``transfer_id`` is the idempotency key
  (TigerBeetle's rule: a repeat with identical fields is ``exists``; with any different field it
  is refused, naming the field).
* ``digest`` — SHA-256 of a file (a sensor data batch, a year's GEP table, a report) and what
  it covers; keyed by its content, so re-appending the same file is ``exists``.
* ``alert`` — one row of a monitoring alerts file, stored as given; keyed by content.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from json.encoder import encode_basestring as _js
from typing import Any

from gep.errors import InputDataError
from gep.money import FEN

TRANSFER_FIELDS = ("transfer_id", "year", "clause", "from_account", "to_account", "amount_cny",
                   "explanation")
TRANSFER_KINDS = ("settlement", "disbursement")


def book_account(record, side: str) -> str:
    """The balance account a transfer moves: ``<kind>:<account>``.

    Settlements (the annual obligations the engine computes) and disbursements (the daily cash
    flows that pay them out) are two books: booking both into one account would count the same
    yuan twice.
    """
    return f"{record['kind']}:{record[side]}"
DIGEST_KINDS = ("data_batch", "gep_table", "report", "portal_event")
# Field order used when naming the first differing field of a conflicting retry.
TRANSFER_COMPARE_ORDER = ("kind", "year", "clause", "from_account", "to_account", "amount_cny",
                          "explanation")


# json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False), with the
# encoder built once (dumps builds a new one per call, which dominates verifying 1M entries).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# A canonical amount: digits, a point, two digits, no leading zeros, no sign or exponent.
_AMOUNT = re.compile(r"(?:0|[1-9][0-9]*)\.[0-9]{2}")
_TRANSFER_KEYS = frozenset(TRANSFER_FIELDS) | {"type", "kind"}
_DIGEST_KEYS = frozenset({"type", "kind", "sha256", "size_bytes", "file", "covers"})


def canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """The issue-5 contract: ``json.dumps(sort_keys, (",", ":"), ensure_ascii=False)`` UTF-8."""
    return _CANONICAL.encode(record).encode("utf-8")


_TRANSFER_TEMPLATE = ('{"amount_cny":%s,"clause":%s,"explanation":%s,"from_account":%s,'
                      '"kind":%s,"to_account":%s,"transfer_id":%s,"type":"transfer","year":%d}')


def transfer_canonical_bytes(record: Mapping[str, Any]) -> bytes:
    """``canonical_bytes`` of a well-formed transfer record (see ``check_record``), 3x faster.

    The keys of a transfer are fixed, so their sorted order is too; each string goes through the
    same escaper ``json`` uses with ``ensure_ascii=False``. Verification of a million-entry
    log spends most of its time re-encoding records, hence this path; a test checks that it
    agrees with ``canonical_bytes`` on arbitrary records.
    """
    return (_TRANSFER_TEMPLATE % (
        _js(record["amount_cny"]), _js(record["clause"]), _js(record["explanation"]),
        _js(record["from_account"]), _js(record["kind"]), _js(record["to_account"]),
        _js(record["transfer_id"]), record["year"])).encode("utf-8")


def content_key(prefix: str, record: Mapping[str, Any]) -> str:
    """Key of a record identified by its content: ``prefix:`` + SHA-256 of its bytes."""
    return f"{prefix}:{hashlib.sha256(canonical_bytes(record)).hexdigest()}"


def record_key(record: Mapping[str, Any]) -> str:
    """The idempotency key the store keeps unique for this record."""
    rtype = record.get("type")
    if rtype == "transfer":
        return f"transfer:{record['transfer_id']}"
    if rtype in ("digest", "alert"):
        return content_key(rtype, record)
    raise ValueError(f"unknown record type {rtype!r}")


def parse_amount(value: Any, *, file: str, line: int | None, field: str = "amount_cny"
                 ) -> Decimal:
    """Parse an exact, positive amount in CNY with at most two decimal places."""
    text = str(value).strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InputDataError(file, f"amount {text!r} is not a decimal number", line=line,
                             field=field, fix="write the amount as a plain decimal such as "
                             "1250000.00") from None
    if not amount.is_finite():
        raise InputDataError(file, f"amount {text!r} is not finite", line=line, field=field,
                             fix="write the amount as a plain decimal such as 1250000.00")
    if amount != amount.quantize(FEN):
        raise InputDataError(file, f"amount {text!r} has more than two decimal places", line=line,
                             field=field, fix="round the amount to the fen (0.01 CNY) before "
                             "it reaches the ledger; the ledger records exact amounts only")
    if amount <= 0:
        raise InputDataError(file, f"amount {text!r} is not positive", line=line, field=field,
                             fix="a transfer moves a positive amount from from_account to "
                             "to_account; swap the accounts to reverse a flow")
    return amount


def amount_to_fen(text: str) -> int:
    """``"12.30"`` -> 1230: exact integer fen for balances."""
    if _AMOUNT.fullmatch(text):
        return int(text.replace(".", ""))
    return int(Decimal(text).scaleb(2))


def fen_to_text(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def transfer_record(row: Mapping[str, Any], kind: str, *, file: str = "<transfers>",
                    line: int | None = None) -> dict:
    """Validate one transfers.csv row and return its normalised log record."""
    if kind not in TRANSFER_KINDS:
        raise InputDataError(file, f"transfer kind {kind!r} is unknown", line=line, field="kind",
                             fix=f"use one of {', '.join(TRANSFER_KINDS)}")
    missing = [f for f in TRANSFER_FIELDS if f not in row or row[f] is None]
    if missing:
        raise InputDataError(file, f"missing column(s) {', '.join(missing)}", line=line,
                             field=missing[0], fix="use the transfers.csv columns "
                             + ",".join(TRANSFER_FIELDS))
    tid = str(row["transfer_id"])
    if not tid.strip() or tid != tid.strip():
        raise InputDataError(file, f"transfer_id {tid!r} is empty or has surrounding spaces",
                             line=line, field="transfer_id",
                             fix="give every transfer a unique, trimmed id")
    try:
        year = int(str(row["year"]).strip())
    except ValueError:
        raise InputDataError(file, f"year {row['year']!r} is not an integer", line=line,
                             field="year", fix="write the year as four digits, e.g. 2021"
                             ) from None
    accounts = {}
    for f in ("from_account", "to_account"):
        acct = str(row[f])
        if not acct.strip() or acct != acct.strip():
            raise InputDataError(file, f"{f} {acct!r} is empty or has surrounding spaces",
                                 line=line, field=f, fix="name both accounts of the transfer")
        accounts[f] = acct
    if accounts["from_account"] == accounts["to_account"]:
        raise InputDataError(file, f"from_account and to_account are both "
                             f"{accounts['from_account']!r}", line=line, field="to_account",
                             fix="a double-entry transfer moves money between two different "
                             "accounts")
    amount = parse_amount(row["amount_cny"], file=file, line=line)
    return {
        "type": "transfer",
        "kind": kind,
        "transfer_id": tid,
        "year": year,
        "clause": str(row["clause"]),
        "from_account": accounts["from_account"],
        "to_account": accounts["to_account"],
        "amount_cny": f"{amount:.2f}",
        "explanation": str(row["explanation"]),
    }


def first_difference(stored: Mapping[str, Any], given: Mapping[str, Any]) -> str | None:
    """The first field (in TRANSFER_COMPARE_ORDER) where two transfer records differ."""
    for f in TRANSFER_COMPARE_ORDER:
        if stored.get(f) != given.get(f):
            return f
    return None


def digest_record(sha256_hex: str, size_bytes: int, file_name: str, kind: str, covers: str,
                  *, file: str = "<digest>") -> dict:
    if kind not in DIGEST_KINDS:
        raise InputDataError(file, f"digest kind {kind!r} is unknown", field="kind",
                             fix=f"use one of {', '.join(DIGEST_KINDS)}")
    if not covers.strip():
        raise InputDataError(file, "the digest does not say what it covers", field="covers",
                             fix="pass --covers with e.g. 'boundary section sensors 2021-07-01'")
    return {"type": "digest", "kind": kind, "sha256": sha256_hex, "size_bytes": size_bytes,
            "file": file_name, "covers": covers}


def alert_record(row: Mapping[str, Any]) -> dict:
    """An alert row exactly as the monitoring stage wrote it (all values as strings)."""
    return {"type": "alert", "fields": {str(k): "" if v is None else str(v)
                                        for k, v in row.items()}}


def check_record(record: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` if a stored record is not a well-formed record of its type."""
    rtype = record.get("type")
    if rtype == "transfer":
        if record.keys() != _TRANSFER_KEYS:
            raise ValueError(f"transfer record has fields {sorted(record)}")
        if record["kind"] not in TRANSFER_KINDS:
            raise ValueError(f"transfer kind {record['kind']!r} is unknown")
        if type(record["year"]) is not int:  # bool is an int subclass; JSON true is not a year
            raise TypeError("transfer year is not an integer")
        for f in ("transfer_id", "clause", "from_account", "to_account", "amount_cny",
                  "explanation"):
            if not isinstance(record[f], str):
                raise TypeError(f"transfer {f} is not a string")
        if record["from_account"] == record["to_account"]:
            raise ValueError("transfer moves money from an account to itself")
        amt = record["amount_cny"]
        if not _AMOUNT.fullmatch(amt) or amt == "0.00":
            raise ValueError(f"amount {amt!r} is not a positive two-decimal amount")
    elif rtype == "digest":
        if record.keys() != _DIGEST_KEYS:
            raise ValueError(f"digest record has fields {sorted(record)}")
        if record["kind"] not in DIGEST_KINDS:
            raise ValueError(f"digest kind {record['kind']!r} is unknown")
    elif rtype == "alert":
        if set(record) != {"type", "fields"}:
            raise ValueError("alert record must hold exactly 'type' and 'fields'")
        if not isinstance(record["fields"], dict):
            raise TypeError("alert fields are not a JSON object")
    else:
        raise ValueError(f"unknown record type {rtype!r}")
