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
from sqlalchemy import func, select, tuple_, update
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

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def stations_file(cfg, paths) -> Path:
    m = cfg.monitoring
    if m.stations is not None:
        return cfg.path(m.stations)
    return paths.monitoring / "demo" / "stations.csv"


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
                  ledger_db=paths.ledger / "ledger.db",
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
    with ctx.Session() as s:
        row = s.execute(select(db.StationKey).where(db.StationKey.key_hash == h)).scalar()
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


def _parse_ts(text: str) -> int:
    """ISO 8601 with an offset -> int64 ns UTC; ValueError otherwise."""
    if not isinstance(text, str) or not re.search(r"(Z|z|[+-]\d{2}:?\d{2})$", text.strip()):
        raise ValueError("needs a UTC offset, e.g. 2021-03-01T08:00:00+08:00")
    t = pd.Timestamp(text.strip())
    if t.tzinfo is None:  # pragma: no cover - the pattern above demands an offset
        raise ValueError("needs a UTC offset")
    return int(t.tz_convert("UTC").value)


def batch_digest(station: str, batch_id: str, readings: list[dict]) -> tuple[str, int]:
    """SHA-256 (hex) and size of the batch's canonical JSON (the ledger's record format)."""
    from gep.ledger.records import canonical_bytes

    raw = canonical_bytes({"station": station, "batch_id": batch_id, "readings": [
        {"timestamp": r["timestamp"], "indicator": r["indicator"], "value": r["value"],
         "unit": r["unit"]} for r in readings]})
    return hashlib.sha256(raw).hexdigest(), len(raw)


def accept_batch(ctx: Context, station: str, batch_id: str, readings: list[dict],
                 now: dt.datetime | None = None) -> UploadResult:
    """Validate and store one batch (all or nothing), seal its digest in the ledger."""
    if station not in set(ctx.stations["station"]):
        return UploadResult(404, {"detail": f"unknown station '{station}'"})
    if not isinstance(batch_id, str) or not BATCH_ID.match(batch_id):
        return UploadResult(422, {"detail": "batch_id must be 1-200 characters of letters, "
                                  "digits and . _ : + -", "errors": []})
    if len(readings) > ctx.ops.max_batch_readings:
        return UploadResult(413, {"detail": f"{len(readings)} readings; at most "
                                  f"{ctx.ops.max_batch_readings} per batch"})
    digest, size = batch_digest(station, batch_id, readings)
    with ctx.Session() as s:
        old = s.execute(select(db.Batch).where(db.Batch.station == station,
                                               db.Batch.batch_id == batch_id)).scalar()
    if old is not None:
        return _replayed(old, digest)
    errors, rows = validate_rows(ctx, station, readings, now)
    if errors:
        return UploadResult(422, {"detail": f"{len(errors)} invalid reading(s); nothing of "
                                  f"batch {batch_id} was stored", "errors": errors})
    try:
        return _store(ctx, station, batch_id, digest, size, rows)
    except IntegrityError:
        # a concurrent request stored the same batch, or readings it duplicates
        with ctx.Session() as s:
            old = s.execute(select(db.Batch).where(db.Batch.station == station,
                                                   db.Batch.batch_id == batch_id)).scalar()
        if old is not None:
            return _replayed(old, digest)
        errors, _ = validate_rows(ctx, station, readings, now)
        return UploadResult(422, {"detail": "readings already stored by another batch",
                                  "errors": errors})


def _replayed(old, digest: str) -> UploadResult:
    if old.digest == digest:
        return UploadResult(200, {"status": "exists", "batch_id": old.batch_id,
                                  "digest": old.digest, "readings": old.n_readings,
                                  "ledger_index": old.ledger_index})
    return UploadResult(409, {"detail": f"batch {old.batch_id} was already accepted with "
                              "other content (digest " + old.digest + "); send new readings "
                              "under a new batch_id"})


def _units_of(ctx: Context) -> dict[str, dict[str, float]]:
    if not ctx._units:
        st = ctx.monitoring
        ctx._units.update({name: st.units[ind.unit] for name, ind in st.indicators.items()})
    return ctx._units


