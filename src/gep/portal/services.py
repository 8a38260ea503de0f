"""What the portal does, independent of HTTP: the API routes and the pages both call these.

Every function takes an open ``Session`` and the ``Principal`` acting (or none for the public)
and raises ``PortalError(status, message)`` for anything the caller must be told. Committee
and officer actions write an audit-log row in the same transaction; changes the public ledger
must show call ``ledger_hook.record_event`` in the same transaction too.
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from gep.errors import GepError
from gep.money import FEN
from gep.paths import Paths
from gep.portal import ledger_hook
from gep.portal.geo import BasinGeometry, TrackError, parse_linestring
from gep.portal.models import (
    AuditLog,
    Chief,
    Evidence,
    Finding,
    Party,
    Patrol,
    Photo,
    PointsEntry,
    Project,
    Report,
    User,
    utcnow,
)
from gep.portal.points import patrol_award
from gep.portal.ratelimit import RateLimiter
from gep.portal.schemas import (
    ApplicationIn,
    PatrolIn,
    ProjectIn,
    ReportIn,
    ReviewIn,
)
from gep.portal.security import Passwords, Principal, Tokens, pseudonym
from gep.portal.settings import PortalSettings
from gep.portal.uploads import Stored, UploadError, store


class PortalError(GepError):
    """A request the portal refuses: ``status`` is its HTTP status, ``message`` is shown."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Portal:
    """Everything a request needs, built once by ``create_app`` (``app.state.portal``)."""

    settings: PortalSettings
    factory: sessionmaker[Session]
    geometry: BasinGeometry
    secret: bytes
    uploads: Path
    sink: ledger_hook.LedgerSink
    ledger_db: Path | None = None
    performance_csv: Path | None = None
    report_url: str | None = None
    report_file: Path | None = None
    engine: Any = None
    limiter: RateLimiter = field(default_factory=RateLimiter)

    def __post_init__(self):
        self.passwords = Passwords(self.settings.security)
        self.tokens = Tokens(self.secret, self.settings.security.token_minutes)
        self._received_cache: tuple[tuple, dict] | None = None
        self._lock = threading.Lock()

    # -- the ledger's view of money received ---------------------------------------------------
    def received(self) -> dict[tuple[str, int], int]:
        """Fen received per (party, year) according to the sunshine ledger (cached by the
        ledger file's size and modification time)."""
        from gep.ledger import api

        if self.ledger_db is None or not self.ledger_db.is_file():
            return {}
        st = self.ledger_db.stat()
        wal = self.ledger_db.with_name(self.ledger_db.name + "-wal")
        key = (st.st_size, st.st_mtime_ns, wal.stat().st_mtime_ns if wal.exists() else 0)
        with self._lock:
            if self._received_cache and self._received_cache[0] == key:
                return self._received_cache[1]
        data = api.received_by_year(self.ledger_db, self.settings.fund_use.received_kind)
        with self._lock:
            self._received_cache = (key, data)
        return data

    def db_limiter(self):
        """How many worker threads may run database work of the busy endpoints at once:
        one on SQLite (writers queue here, in order, instead of sleeping in SQLite's busy
        handler), three on PostgreSQL (fewer threads fighting over the GIL; measured best)."""
        import anyio

        if getattr(self, "_db_limiter", None) is None:
            sqlite = self.engine is not None and self.engine.dialect.name == "sqlite"
            self._db_limiter = anyio.CapacityLimiter(1 if sqlite else 3)
        return self._db_limiter

    def flush_ledger(self) -> int:
        return ledger_hook.flush(self.factory, self.sink)

    def rate_limit(self, bucket: str, client: str, limit: int) -> None:
        wait = self.limiter.check(bucket, client, limit)
        if wait:
            raise PortalError(429, f"too many requests; try again in {wait} s "
                              "(请求过于频繁，请稍后再试)", {"Retry-After": str(wait)})


# ----------------------------------------------------------------------------- helpers

