"""The portal's tables (SQLAlchemy 2 declarative). Schema changes go through Alembic
(``gep/portal/migrations``); a test checks that the migrations build exactly these tables.

Conventions, portable between SQLite and PostgreSQL:

* times are naive UTC ``DateTime`` (``utcnow()``); pages convert to the portal's time zone;
* money is integer fen (``BigInteger``), never a float: 1 CNY = 100 fen;
* append-only tables (points, audit log, ledger outbox) are never updated by the code, except
  the outbox's ``appended_at`` once its event reached the sunshine ledger.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ROLES = ("committee", "officer", "chief")
CHIEF_STATUSES = ("pending", "approved", "rejected")
PATROL_STATUSES = ("submitted", "accepted", "rejected")
REPORT_STATUSES = ("received", "assigned", "resolved")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class Party(Base):
    """A party of the basin (filled from the basin's parties at start-up); the row is also the
    lock that serialises fund-use entries of one party."""

    __tablename__ = "parties"
    party_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    name_zh: Mapped[str] = mapped_column(String(200), default="")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.party_id"), nullable=True)
    pseudonym: Mapped[str] = mapped_column(String(32), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Chief(Base):
    """A civic river chief (民间河长): the application and its outcome. Name and phone are
    personal data: shown to the committee only."""

    __tablename__ = "chiefs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32))
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.party_id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    applied_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class Patrol(Base):
    __tablename__ = "patrols"
    __table_args__ = (UniqueConstraint("chief_id", "idempotency_key",
                                       name="uq_patrols_chief_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chief_id: Mapped[int] = mapped_column(ForeignKey("chiefs.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime] = mapped_column(DateTime)
    track: Mapped[str] = mapped_column(Text)          # GeoJSON LineString, lon/lat
    km_total: Mapped[float] = mapped_column(Float)     # geodesic length inside the basin
    km_in_party: Mapped[float] = mapped_column(Float)  # ... inside the chief's own party
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    review_note: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[list[Finding]] = relationship(order_by="Finding.idx", lazy="selectin")
    photos: Mapped[list[Photo]] = relationship(order_by="Photo.id", lazy="selectin")
    chief: Mapped[Chief] = relationship(lazy="joined")


class Finding(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id"), index=True)
    idx: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)


class Photo(Base):
    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patrol_id: Mapped[int] = mapped_column(ForeignKey("patrols.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)


class PointsEntry(Base):
    """Append-only points ledger of a chief; the balance is the sum of its entries."""

    __tablename__ = "points_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chief_id: Mapped[int] = mapped_column(ForeignKey("chiefs.id"), index=True)
    patrol_id: Mapped[int | None] = mapped_column(ForeignKey("patrols.id"), nullable=True)
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    local_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Report(Base):
    """A public report (监督举报). ``contact`` is personal data: committee only."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    party_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    public_reply: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Project(Base):
    """A fund-use entry (资金用途): a project a party spends its compensation on."""

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_party_year", "party_id", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.party_id"))
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id", lazy="selectin")


class Evidence(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)


class AuditLog(Base):
    """Every committee (and officer) action: who, what, on what, when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    detail: Mapped[str] = mapped_column(Text, default="{}")


class LedgerOutbox(Base):
    """Events for the sunshine ledger, written in the same transaction as the change they
    record and appended to the ledger after commit (and by ``gep portal flush-ledger``)."""

    __tablename__ = "ledger_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)   # canonical JSON, pseudonymous ids only
    covers: Mapped[str] = mapped_column(Text)
    appended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    ledger_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
