"""Server-rendered bilingual pages (zh/en, phone-first). Logged-in pages use the session
cookie; every form POST carries a CSRF token that must equal the ``gep_csrf`` cookie
(double-submit), and the cookies are SameSite=Lax + HttpOnly."""
from __future__ import annotations

import csv
import json
import uuid
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gep.paths import Paths
from gep.portal import schemas as s
from gep.portal import services as svc
from gep.portal.app import client_address, get_db, get_portal, page_principal
from gep.portal.ledger_hook import document_name
from gep.portal.models import AuditLog, Chief, LedgerOutbox, Patrol, Project, Report
from gep.portal.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    Principal,
    csrf_ok,
    new_csrf,
)
from gep.portal.services import Portal, PortalError, require

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def _t(zh: str, en: str) -> Markup:
    """Both languages; the page shows one (the switch in the header, default Chinese)."""
    return Markup('<span lang="zh">%s</span><span lang="en">%s</span>') % (zh, en)


templates.env.globals["t"] = _t
DB = Depends(get_db)
WHO = Depends(page_principal)
PORTAL = Depends(get_portal)


def render(request: Request, name: str, who: Principal | None = None, status: int = 200,
           **ctx) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or new_csrf()
    portal: Portal = request.app.state.portal
    resp = templates.TemplateResponse(request, name, {
        "who": who, "csrf": token, "csrf_field": CSRF_FIELD, "portal": portal,
        "party_names": portal.geometry.names, **ctx}, status_code=status)
    if request.cookies.get(CSRF_COOKIE) != token:
        resp.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="lax",
                        secure=portal.settings.security.cookie_secure)
    return resp


def error_page(request: Request, exc: PortalError) -> Response:
    resp = render(request, "error.html", None, exc.status, message=exc.message)
    for k, v in exc.headers.items():
        resp.headers[k] = v
    return resp


def check_csrf(request: Request, token: str | None) -> None:
    if not csrf_ok(request.cookies.get(CSRF_COOKIE), token):
        raise PortalError(403, "the form expired or came from another site (CSRF check "
                          "failed); reload the page and try again")


def _validated(model, data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise PortalError(422, f"{where}: {err['msg']}") from None


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ----------------------------------------------------------------------------- public

@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: Session = DB, who: Principal | None = WHO):
    counts = {
        "chiefs": db.scalar(select(func.count()).select_from(Chief)
                            .where(Chief.status == "approved")),
        "patrols": db.scalar(select(func.count()).select_from(Patrol)
                             .where(Patrol.status == "accepted")),
        "reports": db.scalar(select(func.count()).select_from(Report)),
        "resolved": db.scalar(select(func.count()).select_from(Report)
                              .where(Report.status == "resolved")),
    }
    return render(request, "home.html", who, counts=counts)


@router.get("/leaderboard", response_class=HTMLResponse)
def leaderboard(request: Request, db: Session = DB, who: Principal | None = WHO):
    return render(request, "leaderboard.html", who, rows=svc.leaderboard(db))


@router.get("/map", response_class=HTMLResponse)
def basin_map(request: Request, portal: Portal = PORTAL, db: Session = DB,
              who: Principal | None = WHO):
    patrols = db.scalars(select(Patrol).where(Patrol.status == "accepted")
                         .order_by(Patrol.id.desc()).limit(500)).all()
    svg = portal.geometry.svg([json.loads(p.track)["coordinates"] for p in patrols])
    return render(request, "map.html", who, svg=svg, patrols=patrols)


@router.get("/patrols/{patrol_id}", response_class=HTMLResponse)
def public_patrol(patrol_id: int, request: Request, portal: Portal = PORTAL,
                  db: Session = DB, who: Principal | None = WHO):
    p = db.get(Patrol, patrol_id)
    if p is None or p.status != "accepted":
        raise PortalError(404, "no accepted patrol with this number (无此巡河记录)")
    confirmed = [f for f in p.findings if f.confirmed]
    svg = portal.geometry.svg([json.loads(p.track)["coordinates"]],
                              [(f.lon, f.lat) for f in confirmed], highlight=p.chief.party_id)
    points = sum(e.points for e in db.scalars(
        select(svc.PointsEntry).where(svc.PointsEntry.patrol_id == p.id)))
    return render(request, "patrol.html", who, p=p, svg=svg, confirmed=confirmed,
                  points=points, day=svc.local_day(p.started_at, portal.settings.tz))


@router.get("/apply", response_class=HTMLResponse)
def apply_form(request: Request, portal: Portal = PORTAL, who: Principal | None = WHO):
    return render(request, "apply.html", who, parties=sorted(portal.geometry.parties))


