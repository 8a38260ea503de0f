"""Path-in, path-out functions behind ``gep ledger ...``, called by the pipeline and tests.

Each function opens the ledger, does one thing, and closes it. Appends are idempotent, so a
re-run of the pipeline that appends the same files again only reports ``exists``.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gep.errors import InputDataError
from gep.io import write_text
from gep.ledger import merkle
from gep.ledger.records import TRANSFER_FIELDS, alert_record, digest_record, transfer_record
from gep.ledger.store import AppendResult, Item, Ledger


@dataclass
class AppendSummary:
    results: list[AppendResult] = field(default_factory=list)
    size: int = 0

    @property
    def appended(self) -> int:
        return sum(r.status == "appended" for r in self.results)

    @property
    def exists(self) -> int:
        return sum(r.status == "exists" for r in self.results)

    def __str__(self) -> str:
        return f"appended {self.appended}, already present {self.exists}; log size {self.size}"


def _read_csv(path: Path, required: Sequence[str] = ()) -> tuple[list[str], list[tuple[int,
                                                                                     dict]]]:
    if not path.is_file():
        raise InputDataError(str(path), "file not found", fix="check the path")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            return [], []
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputDataError(str(path), f"cannot read CSV header: {exc}", line=1,
                                 fix="save the file as UTF-8 CSV") from None
        dup = sorted({h for h in header if header.count(h) > 1})
        if dup:
            raise InputDataError(str(path), f"duplicate column(s) {', '.join(dup)}", line=1,
                                 field=dup[0], fix="give every column a distinct name")
        missing = [c for c in required if c not in header]
        if missing:
            raise InputDataError(str(path), f"missing column(s) {', '.join(missing)}", line=1,
                                 field=missing[0],
                                 fix="the header must hold " + ",".join(required))
        rows = []
        try:
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                if len(values) != len(header):
                    raise InputDataError(str(path), f"{len(values)} values for {len(header)} "
                                         "columns", line=reader.line_num,
                                         fix="quote values that contain commas")
                rows.append((reader.line_num, dict(zip(header, values))))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputDataError(str(path), f"cannot read CSV: {exc}", line=reader.line_num,
                                 fix="save the file as UTF-8 CSV") from None
    return header, rows


def transfer_items(csv_path: str | os.PathLike, kind: str = "settlement") -> list[Item]:
    """Validate a transfers CSV completely (nothing is written if any row is bad)."""
    path = Path(csv_path)
    _, rows = _read_csv(path, TRANSFER_FIELDS)
    return [Item(transfer_record(row, kind, file=str(path), line=line), str(path), line)
            for line, row in rows]


def append_transfers_csv(db: str | os.PathLike, csv_path: str | os.PathLike,
                         kind: str = "settlement") -> AppendSummary:
    """Append every row of a transfers.csv (issue-3 columns) as one batch."""
    items = transfer_items(csv_path, kind)
    with Ledger(db) as lg:
        results = lg.append(items)
        return AppendSummary(results, lg.size)


def file_sha256(path: Path) -> tuple[str, int]:
    with open(path, "rb") as fh:
        digest = hashlib.file_digest(fh, "sha256")
    return digest.hexdigest(), path.stat().st_size


def append_digests(db: str | os.PathLike, files: Iterable[str | os.PathLike], kind: str,
                   covers: str) -> AppendSummary:
    """Append the SHA-256 of each file, with what it covers, as one batch."""
    items = []
    for f in files:
        p = Path(f)
        if not p.is_file():
            raise InputDataError(str(p), "file to digest not found", field="digest",
                                 fix="append the digest after the file is written")
        sha, size = file_sha256(p)
        items.append(Item(digest_record(sha, size, p.name, kind, covers, file=str(p)),
                          str(p)))
    with Ledger(db) as lg:
        results = lg.append(items)
        return AppendSummary(results, lg.size)


def append_digest(db: str | os.PathLike, file: str | os.PathLike, kind: str, covers: str
                  ) -> AppendSummary:
    return append_digests(db, [file], kind, covers)


def append_record_digests(db: str | os.PathLike, records: Iterable[tuple[bytes, str, str]],
                          kind: str = "portal_event") -> AppendSummary:
    """Append the SHA-256 of in-memory documents ``(content, name, covers)`` as one batch.

    Used by the citizen portal: the document is the canonical JSON of an event (pseudonymous
    ids only) that the portal publishes at ``name``, so anyone can re-hash it.
    """
    items = [Item(digest_record(hashlib.sha256(content).hexdigest(), len(content), name, kind,
                                covers, file=name), name)
             for content, name, covers in records]
    with Ledger(db) as lg:
        results = lg.append(items)
        return AppendSummary(results, lg.size)


def received_by_year(db: str | os.PathLike, kind: str = "disbursement"
                     ) -> dict[tuple[str, int], int]:
    """Fen received per ``(to_account, year)`` in one book (``settlement`` or
    ``disbursement``), summed over the whole log; empty when the ledger does not exist."""
    from gep.ledger.records import amount_to_fen

    if not Path(db).is_file():
        return {}
    out: dict[tuple[str, int], int] = {}
    with Ledger(db, create=False) as lg:
        for _, raw in lg.entries():
            rec = json.loads(raw)
            if rec.get("type") == "transfer" and rec.get("kind") == kind:
                key = (rec["to_account"], rec["year"])
                out[key] = out.get(key, 0) + amount_to_fen(rec["amount_cny"])
    return out


def append_alerts_csv(db: str | os.PathLike, csv_path: str | os.PathLike) -> AppendSummary:
    """Append one ``alert`` record per row, stored exactly as given (all values as text)."""
    path = Path(csv_path)
    _, rows = _read_csv(path)
    items = [Item(alert_record(row), str(path), line) for line, row in rows]
    with Ledger(db) as lg:
        results = lg.append(items)
        return AppendSummary(results, lg.size)


# ----------------------------------------------------------------------------- checkpoints

def public_file(path: str | os.PathLike, directory: bool = False) -> Path:
    """Give a published file the usual world-readable mode (atomic writes create it 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, (0o777 if directory else 0o666) & ~umask)
    return Path(path)


