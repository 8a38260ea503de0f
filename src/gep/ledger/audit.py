"""Full verification of a ledger database: every hash, every balance, every checkpoint.

``verify_ledger`` trusts nothing in the database except what it can recompute:

1. entries are numbered 0..n-1 without gaps; each entry's leaf hash ``SHA-256(0x00||entry)``
   equals the leaf hash kept in the tree, its bytes are canonical JSON of a well-formed record,
   and its stored key and type are the ones derived from the record (so a changed byte, a moved
   or deleted row is named by its index);
2. the whole RFC 6962 tree is rebuilt from the entries and compared with every stored node;
3. account totals are recomputed from the transfer records and compared with the stored ones;
4. every stored checkpoint (and an external one, if given) has a valid signature from a trusted
   key, its tree size is not beyond the log (truncation), its root equals the recomputed root at
   its size, and the newest is consistent with every earlier one by an RFC 9162 consistency
   proof checked with the RFC 9162 section 2.1.4.2 verifier.

An attacker who can write the database can rewrite entries *and* every derived hash; only the
signed checkpoints catch that, and then the report names the checkpointed range that changed.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

from gep.errors import GepError
from gep.ledger import merkle
from gep.ledger.note import Checkpoint, NoteError, Verifier, open_checkpoint
from gep.ledger.records import (
    amount_to_fen,
    book_account,
    canonical_bytes,
    check_record,
    fen_to_text,
    transfer_canonical_bytes,
)
from gep.ledger.store import _SCHEMA, APPLICATION_ID, SCHEMA_VERSION, Ledger, as_bytes

_sha256 = hashlib.sha256


@dataclass(frozen=True)
class Problem:
    """One failed check; ``entry`` is the log index it pins down, when it pins one."""

    entry: int | None
    message: str

    def __str__(self) -> str:
        return f"entry {self.entry}: {self.message}" if self.entry is not None else self.message


@dataclass
class VerifyReport:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints_checked: int = 0
    newest_checkpoint: Checkpoint | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    truncated_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad_entry(self) -> int | None:
        idx = [p.entry for p in self.problems if p.entry is not None]
        return min(idx) if idx else None

    def summary(self) -> str:
        lines = []
        if self.ok:
            lines.append(f"OK: {self.size} entries, root {self.root.hex()}, "
                         f"{self.checkpoints_checked} checkpoint(s) checked")
        else:
            first = self.first_bad_entry
            head = f"FAIL: first bad entry {first}" if first is not None else "FAIL"
            lines.append(f"{head} ({len(self.problems) + self.truncated_problems} problem(s))")
            lines.extend(f"  {p}" for p in sorted(
                self.problems, key=lambda p: (p.entry is None, p.entry or 0)))
            if self.truncated_problems:
                lines.append(f"  ... and {self.truncated_problems} more")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


class ScanWorkerError(GepError, RuntimeError):
    """A process of the parallel entry scan failed, most often because SQLite cannot read the
    file; ``stderr`` holds the worker's traceback."""

    def __init__(self, path: str, stderr: str):
        self.path = path
        self.stderr = stderr
        last = next((ln.strip() for ln in reversed(stderr.splitlines()) if ln.strip()),
                    "no error output")
        super().__init__(f"{path}: ledger scan worker failed ({last}). Fix: if SQLite "
                         "reports the file damaged, restore ledger.db from your backup "
                         "(docs/ledger.md); otherwise run gep ledger verify again")


class _Collector:
    def __init__(self, report: VerifyReport, limit: int):
        self.report = report
        self.limit = limit

    def add(self, entry: int | None, message: str) -> None:
        if len(self.report.problems) < self.limit:
            self.report.problems.append(Problem(entry, message))
        else:
            self.report.truncated_problems += 1


_SCAN_SQL = ("SELECT e.idx, e.key, e.type, e.entry, n.hash FROM entries e "
             "LEFT JOIN nodes n ON n.level = 0 AND n.idx = e.idx "
             "WHERE e.idx >= ? AND e.idx < ? ORDER BY e.idx")


