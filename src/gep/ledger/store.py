"""The ledger database: an append-only log, its Merkle tree, accounts and checkpoints in SQLite.

Durability: WAL journal with ``synchronous=FULL``, so a committed batch survives power loss, and
every batch is one ``BEGIN IMMEDIATE ... COMMIT`` transaction, so a crash (even SIGKILL in the
middle of a batch) leaves either the whole batch or none of it. Concurrent writers (two
pipeline rules appending at once) queue on SQLite's write lock.

Tables:

* ``entries(idx, key, type, entry)``: the log; ``entry`` holds the canonical JSON bytes that
  were hashed, ``key`` the record's idempotency key (unique).
* ``nodes(level, idx, hash)``: every complete subtree of the RFC 6962 tree; level 0 holds the
  leaf hashes. Any root or proof is then ``O(log n)`` reads, and the leaf hashes kept apart from
  the entries let ``verify`` name an entry whose bytes were changed or moved.
* ``accounts(account_id, debits_fen, credits_fen)``: running double-entry totals, in integer
  fen. A transfer debits ``from_account`` and credits ``to_account``.
* ``checkpoints(id, tree_size, root, origin, note)``: every signed checkpoint issued.
* ``meta(key, value)``: verifier keys that signed checkpoints here.
"""
from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from gep.errors import InputDataError
from gep.ledger import merkle
from gep.ledger.records import (
    amount_to_fen,
    book_account,
    canonical_bytes,
    first_difference,
    record_key,
)

