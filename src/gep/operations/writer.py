"""Group commit of station uploads: one writer thread stores and seals every batch waiting.

A hundred gateways posting at the same instant would otherwise be a hundred write
transactions queueing on the database's write lock (SQLite sleeps between retries) and a
hundred ledger commits with an fsync each. Here each request only validates its rows (no
database) and hands the batch to the writer of its process, which takes *every* batch waiting
at that moment and, for the whole group:

1. in ONE database transaction: checks the API keys, finds batches already stored (replays),
   checks units and duplicates against what is stored and against the batches earlier in the
   group, and inserts the accepted batches, series and readings with one statement each;
2. in ONE ledger transaction (one fsync): appends the digests of the accepted batches (and of
   replayed batches a stopped server had stored but not sealed), then records each batch's
   ledger index;
3. answers each request, only now: a 201 means stored, committed and sealed.

A group the database refuses as a whole (a constraint hit by a concurrent writer in another
process, any unexpected error) is rolled back and its batches are stored one by one, each in
its own transaction, so one bad batch never costs the others theirs; a batch whose own
transaction fails gets that error, the others are answered as usual. The ledger's own
single-writer lock serialises the writers of several server processes.
"""
from __future__ import annotations

import contextlib
import hmac
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.exc import IntegrityError

from gep.operations import db

log = logging.getLogger(__name__)
MAX_GROUP = 1000          # batches per group (bounds one transaction's size and its SQL)
MAX_GROUP_READINGS = 200_000
PG_LOCK = 0x47455031_0018   # advisory lock of the upload writers ("GEP1", issue 18)
IN_CHUNK = 500            # values in one IN (...) list
CLUSTER_NS = 6 * 3600 * 10**9   # batches this close in time share one duplicate look-up


@dataclass
class UploadResult:
    status: int
    body: dict


@dataclass
class BatchRef:
    """What sealing needs of a stored batch."""

    id: int
    station: str
    batch_id: str
    digest: str
    size_bytes: int
    covers: str

    @classmethod
    def of(cls, row) -> BatchRef:
        """The stored batch ``row`` (an ``ops_batches`` row or object)."""
        return cls(row.id, row.station, row.batch_id, row.digest, row.size_bytes, row.covers)


@dataclass
class Job:
    """One upload on its way through the writer (validated rows, no database read yet).

    ``key_hash`` None with ``check_key`` False: an in-process caller (no API key). ``early``:
    the answer when the key is good (unknown station, bad batch id, too many rows).
    ``seal_only``: a stored batch to seal (``gep daily`` before it computes a day).
    """

    station: str
    batch_id: str = ""
    digest: str = ""
    size: int = 0
    rows: list = field(default_factory=list)
    readings: list = field(default_factory=list)
    n_readings: int = 0
    errors: list = field(default_factory=list)
    key_hash: str | None = None
    check_key: bool = False
    early: UploadResult | None = None
    seal_only: BatchRef | None = None
    result: UploadResult | None = None
    error: BaseException | None = None
    seal: BatchRef | None = None      # to seal in this group
    replayed: bool = False            # stored before, sealed in this group
    same_as: Job | None = None        # the same batch, accepted earlier in this group
    index: int | None = None          # ledger index once sealed
    notify: Callable[[Job], None] | None = None


