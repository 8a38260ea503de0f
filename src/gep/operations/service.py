"""What the station service does: accept uploads, keep API keys, run a day.

The HTTP layer (:mod:`gep.operations.api`) and the command line (:mod:`gep.operations.cli`)
are thin over these functions.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError

from gep.errors import ConfigError, GepError
from gep.operations import db
from gep.operations.settings import DEFAULT_FILE, OperationsSettings, load_operations

BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}$")
KEY_PREFIX = "gep_"


class OperationsError(GepError, ValueError):
    """A refused operation (exit code 2): ``what: problem. Fix: fix``."""

    def __init__(self, what: str, problem: str, fix: str = ""):
        self.what, self.problem, self.fix = what, problem, fix
        super().__init__(f"{what}: {problem}" + (f". Fix: {fix}" if fix else ""))


@dataclass
class Context:
    """Everything the service needs about one basin, loaded once."""

    config_path: Path
    cfg: object                    # gep.config.Config
    paths: object                  # gep.paths.Paths
    monitoring: object             # MonitoringSettings
    ops: OperationsSettings
    stations: pd.DataFrame
    stations_path: Path
    db_url: str
    engine: object = None
    Session: object = None
    ledger_db: Path | None = None
    dispatch_root: Path | None = None
    _units: dict = field(default_factory=dict)
    _sealer: object = None

    def sealer(self) -> Sealer:
        if self._sealer is None:
            self._sealer = Sealer(self)
        return self._sealer

    def close(self) -> None:
        if self._sealer is not None:
            self._sealer.close()
            self._sealer = None
        if self.engine is not None:
            self.engine.dispose()


def stations_file(cfg, paths) -> Path:
    m = cfg.monitoring
    if m.stations is not None:
        return cfg.path(m.stations)
    return paths.demo_stations


def load_context(config_path: str | Path, db_url: str | None = None,
                 operations_path: str | Path | None = None,
                 dispatch_root: str | Path | None = None, migrate: bool = True) -> Context:
    """Load the basin config, the monitoring and operations settings, the stations table and
    open (and migrate) the database."""
    from gep.config import load_config
    from gep.monitoring.ingest import read_stations
    from gep.monitoring.settings import load_settings
    from gep.paths import Paths

    config_path = Path(config_path)
    cfg = load_config(config_path)
    paths = Paths(cfg)
    ops_path = Path(operations_path) if operations_path else cfg.config_dir / DEFAULT_FILE
    if operations_path and not ops_path.is_file():
        raise ConfigError("(file)", f"operations configuration {ops_path} does not exist",
                          "pass --operations config/operations.yaml (or a copy of it)")
    ops = load_operations(ops_path)
    settings = load_settings(cfg.path(cfg.monitoring.config))
    st_path = stations_file(cfg, paths)
    stations = read_stations(st_path)
    url = db_url or ops.database or db.default_url(paths.operations_db)
    ctx = Context(config_path=config_path, cfg=cfg, paths=paths, monitoring=settings, ops=ops,
                  stations=stations, stations_path=st_path, db_url=url,
                  ledger_db=paths.ledger.db,
                  dispatch_root=Path(dispatch_root) if dispatch_root else None)
    ctx.engine = db.make_engine(url)
    if migrate:
        db.upgrade(ctx.engine)
    ctx.Session = db.session_factory(ctx.engine)
    return ctx


# -- API keys ---------------------------------------------------------------------------------
def hash_key(key: str) -> str:
    """SHA-256 of a key: enough for 256 random bits (no password stretching needed)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def add_key(ctx: Context, station: str) -> str:
    """A new key for ``station``; returned once, only its hash is stored."""
    _known_station(ctx, station)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with ctx.Session.begin() as s:
        s.add(db.StationKey(station=station, key_hash=hash_key(key), prefix=key[:10]))
    return key


def revoke_keys(ctx: Context, station: str, prefix: str | None = None) -> int:
    """Revoke the station's keys (those starting with ``prefix`` if given); returns how many."""
    _known_station(ctx, station)
    with ctx.Session.begin() as s:
        q = update(db.StationKey).where(db.StationKey.station == station,
                                        db.StationKey.revoked_at.is_(None))
        if prefix:
            q = q.where(db.StationKey.prefix == prefix[:10])
        n = s.execute(q.values(revoked_at=db.utcnow())).rowcount
    if n == 0:
        raise OperationsError(f"station {station}", "no active key" +
                              (f" starting with {prefix}" if prefix else ""),
                              "list keys on the dashboard, or add one with gep station add-key")
    return n