class _RowScan:
    """State of a scan over entries ``[start, end)``: recomputed leaf hashes, account totals
    in fen, problems (up to ``limit``, then a count) and the bad indices."""

    def __init__(self, start: int, limit: int):
        self.leaves: list[bytes] = []
        self.totals: dict[str, list[int]] = {}
        self.problems: list[tuple[int | None, str]] = []
        self.bad: set[int] = set()
        self.dropped = 0
        self.expected = start
        self.limit = limit

    def add(self, entry: int, message: str) -> None:
        self.bad.add(entry)
        if len(self.problems) < self.limit:
            self.problems.append((entry, message))
        else:
            self.dropped += 1

    def missing_until(self, idx: int) -> None:
        """Rows before ``idx`` were deleted: name each, keep a placeholder leaf."""
        while self.expected < idx:
            self.add(self.expected, "entry is missing from the log (deleted)")
            self.leaves.append(merkle.EMPTY_ROOT)  # placeholder keeps positions aligned
            self.expected += 1

    def leaf(self, idx: int, entry: bytes, stored_leaf: bytes | None) -> None:
        """The entry's leaf hash, recomputed and compared with the tree's."""
        h = _sha256(b"\x00" + entry).digest()
        self.leaves.append(h)
        if stored_leaf is None:
            self.add(idx, "the tree holds no leaf hash for this entry")
        elif stored_leaf != h:
            self.add(idx, "entry bytes do not match the leaf hash in the tree "
                          "(the entry was changed, moved or replaced)")

    def record(self, idx: int, key, rtype, entry: bytes) -> None:
        """The entry is the canonical JSON of a valid record, stored under its own key and
        type; a transfer adds its amount to both accounts' totals."""
        try:
            record = _decode(entry.decode("utf-8"))
            if type(record) is not dict:
                raise TypeError("entry is not a JSON object")
            check_record(record)
            canon = (transfer_canonical_bytes(record) if record["type"] == "transfer"
                     else canonical_bytes(record))
            if canon != entry:
                raise ValueError("entry bytes are not canonical JSON")
        except (ValueError, TypeError, KeyError) as exc:  # UnicodeDecodeError is a ValueError
            self.add(idx, f"entry is not a valid record: {exc}")
            return
        rt = record["type"]
        if rt == "transfer":
            want_key = "transfer:" + record["transfer_id"]
            fen = amount_to_fen(record["amount_cny"])
            for side, col in (("from_account", 0), ("to_account", 1)):
                name = book_account(record, side)
                acct = self.totals.get(name)
                if acct is None:
                    acct = self.totals[name] = [0, 0]
                acct[col] += fen
        else:
            want_key = f"{rt}:{_sha256(entry).hexdigest()}"
        if key != want_key or rtype != rt:
            self.add(idx, f"stored key/type ({key!r}, {rtype!r}) do not match the record")


_decode = json.JSONDecoder().decode


def _scan_rows(rows, start: int, end: int | None, limit: int):
    """Check entries ``[start, end)`` (``end=None``: to the last row).

    Returns ``(leaves, totals, problems, bad, expected)``: recomputed leaf hashes (a
    placeholder where a row is missing), per-account [debits, credits] in fen, up to ``limit``
    ``(entry, message)`` problems plus a count of those left out, the bad indices, and the
    index after the last row seen.
    """
    scan = _RowScan(start, limit)
    for idx, key, rtype, entry, stored_leaf in rows:
        if type(entry) is not bytes:
            entry = as_bytes(entry)
        if idx != scan.expected:
            if type(idx) is not int or idx < scan.expected:
                scan.add(scan.expected, f"entry index {idx!r} is out of order")
                continue
            scan.missing_until(idx)  # a gap: rows were deleted
        scan.expected = idx + 1
        scan.leaf(idx, entry, stored_leaf)
        scan.record(idx, key, rtype, entry)
    if end is not None:
        scan.missing_until(end)  # rows missing at the end of this chunk
    return scan.leaves, scan.totals, scan.problems, scan.bad, scan.expected, scan.dropped