class Writer:
    """The single writer thread of one server process (see the module docstring)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.q: queue.Queue = queue.Queue()
        self._ledger = None
        self._lock_fd: int | None = None
        self._gate = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="gep-upload-writer",
                                       daemon=True)
        self.thread.start()

    # -- submitting ---------------------------------------------------------------------------
    def submit(self, job: Job) -> threading.Event:
        """Hand ``job`` to the writer; the event is set once it is answered (or failed)."""
        done = threading.Event()
        job.notify = lambda _j: done.set()
        self.q.put(job)
        return done

    def run(self, job: Job) -> Job:
        """Hand ``job`` to the writer and wait until it is answered (or failed)."""
        self.submit(job).wait()
        return job

    @contextlib.contextmanager
    def paused(self):
        """Hold the writer while the block submits jobs: it then takes them as one group."""
        with self._gate:
            yield self

    async def run_async(self, job: Job) -> Job:
        """As :meth:`run`, awaiting on the caller's event loop instead of blocking it."""
        import asyncio

        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def wake(j: Job) -> None:
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(j))

        job.notify = wake
        self.q.put(job)
        return await fut

    def seal(self, batch: BatchRef) -> int:
        """Seal a stored batch (idempotent: the ledger keeps one entry per digest record)."""
        job = self.run(Job(station=batch.station, seal_only=batch))
        if job.error is not None:
            raise job.error
        return job.index

    def close(self) -> None:
        self.q.put(None)
        self.thread.join(timeout=30)

    # -- the loop -----------------------------------------------------------------------------
    def _take(self) -> list[Job] | None:
        first = self.q.get()
        if first is None:
            return None
        with self._gate:   # (only ever held by paused())
            return self._more([first])

    def _more(self, jobs: list[Job]) -> list[Job]:
        n = sum(len(j.rows) for j in jobs)
        while len(jobs) < MAX_GROUP and n < MAX_GROUP_READINGS:
            try:
                more = self.q.get_nowait()
            except queue.Empty:
                break
            if more is None:
                self.q.put(None)
                break
            jobs.append(more)
            n += len(more.rows)
        return jobs

    def _loop(self) -> None:
        try:
            while (jobs := self._take()) is not None:
                try:
                    with self._turn():
                        self._group(jobs)
                except BaseException as exc:  # noqa: BLE001 - handed to every waiting job
                    for j in jobs:
                        if j.result is None and j.error is None:
                            j.error = exc
                finally:
                    for j in jobs:
                        _wake(j)
        finally:
            if self._ledger is not None:
                self._ledger.close()
            if self._lock_fd is not None:
                os.close(self._lock_fd)

    @contextlib.contextmanager
    def _turn(self):
        """This writer's turn among the writers of all server processes on this ledger: an
        exclusive ``flock`` on the ledger's folder. The next writer wakes the moment it is
        free, where SQLite's busy handler sleeps 5-100 ms between tries (half of a writer's
        time under a burst with two processes went to those sleeps)."""
        try:
            import fcntl
        except ImportError:   # not POSIX: the databases' own locks order the writers
            yield
            return
        if self._lock_fd is None:
            folder = Path(self.ctx.ledger_db).parent
            folder.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(folder, os.O_RDONLY)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _group(self, jobs: list[Job]) -> None:
        uploads = [j for j in jobs if j.seal_only is None]
        for j in jobs:
            if j.seal_only is not None:
                j.seal = j.seal_only
        if uploads:
            try:
                with self.ctx.engine.begin() as c:
                    store_group(self.ctx, c, uploads)
            except Exception:  # noqa: BLE001 - retried batch by batch below
                log.warning("upload group of %d refused as a whole; storing one by one",
                            len(uploads), exc_info=True)
                for j in uploads:
                    self._store_alone(j)
        self._seal([j for j in jobs if j.seal is not None and j.error is None])
        for j in uploads:
            if j.result is None and j.error is None:
                j.result = answer(j)

    def _store_alone(self, job: Job) -> None:
        _reset(job)
        for attempt in (1, 2):   # a concurrent writer's batch shows up on the second look
            try:
                with self.ctx.engine.begin() as c:
                    store_group(self.ctx, c, [job])
                return
            except IntegrityError as exc:
                _reset(job)
                if attempt == 2:
                    job.error = exc
            except Exception as exc:  # noqa: BLE001 - this batch's own failure
                _reset(job)
                job.error = exc
                return

    def _seal(self, jobs: list[Job]) -> None:
        """Append the digests in one ledger transaction; record each entry's index."""
        if not jobs:
            return
        try:
            if self._ledger is None:
                self._ledger = open_ledger(self.ctx.ledger_db)
            res = self._ledger.append([batch_item(j.seal) for j in jobs])
            record_indexes(self.ctx.engine, [(j.seal.id, r.index) for j, r in zip(jobs, res)])
        except Exception as exc:  # noqa: BLE001 - stored but not sealed: re-sent, sealed then
            for j in jobs:
                j.error = exc
            return
        for j, r in zip(jobs, res):
            j.index = r.index