def authenticate(ctx: Context, station: str, key: str | None) -> tuple[int, str] | None:
    """None if ``key`` is an active key of ``station``; else (HTTP status, reason)."""
    if not key:
        return 401, "missing API key (send Authorization: Bearer <key>)"
    h = hash_key(key)
    k = db.StationKey.__table__.c
    with ctx.engine.connect() as c:
        row = c.execute(select(k.key_hash, k.station, k.revoked_at)
                        .where(k.key_hash == h)).first()
    if row is None or not hmac.compare_digest(row.key_hash, h):
        return 401, "unknown API key"
    if row.revoked_at is not None:
        return 401, "this API key was revoked"
    if row.station != station:
        return 403, f"this API key belongs to another station, not {station}"
    return None


def _known_station(ctx: Context, station: str) -> None:
    if station not in set(ctx.stations["station"]):
        raise OperationsError(f"station {station}", "not in the stations table "
                              f"{ctx.stations_path}", "add the station there first")


# -- uploads ----------------------------------------------------------------------------------
@dataclass
class UploadResult:
    status: int
    body: dict


def batch_digest(station: str, batch_id: str, readings: list[dict]) -> tuple[str, int]:
    """SHA-256 (hex) and size of the batch's canonical JSON (the ledger's record format)."""
    from gep.ledger.records import canonical_bytes

    raw = canonical_bytes({"station": station, "batch_id": batch_id, "readings": [
        {"timestamp": r["timestamp"], "indicator": r["indicator"], "value": r["value"],
         "unit": r["unit"]} for r in readings]})
    return hashlib.sha256(raw).hexdigest(), len(raw)


def accept_batch(ctx: Context, station: str, batch_id: str, readings: list[dict],
                 now: dt.datetime | None = None) -> UploadResult:
    """Validate and store one batch (all or nothing), seal its digest in the ledger.

    The rows are checked first on their own, then, in the one write transaction that stores
    them, against what is stored (units, duplicates). The response waits until the batch's
    digest is in the ledger: a 201 means stored and sealed.
    """
    if station not in set(ctx.stations["station"]):
        return UploadResult(404, {"detail": f"unknown station '{station}'"})
    if not isinstance(batch_id, str) or not BATCH_ID.match(batch_id):
        return UploadResult(422, {"detail": "batch_id must be 1-200 characters of letters, "
                                  "digits and . _ : + -", "errors": []})
    if len(readings) > ctx.ops.max_batch_readings:
        return UploadResult(413, {"detail": f"{len(readings)} readings; at most "
                                  f"{ctx.ops.max_batch_readings} per batch"})
    digest, size = batch_digest(station, batch_id, readings)
    errors, rows = validate_rows(ctx, station, readings, now)
    B = db.Batch.__table__.c
    find = select(B.id, B.station, B.batch_id, B.digest, B.n_readings, B.size_bytes, B.covers,
                  B.ledger_index).where(B.station == station, B.batch_id == batch_id)
    try:
        with ctx.engine.begin() as c:   # one write transaction (BEGIN IMMEDIATE on SQLite)
            old = c.execute(find).first()
            if old is not None:
                raise _Done(None)
            if not errors:
                errors = stored_conflicts(c, station, readings, rows)
            if errors:
                raise _Done(UploadResult(422, {
                    "detail": f"{len(errors)} invalid reading(s); nothing of batch "
                              f"{batch_id} was stored", "errors": errors}))
            batch = _insert(ctx, c, station, batch_id, digest, size, rows)
    except _Done as done:
        if done.result is not None:
            return done.result
        return _replayed(ctx, old, digest)
    except IntegrityError:
        # a concurrent request stored the same batch, or readings it duplicates
        with ctx.engine.connect() as c:
            old = c.execute(find).first()
            if old is not None:
                return _replayed(ctx, old, digest)
            errors = stored_conflicts(c, station, readings, rows)
        return UploadResult(422, {"detail": "readings already stored by another batch",
                                  "errors": errors})
    index = ctx.sealer().seal(batch)
    return UploadResult(201, {"status": "accepted", "batch_id": batch_id, "digest": digest,
                              "readings": len(rows), "ledger_index": index})


class _Done(Exception):
    def __init__(self, result: UploadResult):
        self.result = result


def _replayed(ctx: Context, old, digest: str) -> UploadResult:
    if old.digest == digest:
        index = old.ledger_index
        if index is None:   # stored, but the server stopped before sealing it: seal now
            index = ctx.sealer().seal(old)
        return UploadResult(200, {"status": "exists", "batch_id": old.batch_id,
                                  "digest": old.digest, "readings": old.n_readings,
                                  "ledger_index": index})
    return UploadResult(409, {"detail": f"batch {old.batch_id} was already accepted with "
                              "other content (digest " + old.digest + "); send new readings "
                              "under a new batch_id"})


