"""HTTP layer of the operations context: the station upload API and the dashboard page.

Mount it in any FastAPI app (the portal's ``gep serve`` does)::

    from gep.operations.api import make_router
    from gep.operations.service import load_context
    app.include_router(make_router(load_context(config_path, db_url=url)))

``create_app`` builds a minimal app with this router only (``gep operations serve``, tests).
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from starlette.requests import Request  # noqa: TC002 - FastAPI reads the annotation

from gep.operations import db
from gep.operations.service import BATCH_ID, Context, last_uploads, upload

TEMPLATES = Path(__file__).with_name("templates")
UPLOAD_SCHEMA = {
    "type": "object", "required": ["batch_id", "readings"], "properties": {
        "batch_id": {"type": "string", "pattern": BATCH_ID.pattern},
        "readings": {"type": "array", "items": {
            "type": "object", "required": ["timestamp", "indicator", "value", "unit"],
            "properties": {
                "timestamp": {"type": "string", "format": "date-time",
                              "description": "ISO 8601 with its UTC offset"},
                "indicator": {"type": "string"}, "unit": {"type": "string"},
                "value": {"type": ["number", "null"], "description": "null: an empty "
                          "reading"}}}}}}


def make_router(ctx: Context):
    from fastapi import APIRouter
    from fastapi.responses import HTMLResponse, JSONResponse

    router = APIRouter()

    @router.post("/api/v1/stations/{station_id}/readings", tags=["operations"],
                 summary="Upload a batch of readings of one station",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": UPLOAD_SCHEMA}}}})
    async def upload_readings(station_id: str, request: Request):
        # async, and the body read as plain JSON: the request costs the event loop little
        # and waits for its group commit without holding a thread
        authorization = request.headers.get("authorization") or ""
        key = None
        if authorization.startswith("Bearer "):
            key = authorization.removeprefix("Bearer ").strip()
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        batch_id = readings = None
        if isinstance(body, dict):
            batch_id, readings = body.get("batch_id"), body.get("readings")
        if not isinstance(readings, list) or not all(isinstance(r, dict) for r in readings):
            readings = None
        res = await upload(ctx, station_id, key, batch_id, readings)
        if res.status in (401, 403):
            return JSONResponse(res.body, status_code=res.status,
                                headers={"WWW-Authenticate": "Bearer"})
        return JSONResponse(res.body, status_code=res.status)

    @router.get("/operations", response_class=HTMLResponse, tags=["operations"],
                summary="Daily operations dashboard (zh/en)")
    def dashboard():
        return HTMLResponse(render_dashboard(ctx))

    return router


def create_app(ctx: Context):
    """A standalone app serving only this context (until the portal mounts the router)."""
    from fastapi import FastAPI

    app = FastAPI(title=f"gep operations — {ctx.cfg.basin}")
    app.include_router(make_router(ctx))
    return app


ENV = ("GEP_OPERATIONS_CONFIG", "GEP_OPERATIONS_DB", "GEP_OPERATIONS_SETTINGS")


def app_from_env():
    """App factory for ``uvicorn --factory`` with several worker processes: the basin config,
    database URL and operations settings come from the environment (``ENV``)."""
    import os

    from gep.operations.service import load_context

    cfg, url, ops = (os.environ.get(k) or None for k in ENV)
    return create_app(load_context(cfg or "config/config.yaml", db_url=url,
                                   operations_path=ops))


def dashboard_data(ctx: Context, now: dt.datetime | None = None) -> dict:
    from gep.operations.daily import late_batches

    now = now or dt.datetime.now(dt.UTC)
    with ctx.Session() as s:
        run = s.execute(select(db.DailyRun).where(db.DailyRun.status == "done")
                        .order_by(db.DailyRun.date.desc()).limit(1)).scalar()
        index_rows, parties, alerts = [], [], []
        if run is not None:
            d = run.date
            index_rows = list(s.execute(select(db.DayIndex).where(db.DayIndex.date == d)
                                        .order_by(db.DayIndex.section)).scalars())
            escrow: dict[str, Decimal] = {}
            for party, w in s.execute(select(db.Disbursement.party_id,
                                             db.Disbursement.withheld_cny).where(
                    db.Disbursement.date >= dt.date(d.year, 1, 1),
                    db.Disbursement.date <= d)).all():
                escrow[party] = escrow.get(party, Decimal("0.00")) + Decimal(w)
            for r in s.execute(select(db.Disbursement).where(db.Disbursement.date == d)
                               .order_by(db.Disbursement.party_id)).scalars():
                parties.append({"party_id": r.party_id, "scheduled": r.scheduled_cny,
                                "paid": r.paid_cny, "withheld": r.withheld_cny,
                                "escrow": f"{escrow.get(r.party_id, Decimal('0.00')):.2f}",
                                "reason": r.reason, "anomaly": r.anomaly})
            since = d - dt.timedelta(days=6)
            status = {}
            for aid, st, n in s.execute(select(db.Delivery.alert_id, db.Delivery.status,
                                               func.count()).group_by(db.Delivery.alert_id,
                                                                      db.Delivery.status)):
                status.setdefault(aid, []).append(f"{st} {n}")
            for a in s.execute(select(db.Alert).where(db.Alert.date >= since)
                               .order_by(db.Alert.date.desc(), db.Alert.id)).scalars():
                alerts.append({"date": a.date, "party_id": a.party_id, "cause": a.cause,
                               "station": a.station, "message": a.message,
                               "delivery": ", ".join(status.get(a.id, [])) or "—"})
        runs = list(s.execute(select(db.DailyRun).where(db.DailyRun.status == "done")
                              .order_by(db.DailyRun.date.desc()).limit(7)).scalars())
    last = last_uploads(ctx)
    stale_after = dt.timedelta(hours=ctx.ops.stale_after_hours)
    stations = [{"station": st, "last": last[st].strftime("%Y-%m-%d %H:%M") if st in last
                 else None, "stale": st not in last or now - last[st] > stale_after}
                for st in ctx.stations["station"]]
    late = []
    for r in runs:
        for b in late_batches(ctx, r.date, r.finished_at):
            late.append({"date": r.date, "station": b.station, "batch_id": b.batch_id,
                         "n": b.n_readings, "received": f"{b.received_at:%Y-%m-%d %H:%M}"})
    return {"basin": ctx.cfg.basin, "run": run, "index_rows": index_rows, "parties": parties,
            "alerts": alerts, "stations": stations, "late": late}


def render_dashboard(ctx: Context, now: dt.datetime | None = None) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(["html"], default=True))
    return env.get_template("dashboard.html").render(**dashboard_data(ctx, now))