def _scan_chunk(path: str, start: int, end: int, limit: int):
    """Scan one index range with its own read-only connection (runs in a worker process)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        leaves, totals, problems, bad, expected, dropped = _scan_rows(
            conn.execute(_SCAN_SQL, (start, end)), start, end, limit)
    finally:
        conn.close()
    return b"".join(leaves), totals, problems, bad, expected, dropped


def _worker_main() -> None:
    """Entry point of a scan worker: argv = path start end limit; pickled result on stdout."""
    import pickle

    path, start, end, limit = sys.argv[1], *map(int, sys.argv[2:5])
    pickle.dump(_scan_chunk(path, start, end, limit), sys.stdout.buffer,
                protocol=pickle.HIGHEST_PROTOCOL)


def _scan_parallel(path: str, top: int, workers: int, limit: int) -> list:
    """Run ``_scan_chunk`` over ``workers`` ranges in fresh interpreter processes.

    Plain subprocesses rather than multiprocessing: spawn/forkserver re-run the caller's
    ``__main__`` (which breaks under ``python -``, notebooks and unguarded scripts), and fork
    would copy a process that holds SQLite connections.
    """
    import pickle
    import subprocess

    step = -(-top // workers)
    code = "from gep.ledger.audit import _worker_main; _worker_main()"
    procs = [subprocess.Popen([sys.executable, "-c", code, path, str(a), str(min(a + step, top)),
                               str(limit)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for a in range(0, top, step)]
    parts = []
    for p in procs:
        out, err = p.communicate()
        if p.returncode != 0:
            raise ScanWorkerError(path, err.decode(errors="replace"))
        parts.append(pickle.loads(out))
    return parts


def _scan_entries(ledger: Ledger, out: _Collector, workers: int
                  ) -> tuple[list[bytes], dict[str, list[int]], set[int]]:
    """Check every entry; return recomputed leaf hashes, account totals and bad indices."""
    conn = ledger.conn
    top = conn.execute("SELECT coalesce(max(idx) + 1, 0) FROM entries").fetchone()[0]
    if type(top) is not int:
        top = 0
    if workers > 1 and top > 0:
        parts = _scan_parallel(str(ledger.path), top, workers, out.limit)
        leaves: list[bytes] = []
        totals: dict[str, list[int]] = {}
        bad: set[int] = set()
        for blob, part_totals, problems, part_bad, _, dropped in parts:
            leaves.extend(blob[i:i + 32] for i in range(0, len(blob), 32))
            for acct, (d, c) in part_totals.items():
                t = totals.setdefault(acct, [0, 0])
                t[0] += d
                t[1] += c
            for entry, message in problems:
                out.add(entry, message)
            out.report.truncated_problems += dropped
            bad |= part_bad
        expected = top
    else:
        leaves, totals, problems, bad, expected, dropped = _scan_rows(
            conn.execute(_SCAN_SQL, (0, top)), 0, None, out.limit)
        for entry, message in problems:
            out.add(entry, message)
        out.report.truncated_problems += dropped
    extra = conn.execute("SELECT min(idx) FROM nodes WHERE level = 0 AND idx >= ?",
                         (expected,)).fetchone()[0]
    if extra is not None:
        out.add(expected, "the tree holds leaf hashes beyond the last entry "
                          "(entries were deleted from the end)")
        bad.add(expected)
    return leaves, totals, bad


def _check_tree(ledger: Ledger, leaves: list[bytes], bad: set[int], out: _Collector
                ) -> list[list[bytes]]:
    """Rebuild all perfect nodes from the recomputed leaves; compare with the stored ones."""
    conn = ledger.conn
    levels = [leaves]
    level = 0
    bad_sorted = sorted(bad)
    while len(levels[level]) >= 2:
        below = levels[level]
        above = [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
        levels.append(above)
        level += 1
        span = 1 << level
        stored = conn.execute("SELECT idx, hash FROM nodes WHERE level=? ORDER BY idx",
                              (level,)).fetchall()
        if (len(stored) == len(above) and (not stored or stored[-1][0] == len(stored) - 1)
                and [h for _, h in stored] == above):
            continue  # the whole level matches (idx is unique and sorted, so 0..len-1)
        count = 0
        for j, h in stored:
            count += 1
            first, last = j * span, (j + 1) * span
            if j >= len(above):
                out.add(None, f"the tree holds an extra node at level {level} index {j}")
                continue
            if as_bytes(h) != above[j] and not _any_in(bad_sorted, first, last):
                out.add(first, f"stored tree node (level {level}, index {j}) over entries "
                               f"{first}..{last - 1} does not match the entries")
        if count < len(above):
            out.add(count * span, f"the tree is missing nodes at level {level} from index "
                                  f"{count}")
    extra = conn.execute("SELECT count(*) FROM nodes WHERE level>?", (level,)).fetchone()[0]
    if extra:
        out.add(None, f"the tree holds {extra} node(s) above its top level {level}")
    return levels


def _any_in(sorted_values: list[int], start: int, end: int) -> bool:
    """Is some value in ``[start, end)``? (A node over an already named entry is not news.)"""
    k = bisect.bisect_left(sorted_values, start)
    return k < len(sorted_values) and sorted_values[k] < end


def _root(levels: list[list[bytes]], size: int) -> bytes:
    return merkle.fold_right([levels[lv][i] for lv, i in merkle.perfect_ranges(0, size)])


def _subtree(levels: list[list[bytes]]):
    def subtree_hash(start: int, end: int) -> bytes:
        return merkle.fold_right([levels[lv][i] for lv, i in merkle.perfect_ranges(start, end)])

    return subtree_hash


PARALLEL_FROM = 200_000  # entries; below this a process pool costs more than it saves


def verify_ledger(ledger: Ledger, checkpoint_note: str | None = None,
                  verifiers: Sequence[Verifier] | None = None,
                  max_problems: int = 50, workers: int | None = None) -> VerifyReport:
    """Check everything; the report's ``ok`` is True only when every check holds.

    ``workers``: processes for the entry scan (default: up to 4 CPUs for logs of 200,000
    entries or more, else 1). Worker processes read the committed database, so a connection
    with uncommitted changes is always checked in this process. All reads happen in one read
    transaction, so appends running meanwhile do not disturb the check.
    """
    own_tx = not ledger.conn.in_transaction
    if workers is None:
        size = ledger.conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        workers = min(4, os.cpu_count() or 1) if size >= PARALLEL_FROM else 1
    if not own_tx:
        workers = 1
    sqlite_problems = check_sqlite_file(ledger)  # before BEGIN: it may checkpoint the WAL
    if own_tx:
        ledger.conn.execute("BEGIN")
    try:
        return _verify(ledger, checkpoint_note, verifiers, max_problems, workers,
                       sqlite_problems)
    finally:
        if own_tx and ledger.conn.in_transaction:
            ledger.conn.execute("COMMIT")


def _u16(h: bytes, at: int) -> int:
    return int.from_bytes(h[at:at + 2], "big")


def _u32(h: bytes, at: int) -> int:
    return int.from_bytes(h[at:at + 4], "big")


def _schema_cookie() -> int:
    """The schema cookie of a fresh gep ledger (one increment per statement of the schema);
    a ledger's schema never changes after creation."""
    mem = sqlite3.connect(":memory:")
    try:
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                mem.execute(stmt)
        return mem.execute("PRAGMA schema_version").fetchone()[0]
    finally:
        mem.close()