@router.post("/apply", response_class=HTMLResponse)
def apply_post(request: Request, portal: Portal = PORTAL, db: Session = DB,
               name: str = Form(""), phone: str = Form(""), party_id: str = Form(""),
               username: str = Form(""), password: str = Form(""),
               csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    portal.rate_limit("apply", client_address(request),
                      portal.settings.rate_limits.applications_per_minute)
    data = _validated(s.ApplicationIn, dict(name=name, phone=phone, party_id=party_id,
                                            username=username, password=password))
    chief = svc.apply_chief(portal, db, data)
    db.commit()
    return render(request, "applied.html", None, chief=chief)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, who: Principal | None = WHO):
    return render(request, "login.html", who)


@router.post("/login")
def login_post(request: Request, portal: Portal = PORTAL, db: Session = DB,
               username: str = Form(""), password: str = Form(""), csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    portal.rate_limit("login", client_address(request),
                      portal.settings.rate_limits.logins_per_minute)
    user, token = svc.login(portal, db, username[:64], password[:256])
    resp = redirect("/committee" if user.role == "committee" else "/me")
    resp.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                    secure=portal.settings.security.cookie_secure,
                    max_age=portal.tokens.minutes * 60)
    resp.set_cookie(CSRF_COOKIE, new_csrf(), httponly=True, samesite="lax",
                    secure=portal.settings.security.cookie_secure)
    return resp


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    resp = redirect("/")
    resp.delete_cookie(SESSION_COOKIE)
    return resp


# ----------------------------------------------------------------------------- reports

@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, who: Principal | None = WHO):
    return render(request, "report_new.html", who, categories=s.REPORT_CATEGORIES)