def record_indexes(engine, pairs: list[tuple[int, int]]) -> None:
    """Record each batch's ledger index, committed without waiting for the disk: the index
    only says where the ledger (committed to disk already) holds the batch. Lost in a power
    cut, the batch reads as not sealed and is sealed again, idempotently at the same index, when
    re-sent or before any daily run. Saves one fsync (~5-10 ms) per group."""
    B = db.Batch.__table__
    stmt = update(B).where(B.c.id == bindparam("bid")).values(ledger_index=bindparam("idx"))
    params = [{"bid": b, "idx": i} for b, i in pairs]
    with engine.connect() as c:
        if c.dialect.name != "sqlite":
            with c.begin():
                c.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                c.execute(stmt, params)
            return
        raw = c.connection.dbapi_connection   # SQLite: only outside a transaction
        raw.execute("PRAGMA synchronous=NORMAL")
        try:
            with c.begin():
                c.execute(stmt, params)
        finally:
            raw.execute("PRAGMA synchronous=FULL")


def _wake(job: Job) -> None:
    """Answer the job's waiter; a waiter gone (its event loop closed) must not stop the
    writer."""
    if job.notify is None:
        return
    try:
        job.notify(job)
    except Exception:  # noqa: BLE001 - logged; the other jobs are still answered
        log.warning("could not answer upload %s/%s", job.station, job.batch_id,
                    exc_info=True)


def open_ledger(path, tries: int = 50):
    """The ledger, opened by this writer; a brand-new ledger file that another process is
    switching to WAL at the same moment is "locked" without waiting: try again."""
    import sqlite3
    import time

    from gep.ledger.store import Ledger

    for k in range(tries):
        try:
            return Ledger(path)
        except sqlite3.OperationalError:
            if k == tries - 1:
                raise
            time.sleep(0.02 * (1 + k % 5))


def _reset(job: Job) -> None:
    job.result, job.seal, job.same_as, job.error = None, None, None, None
    job.replayed, job.index, job.n_readings = False, None, len(job.rows)


def batch_item(batch: BatchRef):
    from gep.ledger.records import digest_record
    from gep.ledger.store import Item

    return Item(digest_record(batch.digest, batch.size_bytes,
                              f"{batch.station}/{batch.batch_id}.json", "data_batch",
                              batch.covers), f"upload {batch.station}/{batch.batch_id}")


# -- the group's one transaction ------------------------------------------------------------
def store_group(ctx, c, jobs: list[Job]) -> None:
    """Decide every job of the group against the database and each other; insert the
    accepted ones. ``c``: a connection inside the write transaction."""
    if c.dialect.name == "postgresql":
        # one writer at a time across server processes, as SQLite's BEGIN IMMEDIATE does:
        # what the group reads (stored batches, readings) cannot change before it commits
        c.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK})
    check_keys(c, jobs)
    todo = [j for j in jobs if j.result is None]
    stored = _stored_batches(c, todo)
    known = _stored_series(c, todo)
    units, dups = dict(known), _stored_readings(c, todo)
    group: dict[tuple[str, str], Job] = {}
    accepted = []
    for j in todo:
        old = stored.get((j.station, j.batch_id))
        if old is not None:
            j.result = _replay(j, old)
            continue
        if (j.station, j.batch_id) in group:
            j.same_as = group[(j.station, j.batch_id)]
            continue
        errors = j.errors or conflicts(j.station, j.readings, j.rows, units, dups)
        if errors:
            j.result = UploadResult(422, {
                "detail": f"{len(errors)} invalid reading(s); nothing of batch "
                          f"{j.batch_id} was stored", "errors": errors})
            continue
        group[(j.station, j.batch_id)] = j
        accepted.append(j)
        for ind, ts, _v, unit, _i in j.rows:
            units.setdefault((j.station, ind), unit)
            dups.add((j.station, ind, ts))
    if accepted:
        _insert(ctx, c, accepted, known)


def check_keys(c, jobs: list[Job]) -> None:
    """401/403 for jobs whose key is missing, unknown, revoked or of another station; the
    early answer (404, 413, a bad batch id) for the others that have one."""
    k = db.StationKey.__table__.c
    wanted = sorted({j.key_hash for j in jobs if j.check_key and j.key_hash})
    found = {}
    for part in _chunks(wanted, IN_CHUNK):
        found.update({r.key_hash: r for r in c.execute(
            select(k.key_hash, k.station, k.revoked_at).where(k.key_hash.in_(part)))})
    for j in jobs:
        if j.check_key:
            denied = _denied(j, found.get(j.key_hash) if j.key_hash else None)
            if denied is not None:
                j.result = UploadResult(denied[0], {"detail": denied[1]})
                continue
        if j.early is not None:
            j.result = j.early