APPLICATION_ID = 0x47455031  # "GEP1"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE entries (
    idx   INTEGER PRIMARY KEY,
    key   TEXT NOT NULL UNIQUE,
    type  TEXT NOT NULL,
    entry BLOB NOT NULL
);
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE accounts (
    account_id  TEXT PRIMARY KEY,
    debits_fen  INTEGER NOT NULL,
    credits_fen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE checkpoints (
    id        INTEGER PRIMARY KEY,
    tree_size INTEGER NOT NULL,
    root      BLOB NOT NULL,
    origin    TEXT NOT NULL,
    note      TEXT NOT NULL UNIQUE
);
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""


class TransferConflictError(InputDataError):
    """A transfer id was re-submitted with a different value in ``field``."""

    def __init__(self, file: str, transfer_id: str, field: str, stored: Any, given: Any,
                 index: int, line: int | None = None):
        self.transfer_id = transfer_id
        self.stored = stored
        self.given = given
        self.index = index
        super().__init__(
            file,
            f"transfer {transfer_id!r} already exists (entry {index}) with {field} "
            f"{stored!r}, not {given!r}; refused",
            line=line, field=field,
            fix="a transfer id is an idempotency key and can never change: give a new "
                "transfer a new transfer_id, or correct the input file to the recorded value. "
                "If gep ledger verify fails, the recorded value itself was altered: restore "
                "the ledger from your backup, never adopt the stored value")


@dataclass(frozen=True)
class AppendResult:
    """Outcome of one record: ``appended`` at ``index``, or ``exists`` at ``index``."""

    status: str
    index: int
    key: str


@dataclass(frozen=True)
class Item:
    """A record to append, with where it came from (for error messages)."""

    record: Mapping[str, Any]
    file: str = "<input>"
    line: int | None = None


def as_bytes(value: Any) -> bytes:
    """A BLOB column's value as bytes, even if someone stored text or a number there."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return str(value).encode("utf-8")


def _busy_timeout_ms() -> int:
    return int(os.environ.get("GEP_LEDGER_BUSY_TIMEOUT_MS", "60000"))


class Ledger:
    """An open ledger database. Use as a context manager, or call ``close()``."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = Path(path)
        exists = self.path.exists() and self.path.stat().st_size > 0
        if not exists and not create:
            raise InputDataError(str(self.path), "no ledger database here", field="db",
                                 fix="check the path, or create the ledger with "
                                     "gep ledger append")
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path), isolation_level=None,
                                    timeout=_busy_timeout_ms() / 1000)
        try:
            self._configure()
        except BaseException:
            self.conn.close()
            raise

    # ------------------------------------------------------------------ setup

    def _configure(self) -> None:
        c = self.conn
        # Identify the file before changing anything in it (WAL mode is persistent).
        try:
            app = c.execute("PRAGMA application_id").fetchone()[0]
            tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise InputDataError(str(self.path), f"not an SQLite database, or a damaged one "
                                 f"({exc})", field="db",
                                 fix="pass the ledger.db written by gep ledger; if this is it, "
                                     "restore it from your backup") from None
        if app != APPLICATION_ID and (app != 0 or tables):
            raise InputDataError(str(self.path), "SQLite database is not a gep ledger",
                                 field="db", fix="pass the ledger.db written by gep ledger")
        mode = c.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise InputDataError(str(self.path), f"cannot switch to WAL mode (got {mode})",
                                 field="db", fix="put the ledger on a local file system")
        c.execute("PRAGMA synchronous=FULL")
        c.execute(f"PRAGMA busy_timeout={_busy_timeout_ms()}")
        app = c.execute("PRAGMA application_id").fetchone()[0]
        if app == 0:
            c.execute("BEGIN IMMEDIATE")
            try:
                # Re-check under the write lock: another process may have created it.
                if c.execute("PRAGMA application_id").fetchone()[0] == 0:
                    tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                    if tables:
                        raise InputDataError(str(self.path), "SQLite database is not a gep "
                                             "ledger", field="db",
                                             fix="pass the ledger.db written by gep ledger")
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            c.execute(stmt)
                    c.execute(f"PRAGMA application_id={APPLICATION_ID}")
                    c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        ver = c.execute("PRAGMA user_version").fetchone()[0]
        if ver != SCHEMA_VERSION:
            raise InputDataError(str(self.path), f"ledger schema version {ver} is not "
                                 f"{SCHEMA_VERSION}", field="db",
                                 fix="use the gep version that wrote this ledger")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ reads

    @property
    def size(self) -> int:
        """Number of entries (the tree size)."""
        return self.conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM entries").fetchone()[0]

    def entry(self, index: int) -> bytes:
        row = self.conn.execute("SELECT entry FROM entries WHERE idx=?", (index,)).fetchone()
        if row is None:
            raise IndexError(f"no entry {index} (the log has {self.size})")
        return as_bytes(row[0])

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield ``(index, entry bytes)`` in log order."""
        sql = "SELECT idx, entry FROM entries WHERE idx >= ?"
        args: list[int] = [start]
        if end is not None:
            sql += " AND idx < ?"
            args.append(end)
        for idx, entry in self.conn.execute(sql + " ORDER BY idx", args):
            yield idx, as_bytes(entry)

    def find(self, key: str) -> tuple[int, bytes] | None:
        row = self.conn.execute("SELECT idx, entry FROM entries WHERE key=?", (key,)).fetchone()
        return None if row is None else (row[0], as_bytes(row[1]))

    def node(self, level: int, index: int) -> bytes:
        row = self.conn.execute("SELECT hash FROM nodes WHERE level=? AND idx=?",
                                (level, index)).fetchone()
        if row is None:
            raise LookupError(f"tree node level {level} index {index} is missing from "
                              f"{self.path}; run gep ledger verify")
        return as_bytes(row[0])

    def _subtree_hasher(self):
        cache: dict[tuple[int, int], bytes] = {}

        def subtree_hash(start: int, end: int) -> bytes:
            hashes = []
            for key in merkle.perfect_ranges(start, end):
                h = cache.get(key)
                if h is None:
                    h = cache[key] = self.node(*key)
                hashes.append(h)
            return merkle.fold_right(hashes)

        return subtree_hash

    def _check_size(self, size: int) -> None:
        n = self.size
        if not 0 <= size <= n:
            raise merkle.ProofError(f"tree size {size} is outside 0..{n} (entries held)")

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        self._check_size(size)
        return self._subtree_hasher()(0, size)

    def leaf_hash(self, index: int) -> bytes:
        return self.node(0, index)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        self._check_size(size)
        return merkle.inclusion_proof(index, size, self._subtree_hasher())

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        second = self.size if second is None else second
        self._check_size(second)
        return merkle.consistency_proof(first, second, self._subtree_hasher())

    def prover(self):
        """A ``subtree_hash`` callback with a shared node cache, for many proofs at once."""
        return self._subtree_hasher()

    def balances(self) -> dict[str, tuple[int, int]]:
        """``{account: (debits_fen, credits_fen)}`` as stored."""
        return {a: (d, c) for a, d, c in self.conn.execute(
            "SELECT account_id, debits_fen, credits_fen FROM accounts ORDER BY account_id")}

    def checkpoints(self) -> list[tuple[int, int, bytes, str, str]]:
        """``(id, tree_size, root, origin, note)`` oldest first."""
        return [(i, s, as_bytes(r), o, n) for i, s, r, o, n in self.conn.execute(
            "SELECT id, tree_size, root, origin, note FROM checkpoints ORDER BY id")]

    def verifier_keys(self) -> list[str]:
        return [v for (v,) in self.conn.execute(
            "SELECT value FROM meta WHERE key LIKE 'vkey:%' ORDER BY key")]

    # ------------------------------------------------------------------ writes

    def _frontier(self, n: int) -> dict[int, bytes]:
        """The last complete node of each level for a tree of ``n`` leaves (its right edge)."""
        out: dict[int, bytes] = {}
        level = 0
        while n >> level:
            count = n >> level
            out[level] = self.node(level, count - 1)
            level += 1
        return out

    def append(self, items: Iterable[Item | Mapping[str, Any]]) -> list[AppendResult]:
        """Append records in ONE transaction; all are written or none.

        A record whose key is already in the log (or earlier in this batch) is not written
        again: identical content reports ``exists``; a transfer with the same id but another
        field value raises ``TransferConflictError`` and the whole batch is rolled back.
        """
        c = self.conn
        results: list[AppendResult] = []
        c.execute("BEGIN IMMEDIATE")
        try:
            n = self.size
            batch = _Batch(n, self._frontier(n))
            for item in items:
                if not isinstance(item, Item):
                    item = Item(item)
                key = record_key(item.record)
                idx = self._recorded(batch, item, key)
                if idx is not None:
                    results.append(AppendResult("exists", idx, key))
                    continue
                results.append(AppendResult("appended", batch.add(key, item.record), key))
            self._write(batch)
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        return results

    def _recorded(self, batch: _Batch, item: Item, key: str) -> int | None:
        """The index of the record's key in the log or earlier in the batch, None if new; a
        transfer whose id is recorded with another value raises TransferConflictError."""
        record = item.record
        seen = batch.pending.get(key)
        if seen is None:
            found = self.find(key)
            if found is not None:
                seen = (found[0], json.loads(found[1]))
        if seen is None:
            return None
        idx, stored = seen
        if record.get("type") == "transfer":
            diff = first_difference(stored, record)
            if diff is not None:
                raise TransferConflictError(
                    item.file, record["transfer_id"], diff, stored.get(diff),
                    record.get(diff), idx, line=item.line)
        return idx

    def _write(self, batch: _Batch) -> None:
        """Insert the batch's entries and tree nodes; add its deltas to the account totals."""
        c = self.conn
        c.executemany("INSERT INTO entries(idx, key, type, entry) VALUES (?,?,?,?)",
                      batch.entry_rows)
        c.executemany("INSERT INTO nodes(level, idx, hash) VALUES (?,?,?)", batch.node_rows)
        c.executemany(
            "INSERT INTO accounts(account_id, debits_fen, credits_fen) VALUES (?,?,?) "
            "ON CONFLICT(account_id) DO UPDATE SET "
            "debits_fen = debits_fen + excluded.debits_fen, "
            "credits_fen = credits_fen + excluded.credits_fen",
            [(a, d, cr) for a, (d, cr) in sorted(batch.deltas.items())])

    def add_checkpoint(self, note: str, size: int, root: bytes, origin: str,
                       vkey: str | None = None) -> bool:
        """Store a signed checkpoint (already verified by the caller); False if known."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            cur = c.execute("INSERT OR IGNORE INTO checkpoints(tree_size, root, origin, note) "
                            "VALUES (?,?,?,?)", (size, root, origin, note))
            if vkey:
                c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                          ("vkey:" + vkey, vkey))
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        return cur.rowcount == 1


class _Batch:
    """The rows one append adds: entries, tree nodes and account deltas (in fen)."""

    def __init__(self, n: int, frontier: dict[int, bytes]):
        self.n = n
        #: frontier[level] is the last complete node of that level so far
        self.frontier = frontier
        self.pending: dict[str, tuple[int, Mapping[str, Any]]] = {}
        self.deltas: dict[str, list[int]] = {}
        self.entry_rows: list[tuple[int, str, str, bytes]] = []
        self.node_rows: list[tuple[int, int, bytes]] = []

    def add(self, key: str, record: Mapping[str, Any]) -> int:
        """Add a new record at the end of the log; returns its index."""
        entry = canonical_bytes(record)
        idx = self.n
        self.n += 1
        self.entry_rows.append((idx, key, record["type"], entry))
        self.pending[key] = (idx, record)
        self._tree(idx, entry)
        if record["type"] == "transfer":
            fen = amount_to_fen(record["amount_cny"])
            self.deltas.setdefault(book_account(record, "from_account"), [0, 0])[0] += fen
            self.deltas.setdefault(book_account(record, "to_account"), [0, 0])[1] += fen
        return idx

    def _tree(self, idx: int, entry: bytes) -> None:
        """The leaf, then every parent it completes. When j is odd, frontier[level] is
        exactly the left sibling (level, j - 1)."""
        frontier = self.frontier
        h = merkle.leaf_hash(entry)
        level, j = 0, idx
        self.node_rows.append((0, j, h))
        while j & 1:
            left = frontier[level]
            frontier[level] = h
            h = merkle.node_hash(left, h)
            level, j = level + 1, j >> 1
            self.node_rows.append((level, j, h))
        frontier[level] = h


def open_ledger(path: str | os.PathLike, *, create: bool = False) -> Ledger:
    return Ledger(path, create=create)


def hex_list(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]
