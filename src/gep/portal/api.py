"""The JSON API, ``/api/v1`` (documented at ``/openapi.json``)."""
from __future__ import annotations

import json

import anyio

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gep.portal import schemas as s
from gep.portal import services as svc
from gep.portal.app import api_principal, client_address, get_db, get_portal
from gep.portal.ledger_hook import document_name
from gep.portal.models import AuditLog, Chief, LedgerOutbox, Patrol, Project, Report
from gep.portal.security import Principal
from gep.portal.services import Portal, PortalError, require

router = APIRouter(prefix="/api/v1")
DB = Depends(get_db)
WHO = Depends(api_principal)
PORTAL = Depends(get_portal)


# ----------------------------------------------------------------------------- auth

@router.post("/auth/login", response_model=s.TokenOut, tags=["auth"])
def login(body: s.LoginIn, request: Request, portal: Portal = PORTAL, db: Session = DB):
    portal.rate_limit("login", client_address(request),
                      portal.settings.rate_limits.logins_per_minute)
    _, token = svc.login(portal, db, body.username, body.password)
    return {"access_token": token, "token_type": "bearer",
            "expires_in": portal.tokens.minutes * 60}


@router.post("/users", response_model=s.UserOut, status_code=201, tags=["auth"])
def create_user(body: s.UserIn, portal: Portal = PORTAL, db: Session = DB,
                who: Principal | None = WHO):
    require(who, "committee")
    u = svc.create_user(portal, db, body.username, body.password, body.role, body.party_id,
                        actor=who)
    db.commit()
    return {"id": u.id, "username": u.username, "role": u.role, "party_id": u.party_id}


# ----------------------------------------------------------------------------- river chiefs

@router.post("/river-chiefs/applications", response_model=s.ApplicationOut, status_code=201,
             tags=["river chiefs"])
def apply(body: s.ApplicationIn, request: Request, portal: Portal = PORTAL, db: Session = DB):
    portal.rate_limit("apply", client_address(request),
                      portal.settings.rate_limits.applications_per_minute)
    chief = svc.apply_chief(portal, db, body)
    db.commit()
    return {"id": chief.id, "status": chief.status}


@router.get("/river-chiefs", tags=["river chiefs"])
def list_chiefs(status: str | None = None, db: Session = DB, who: Principal | None = WHO):
    require(who, "committee")
    q = select(Chief).order_by(Chief.id)
    if status:
        q = q.where(Chief.status == status)
    return [{"id": c.id, "name": c.name, "phone": c.phone, "party_id": c.party_id,
             "username": c.user.username, "pseudonym": c.user.pseudonym, "status": c.status,
             "applied_at": c.applied_at} for c in db.scalars(q)]


@router.get("/river-chiefs/me", tags=["river chiefs"])
def my_chief(db: Session = DB, who: Principal | None = WHO):
    require(who, "chief")
    c = svc.chief_of(db, who)
    return {"id": c.id, "status": c.status, "party_id": c.party_id,
            "pseudonym": who.pseudonym}


@router.post("/river-chiefs/{chief_id}/approve", response_model=s.ApplicationOut,
             tags=["river chiefs"])
def approve(chief_id: int, db: Session = DB, who: Principal | None = WHO):
    c = svc.decide_chief(db, require(who, "committee"), chief_id, True)
    db.commit()
    return {"id": c.id, "status": c.status}


@router.post("/river-chiefs/{chief_id}/reject", response_model=s.ApplicationOut,
             tags=["river chiefs"])
def reject(chief_id: int, db: Session = DB, who: Principal | None = WHO):
    c = svc.decide_chief(db, require(who, "committee"), chief_id, False)
    db.commit()
    return {"id": c.id, "status": c.status}


@router.get("/river-chiefs/{chief_id}/points", response_model=s.PointsOut,
            tags=["river chiefs"])
def points(chief_id: int, db: Session = DB, who: Principal | None = WHO):
    chief, balance, entries = svc.points_of(db, who, chief_id)
    return {"chief_id": chief.id, "pseudonym": chief.user.pseudonym, "balance": balance,
            "entries": [{"points": e.points, "reason": e.reason, "patrol_id": e.patrol_id,
                         "created_at": e.created_at} for e in entries]}


@router.get("/leaderboard", response_model=list[s.LeaderOut], tags=["river chiefs"])
def leaderboard(db: Session = DB):
    return svc.leaderboard(db)


# ----------------------------------------------------------------------------- patrols

_PATROL_BODY = {
    "requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/PatrolIn"}},
        "multipart/form-data": {"schema": {"type": "object", "required": ["patrol"],
                                           "properties": {
            "patrol": {"type": "string", "description": "PatrolIn as JSON"},
            "photos": {"type": "array", "items": {"type": "string", "format": "binary"},
                       "description": "JPEG/PNG, at most 5 MB each"}}}}}}}


@router.post("/patrols", response_model=s.PatrolOut, status_code=201, tags=["patrols"],
             openapi_extra=_PATROL_BODY)