def audit(db: Session, actor: Principal | None, action: str, target: str, **detail) -> None:
    db.add(AuditLog(actor_id=actor.user_id if actor else None, action=action, target=target,
                    detail=json.dumps(detail, ensure_ascii=False, sort_keys=True,
                                      default=str)))


def require(principal: Principal | None, *roles: str) -> Principal:
    if principal is None:
        raise PortalError(401, "not authenticated (请先登录)", {"WWW-Authenticate": "Bearer"})
    if principal.role not in roles:
        raise PortalError(403, f"this needs the role {' or '.join(roles)} (无权限)")
    return principal


def locked(db: Session, model, pk):
    """The row, locked for this transaction (PostgreSQL ``FOR UPDATE OF``; on SQLite the
    transaction already holds the write lock)."""
    return db.scalar(select(model).where(model.__mapper__.primary_key[0] == pk)
                     .with_for_update(of=model))


def to_utc_naive(d: datetime, tz) -> datetime:
    if d.tzinfo is None:
        d = d.replace(tzinfo=tz)
    return d.astimezone(UTC).replace(tzinfo=None)


def local_day(d_utc_naive: datetime, tz) -> date:
    return d_utc_naive.replace(tzinfo=UTC).astimezone(tz).date()


def fen_text(fen: int) -> str:
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def party_exists(db: Session, party_id: str) -> bool:
    return db.get(Party, party_id) is not None


def sync_parties(portal: Portal) -> None:
    """Make the parties table match the basin's parties (names may change; none removed)."""
    with portal.factory() as db:
        for pid in sorted(portal.geometry.parties):
            en, zh = portal.geometry.names.get(pid, (pid, pid))
            row = db.get(Party, pid)
            if row is None:
                db.add(Party(party_id=pid, name=en, name_zh=zh))
            elif (row.name, row.name_zh) != (en, zh):
                row.name, row.name_zh = en, zh
        db.commit()


# ----------------------------------------------------------------------------- users

def create_user(portal: Portal, db: Session, username: str, password: str, role: str,
                party_id: str | None = None, actor: Principal | None = None) -> User:
    if role == "officer" and (not party_id or not party_exists(db, party_id)):
        raise PortalError(422, f"an officer needs the party_id of a basin party, not "
                          f"{party_id!r}")
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise PortalError(409, f"username {username!r} is taken (用户名已被使用)")
    user = User(username=username, password_hash=portal.passwords.hash(password), role=role,
                party_id=party_id if role != "committee" else None,
                pseudonym=pseudonym(portal.secret, "U", username))
    db.add(user)
    db.flush()
    audit(db, actor, "create_user", f"user:{user.id}", role=role, party_id=party_id)
    return user


def login(portal: Portal, db: Session, username: str, password: str) -> tuple[User, str]:
    user = db.scalar(select(User).where(User.username == username))
    ok = portal.passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        raise PortalError(401, "wrong username or password (用户名或密码错误)")
    return user, portal.tokens.issue(user.id, user.role)


def principal_for(db: Session, user_id: int, via: str) -> Principal | None:
    u = db.execute(select(User.id, User.username, User.role, User.party_id, User.pseudonym,
                          User.active).where(User.id == user_id)).first()
    if u is None or not u.active:
        return None
    return Principal(u.id, u.username, u.role, u.party_id, u.pseudonym, via)


# ----------------------------------------------------------------------------- river chiefs

def apply_chief(portal: Portal, db: Session, data: ApplicationIn) -> Chief:
    if not party_exists(db, data.party_id):
        raise PortalError(422, f"party_id {data.party_id!r} is not a party of this basin; "
                          f"use one of {', '.join(sorted(portal.geometry.parties))}")
    user = create_user(portal, db, data.username, data.password, "chief", data.party_id)
    user.pseudonym = pseudonym(portal.secret, "RC", data.username)
    chief = Chief(user_id=user.id, name=data.name, phone=data.phone, party_id=data.party_id)
    db.add(chief)
    db.flush()
    return chief