def check_sqlite_file(ledger: Ledger) -> list[str]:
    """Problems with the SQLite file itself: its 100-byte header and SQLite's integrity check.

    The Merkle checks see only the rows SQLite returns; a flipped byte in the file header or in
    a b-tree page can leave those rows readable and still mean the file was altered. Every
    header field (https://sqlite.org/fileformat.html#the_database_header) is checked against
    what SQLite reports or what a gep ledger always holds; only bytes 96-99 (the version of the
    SQLite library that last wrote the file) have no value to check against. (The schema cookie
    and page count are checked when no write-ahead log is pending, i.e. the file is complete.)
    """
    conn = ledger.conn
    complete = _file_complete(conn)
    try:
        with open(ledger.path, "rb") as fh:
            h = fh.read(100)
        file_size = ledger.path.stat().st_size
    except OSError as exc:
        return [f"cannot read the database file: {exc}"]
    if complete and (len(h) < 100 or h[:16] != b"SQLite format 3\x00"):
        return ["the SQLite file header is damaged (magic string)"]
    problems: list[str] = []
    for what, got, want in _header_fields(conn, h.ljust(100, b"\x00"), file_size, complete):
        if got != want:
            problems.append(f"SQLite file header: {what} is {got!r}, expected {want!r} "
                            "(the file was altered or damaged)")
    return problems + _integrity_problems(conn)


def _file_complete(conn: sqlite3.Connection) -> bool:
    """Copy committed pages from the write-ahead log into the file without waiting for anyone
    (PASSIVE); when every frame is copied, the file on disk is complete."""
    if conn.in_transaction:
        return False
    try:
        busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return busy == 0 and frames == copied
    except sqlite3.DatabaseError:
        return False