async def submit_patrol(request: Request, response: Response, portal: Portal = PORTAL,
                        idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Submit a patrol (approved river chiefs). JSON, or multipart with a ``patrol`` JSON
    field and up to five ``photos``. Repeat with the same ``Idempotency-Key`` header to retry
    safely: the first patrol is returned, never a second one."""
    # The busiest endpoint: authentication and the database work run in one worker thread
    # (one session), instead of a thread hop per dependency.
    photos: list[tuple[str | None, bytes]] = []
    ctype = request.headers.get("content-type", "")
    if not request.headers.get("authorization"):
        raise PortalError(401, "not authenticated (请先登录)", {"WWW-Authenticate": "Bearer"})
    try:
        if ctype.startswith("multipart/form-data"):
            limits = portal.settings.limits
            form = await request.form(max_files=limits.max_photos + 1, max_fields=10,
                                      max_part_size=int(limits.max_photo_mb * 1024 * 1024) + 1)
            raw = form.get("patrol")
            if not isinstance(raw, str):
                raise PortalError(422, "multipart body needs a 'patrol' field holding JSON")
            data = s.PatrolIn.model_validate_json(raw)
            for f in form.getlist("photos"):
                if isinstance(f, str):
                    raise PortalError(422, "photos must be files")
                photos.append((f.filename, await f.read()))
        else:
            data = s.PatrolIn.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None

    def work():
        with portal.factory() as db:
            who = None
            for auth in request.app.state.authenticators:
                who = auth(request, db)
                if who is not None:
                    break
            patrol, created = svc.submit_patrol(portal, db, who, data, photos,
                                                idempotency_key)
            db.commit()
            return patrol, created

    patrol, created = await anyio.to_thread.run_sync(work, limiter=portal.db_limiter())
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return {"id": patrol.id, "status": patrol.status}


@router.get("/patrols", tags=["patrols"])
def list_patrols(status: str | None = None, db: Session = DB, who: Principal | None = WHO):
    require(who, "committee", "chief")
    q = select(Patrol).order_by(Patrol.id)
    if who.role == "chief":
        q = q.where(Patrol.chief_id == svc.chief_of(db, who).id)
    if status:
        q = q.where(Patrol.status == status)
    return [_patrol_json(p) for p in db.scalars(q)]


@router.get("/patrols/{patrol_id}", tags=["patrols"])
def get_patrol(patrol_id: int, db: Session = DB, who: Principal | None = WHO):
    require(who, "committee", "chief")
    p = db.get(Patrol, patrol_id)
    if p is None or (who.role == "chief" and p.chief.user_id != who.user_id):
        raise PortalError(404, f"no patrol {patrol_id}")
    return _patrol_json(p)


def _patrol_json(p: Patrol) -> dict:
    return {"id": p.id, "chief_id": p.chief_id, "status": p.status,
            "started_at": p.started_at, "ended_at": p.ended_at,
            "track": json.loads(p.track), "km_in_basin": round(p.km_total, 3),
            "km_in_party": round(p.km_in_party, 3), "review_note": p.review_note,
            "findings": [{"index": f.idx, "kind": f.kind, "description": f.description,
                          "lon": f.lon, "lat": f.lat, "confirmed": f.confirmed}
                         for f in p.findings],
            "photos": [{"name": ph.original_name, "sha256": ph.sha256,
                        "content_type": ph.content_type} for ph in p.photos]}


@router.post("/patrols/{patrol_id}/review", response_model=s.ReviewOut, tags=["patrols"])
def review(patrol_id: int, body: s.ReviewIn, tasks: BackgroundTasks, portal: Portal = PORTAL,
           db: Session = DB, who: Principal | None = WHO):
    patrol, entry = svc.review_patrol(portal, db, require(who, "committee"), patrol_id, body)
    db.commit()
    tasks.add_task(portal.flush_ledger)
    return {"id": patrol.id, "status": patrol.status,
            "points_awarded": entry.points if entry else 0,
            "points_reason": entry.reason if entry else "rejected: no points"}


# ----------------------------------------------------------------------------- reports

@router.post("/reports", response_model=s.ReportCreated, status_code=201, tags=["reports"])
def create_report(body: s.ReportIn, request: Request, portal: Portal = PORTAL,
                  db: Session = DB):
    """Report a problem (anonymous allowed). Keep the tracking code to follow it."""
    portal.rate_limit("report", client_address(request),
                      portal.settings.rate_limits.reports_per_minute)
    rep = svc.create_report(portal, db, body)
    db.commit()
    return {"tracking_code": rep.tracking_code}


@router.get("/reports/{code}", response_model=s.ReportPublic, tags=["reports"])
def get_report(code: str, request: Request, portal: Portal = PORTAL, db: Session = DB):
    """Status and the committee's public reply; never the reporter's contact."""
    portal.rate_limit("lookup", client_address(request),
                      portal.settings.rate_limits.lookups_per_minute)
    return _public(svc.report_by_code(db, code))


def _public(r: Report) -> dict:
    return {"tracking_code": r.tracking_code, "category": r.category, "status": r.status,
            "public_reply": r.public_reply, "outcome": r.outcome, "received_at": r.created_at,
            "resolved_at": r.resolved_at}


@router.get("/reports", tags=["reports"])
def list_reports(status: str | None = None, db: Session = DB, who: Principal | None = WHO):
    require(who, "committee")
    q = select(Report).order_by(Report.id)
    if status:
        q = q.where(Report.status == status)
    return [{"tracking_code": r.tracking_code, "category": r.category,
             "description": r.description, "lon": r.lon, "lat": r.lat,
             "party_id": r.party_id, "contact": r.contact, "status": r.status,
             "outcome": r.outcome, "public_reply": r.public_reply,
             "received_at": r.created_at, "resolved_at": r.resolved_at}
            for r in db.scalars(q)]


@router.post("/reports/{code}/assign", response_model=s.ReportPublic, tags=["reports"])
def assign_report(code: str, body: s.AssignIn, db: Session = DB,
                  who: Principal | None = WHO):
    r = svc.assign_report(db, require(who, "committee"), code, body.assignee)
    db.commit()
    return _public(r)


@router.post("/reports/{code}/reply", response_model=s.ReportPublic, tags=["reports"])
def reply_report(code: str, body: s.ReplyIn, db: Session = DB, who: Principal | None = WHO):
    r = svc.reply_report(db, require(who, "committee"), code, body.reply)
    db.commit()
    return _public(r)


@router.post("/reports/{code}/resolve", response_model=s.ReportPublic, tags=["reports"])
def resolve_report(code: str, body: s.ResolveIn, tasks: BackgroundTasks,
                   portal: Portal = PORTAL, db: Session = DB, who: Principal | None = WHO):
    r = svc.resolve_report(portal, db, require(who, "committee"), code, body.outcome,
                           body.reply)
    db.commit()
    tasks.add_task(portal.flush_ledger)
    return _public(r)


# ----------------------------------------------------------------------------- fund use

@router.get("/projects", response_model=list[s.PartyYearOut], tags=["fund use"])
def projects(party_id: str | None = None, year: int | None = Query(None, ge=1980, le=2100),
             portal: Portal = PORTAL, db: Session = DB):
    """Fund use per party and year: received (sunshine ledger) vs spent, and the projects."""
    return svc.fund_use(portal, db, party_id, year)


@router.post("/projects", response_model=s.ProjectOut, status_code=201, tags=["fund use"])
def create_project(body: s.ProjectIn, tasks: BackgroundTasks, portal: Portal = PORTAL,
                   db: Session = DB, who: Principal | None = WHO):
    p = svc.create_project(portal, db, who, body)
    db.commit()
    tasks.add_task(portal.flush_ledger)
    return svc.project_dict(p)


@router.get("/projects/{project_id}", response_model=s.ProjectOut, tags=["fund use"])
def get_project(project_id: int, db: Session = DB):
    p = db.get(Project, project_id)
    if p is None:
        raise PortalError(404, f"no project {project_id}")
    return svc.project_dict(p)


@router.post("/projects/{project_id}/evidence", response_model=s.ProjectOut, status_code=201,
             tags=["fund use"])
async def add_evidence(project_id: int, request: Request, tasks: BackgroundTasks,
                       portal: Portal = PORTAL, db: Session = DB,
                       who: Principal | None = WHO):
    """Attach evidence files (multipart field ``files``: JPEG, PNG or PDF, 5 MB each)."""
    require(who, "officer")
    form = await request.form(max_files=10, max_fields=5,
                              max_part_size=int(portal.settings.limits.max_photo_mb
                                                * 1024 * 1024) + 1)
    files = []
    for f in form.getlist("files"):
        if isinstance(f, str):
            raise PortalError(422, "files must be files")
        files.append((f.filename, await f.read()))

    def work():
        p = svc.add_evidence(portal, db, who, project_id, files)
        db.commit()
        return svc.project_dict(p)

    out = await run_in_threadpool(work)
    tasks.add_task(portal.flush_ledger)
    return out


# ----------------------------------------------------------------------------- audit, ledger

@router.get("/audit", tags=["committee"])
def audit_log(limit: int = Query(200, ge=1, le=5000), db: Session = DB,
              who: Principal | None = WHO):
    require(who, "committee")
    rows = db.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit))
    return [{"id": a.id, "at": a.at, "actor_id": a.actor_id, "action": a.action,
             "target": a.target, "detail": json.loads(a.detail)} for a in rows]


@router.get("/ledger-events", tags=["ledger"])
def ledger_events(db: Session = DB):
    """Portal events published to the sunshine ledger (pseudonymous), with their documents."""
    rows = db.scalars(select(LedgerOutbox).order_by(LedgerOutbox.id))
    return [{"event": r.event, "ref": r.ref, "document": "/" + document_name(r.event, r.ref)
             .replace("portal/", "ledger/", 1), "covers": r.covers,
             "ledger_index": r.ledger_index, "appended": r.appended_at is not None}
            for r in rows]