def _denied(job: Job, row) -> tuple[int, str] | None:
    if not job.key_hash:
        return 401, "missing API key (send Authorization: Bearer <key>)"
    if row is None or not hmac.compare_digest(row.key_hash, job.key_hash):
        return 401, "unknown API key"
    if row.revoked_at is not None:
        return 401, "this API key was revoked"
    if row.station != job.station:
        return 403, f"this API key belongs to another station, not {job.station}"
    return None


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i:i + n]


def _stored_batches(c, jobs: list[Job]) -> dict:
    """(station, batch_id) -> the stored batch, for the jobs' batches (one statement per
    ``IN_CHUNK`` stations, its form cached whatever the number of stations)."""
    B = db.Batch.__table__.c
    stations = sorted({j.station for j in jobs})
    ids = sorted({j.batch_id for j in jobs})
    wanted = {(j.station, j.batch_id) for j in jobs}
    out = {}
    for part in _chunks(stations, IN_CHUNK):
        for ids_part in _chunks(ids, IN_CHUNK):
            for r in c.execute(select(B.id, B.station, B.batch_id, B.digest, B.n_readings,
                                      B.size_bytes, B.covers, B.ledger_index).where(
                    B.station.in_(part), B.batch_id.in_(ids_part))):
                if (r.station, r.batch_id) in wanted:
                    out[(r.station, r.batch_id)] = r
    return out


def _stored_series(c, jobs: list[Job]) -> dict:
    S = db.Series.__table__.c
    stations = sorted({j.station for j in jobs if j.rows})
    out = {}
    for part in _chunks(stations, IN_CHUNK):
        out.update({(st, ind): u for st, ind, u in c.execute(
            select(S.station, S.indicator, S.unit).where(S.station.in_(part)))})
    return out


def _time_clusters(jobs: list[Job]) -> list[tuple[int, int, list[Job]]]:
    """The jobs with readings, in clusters of close times (a cluster's span beyond its
    batches' own is at most ``CLUSTER_NS``), so that one look-up per cluster reads few
    readings the group does not bring."""
    spans = sorted((min(r[1] for r in j.rows), max(r[1] for r in j.rows), k)
                   for k, j in enumerate(jobs) if j.rows)
    clusters: list[list] = []
    for lo, hi, k in spans:
        if clusters and lo <= clusters[-1][1] + CLUSTER_NS:
            clusters[-1][1] = max(clusters[-1][1], hi)
            clusters[-1][2].append(jobs[k])
        else:
            clusters.append([lo, hi, [jobs[k]]])
    return [(lo, hi, js) for lo, hi, js in clusters]


def _stored_readings(c, jobs: list[Job]) -> set:
    """(station, indicator, ts) already stored among those the jobs bring."""
    R = db.Reading.__table__.c
    out = set()
    for lo, hi, cluster in _time_clusters(jobs):
        mine = {(j.station, r[0], r[1]) for j in cluster for r in j.rows}
        stations = sorted({k[0] for k in mine})
        inds = sorted({k[1] for k in mine})
        for part in _chunks(stations, IN_CHUNK):
            out.update(k for k in map(tuple, c.execute(
                select(R.station, R.indicator, R.ts_ns).where(
                    R.station.in_(part), R.indicator.in_(inds), R.ts_ns.between(lo, hi))))
                if k in mine)
    return out


def conflicts(station: str, readings: list[dict], rows: list[tuple], units: dict,
              dups: set) -> list[dict]:
    """Rows that would mix a series' units or repeat a stored reading."""
    errors = []
    for ind, ts, _v, unit, i in rows:
        known = units.get((station, ind))
        if known is not None and known != unit:
            errors.append({"row": i, "field": "unit", "problem": f"station '{station}' "
                           f"reports '{ind}' in '{known}'; '{unit}' here would mix units "
                           "(convert at the gateway)"})
        if (station, ind, ts) in dups:
            errors.append({"row": i, "field": "timestamp", "problem": f"duplicate reading: "
                           f"'{ind}' at {readings[i]['timestamp']} was already uploaded in "
                           "another batch"})
    return errors


