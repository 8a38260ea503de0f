"""The operations database: its own tables (prefix ``ops_``), metadata and Alembic history.

A bounded context: the tables live in the same database as the portal's (``gep serve``) or in
their own SQLite file, without clashing: every table name starts with ``ops_`` and Alembic keeps
this package's revisions in the version table ``alembic_version_operations``.

Money is stored as the exact text written to the CSV files (``"123.45"``) and summed with
``Decimal``; timestamps of readings as int64 nanoseconds since the epoch (UTC), exactly as the
monitoring code computes with them.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import (BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index,
                        Integer, MetaData, String, Text, UniqueConstraint, create_engine,
                        event)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

VERSION_TABLE = "alembic_version_operations"
MIGRATIONS = Path(__file__).with_name("migrations")

NAMING = {"ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
          "pk": "pk_%(table_name)s"}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class StationKey(Base):
    """A station gateway's API key: only its SHA-256 is stored (the key is 256 random bits)."""

    __tablename__ = "ops_station_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station: Mapped[str] = mapped_column(String(100), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                           nullable=True)


class Batch(Base):
    """An accepted upload: its digest and the ledger entry that seals it."""

    __tablename__ = "ops_batches"
    __table_args__ = (UniqueConstraint("station", "batch_id", name="uq_ops_batches_station"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station: Mapped[str] = mapped_column(String(100))
    batch_id: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    n_readings: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    covers: Mapped[str] = mapped_column(Text)
    first_ts_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_ts_ns: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                     index=True)
    ledger_index: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)


class Series(Base):
    """The unit each station reports each indicator in (a series never mixes units)."""

    __tablename__ = "ops_series"
    station: Mapped[str] = mapped_column(String(100), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(100), primary_key=True)
    unit: Mapped[str] = mapped_column(String(50))
    first_ts_ns: Mapped[int] = mapped_column(BigInteger)


class Reading(Base):
    """One reading as uploaded (value in the uploaded unit; NULL = an empty reading)."""

    __tablename__ = "ops_readings"
    __table_args__ = (Index("ix_ops_readings_ts", "ts_ns"),)
    station: Mapped[str] = mapped_column(String(100), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(100), primary_key=True)
    ts_ns: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float(53), nullable=True)
    unit: Mapped[str] = mapped_column(String(50))
    batch: Mapped[int] = mapped_column(ForeignKey("ops_batches.id"))


class DailyRun(Base):
    __tablename__ = "ops_daily_runs"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    inputs_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))       # running / done / failed
    n_readings: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                            nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")


class DayIndex(Base):
    """The day's index per section, as in daily_index.csv (text)."""

    __tablename__ = "ops_daily_index"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    section: Mapped[str] = mapped_column(String(100), primary_key=True)
    index: Mapped[str] = mapped_column(String(20))
    anomaly: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    party_id: Mapped[str] = mapped_column(String(100))


class SectionMean(Base):
    """A day's mean concentration per section and indicator (mg/L), as the annual run
    averages them into section_quality.csv: the year's P index settles the escrow."""

    __tablename__ = "ops_section_means"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    section: Mapped[str] = mapped_column(String(100), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(100), primary_key=True)
    mean: Mapped[float] = mapped_column(Float(53))


class Disbursement(Base):
    """A row of disbursements.csv written by a daily run (money as its exact text)."""

    __tablename__ = "ops_disbursements"
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    party_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    scheduled_cny: Mapped[str] = mapped_column(String(30))
    paid_cny: Mapped[str] = mapped_column(String(30))
    withheld_cny: Mapped[str] = mapped_column(String(30))
    index: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    pace: Mapped[str] = mapped_column(String(20))
    anomaly: Mapped[bool] = mapped_column(Boolean)


class Alert(Base):
    """A row of alerts.csv written by a daily run."""

    __tablename__ = "ops_alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    party_id: Mapped[str] = mapped_column(String(100))
    cause: Mapped[str] = mapped_column(String(50))
    section: Mapped[str] = mapped_column(String(200))
    station: Mapped[str] = mapped_column(String(100))
    indicator: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(50))
    limit: Mapped[str] = mapped_column(String(50))
    unit: Mapped[str] = mapped_column(String(50))
    n_valid: Mapped[str] = mapped_column(String(20))
    day_withheld_cny: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)


class Delivery(Base):
    """One alert to one recipient over one channel, with its attempts and outcome."""

    __tablename__ = "ops_alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "channel", "recipient",
                                       name="uq_ops_alert_deliveries_alert"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("ops_alerts.id"))
    channel: Mapped[str] = mapped_column(String(20))      # email / webhook
    recipient: Mapped[str] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending/sent/failed
    last_error: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def default_url(db_path: str | Path) -> str:
    return f"sqlite:///{Path(db_path)}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):  # pragma: no cover - trivial
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before the upload is answered (the writer commits
            # a whole group at once, so the fsync is paid once per group, not per batch)
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()
            conn.isolation_level = None  # transactions begun below, not by the driver

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - trivial
            # take the write lock at once: a reader upgrading to a writer in WAL mode fails
            # with "database is locked" instead of waiting for the busy timeout
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        return engine
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the operations tables to ``revision`` (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def open_db(url: str) -> tuple[Engine, sessionmaker]:
    """Engine and session factory for ``url``, migrated to the newest revision."""
    engine = make_engine(url)
    upgrade(engine)
    return engine, session_factory(engine)