def validate_rows(ctx: Context, station: str, readings: list[dict],
                  now: dt.datetime | None = None):
    """The file-ingestion rules on an uploaded batch: (errors, rows)."""
    settings = ctx.monitoring
    units = _units_of(ctx)
    now = now or dt.datetime.now(dt.UTC)
    limit_ns = int(pd.Timestamp(now).value) + int(ctx.ops.future_tolerance_minutes * 60e9)
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
            ts = _parse_ts(r.get("timestamp"))
        except (ValueError, TypeError) as exc:
            bad(i, "timestamp", f"'{r.get('timestamp')}' is not an ISO 8601 time: {exc}")
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
    if errors or not rows:
        if not rows and not errors:
            errors.append({"row": None, "field": "readings", "problem": "no readings"})
        return errors, rows
    # against what is stored: one unit per series, no reading twice
    inds = sorted({r[0] for r in rows})
    lo, hi = min(r[1] for r in rows), max(r[1] for r in rows)
    with ctx.Session() as s:
        known = dict(s.execute(select(db.Series.indicator, db.Series.unit).where(
            db.Series.station == station, db.Series.indicator.in_(inds))).all())
        dup = set(s.execute(select(db.Reading.indicator, db.Reading.ts_ns).where(
            db.Reading.station == station, db.Reading.ts_ns.between(lo, hi),
            tuple_(db.Reading.indicator, db.Reading.ts_ns).in_([(r[0], r[1]) for r in rows])
            if len(rows) <= 500 else db.Reading.indicator.in_(inds))).all())
    for ind, ts, _v, unit, i in rows:
        if ind in known and known[ind] != unit:
            bad(i, "unit", f"station '{station}' reports '{ind}' in '{known[ind]}'; "
                f"'{unit}' here would mix units (convert at the gateway)")
        if (ind, ts) in dup:
            bad(i, "timestamp", f"duplicate reading: '{ind}' at "
                f"{readings[i]['timestamp']} was already uploaded in another batch")
    return errors, rows


def _store(ctx: Context, station: str, batch_id: str, digest: str, size: int,
           rows: list[tuple]) -> UploadResult:
    from gep.ledger.records import digest_record
    from gep.ledger.store import Item, Ledger

    first, last = min(r[1] for r in rows), max(r[1] for r in rows)
    tz = ctx.monitoring.timezone
    span = (f"{pd.Timestamp(first, tz='UTC').tz_convert(tz).isoformat()} to "
            f"{pd.Timestamp(last, tz='UTC').tz_convert(tz).isoformat()}")
    with ctx.Session.begin() as s:
        batch = db.Batch(station=station, batch_id=batch_id, digest=digest,
                         n_readings=len(rows), first_ts_ns=first, last_ts_ns=last,
                         received_at=db.utcnow())
        s.add(batch)
        s.flush()
        new_series = {}
        for ind, ts, _v, unit, _i in rows:
            if ind not in new_series or ts < new_series[ind][1]:
                new_series[ind] = (unit, ts)
        have = set(s.execute(select(db.Series.indicator).where(
            db.Series.station == station, db.Series.indicator.in_(list(new_series)))).scalars())
        s.add_all([db.Series(station=station, indicator=ind, unit=u, first_ts_ns=t)
                   for ind, (u, t) in new_series.items() if ind not in have])
        s.execute(db.Reading.__table__.insert(), [
            {"station": station, "indicator": ind, "ts_ns": ts, "value": v, "unit": unit,
             "batch": batch.id} for ind, ts, v, unit, _i in rows])
        # sealed before the commit: a batch is never stored without its ledger entry
        item = Item(digest_record(digest, size, f"{station}/{batch_id}.json", "data_batch",
                                  f"readings batch {batch_id} of station {station}: "
                                  f"{len(rows)} readings, {span}"), f"upload {batch_id}")
        with Ledger(ctx.ledger_db) as lg:
            res = lg.append([item])[0]
        batch.ledger_index = res.index
    return UploadResult(201, {"status": "accepted", "batch_id": batch_id, "digest": digest,
                              "readings": len(rows), "ledger_index": res.index})


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