@router.post("/report", response_class=HTMLResponse)
def report_post(request: Request, portal: Portal = PORTAL, db: Session = DB,
                category: str = Form(""), description: str = Form(""), lon: str = Form(""),
                lat: str = Form(""), contact: str = Form(""), csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    portal.rate_limit("report", client_address(request),
                      portal.settings.rate_limits.reports_per_minute)
    data = _validated(s.ReportIn, dict(category=category, description=description, lon=lon,
                                       lat=lat, contact=contact or None))
    rep = svc.create_report(portal, db, data)
    db.commit()
    return render(request, "report_created.html", None, code=rep.tracking_code)


@router.get("/reports/{code}", response_class=HTMLResponse)
def report_status(code: str, request: Request, portal: Portal = PORTAL, db: Session = DB,
                  who: Principal | None = WHO):
    portal.rate_limit("lookup", client_address(request),
                      portal.settings.rate_limits.lookups_per_minute)
    return render(request, "report_status.html", who, r=svc.report_by_code(db, code[:32]))


@router.get("/track", response_class=HTMLResponse)
def track(request: Request, code: str = "", db: Session = DB):
    if code.strip():
        return redirect(f"/reports/{code.strip()[:32]}")
    return redirect("/report")


# ----------------------------------------------------------------------------- fund use

@router.get("/projects", response_class=HTMLResponse)
def projects(request: Request, portal: Portal = PORTAL, db: Session = DB,
             who: Principal | None = WHO):
    return render(request, "projects.html", who, groups=svc.fund_use(portal, db))


@router.get("/projects/new", response_class=HTMLResponse)
def project_form(request: Request, who: Principal | None = WHO):
    require(who, "officer")
    return render(request, "project_new.html", who, categories=s.PROJECT_CATEGORIES,
                  year=datetime.now().year)


@router.post("/projects/new")
def project_post(request: Request, portal: Portal = PORTAL, db: Session = DB,
                 who: Principal | None = WHO, year: str = Form(""), name: str = Form(""),
                 category: str = Form(""), amount_cny: str = Form(""),
                 started_on: str = Form(""), ended_on: str = Form(""),
                 progress: str = Form("0"), description: str = Form(""),
                 csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    require(who, "officer")
    data = _validated(s.ProjectIn, dict(year=year, name=name, category=category,
                                        amount_cny=amount_cny, started_on=started_on,
                                        ended_on=ended_on or None, progress=progress,
                                        description=description))
    p = svc.create_project(portal, db, who, data)
    db.commit()
    portal.flush_ledger()
    return redirect(f"/projects/{p.id}")


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(project_id: int, request: Request, portal: Portal = PORTAL,
                 db: Session = DB, who: Principal | None = WHO):
    p = db.get(Project, project_id)
    if p is None:
        raise PortalError(404, "no such project (无此项目)")
    group = svc.fund_use(portal, db, p.party_id, p.year)[0]
    events = db.scalars(select(LedgerOutbox).where(LedgerOutbox.event == "fund_use",
                                                   LedgerOutbox.ref.like(f"P{p.id}%"))
                        .order_by(LedgerOutbox.id)).all()
    return render(request, "project.html", who, p=p, group=group,
                  performance=_performance(portal, p.party_id, p.year), events=events,
                  docname=lambda r: "/" + document_name(r.event, r.ref).replace(
                      "portal/", "ledger/", 1))


def _performance(portal: Portal, party_id: str, year: int) -> list[dict]:
    """The party's rows of the monitoring stage's responsibility list for the project's year,
    when present."""
    f = portal.performance_csv
    if f is None or not f.is_file():
        return []
    with open(f, newline="", encoding="utf-8-sig") as fh:
        return [r for r in csv.DictReader(fh)
                if r.get("party_id") == party_id and r.get("year") == str(year)]


@router.post("/projects/{project_id}/evidence")
def evidence_post(project_id: int, request: Request, portal: Portal = PORTAL,
                  db: Session = DB, who: Principal | None = WHO,
                  files: list[UploadFile] = File(default=[]), csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    require(who, "officer")
    svc.add_evidence(portal, db, who, project_id,
                     [(f.filename, f.file.read()) for f in files if f.filename])
    db.commit()
    portal.flush_ledger()
    return redirect(f"/projects/{project_id}")


@router.get("/evidence/{name}")
def evidence_file(name: str, portal: Portal = PORTAL, db: Session = DB):
    ev = db.scalar(select(svc.Evidence).where(svc.Evidence.stored_name == name))
    if ev is None:
        raise PortalError(404, "no such file")
    return Response((Paths.UploadFiles(portal.uploads).evidence / ev.stored_name).read_bytes(),
                    media_type=ev.content_type,
                    headers={"Content-Disposition": "attachment"})


@router.get("/committee-report")
def committee_report_file(portal: Portal = PORTAL):
    """The committee's published report (results/<basin>/report/index.html), when built."""
    f = portal.report_file
    if f is None or not f.is_file():
        raise PortalError(404, "the committee report has not been built yet (gep report)")
    return Response(f.read_bytes(), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": "default-src 'none'; img-src data:; "
                             "style-src 'unsafe-inline'; script-src 'unsafe-inline'"})


@router.get("/ledger/{event}/{ref}.json")
def ledger_document(event: str, ref: str, db: Session = DB):
    row = db.scalar(select(LedgerOutbox).where(LedgerOutbox.event == event,
                                               LedgerOutbox.ref == ref))
    if row is None:
        raise PortalError(404, "no such ledger document")
    return Response(row.payload.encode("utf-8"), media_type="application/json")


# ----------------------------------------------------------------------------- river chief

@router.get("/me", response_class=HTMLResponse)
def me(request: Request, db: Session = DB, who: Principal | None = WHO):
    if who is None:
        return redirect("/login")
    if who.role == "committee":
        return redirect("/committee")
    ctx: dict = {}
    if who.role == "chief":
        chief = svc.chief_of(db, who)
        _, balance, entries = svc.points_of(db, who, chief.id)
        ctx = dict(chief=chief, balance=balance, entries=entries,
                   patrols=db.scalars(select(Patrol).where(Patrol.chief_id == chief.id)
                                      .order_by(Patrol.id.desc())).all())
    return render(request, "me.html", who, **ctx)


@router.get("/patrols-new", response_class=HTMLResponse)
def patrol_form(request: Request, db: Session = DB, who: Principal | None = WHO):
    require(who, "chief")
    return render(request, "patrol_new.html", who, kinds=s.FINDING_KINDS,
                  key=uuid.uuid4().hex)


def _parse_track(text: str) -> dict:
    text = text.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise PortalError(422, "track: not valid GeoJSON") from None
    coords = []
    for line in text.replace(";", "\n").splitlines():
        if line.strip():
            try:
                lon, lat = (float(v) for v in line.replace(" ", "").split(","))
            except ValueError:
                raise PortalError(422, f"track: '{line[:40]}' is not 'lon,lat'") from None
            coords.append([lon, lat])
    return {"type": "LineString", "coordinates": coords}


@router.post("/patrols-new")
def patrol_post(request: Request, portal: Portal = PORTAL, db: Session = DB,
                who: Principal | None = WHO, started_at: str = Form(""),
                ended_at: str = Form(""), track: str = Form(""),
                kind: list[str] = Form(default=[]), description: list[str] = Form(default=[]),
                flon: list[str] = Form(default=[]), flat: list[str] = Form(default=[]),
                photos: list[UploadFile] = File(default=[]), idempotency_key: str = Form(""),
                csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    require(who, "chief")
    findings = [dict(kind=k, description=d, lon=x, lat=y)
                for k, d, x, y in zip(kind, description, flon, flat) if d.strip()]
    data = _validated(s.PatrolIn, dict(started_at=started_at, ended_at=ended_at,
                                       track=_parse_track(track), findings=findings))
    files = [(f.filename, f.file.read()) for f in photos if f.filename]
    patrol, _ = svc.submit_patrol(portal, db, who, data, files, idempotency_key or None)
    db.commit()
    return redirect("/me")


# ----------------------------------------------------------------------------- committee

@router.get("/committee", response_class=HTMLResponse)
def committee(request: Request, db: Session = DB, who: Principal | None = WHO):
    if who is None:
        return redirect("/login")
    require(who, "committee")
    return render(request, "committee.html", who,
                  pending=db.scalars(select(Chief).where(Chief.status == "pending")
                                     .order_by(Chief.id)).all(),
                  patrols=db.scalars(select(Patrol).where(Patrol.status == "submitted")
                                     .order_by(Patrol.id)).all(),
                  reports=db.scalars(select(Report).where(Report.status != "resolved")
                                     .order_by(Report.id)).all(),
                  audit=db.scalars(select(AuditLog).order_by(AuditLog.id.desc())
                                   .limit(30)).all())


@router.post("/committee/chiefs/{chief_id}/{decision}")
def committee_decide(chief_id: int, decision: str, request: Request, db: Session = DB,
                     who: Principal | None = WHO, csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    if decision not in ("approve", "reject"):
        raise PortalError(404, "unknown decision")
    svc.decide_chief(db, require(who, "committee"), chief_id, decision == "approve")
    db.commit()
    return redirect("/committee")


@router.get("/committee/patrols/{patrol_id}", response_class=HTMLResponse)
def committee_patrol(patrol_id: int, request: Request, portal: Portal = PORTAL,
                     db: Session = DB, who: Principal | None = WHO):
    require(who, "committee")
    p = db.get(Patrol, patrol_id)
    if p is None:
        raise PortalError(404, f"no patrol {patrol_id}")
    svg = portal.geometry.svg([json.loads(p.track)["coordinates"]],
                              [(f.lon, f.lat) for f in p.findings], highlight=p.chief.party_id)
    return render(request, "review.html", who, p=p, svg=svg)


@router.post("/committee/patrols/{patrol_id}")
def committee_review(patrol_id: int, request: Request, portal: Portal = PORTAL,
                     db: Session = DB, who: Principal | None = WHO,
                     decision: str = Form(""), confirmed: list[int] = Form(default=[]),
                     note: str = Form(""), csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    data = _validated(s.ReviewIn, dict(decision=decision, confirmed_findings=confirmed,
                                       note=note))
    svc.review_patrol(portal, db, require(who, "committee"), patrol_id, data)
    db.commit()
    portal.flush_ledger()
    return redirect("/committee")


@router.get("/committee/photos/{name}")
def committee_photo(name: str, portal: Portal = PORTAL, db: Session = DB,
                    who: Principal | None = WHO):
    require(who, "committee")
    ph = db.scalar(select(svc.Photo).where(svc.Photo.stored_name == name))
    if ph is None:
        raise PortalError(404, "no such photo")
    return Response((Paths.UploadFiles(portal.uploads).photos / ph.stored_name).read_bytes(),
                    media_type=ph.content_type)


@router.get("/committee/reports/{code}", response_class=HTMLResponse)
def committee_report(code: str, request: Request, db: Session = DB,
                     who: Principal | None = WHO):
    require(who, "committee")
    return render(request, "triage.html", who, r=svc.report_by_code(db, code[:32]))


@router.post("/committee/reports/{code}")
def committee_triage(code: str, request: Request, portal: Portal = PORTAL, db: Session = DB,
                     who: Principal | None = WHO, action: str = Form(""),
                     outcome: str = Form(""), reply: str = Form(""),
                     csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    who = require(who, "committee")
    if action == "assign":
        svc.assign_report(db, who, code, None)
    elif action == "reply":
        svc.reply_report(db, who, code, _validated(s.ReplyIn, {"reply": reply}).reply)
    elif action == "resolve":
        body = _validated(s.ResolveIn, {"outcome": outcome, "reply": reply})
        svc.resolve_report(portal, db, who, code, body.outcome, body.reply)
    else:
        raise PortalError(422, "unknown action")
    db.commit()
    portal.flush_ledger()
    return redirect(f"/committee/reports/{code}")