def _units_of(ctx: Context) -> dict[str, dict[str, float]]:
    if not ctx._units:
        st = ctx.monitoring
        ctx._units.update({name: st.units[ind.unit] for name, ind in st.indicators.items()})
    return ctx._units


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)


def _ts_ns(text: str) -> int:
    """ISO 8601 with a UTC offset -> int64 ns since the epoch; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("is not text")
    t = dt.datetime.fromisoformat(text.strip())
    if t.tzinfo is None:
        raise ValueError("needs a UTC offset, e.g. 2021-03-01T08:00:00+08:00")
    return ((t - _EPOCH) // _US) * 1000


def validate_rows(ctx: Context, station: str, readings: list[dict],
                  now: dt.datetime | None = None):
    """The file-ingestion rules that need no database: (errors, rows)."""
    settings = ctx.monitoring
    units = _units_of(ctx)
    now = now or dt.datetime.now(dt.UTC)
    limit_ns = ((now - _EPOCH) // _US) * 1000 + int(ctx.ops.future_tolerance_minutes * 60e9)
    errors: list[dict] = []
    rows: list[tuple] = []
    seen: dict[tuple[str, int], int] = {}
    unit_of: dict[str, str] = {}

    def bad(i, fld, problem):
        errors.append({"row": i, "field": fld, "problem": problem})

    for i, r in enumerate(readings):
        ind, unit, value = r.get("indicator"), r.get("unit"), r.get("value")
        ok = True
        if ind not in settings.indicators:
            bad(i, "indicator", f"unknown indicator '{ind}' (use one of "
                f"{', '.join(settings.indicators)})")
            ok = False
        elif unit not in units[ind]:
            bad(i, "unit", f"unit '{unit}' does not fit indicator '{ind}' (use one of "
                f"{', '.join(units[ind])})")
            ok = False
        elif unit_of.setdefault(ind, unit) != unit:
            bad(i, "unit", f"'{ind}' in mixed units: '{unit}' here, '{unit_of[ind]}' "
                "earlier in the batch")
            ok = False
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            bad(i, "value", f"{value!r} is not a finite number (send null for an empty "
                "reading)")
            ok = False
        try:
            ts = _ts_ns(r.get("timestamp"))
        except (ValueError, TypeError) as exc:
            bad(i, "timestamp", f"'{r.get('timestamp')}' is not an ISO 8601 time with its "
                f"offset: {exc}")
            continue
        if ts > limit_ns:
            bad(i, "timestamp", f"{r.get('timestamp')} is more than "
                f"{ctx.ops.future_tolerance_minutes:g} minutes in the future (gateway clock?)")
            ok = False
        key = (ind, ts)
        if key in seen:
            bad(i, "timestamp", f"duplicate reading: '{ind}' at {r.get('timestamp')} was "
                f"already given in row {seen[key]}")
            ok = False
        seen.setdefault(key, i)
        if ok:
            rows.append((ind, ts, None if value is None else float(value), unit, i))
    if not rows and not errors:
        errors.append({"row": None, "field": "readings", "problem": "no readings"})
    return errors, rows


def stored_conflicts(c, station: str, readings: list[dict], rows: list[tuple]) -> list[dict]:
    """Rows that would mix a series' units or repeat a stored reading (``c``: a connection)."""
    inds = sorted({r[0] for r in rows})
    lo, hi = min(r[1] for r in rows), max(r[1] for r in rows)
    S, R = db.Series.__table__.c, db.Reading.__table__.c
    known = dict(c.execute(select(S.indicator, S.unit).where(
        S.station == station, S.indicator.in_(inds))).all())
    dup = set(c.execute(select(R.indicator, R.ts_ns).where(
        R.station == station, R.ts_ns.between(lo, hi), R.indicator.in_(inds))).all())
    errors = []
    for ind, ts, _v, unit, i in rows:
        if ind in known and known[ind] != unit:
            errors.append({"row": i, "field": "unit", "problem": f"station '{station}' "
                           f"reports '{ind}' in '{known[ind]}'; '{unit}' here would mix units "
                           "(convert at the gateway)"})
        if (ind, ts) in dup:
            errors.append({"row": i, "field": "timestamp", "problem": f"duplicate reading: "
                           f"'{ind}' at {readings[i]['timestamp']} was already uploaded in "
                           "another batch"})
    return errors


@dataclass
class BatchRef:
    """What sealing needs of a stored batch."""

    id: int
    station: str
    batch_id: str
    digest: str
    size_bytes: int
    covers: str