def decide_chief(db: Session, actor: Principal, chief_id: int, approve: bool) -> Chief:
    require(actor, "committee")
    chief = locked(db, Chief, chief_id)
    if chief is None:
        raise PortalError(404, f"no application {chief_id}")
    if chief.status != "pending":
        raise PortalError(409, f"application {chief_id} is already {chief.status}")
    chief.status = "approved" if approve else "rejected"
    chief.decided_at = utcnow()
    chief.decided_by = actor.user_id
    audit(db, actor, "approve_chief" if approve else "reject_chief", f"chief:{chief_id}")
    return chief


def chief_of(db: Session, principal: Principal) -> Chief | None:
    return db.scalar(select(Chief).where(Chief.user_id == principal.user_id))


# ----------------------------------------------------------------------------- patrols

_INSERT_PATROL = insert(Patrol.__table__).returning(Patrol.__table__.c.id)
_INSERT_FINDING = insert(Finding.__table__)


@functools.cache
def _insert_patrol(dialect: str):
    """INSERT ... ON CONFLICT (chief_id, idempotency_key) DO NOTHING RETURNING id."""
    mod = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    return (mod.insert(Patrol.__table__)
            .on_conflict_do_nothing(index_elements=["chief_id", "idempotency_key"])
            .returning(Patrol.__table__.c.id))
_INSERT_PHOTO = insert(Photo.__table__)


@dataclass(frozen=True)
class Submitted:
    id: int
    status: str


def submit_patrol(portal: Portal, db: Session, actor: Principal, data: PatrolIn,
                  photos: list[tuple[str | None, bytes]] = (),
                  idempotency_key: str | None = None) -> tuple[Submitted, bool]:
    """Returns (patrol id and status, created). A repeat with the same Idempotency-Key and
    the same body returns the first patrol; with a different body it is refused (409).

    The hot path of the portal (see benchmarks/bench_portal.py): column queries and Core
    inserts, no ORM object loading."""
    chief = _approved_chief(db, actor)
    if idempotency_key is not None and not (0 < len(idempotency_key) <= 128):
        raise PortalError(422, "Idempotency-Key must be 1-128 characters")
    digest = _patrol_digest(data, photos)
    limits = portal.settings.limits
    if len(photos) > limits.max_photos:
        raise PortalError(422, f"at most {limits.max_photos} photos per patrol")
    coords, km_basin, km_party = _checked_track(portal, data, chief.party_id)
    tz = portal.settings.tz
    started, ended = to_utc_naive(data.started_at, tz), to_utc_naive(data.ended_at, tz)
    if ended > utcnow().replace(microsecond=0) + _minutes(10):
        raise PortalError(422, "ended_at lies in the future")
    stored = _store_photos(portal, photos)
    values = dict(chief_id=chief.id, idempotency_key=idempotency_key or None,
                  request_digest=digest, started_at=started, ended_at=ended,
                  track=json.dumps({"type": "LineString", "coordinates": coords}),
                  km_total=km_basin, km_in_party=km_party, status="submitted",
                  submitted_at=utcnow(), review_note="")
    conn = db.connection()  # Core statements: no ORM unit of work on the hot path
    # With a key, a concurrent twin may commit first: the unique (chief, key) index decides,
    # INSERT ... ON CONFLICT DO NOTHING then returns no id and we answer with the twin.
    stmt = _insert_patrol(conn.dialect.name) if idempotency_key else _INSERT_PATROL
    pid = conn.execute(stmt, values).scalar()
    if pid is None:
        return _replay(_patrol_by_key(db, chief.id, idempotency_key), digest), False
    _insert_patrol_children(conn, pid, data, stored)
    return Submitted(pid, "submitted"), True


def _approved_chief(db: Session, actor: Principal):
    """The actor's chief row (id, status, party_id); 403 unless an approved river chief."""
    require(actor, "chief")
    chief = db.execute(select(Chief.id, Chief.status, Chief.party_id)
                       .where(Chief.user_id == actor.user_id)).first()
    if chief is None or chief.status != "approved":
        raise PortalError(403, "only approved river chiefs can submit patrols "
                          "(申请尚未批准)")
    return chief


