"""What the station service does: accept uploads, keep API keys, run a day.

The HTTP layer (:mod:`gep.operations.api`) and the command line (:mod:`gep.operations.cli`)
are thin over these functions.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select, update

from gep.errors import ConfigError, GepError
from gep.operations import db
from gep.operations.settings import DEFAULT_FILE, OperationsSettings, load_operations
from gep.operations.writer import BatchRef, Job, UploadResult, Writer

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
    _writer: Writer | None = None
    _stations_of: tuple = (None, frozenset())
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def writer(self) -> Writer:
        """This process's upload writer (group commit), started on first use."""
        with self._lock:
            if self._writer is None or not self._writer.thread.is_alive():
                self._writer = Writer(self)
            return self._writer

    def station_set(self) -> frozenset:
        if self._stations_of[0] is not self.stations:
            self._stations_of = (self.stations, frozenset(self.stations["station"]))
        return self._stations_of[1]

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
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


def _known_station(ctx: Context, station: str) -> None:
    if station not in ctx.station_set():
        raise OperationsError(f"station {station}", "not in the stations table "
                              f"{ctx.stations_path}", "add the station there first")


# -- uploads ----------------------------------------------------------------------------------
def batch_digest(station: str, batch_id: str, readings: list[dict]) -> tuple[str, int]:
    """SHA-256 (hex) and size of the batch's canonical JSON (the ledger's record format)."""
    from gep.ledger.records import canonical_bytes

    raw = canonical_bytes({"station": station, "batch_id": batch_id, "readings": [
        {"timestamp": r["timestamp"], "indicator": r["indicator"], "value": r["value"],
         "unit": r["unit"]} for r in readings]})
    return hashlib.sha256(raw).hexdigest(), len(raw)


def prepare(ctx: Context, station: str, batch_id, readings: list[dict] | None, *,
            key: str | None = None, check_key: bool = False,
            now: dt.datetime | None = None) -> Job:
    """Everything about an upload that needs no database: the early answers (unknown
    station, bad batch id, too many rows; given only once the key is checked), the digest
    and the rows checked on their own (file-ingestion rules)."""
    job = Job(station=station, batch_id=batch_id if isinstance(batch_id, str) else "",
              key_hash=hash_key(key) if key else None, check_key=check_key)
    if readings is None:   # the HTTP body was not {"batch_id", "readings": [{...}, ...]}
        job.early = UploadResult(422, {"detail": "body must be {\"batch_id\": ..., "
                                       "\"readings\": [{\"timestamp\", \"indicator\", "
                                       "\"value\", \"unit\"}, ...]}", "errors": []})
    elif station not in ctx.station_set():
        job.early = UploadResult(404, {"detail": f"unknown station '{station}'"})
    elif not isinstance(batch_id, str) or not BATCH_ID.match(batch_id):
        job.early = UploadResult(422, {"detail": "batch_id must be 1-200 characters of "
                                       "letters, digits and . _ : + -", "errors": []})
    elif len(readings) > ctx.ops.max_batch_readings:
        job.early = UploadResult(413, {"detail": f"{len(readings)} readings; at most "
                                       f"{ctx.ops.max_batch_readings} per batch"})
    else:
        job.digest, job.size = batch_digest(station, batch_id, readings)
        job.errors, job.rows = validate_rows(ctx, station, readings, now)
        job.readings, job.n_readings = readings, len(job.rows)
    return job


def _outcome(job: Job) -> UploadResult:
    if job.error is not None:
        raise job.error
    return job.result


def accept_batch(ctx: Context, station: str, batch_id: str, readings: list[dict],
                 now: dt.datetime | None = None) -> UploadResult:
    """Validate and store one batch (all or nothing), seal its digest in the ledger.

    The rows are checked first on their own, then by the writer (:mod:`gep.operations.writer`)
    in the one write transaction that stores them and the batches posted with them, against
    what is stored (units, duplicates). Returns once the batch's digest is in the ledger: a
    201 means stored and sealed. No API key: the caller is this process (the HTTP layer
    checks the station's key, :func:`upload`).
    """
    return _outcome(ctx.writer().run(prepare(ctx, station, batch_id, readings, now=now)))


async def upload(ctx: Context, station: str, key: str | None, batch_id,
                 readings: list[dict]) -> UploadResult:
    """An upload from a gateway: its key is checked with the group, then as
    :func:`accept_batch`, awaited without blocking the event loop."""
    job = prepare(ctx, station, batch_id, readings, key=key, check_key=True)
    return _outcome(await ctx.writer().run_async(job))


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


def seal_pending(ctx: Context) -> int:
    """Seal batches stored but not yet in the ledger (a server stopped in between)."""
    with ctx.Session() as s:
        todo = list(s.execute(select(db.Batch).where(db.Batch.ledger_index.is_(None))
                              .order_by(db.Batch.id)).scalars())
    for b in todo:
        ctx.writer().seal(BatchRef.of(b))
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
