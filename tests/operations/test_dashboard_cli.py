"""The dashboard page (index, paused parties and escrow, open alerts, stale stations, escaped
output) and the key commands (the key printed once, only its hash kept, revocation)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from gep.operations import db
from gep.operations.daily import run_daily
from gep.operations.service import add_key

from .conftest import UPSTREAM, YEAR
from .replay import FAR_FUTURE


def _cells(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[1:]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r,
                                                                    re.S)] for r in rows]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dashboard_shows_the_day_and_escapes(ctx, client):
    key = add_key(ctx, "boundary")
    ts = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    r = client.post("/api/v1/stations/boundary/readings", headers={
        "Authorization": f"Bearer {key}"}, json={"batch_id": "now", "readings": [
            {"timestamp": ts.isoformat(), "indicator": "flow", "value": 50.0,
             "unit": "m3/s"}]})
    assert r.status_code == 201
    for d in (dt.date(YEAR, 5, 1), dt.date(YEAR, 5, 2)):   # two days without data
        run_daily(ctx, d, now=FAR_FUTURE, deliver=False)
    with ctx.Session.begin() as s:   # a hostile message must come out escaped
        s.execute(update(db.Alert).where(db.Alert.party_id == "linxi").values(
            message="<script>alert(1)</script>"))
    html = client.get("/operations").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "当日各断面生态绩效指数" in html and "Index per section" in html
    paused = {r[0]: r for r in _cells(html, "paused")}
    assert set(paused) == set(UPSTREAM)
    with ctx.Session() as s:
        rows = s.execute(select(db.Disbursement)).scalars().all()
    for party in UPSTREAM:
        mine = [r for r in rows if r.party_id == party]
        assert paused[party][4] == str(sum(Decimal(r.withheld_cny) for r in mine))
        assert paused[party][2] == "0.00"
    stations = {r[0]: r[2] for r in _cells(html, "stations")}
    assert "ok" in stations["boundary"]
    assert all("stale" in v for k, v in stations.items() if k != "boundary")
    alerts = _cells(html, "alerts")
    assert len(alerts) == 2 * len(UPSTREAM)


def test_add_and_revoke_key_commands(basin, tmp_path, capsys):
    from gep.cli import main
    from gep.operations.service import load_context

    url = f"sqlite:///{tmp_path / 'k.db'}"
    assert main(["station", "add-key", "--config", str(basin), "--db", url,
                 "--station", "boundary"]) == 0
    key = capsys.readouterr().out.splitlines()[0]
    assert key.startswith("gep_") and len(key) > 40
    ctx = load_context(basin, db_url=url)
    with ctx.Session() as s:
        k = s.execute(select(db.StationKey)).scalar_one()
    assert k.key_hash == hashlib.sha256(key.encode()).hexdigest() and k.revoked_at is None
    ctx.close()
    assert key.encode() not in (tmp_path / "k.db").read_bytes()
    assert main(["station", "revoke-key", "--config", str(basin), "--db", url,
                 "--station", "boundary"]) == 0
    assert main(["station", "revoke-key", "--config", str(basin), "--db", url,
                 "--station", "boundary"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no active key" in err[0] and "Fix:" in err[0]
    assert main(["station", "add-key", "--config", str(basin), "--db", url,
                 "--station", "atlantis"]) == 2
    assert "not in the stations table" in capsys.readouterr().err


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_scheduler_runs_yesterday_once_past_run_at(ctx):
    import threading
    import time

    from gep.operations.cli import start_scheduler, yesterday

    from .conftest import write_transfers

    ctx.ops.run_at = "00:00"   # any time of day is past it
    d = yesterday(ctx.monitoring.timezone)
    # yesterday pays last year's settlement: the basin must have one (a year without a
    # settlement is an error, not a silent zero)
    write_transfers(ctx.paths.compensation / "transfers.csv", year=d.year - 1)
    stop = threading.Event()
    t = start_scheduler(ctx, stop, poll_seconds=0.2)
    deadline = time.monotonic() + 120
    run = None
    while time.monotonic() < deadline and run is None:
        with ctx.Session() as s:
            run = s.get(db.DailyRun, d)
        time.sleep(0.2)
    time.sleep(1.0)   # further polls must not run it again
    stop.set()
    t.join(timeout=60)
    assert run is not None and run.status == "done"
    rows = [r for r in (ctx.paths.dispatch(d.year) / "daily_runs.csv").read_text().splitlines()
            if r.startswith(d.isoformat())]
    assert len(rows) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_gep_serve_mounts_uploads_and_dashboard_beside_the_portal(basin, ctx):
    """`gep serve` is one service: the portal's app with the operations context mounted
    accepts a station's batch with the station's key (not a portal account) and shows the
    dashboard, while the portal's own API still answers."""
    from fastapi.testclient import TestClient

    from gep.config import load_config
    from gep.operations.service import add_key
    from gep.portal.app import create_app
    from gep.portal.factory import build_portal, operations_context

    from gep import acquire

    cfg = load_config(basin)
    acquire.acquire_parties(cfg)  # the portal draws the basin from inputs/parties.gpkg
    assert operations_context(basin, cfg.model_copy(update={"monitoring": cfg.monitoring
                              .model_copy(update={"enabled": False})})) is None
    portal = build_portal(cfg, f"sqlite:///{basin.parent / 'portal.db'}")
    key = add_key(ctx, "boundary")
    body = {"batch_id": "b-portal", "readings": [
        {"timestamp": "2023-03-01T00:00:00+08:00", "indicator": "do", "value": 7.5,
         "unit": "mg/L"}]}
    with TestClient(create_app(portal, operations=ctx)) as c:
        r = c.post("/api/v1/stations/boundary/readings", json=body,
                   headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201, r.text
        assert c.post("/api/v1/stations/boundary/readings", json=body,
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
        page = c.get("/operations")
        assert page.status_code == 200 and "boundary" in page.text
        assert c.get("/api/v1/projects").status_code == 200
        assert "/api/v1/stations/{station_id}/readings" in c.get("/openapi.json").json()["paths"]
    portal.engine.dispose()