def _patrol_digest(data: PatrolIn, photos) -> str:
    """SHA-256 of the request (body and photo digests): an idempotent repeat must match it."""
    body = data.model_dump(mode="json")
    photo_digests = [hashlib.sha256(b).hexdigest() for _, b in photos]
    return hashlib.sha256(json.dumps([body, photo_digests], sort_keys=True).encode()
                          ).hexdigest()


def _checked_track(portal: Portal, data: PatrolIn, party_id: str
                   ) -> tuple[list[list[float]], float, float]:
    """(coordinates, km inside the basin, km inside the party); 422 for a bad track or a
    finding outside the basin."""
    try:
        coords = parse_linestring(data.track)
        km_basin, km_party = portal.geometry.measure_track(coords, party_id)
    except TrackError as exc:
        raise PortalError(422, str(exc)) from None
    for i, f in enumerate(data.findings):
        if not portal.geometry.inside_basin(f.lon, f.lat):
            raise PortalError(422, f"finding {i} lies outside the basin")
    return coords, km_basin, km_party


def _store_photos(portal: Portal, photos) -> list[Stored]:
    max_bytes = int(portal.settings.limits.max_photo_mb * 1024 * 1024)
    stored: list[Stored] = []
    for name, content in photos:
        try:
            stored.append(store(content, name, Paths.UploadFiles(portal.uploads).photos, max_bytes))
        except UploadError as exc:
            raise PortalError(422, f"photo {safe(name)}: {exc}") from None
    return stored


def _insert_patrol_children(conn, pid: int, data: PatrolIn, stored: list[Stored]) -> None:
    if data.findings:
        conn.execute(_INSERT_FINDING, [dict(patrol_id=pid, idx=i, kind=f.kind,
                                          description=f.description, lon=f.lon, lat=f.lat,
                                          confirmed=False)
                                     for i, f in enumerate(data.findings)])
    if stored:
        conn.execute(_INSERT_PHOTO, [dict(patrol_id=pid, stored_name=s.stored_name,
                                        original_name=s.original_name,
                                        content_type=s.content_type, sha256=s.sha256,
                                        size_bytes=s.size_bytes) for s in stored])


def _minutes(n: int):
    from datetime import timedelta

    return timedelta(minutes=n)


def safe(name: str | None) -> str:
    from gep.portal.uploads import safe_display_name

    return safe_display_name(name)


def _patrol_by_key(db: Session, chief_id: int, key: str):
    return db.execute(select(Patrol.id, Patrol.status, Patrol.request_digest)
                      .where(Patrol.chief_id == chief_id,
                             Patrol.idempotency_key == key)).first()


def _replay(existing, digest: str) -> Submitted:
    if existing.request_digest != digest:
        raise PortalError(409, "this Idempotency-Key was used for a different patrol")
    return Submitted(existing.id, existing.status)