def write_checkpoint(db: str | os.PathLike, key_file: str | os.PathLike, origin: str,
                     out: str | os.PathLike, vkey_out: str | os.PathLike | None = None):
    """Verify the whole ledger, sign a checkpoint of its current size, store and write it.

    Refuses to sign when verification fails, or when the log no longer extends the newest
    checkpoint already issued (a signed fork would be evidence against the operator).
    """
    from gep.ledger.audit import verify_ledger
    from gep.ledger.note import (
        Checkpoint,
        Verifier,
        load_signer,
        open_checkpoint,
        sign_checkpoint,
    )

    if not origin or "\n" in origin or origin != origin.strip():
        raise InputDataError("<command line>", f"origin {origin!r} is empty or spans lines",
                             field="origin", fix="use a stable log name such as "
                             "gep.example.org/demo")
    signer = load_signer(key_file)
    with Ledger(db, create=False) as lg:
        verifiers = [signer.verifier()] + [Verifier.parse(v) for v in lg.verifier_keys()]
        report = verify_ledger(lg, verifiers=verifiers)
        if not report.ok:
            raise InputDataError(str(db), "ledger fails verification; refusing to sign:\n"
                                 + report.summary(), field="db",
                                 fix="investigate with gep ledger verify before signing")
        for *_, old_origin, _note in lg.checkpoints():
            if old_origin != origin:
                raise InputDataError(str(db), f"origin {origin!r} differs from the origin "
                                     f"{old_origin!r} of earlier checkpoints", field="origin",
                                     fix=f"keep --origin {old_origin}")
        cp = Checkpoint(origin, report.size, report.root)
        note = sign_checkpoint(cp, signer)
        open_checkpoint(note, [signer.verifier()])  # never publish what does not verify
        lg.add_checkpoint(note, cp.size, cp.root, origin, signer.verifier().encode())
    public_file(write_text(out, note))
    if vkey_out is not None:
        public_file(write_text(vkey_out, signer.verifier().encode() + "\n"))
    return cp


def keygen(name: str, out_dir: str | os.PathLike, force: bool = False) -> tuple[Path, Path]:
    """Create ``signer.key`` (0600) and ``verifier.vkey`` in ``out_dir``."""
    from gep.ledger.note import generate_key_files

    return generate_key_files(name, out_dir, force=force)


# ----------------------------------------------------------------------------- proofs

def _newest_checkpoint(lg: Ledger):
    rows = lg.checkpoints()
    return max(rows, key=lambda r: (r[1], r[0])) if rows else None