def _header_fields(conn: sqlite3.Connection, h: bytes, file_size: int, complete: bool
                   ) -> list[tuple[str, object, object]]:
    """``(field, value in the header, value expected)`` for the 100-byte header."""

    def pragma(name: str):
        return conn.execute(f"PRAGMA {name}").fetchone()[0]

    page_size = _u16(h, 16)
    page_size = 65536 if page_size == 1 else page_size
    fields = [
        ("page size (bytes 16-17)", page_size, pragma("page_size")),
        ("file format write version (byte 18)", h[18], 2),  # 2: WAL, always set by gep
        ("file format read version (byte 19)", h[19], 2),
        ("reserved space per page (byte 20)", h[20], 0),
        ("payload fractions (bytes 21-23)", tuple(h[21:24]), (64, 32, 32)),
        ("change counter (bytes 24-27) vs version-valid-for (bytes 92-95)",
         _u32(h, 24), _u32(h, 92)),
        ("schema format (bytes 44-47)", _u32(h, 44), 4),
        ("suggested cache size (bytes 48-51)", _u32(h, 48), 0),
        ("auto-vacuum (bytes 52-55)", _u32(h, 52), pragma("auto_vacuum")),
        ("text encoding (bytes 56-59)", _u32(h, 56), 1),  # UTF-8
        ("user version (bytes 60-63)", _u32(h, 60), SCHEMA_VERSION),
        ("incremental vacuum (bytes 64-67)", _u32(h, 64), 0),
        ("application id (bytes 68-71)", _u32(h, 68), APPLICATION_ID),
        ("reserved bytes 72-91", h[72:92], bytes(20)),
    ]
    if not complete:
        # Pages still in the write-ahead log (a writer is active, or one was killed): page 1 of
        # the file may predate them, so only SQLite's own integrity check applies.
        return []
    # With no write-ahead log pending, the header describes the file exactly.
    return fields + [
        ("database size in pages (bytes 28-31)", _u32(h, 28), file_size // page_size),
        ("schema cookie (bytes 40-43)", _u32(h, 40), _schema_cookie()),
        ("free-list page count (bytes 36-39)", _u32(h, 36), pragma("freelist_count")),
    ]


def _integrity_problems(conn: sqlite3.Connection) -> list[str]:
    """SQLite's own integrity check (the first 20 problems)."""
    try:
        rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
    except sqlite3.DatabaseError as exc:
        rows = [(f"integrity check cannot run: {exc}",)]
    msgs = [line.strip() for r in rows if r[0] != "ok" for line in str(r[0]).splitlines()
            if line.strip() and not line.startswith("***")]
    return [f"SQLite integrity check: {m}" for m in msgs]


def _verify(ledger: Ledger, checkpoint_note: str | None, verifiers: Sequence[Verifier] | None,
            max_problems: int, workers: int, sqlite_problems: list[str]) -> VerifyReport:
    report = VerifyReport()
    out = _Collector(report, max_problems)
    for problem in sqlite_problems:
        out.add(None, problem)
    leaves, totals, bad = _scan_entries(ledger, out, workers)
    n = len(leaves)
    report.size = n
    dup = ledger.conn.execute(
        "SELECT key, count(*) FROM entries GROUP BY key HAVING count(*) > 1 LIMIT 5").fetchall()
    for key, cnt in dup:
        out.add(None, f"key {key!r} occurs {cnt} times in the log")
    levels = _check_tree(ledger, leaves, bad, out)
    report.root = _root(levels, n)

    # Balances: stored running totals against the transfer records.
    stored = ledger.balances()
    for acct in sorted(set(stored) | set(totals)):
        want = tuple(totals.get(acct, (0, 0)))
        got = stored.get(acct, (0, 0))
        if got != want:
            out.add(None, f"account {acct!r}: stored debits/credits "
                          f"{fen_to_text(got[0])}/{fen_to_text(got[1])} but the transfers in "
                          f"the log give {fen_to_text(want[0])}/{fen_to_text(want[1])}")
    if sum(d for d, _ in stored.values()) != sum(c for _, c in stored.values()):
        out.add(None, "stored account totals do not balance (debits != credits)")

    _check_checkpoints(ledger, levels, n, checkpoint_note, verifiers, report, out)
    return report


def _check_checkpoints(ledger: Ledger, levels: list[list[bytes]], n: int,
                       external: str | None, verifiers: Sequence[Verifier] | None,
                       report: VerifyReport, out: _Collector) -> None:
    rows = ledger.checkpoints()
    verifiers = _checkpoint_verifiers(ledger, verifiers, bool(rows or external), report, out)
    if (rows or external) and not verifiers:
        out.add(None, "no verifier key to check checkpoint signatures with")
        return
    good = _signed_checkpoints(rows, external, verifiers, out)
    if not good:
        if not rows and external is None:
            report.notes.append("the ledger has no checkpoint yet: nothing signed to check "
                                "against")
        return
    origins = {cp.origin for _, cp in good}
    if len(origins) > 1:
        out.add(None, f"checkpoints name different logs: {sorted(origins)}")
    _check_signed_roots(good, levels, n, report, out)
    _check_consistency(good, levels, n, report, out)


def _checkpoint_verifiers(ledger: Ledger, verifiers: Sequence[Verifier] | None,
                          any_checkpoint: bool, report: VerifyReport, out: _Collector
                          ) -> Sequence[Verifier]:
    """The keys given, or else the ones stored in the ledger (and a note saying so)."""
    if verifiers is not None and len(verifiers) > 0:
        return verifiers
    stored = []
    for vk in ledger.verifier_keys():
        try:
            stored.append(Verifier.parse(vk))
        except NoteError:
            out.add(None, f"verifier key stored in the ledger is malformed: {vk!r}")
    if any_checkpoint:
        report.notes.append("signatures checked against the verifier key(s) stored in the "
                            "ledger itself; pass --vkey with the published key for an "
                            "independent check")
    return stored


def _signed_checkpoints(rows, external: str | None, verifiers: Sequence[Verifier],
                        out: _Collector) -> list[tuple[str, Checkpoint]]:
    """``(label, checkpoint)`` of each stored checkpoint whose signature verifies and whose
    stored columns match its note, and of the given one."""
    good: list[tuple[str, Checkpoint]] = []
    for cid, size, root, origin, note in rows:
        label = f"checkpoint #{cid} (size {size})"
        try:
            cp, _ = open_checkpoint(note, verifiers)
        except NoteError as exc:
            out.add(None, f"{label}: {exc}")
            continue
        if (cp.size, cp.root, cp.origin) != (size, root, origin):
            out.add(None, f"{label}: stored size/root/origin differ from its signed note")
            continue
        good.append((label, cp))
    if external is not None and external not in [r[4] for r in rows]:
        try:
            cp, _ = open_checkpoint(external, verifiers)
            good.append(("given checkpoint", cp))
        except NoteError as exc:
            out.add(None, f"given checkpoint is rejected: {exc}")
    return good


def _check_signed_roots(good: list[tuple[str, Checkpoint]], levels: list[list[bytes]], n: int,
                        report: VerifyReport, out: _Collector) -> None:
    """Each checkpoint, smallest first: within the log (else truncated), and the log's first
    ``size`` entries still give its signed root (else the altered range is named)."""
    prev_ok = 0
    for label, cp in sorted(good, key=lambda g: g[1].size):
        report.checkpoints_checked += 1
        if cp.size > n:
            out.add(n, f"{label} covers {cp.size} entries but the log holds {n}: entries "
                       f"{n}..{cp.size - 1} are missing (truncated)")
            continue
        if _root(levels, cp.size) != cp.root:
            out.add(None, f"{label}: the log's first {cp.size} entries no longer give the "
                          f"signed root; an entry in {prev_ok}..{cp.size - 1} was altered")
            continue
        prev_ok = cp.size


def _check_consistency(good: list[tuple[str, Checkpoint]], levels: list[list[bytes]], n: int,
                       report: VerifyReport, out: _Collector) -> None:
    """Every earlier checkpoint is consistent with the newest (RFC 9162 proof, verified)."""
    newest_label, newest = max(good, key=lambda g: g[1].size)
    report.newest_checkpoint = newest
    if newest.size > n:
        return
    subtree = _subtree(levels)
    for label, cp in good:
        if cp is newest:
            continue
        try:
            proof = merkle.consistency_proof(cp.size, newest.size, subtree)
            merkle.verify_consistency(cp.size, newest.size, cp.root, newest.root, proof)
        except merkle.ProofError as exc:
            out.add(None, f"{label} is not consistent with the newest {newest_label}: {exc}")