def review_patrol(portal: Portal, db: Session, actor: Principal, patrol_id: int,
                  data: ReviewIn) -> tuple[Patrol, PointsEntry | None]:
    require(actor, "committee")
    patrol = locked(db, Patrol, patrol_id)
    if patrol is None:
        raise PortalError(404, f"no patrol {patrol_id}")
    if patrol.status != "submitted":
        raise PortalError(409, f"patrol {patrol_id} is already {patrol.status}")
    n = len(patrol.findings)
    bad = [i for i in data.confirmed_findings if not 0 <= i < n]
    if bad:
        raise PortalError(422, f"confirmed_findings {bad} are not finding indices (0..{n - 1})")
    if data.decision == "reject" and data.confirmed_findings:
        raise PortalError(422, "a rejected patrol confirms no findings")
    confirmed = sorted(set(data.confirmed_findings))
    patrol.status = "accepted" if data.decision == "accept" else "rejected"
    patrol.reviewed_at = utcnow()
    patrol.reviewed_by = actor.user_id
    patrol.review_note = data.note
    for f in patrol.findings:
        f.confirmed = f.idx in confirmed
    audit(db, actor, f"{data.decision}_patrol", f"patrol:{patrol_id}",
          confirmed_findings=confirmed, note=data.note)
    if patrol.status != "accepted":
        return patrol, None
    tz = portal.settings.tz
    day = local_day(patrol.started_at, tz)
    # Serialise awards of one chief (PostgreSQL: row lock; SQLite: BEGIN IMMEDIATE).
    chief = locked(db, Chief, patrol.chief_id)
    earlier = db.scalar(select(func.count()).select_from(PointsEntry).where(
        PointsEntry.chief_id == chief.id, PointsEntry.local_day == day,
        PointsEntry.patrol_id.is_not(None), PointsEntry.points > 0)) or 0
    award = patrol_award(portal.settings.points, patrol.km_in_party, len(confirmed), earlier,
                         day)
    entry = PointsEntry(chief_id=chief.id, patrol_id=patrol.id, points=award.points,
                        reason=award.reason, local_day=day)
    db.add(entry)
    pseud = chief.user.pseudonym
    pref = pseudonym(portal.secret, "PT", str(patrol.id))
    ledger_hook.record_event(db, "patrol_accepted", pref, {
        "chief": pseud, "party_id": chief.party_id, "day": day.isoformat(),
        "km_in_party": f"{patrol.km_in_party:.2f}", "findings": n,
        "confirmed_findings": len(confirmed),
        "track_sha256": hashlib.sha256(patrol.track.encode()).hexdigest()},
        f"accepted patrol {pref} by river chief {pseud} ({chief.party_id}, {day}), "
        f"{len(confirmed)} confirmed finding(s)")
    ledger_hook.record_event(db, "points_awarded", pref, {
        "chief": pseud, "points": award.points, "day": day.isoformat(),
        "rule": "daily_limit" if award.points == 0 else "patrol"},
        f"{award.points} points to river chief {pseud} for patrol {pref}")
    return patrol, entry


def points_of(db: Session, actor: Principal, chief_id: int) -> tuple[Chief, int,
                                                                      list[PointsEntry]]:
    require(actor, "chief", "committee")
    chief = db.get(Chief, chief_id)
    if chief is None:
        raise PortalError(404, f"no river chief {chief_id}")
    if actor.role == "chief" and chief.user_id != actor.user_id:
        raise PortalError(403, "you can see only your own points (只能查看自己的积分)")
    entries = db.scalars(select(PointsEntry).where(PointsEntry.chief_id == chief_id)
                         .order_by(PointsEntry.id)).all()
    return chief, sum(e.points for e in entries), list(entries)


def leaderboard(db: Session, limit: int = 100) -> list[dict]:
    pts = (select(PointsEntry.chief_id, func.sum(PointsEntry.points).label("points"),
                  func.count(PointsEntry.patrol_id).label("patrols"))
           .group_by(PointsEntry.chief_id).subquery())
    rows = db.execute(select(User.pseudonym, Chief.party_id, pts.c.points, pts.c.patrols)
                      .join(Chief, Chief.user_id == User.id)
                      .join(pts, pts.c.chief_id == Chief.id)
                      .order_by(pts.c.points.desc(), User.pseudonym).limit(limit)).all()
    return [{"pseudonym": p, "party_id": party, "points": int(points or 0),
             "accepted_patrols": int(n or 0)} for p, party, points, n in rows]


# ----------------------------------------------------------------------------- reports

def create_report(portal: Portal, db: Session, data: ReportIn) -> Report:
    party = portal.geometry.party_at(data.lon, data.lat)
    for _ in range(5):
        code = "R" + secrets.token_hex(5).upper()
        if db.scalar(select(Report.id).where(Report.tracking_code == code)) is None:
            break
    rep = Report(tracking_code=code, category=data.category, description=data.description,
                 lon=data.lon, lat=data.lat, party_id=party, contact=data.contact or None)
    db.add(rep)
    db.flush()
    return rep