def prove_inclusion(db: str | os.PathLike, entry: int, size: int | None = None) -> dict:
    """Inclusion proof of ``entry`` in the tree of ``size`` entries.

    Default size: the newest checkpoint's, when it covers the entry (so the proof checks against
    a signed root); otherwise the current log size.
    """
    with Ledger(db, create=False) as lg:
        n = lg.size
        if not 0 <= entry < n:
            raise InputDataError(str(db), f"entry {entry} is not in the log (0..{n - 1})",
                                 field="entry", fix="pick an index shown by gep ledger export")
        newest = _newest_checkpoint(lg)
        note = None
        if size is None:
            if newest is not None and entry < newest[1] <= n:
                size, note = newest[1], newest[4]
            else:
                size = n
        elif newest is not None and newest[1] == size:
            note = newest[4]
        if not entry < size <= n:
            raise InputDataError(str(db), f"tree size {size} does not contain entry {entry} "
                                 f"or exceeds the log ({n})", field="size",
                                 fix=f"use a size in {entry + 1}..{n}")
        raw = lg.entry(entry)
        proof = lg.inclusion_proof(entry, size)
        root = lg.root(size)
    return {
        "index": entry,
        "tree_size": size,
        "record": json.loads(raw),
        "entry": raw.decode("utf-8"),
        "leaf_hash": merkle.leaf_hash(raw).hex(),
        "inclusion_path": [h.hex() for h in proof],
        "root_hash": root.hex(),
        "root_hash_base64": base64.b64encode(root).decode("ascii"),
        "checkpoint": note,
    }


def prove_consistency(db: str | os.PathLike, first: int, second: int | None = None) -> dict:
    with Ledger(db, create=False) as lg:
        n = lg.size
        second = n if second is None else second
        if not 0 <= first <= second <= n:
            raise InputDataError(str(db), f"sizes {first} -> {second} are not within 0..{n}",
                                 field="size", fix="old size <= new size <= log size")
        proof = lg.consistency_proof(first, second)
        r1, r2 = lg.root(first), lg.root(second)
    return {"first": first, "second": second, "first_root": r1.hex(),
            "second_root": r2.hex(), "consistency_path": [h.hex() for h in proof]}


# ----------------------------------------------------------------------------- verify/export

RESTORE_FIX = ("do not re-append or adopt anything from this file: restore ledger.db from your "
               "backup, or from the last published copy whose root matches the last good signed "
               "checkpoint, then run gep ledger verify (docs/ledger.md)")


def damaged(db: str | os.PathLike, exc: BaseException) -> InputDataError:
    """The error for a ledger file SQLite itself cannot read."""
    return InputDataError(str(db), f"the ledger's SQLite file is damaged ({exc})", field="db",
                          fix=RESTORE_FIX)


def verify(db: str | os.PathLike, checkpoint: str | os.PathLike | None = None,
           vkeys: Sequence[str | os.PathLike] = ()):
    """Run every check; returns a ``VerifyReport`` (``.ok``, ``.summary()``)."""
    from gep.ledger.audit import verify_ledger
    from gep.ledger.note import load_verifiers

    verifiers = load_verifiers(vkeys) if vkeys else None
    note = None
    if checkpoint is not None:
        p = Path(checkpoint)
        if not p.is_file():
            raise InputDataError(str(p), "checkpoint file not found", field="checkpoint",
                                 fix="pass the checkpoint file published with the ledger")
        note = p.read_text(encoding="utf-8")
        if verifiers is None:
            raise InputDataError(str(p), "a checkpoint needs the verifier key to check it",
                                 field="vkey", fix="pass --vkey verifier.vkey too")
    try:
        with Ledger(db, create=False) as lg:
            return verify_ledger(lg, note, verifiers)
    except sqlite3.DatabaseError as exc:
        raise damaged(db, exc) from None


def require_verified(db: str | os.PathLike, what: str) -> None:
    """Raise (naming the first problem and how to restore) unless the ledger verifies."""
    report = verify(db)
    if not report.ok:
        first = sorted(report.problems, key=lambda p: (p.entry is None, p.entry or 0))[0]
        count = len(report.problems) + report.truncated_problems
        raise InputDataError(str(db), f"the ledger fails verification ({count} problem(s), "
                             f"first: {first}); refusing to {what}", field="db",
                             fix=RESTORE_FIX)


def export_jsonl(db: str | os.PathLike, out: IO[str] | None = None) -> int:
    """Write ``{"index", "record", "leaf_hash"}`` per entry, in log order; returns the count.

    The ledger is verified first: altered amounts are never exported as if they were the
    record (``InputDataError`` naming the first problem instead)."""
    require_verified(db, "export altered records")
    out = out or sys.stdout
    count = 0
    try:
        with Ledger(db, create=False) as lg:
            for idx, raw in lg.entries():
                out.write(json.dumps({"index": idx, "record": json.loads(raw),
                                      "leaf_hash": merkle.leaf_hash(raw).hex()},
                                     ensure_ascii=False) + "\n")
                count += 1
    except sqlite3.DatabaseError as exc:
        raise damaged(db, exc) from None
    return count