def _insert(ctx: Context, c, station: str, batch_id: str, digest: str, size: int,
            rows: list[tuple]) -> BatchRef:
    first, last = min(r[1] for r in rows), max(r[1] for r in rows)
    tz = ctx.monitoring.timezone
    span = (f"{pd.Timestamp(first, tz='UTC').tz_convert(tz).isoformat()} to "
            f"{pd.Timestamp(last, tz='UTC').tz_convert(tz).isoformat()}")
    covers = f"readings batch {batch_id} of station {station}: {len(rows)} readings, {span}"
    B, S = db.Batch.__table__, db.Series.__table__
    bid = c.execute(B.insert().returning(B.c.id), {
        "station": station, "batch_id": batch_id, "digest": digest, "n_readings": len(rows),
        "size_bytes": size, "covers": covers, "first_ts_ns": first, "last_ts_ns": last,
        "received_at": db.utcnow()}).scalar_one()
    new_series = {}
    for ind, ts, _v, unit, _i in rows:
        if ind not in new_series or ts < new_series[ind][1]:
            new_series[ind] = (unit, ts)
    have = set(c.execute(select(S.c.indicator).where(
        S.c.station == station, S.c.indicator.in_(list(new_series)))).scalars())
    add = [{"station": station, "indicator": ind, "unit": u, "first_ts_ns": t}
           for ind, (u, t) in new_series.items() if ind not in have]
    if add:
        c.execute(S.insert(), add)
    c.execute(db.Reading.__table__.insert(), [
        {"station": station, "indicator": ind, "ts_ns": ts, "value": v, "unit": unit,
         "batch": bid} for ind, ts, v, unit, _i in rows])
    return BatchRef(bid, station, batch_id, digest, size, covers)


def batch_item(batch):
    from gep.ledger.records import digest_record
    from gep.ledger.store import Item

    return Item(digest_record(batch.digest, batch.size_bytes,
                              f"{batch.station}/{batch.batch_id}.json", "data_batch",
                              batch.covers), f"upload {batch.station}/{batch.batch_id}")


class Sealer:
    """Group commit of batch digests into the ledger.

    One writer thread holds one ledger connection; it takes every batch waiting, appends their
    digests in ONE ledger transaction (one fsync), records the entries in ``ops_batches`` and
    wakes the requests. A hundred stations posting at once cost a few ledger commits, not a
    hundred.
    """

    def __init__(self, ctx: Context):
        import queue
        import threading

        self.ctx = ctx
        self.q: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="gep-ledger-sealer",
                                       daemon=True)
        self.thread.start()

    def seal(self, batch) -> int:
        import threading

        job = {"batch": batch, "done": threading.Event(), "index": None, "error": None}
        self.q.put(job)
        job["done"].wait()
        if job["error"] is not None:
            raise job["error"]
        return job["index"]

    def close(self) -> None:
        self.q.put(None)
        self.thread.join(timeout=30)

    def _loop(self) -> None:
        import queue

        from gep.ledger.store import Ledger

        lg = None
        try:
            while True:
                job = self.q.get()
                if job is None:
                    return
                jobs = [job]
                while True:
                    try:
                        more = self.q.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        self.q.put(None)
                        break
                    jobs.append(more)
                try:
                    if lg is None:
                        lg = Ledger(self.ctx.ledger_db)
                    res = lg.append([batch_item(j["batch"]) for j in jobs])
                    B = db.Batch.__table__
                    with self.ctx.engine.begin() as c:
                        c.execute(update(B).where(B.c.id == bindparam("bid")).values(
                            ledger_index=bindparam("idx")),
                            [{"bid": j["batch"].id, "idx": r.index} for j, r in zip(jobs, res)])
                    for j, r in zip(jobs, res):
                        j["index"] = r.index
                except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                    for j in jobs:
                        j["error"] = exc
                finally:
                    for j in jobs:
                        j["done"].set()
        finally:
            if lg is not None:
                lg.close()


def seal_pending(ctx: Context) -> int:
    """Seal batches stored but not yet in the ledger (a server stopped in between)."""
    with ctx.Session() as s:
        todo = list(s.execute(select(db.Batch).where(db.Batch.ledger_index.is_(None))
                              .order_by(db.Batch.id)).scalars())
    for b in todo:
        ctx.sealer().seal(b)
    return len(todo)


# -- queries for the dashboard ----------------------------------------------------------------
def last_uploads(ctx: Context) -> dict[str, dt.datetime]:
    with ctx.Session() as s:
        return {st: _aware(t) for st, t in s.execute(
            select(db.Batch.station, func.max(db.Batch.received_at)).group_by(
                db.Batch.station)).all()}


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is not None and t.tzinfo is None:
        return t.replace(tzinfo=dt.UTC)  # SQLite drops the offset; we always store UTC
    return t