def report_by_code(db: Session, code: str) -> Report:
    rep = db.scalar(select(Report).where(Report.tracking_code == code))
    if rep is None:
        raise PortalError(404, "no report with this tracking code (查无此举报编号)")
    return rep


def assign_report(db: Session, actor: Principal, code: str, assignee: str | None) -> Report:
    require(actor, "committee")
    rep = report_by_code(db, code)
    user_id = actor.user_id
    if assignee:
        u = db.scalar(select(User).where(User.username == assignee, User.role == "committee"))
        if u is None:
            raise PortalError(422, f"{assignee!r} is not a committee member")
        user_id = u.id
    if rep.status == "resolved":
        raise PortalError(409, "the report is already resolved")
    rep.assigned_to, rep.assigned_at, rep.status = user_id, utcnow(), "assigned"
    audit(db, actor, "assign_report", f"report:{rep.id}", assignee=user_id)
    return rep


def reply_report(db: Session, actor: Principal, code: str, reply: str) -> Report:
    require(actor, "committee")
    rep = report_by_code(db, code)
    rep.public_reply = reply
    audit(db, actor, "reply_report", f"report:{rep.id}", reply=reply)
    return rep


def resolve_report(portal: Portal, db: Session, actor: Principal, code: str, outcome: str,
                   reply: str, now: datetime | None = None) -> Report:
    require(actor, "committee")
    rep = report_by_code(db, code)
    if rep.status == "resolved":
        raise PortalError(409, "the report is already resolved")
    now = now or utcnow()
    rep.status, rep.outcome, rep.public_reply, rep.resolved_at = "resolved", outcome, reply, now
    if rep.assigned_to is None:
        rep.assigned_to, rep.assigned_at = actor.user_id, now
    audit(db, actor, "resolve_report", f"report:{rep.id}", outcome=outcome, reply=reply)
    ref = pseudonym(portal.secret, "RP", str(rep.id))
    hours = (now - rep.created_at).total_seconds() / 3600
    ledger_hook.record_event(db, "report_resolved", ref, {
        "category": rep.category, "party_id": rep.party_id or "", "outcome": outcome,
        "received_day": rep.created_at.date().isoformat(),
        "resolved_day": now.date().isoformat(), "handling_hours": f"{hours:.1f}"},
        f"public report {ref} ({rep.category}, {rep.party_id or 'basin'}) resolved: "
        f"{outcome} after {hours:.1f} h")
    return rep


# ----------------------------------------------------------------------------- fund use

def create_project(portal: Portal, db: Session, actor: Principal, data: ProjectIn) -> Project:
    require(actor, "officer")
    party_id = data.party_id or actor.party_id
    if party_id != actor.party_id:
        raise PortalError(403, "officers record the fund use of their own party only")
    if data.ended_on is not None and data.ended_on < data.started_on:
        raise PortalError(422, "ended_on is before started_on")
    amount = Decimal(data.amount_cny).quantize(FEN)
    fen = int(amount * 100)
    # lock the party row: two officers of one party cannot overspend together
    db.execute(select(Party).where(Party.party_id == party_id).with_for_update()).first()
    spent = int(db.scalar(select(func.coalesce(func.sum(Project.amount_fen), 0)).where(
        Project.party_id == party_id, Project.year == data.year)) or 0)
    received = portal.received().get((party_id, data.year), 0)
    if spent + fen > received:
        raise PortalError(422, f"{party_id} would spend {fen_text(spent + fen)} CNY in "
                          f"{data.year} but the sunshine ledger shows it received "
                          f"{fen_text(received)} CNY (already recorded {fen_text(spent)}); "
                          "spending cannot exceed what was received (支出不得超过到账金额)")
    proj = Project(party_id=party_id, year=data.year, name=data.name, category=data.category,
                   amount_fen=fen, started_on=data.started_on, ended_on=data.ended_on,
                   progress=data.progress, description=data.description,
                   created_by=actor.user_id)
    proj.evidence = []
    db.add(proj)
    db.flush()
    audit(db, actor, "record_fund_use", f"project:{proj.id}", amount_cny=fen_text(fen),
          year=data.year)
    _project_event(db, proj)
    return proj