def _replay(job: Job, old) -> UploadResult | None:
    """A batch already stored: 200 if the same (sealed now if it was not), else 409."""
    if old.digest != job.digest:
        return _other_content(old.batch_id, old.digest)
    job.n_readings = old.n_readings
    if old.ledger_index is None:   # stored, but the server stopped before sealing it
        job.seal = BatchRef.of(old)
        job.replayed = True
        return None
    job.index = old.ledger_index
    return UploadResult(200, _body("exists", job))


def _other_content(batch_id: str, digest: str) -> UploadResult:
    """409: ``batch_id`` was accepted (stored, or earlier in the group) with ``digest``."""
    return UploadResult(409, {"detail": f"batch {batch_id} was already accepted with other "
                              f"content (digest {digest}); send new readings under a new "
                              "batch_id"})


def _body(status: str, job: Job) -> dict:
    return {"status": status, "batch_id": job.batch_id, "digest": job.digest,
            "readings": job.n_readings, "ledger_index": job.index}


def answer(job: Job) -> UploadResult | None:
    """The answer of an upload once its group is sealed (None: it failed, see ``error``)."""
    if job.same_as is not None:
        first = job.same_as
        if first.error is not None:
            job.error = first.error
            return None
        if first.digest != job.digest:
            return _other_content(job.batch_id, first.digest)
        return UploadResult(200, _body("exists", first))
    return UploadResult(200 if job.replayed else 201,
                        _body("exists" if job.replayed else "accepted", job))


def _covers(ctx, job: Job) -> tuple[int, int, str]:
    first = min(r[1] for r in job.rows)
    last = max(r[1] for r in job.rows)
    tz = ctx.monitoring.timezone
    span = (f"{pd.Timestamp(first, tz='UTC').tz_convert(tz).isoformat()} to "
            f"{pd.Timestamp(last, tz='UTC').tz_convert(tz).isoformat()}")
    return first, last, (f"readings batch {job.batch_id} of station {job.station}: "
                         f"{len(job.rows)} readings, {span}")


def _insert(ctx, c, jobs: list[Job], known: dict) -> None:
    """Insert the accepted batches, their new series and their readings (a statement each)."""
    B, S, R = db.Batch.__table__, db.Series.__table__, db.Reading.__table__
    now = db.utcnow()
    spans = [_covers(ctx, j) for j in jobs]
    ids = c.execute(B.insert().returning(B.c.id, sort_by_parameter_order=True), [
        {"station": j.station, "batch_id": j.batch_id, "digest": j.digest,
         "n_readings": len(j.rows), "size_bytes": j.size, "covers": cov,
         "first_ts_ns": first, "last_ts_ns": last, "received_at": now}
        for j, (first, last, cov) in zip(jobs, spans)]).scalars().all()
    series, readings = _new_series(jobs, known), []
    for j, bid, (_f, _l, cov) in zip(jobs, ids, spans):
        j.seal = BatchRef(bid, j.station, j.batch_id, j.digest, j.size, cov)
        st = j.station
        readings += [(st, ind, ts, v, unit, bid) for ind, ts, v, unit, _i in j.rows]
    if series:
        c.execute(S.insert(), series)
    # the driver's own executemany: tuples, no per-row dictionaries (most of the group's rows)
    ph = "?" if c.dialect.paramstyle == "qmark" else "%s"
    c.exec_driver_sql(f"INSERT INTO {R.name} (station, indicator, ts_ns, value, unit, batch) "
                      f"VALUES ({', '.join([ph] * 6)})", readings)


def _new_series(jobs: list[Job], known: dict) -> list[dict]:
    first: dict[tuple[str, str], tuple[str, int]] = {}
    for j in jobs:
        for ind, ts, _v, unit, _i in j.rows:
            k = (j.station, ind)
            if k not in first or ts < first[k][1]:
                first[k] = (unit, ts)
    return [{"station": st, "indicator": ind, "unit": u, "first_ts_ns": t}
            for (st, ind), (u, t) in first.items() if (st, ind) not in known]

