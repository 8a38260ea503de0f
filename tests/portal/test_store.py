"""Migrations, the ledger hook and the points rule as a pure function."""
from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from .helpers import WEST, line_lonlat, patrol_body


def test_migrations_build_exactly_the_models(db_url):
    """Alembic's autogenerate finds nothing to change after ``upgrade head``, on both DBs."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from gep.portal import db as dbm
    from gep.portal.models import Base

    engine = dbm.make_engine(db_url)
    dbm.upgrade(engine)
    dbm.upgrade(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []
    assert dbm.current_revision(engine) == "0002"
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_events_reach_the_ledger_pseudonymously(make_api, tmp_path):
    from gep.ledger import api as lapi
    from gep.ledger.store import Ledger

    api = make_api()
    ledger_db = api.portal.ledger_db
    with Ledger(ledger_db) as lg:
        before = lg.size
    boss = api.admin()
    _, chief = api.chief("tom", boss)
    pid = api.c.post("/api/v1/patrols", headers=chief, json=patrol_body(findings=1)).json()["id"]
    api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
               json={"decision": "accept", "confirmed_findings": [0]})
    officer = api.officer(WEST, boss)
    api.c.post("/api/v1/projects", headers=officer, json={
        "year": 2023, "name": "Wetland", "category": "wetland", "amount_cny": "12.34",
        "started_on": "2023-02-01"})
    events = api.c.get("/api/v1/ledger-events").json()
    assert {e["event"] for e in events} == {"patrol_accepted", "points_awarded", "fund_use"}
    assert all(e["appended"] and e["ledger_index"] >= before for e in events)
    with Ledger(ledger_db) as lg:
        records = {i: json.loads(raw) for i, raw in lg.entries(before)}
    for e in events:
        rec = records[e["ledger_index"]]
        assert rec["type"] == "digest" and rec["kind"] == "portal_event"
        doc = api.c.get(e["document"]).content
        # anyone can re-hash the published document and find it in the ledger
        assert hashlib.sha256(doc).hexdigest() == rec["sha256"]
        assert len(doc) == rec["size_bytes"]
        text = doc.decode() + rec["covers"]
        for personal in ("tom", "Name tom", "13800001111"):
            assert f'"{personal}"' not in text and f" {personal} " not in text
    fund = json.loads(api.c.get(next(e["document"] for e in events
                                     if e["event"] == "fund_use")).content)
    assert fund["amount_cny"] == "12.34" and fund["party_id"] == WEST
    # the ledger still verifies end to end
    assert lapi.verify(ledger_db).ok


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_ledger_outage_keeps_events_pending(make_api):
    """A failing ledger does not lose an event: it stays in the outbox until a flush works."""
    from gep.portal import ledger_hook

    api = make_api()

    class Broken:
        def append(self, docs):
            raise OSError("disk full")

    real = api.portal.sink
    api.portal.sink = Broken()
    boss = api.admin()
    _, chief = api.chief("uma", boss)
    pid = api.c.post("/api/v1/patrols", headers=chief, json=patrol_body()).json()["id"]
    assert api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
                      json={"decision": "accept"}).status_code == 200
    assert not any(e["appended"] for e in api.c.get("/api/v1/ledger-events").json())
    api.portal.sink = real
    assert ledger_hook.flush(api.portal.factory, real) == 2
    assert ledger_hook.flush(api.portal.factory, real) == 0
    assert all(e["appended"] for e in api.c.get("/api/v1/ledger-events").json())


def test_points_rule_table():
    from gep.portal.points import patrol_award
    from gep.portal.settings import PointsRules

    r = PointsRules()
    d = date(2024, 5, 6)
    assert patrol_award(r, 0.99, 0, 0, d).points == 10            # no whole km
    assert patrol_award(r, 1.0, 0, 0, d).points == 12             # exactly 1 km
    assert patrol_award(r, 19.9, 0, 0, d).points == 10 + 2 * 19 == 48
    assert patrol_award(r, 25.0, 0, 0, d).points == 50            # capped
    assert patrol_award(r, 25.0, 2, 0, d).points == 50 + 40       # findings above the cap
    zero = patrol_award(r, 25.0, 2, 1, d)
    assert zero.points == 0 and "daily limit" in zero.reason
    two = PointsRules(daily_patrol_limit=2)
    assert patrol_award(two, 3.0, 0, 1, d).points == 16


def test_portal_settings_errors_name_key_and_fix(tmp_path):
    from gep.errors import ConfigError
    from gep.portal.settings import load_settings

    f = tmp_path / "portal.yaml"
    f.write_text("points: {per_km: -1}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"portal.yaml: points.per_km: .*greater than or"):
        load_settings(f)
    f.write_text("points: {per_kilometre: 2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"points.per_kilometre: .*Fix: remove it"):
        load_settings(f)
    f.write_text("timezone: Mars/Olympus\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="IANA time zone"):
        load_settings(f)
    assert load_settings(None).points.per_patrol == 10


def test_ledger_site_links_to_portal_and_labels_events(tmp_path):
    from gep.ledger import api as lapi
    from gep.ledger.site import build_site

    db = tmp_path / "ledger.db"
    skey, _ = lapi.keygen("gep.example/t", tmp_path / "keys")
    doc = b'{"event":"fund_use","ref":"P1"}'
    lapi.append_record_digests(db, [(doc, "portal/fund_use/P1.json", "fund use of west 2024")])
    cp = tmp_path / "checkpoint"
    lapi.write_checkpoint(db, skey, "gep.example/t", cp, tmp_path / "v.vkey")
    out = build_site(db, cp, tmp_path / "v.vkey", tmp_path / "site",
                     portal_url="https://portal.example.org/")
    html = out.read_text(encoding="utf-8")
    assert 'id="portal-link" href="https://portal.example.org/"' in html
    assert "portal record" in html and hashlib.sha256(doc).hexdigest() in html
    plain = build_site(db, cp, tmp_path / "v.vkey", tmp_path / "site2")
    assert "portal-link" not in plain.read_text(encoding="utf-8")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_committee_agenda_reads_open_items_without_personal_data(make_api, db_url):
    """The committee's monthly agenda (gep.committee.portal) reads the portal's
    ``committee_open_items`` view: a report and a finding awaiting review are open until the
    committee resolves or reviews them, and no contact data or free text reaches it."""
    from datetime import datetime, timezone

    from gep.committee.portal import open_items

    api = make_api()
    db_file = db_url.removeprefix("sqlite:///")
    today = datetime.now(timezone.utc).date()
    boss = api.admin()
    _, chief = api.chief("ann", boss)
    lon, lat = line_lonlat([(705_000, 3_295_000.0)])[0]
    code = api.c.post("/api/v1/reports", json={
        "category": "pollution", "description": "oil near my house", "lon": lon, "lat": lat,
        "contact": "13800000000"}).json()["tracking_code"]
    pid = api.c.post("/api/v1/patrols", headers=chief, json=patrol_body(findings=2)).json()["id"]

    got = open_items(db_file, today)
    assert got["status"] == "ok"
    assert got["counts"] == {"citizen_report": 1, "patrol_finding": 2}
    report = next(i for i in got["items"] if i["kind"] == "citizen_report")
    assert report["item_id"] == code and report["summary"] == "pollution"
    assert {i["item_id"] for i in got["items"] if i["kind"] == "patrol_finding"} == {
        f"P{pid}-0", f"P{pid}-1"}
    text = repr(got)
    assert "13800000000" not in text and "oil near my house" not in text
    # opened today: not on the agenda of a month that ended before
    assert open_items(db_file, date(2000, 1, 31))["items"] == []

    api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
               json={"decision": "accept", "confirmed_findings": [0]})
    api.c.post(f"/api/v1/reports/{code}/resolve", headers=boss,
               json={"outcome": "confirmed", "reply": "cleaned"})
    assert open_items(db_file, today)["items"] == []