def _project_event(db: Session, proj: Project, evidence: list[Evidence] = ()) -> None:
    payload = {"project_id": proj.id, "party_id": proj.party_id, "year": proj.year,
               "name": proj.name, "category": proj.category,
               "amount_cny": fen_text(proj.amount_fen),
               "started_on": proj.started_on.isoformat(),
               "ended_on": proj.ended_on.isoformat() if proj.ended_on else "",
               "progress": proj.progress,
               "evidence_sha256": sorted(e.sha256 for e in evidence)}
    ref = f"P{proj.id}" + (f"-e{len(evidence)}" if evidence else "")
    ledger_hook.record_event(db, "fund_use", ref, payload,
                             f"fund use of {proj.party_id} {proj.year}: project {proj.id} "
                             f"({proj.category}) {fen_text(proj.amount_fen)} CNY"
                             + (f", {len(evidence)} evidence file(s)" if evidence else ""))


def add_evidence(portal: Portal, db: Session, actor: Principal, project_id: int,
                 files: list[tuple[str | None, bytes]]) -> Project:
    require(actor, "officer")
    proj = db.get(Project, project_id)
    if proj is None:
        raise PortalError(404, f"no project {project_id}")
    if proj.party_id != actor.party_id:
        raise PortalError(403, "officers add evidence to their own party's projects only")
    if not files:
        raise PortalError(422, "no file")
    max_bytes = int(portal.settings.limits.max_photo_mb * 1024 * 1024)
    for name, content in files:
        try:
            s = store(content, name, Paths.UploadFiles(portal.uploads).evidence, max_bytes,
                      allow_pdf=True)
        except UploadError as exc:
            raise PortalError(422, f"file {safe(name)}: {exc}") from None
        proj.evidence.append(Evidence(stored_name=s.stored_name, original_name=s.original_name,
                                      content_type=s.content_type, sha256=s.sha256,
                                      size_bytes=s.size_bytes))
    db.flush()
    audit(db, actor, "add_evidence", f"project:{proj.id}", files=len(files))
    _project_event(db, proj, list(proj.evidence))
    return proj


def fund_use(portal: Portal, db: Session, party_id: str | None = None,
             year: int | None = None) -> list[dict]:
    """Per party and year: received (ledger), spent (recorded), and the projects."""
    q = select(Project).order_by(Project.party_id, Project.year, Project.id)
    if party_id:
        q = q.where(Project.party_id == party_id)
    if year:
        q = q.where(Project.year == year)
    groups: dict[tuple[str, int], list[Project]] = {}
    for p in db.scalars(q):
        groups.setdefault((p.party_id, p.year), []).append(p)
    for (pid, y) in portal.received():
        if (party_id in (None, pid)) and (year in (None, y)) and pid in portal.geometry.parties:
            groups.setdefault((pid, y), [])
    received = portal.received()
    return [{"party_id": pid, "year": y, "received_cny": fen_text(received.get((pid, y), 0)),
             "spent_cny": fen_text(sum(p.amount_fen for p in projs)),
             "projects": [project_dict(p) for p in projs]}
            for (pid, y), projs in sorted(groups.items())]


def project_dict(p: Project) -> dict:
    return {"id": p.id, "party_id": p.party_id, "year": p.year, "name": p.name,
            "category": p.category, "amount_cny": fen_text(p.amount_fen),
            "started_on": p.started_on, "ended_on": p.ended_on, "progress": p.progress,
            "description": p.description,
            "evidence": [{"id": e.id, "name": e.original_name, "content_type": e.content_type,
                          "sha256": e.sha256, "size_bytes": e.size_bytes}
                         for e in p.evidence]}
