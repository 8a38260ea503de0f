"""The API flows on SQLite and PostgreSQL: apply -> approve -> log in -> patrol -> review ->
points, the points rules, idempotent submission, reports, fund use against the ledger, the
leaderboard and the OpenAPI document.

Expected points are worked out here from the fixture basin's geometry (north-south lines in
UTM 50N whose length is known), not taken from the code.
"""
from __future__ import annotations

from .helpers import EAST, WEST, X1, line_lonlat, patrol_body


def test_full_flow_and_points(api):
    boss = api.admin()
    cid, chief = api.chief("alice", boss)
    r = api.c.post("/api/v1/patrols", headers=chief, json=patrol_body(km=3.5, findings=2))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "submitted"
    pid = r.json()["id"]
    r = api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
                   json={"decision": "accept", "confirmed_findings": [1], "note": "ok"})
    assert r.status_code == 200, r.text
    # 10 per patrol + 3 whole km x 2 = 16 (under the cap of 50) + 1 confirmed finding x 20
    assert r.json()["points_awarded"] == 10 + 3 * 2 + 20
    r = api.c.get(f"/api/v1/river-chiefs/{cid}/points", headers=chief)
    assert r.status_code == 200
    body = r.json()
    assert body["balance"] == 36
    assert [e["points"] for e in body["entries"]] == [36]
    assert body["pseudonym"].startswith("RC-") and "alice" not in body["pseudonym"]
    # the committee reads it too; the same review twice is refused
    assert api.c.get(f"/api/v1/river-chiefs/{cid}/points", headers=boss).json()["balance"] == 36
    r = api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss, json={"decision": "reject"})
    assert r.status_code == 409


def test_pending_chief_cannot_patrol_and_login_needs_right_password(api):
    boss = api.admin()
    cid, chief = api.chief("bob", boss, approve=False)
    r = api.c.post("/api/v1/patrols", headers=chief, json=patrol_body())
    assert r.status_code == 403 and "approved" in r.json()["detail"]
    r = api.c.post("/api/v1/auth/login", json={"username": "bob", "password": "wrong-pass"})
    assert r.status_code == 401
    r = api.c.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 9})
    assert r.status_code == 401


def test_km_counts_only_inside_own_party_and_cap(api):
    boss = api.admin()
    _, chief = api.chief("carol", boss, party=WEST)
    # 6 km west-east crossing the party border at x = 710 km: 2.5 km in west, 3.5 km in east
    y = 3_295_000.0
    body = patrol_body()
    body["track"]["coordinates"] = line_lonlat([(X1 - 2500, y), (X1 + 3500, y)])
    pid = api.c.post("/api/v1/patrols", headers=chief, json=body).json()["id"]
    r = api.c.get(f"/api/v1/patrols/{pid}", headers=boss).json()
    assert abs(r["km_in_party"] - 2.5) < 0.01
    assert abs(r["km_in_basin"] - 6.0) < 0.02
    r = api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss, json={"decision": "accept"})
    assert r.json()["points_awarded"] == 10 + 2 * 2
    # A long patrol on another day: 10 + 9 km x 2 = 28 ... capped at 50 only when longer:
    _, dave = api.chief("dave", boss, party=WEST)
    long = patrol_body(km=8.9, x=701_000.0)  # 8 whole km: 10 + 16 = 26
    pid = api.c.post("/api/v1/patrols", headers=dave, json=long).json()["id"]
    assert api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
                      json={"decision": "accept"}).json()["points_awarded"] == 26


def test_cap_applies_to_patrol_and_km_not_findings(make_api):
    api = make_api(points={"per_km": 20, "max_per_patrol": 50})
    boss = api.admin()
    _, chief = api.chief("erin", boss)
    pid = api.c.post("/api/v1/patrols", headers=chief,
                     json=patrol_body(km=4.2, findings=1)).json()["id"]
    r = api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
                   json={"decision": "accept", "confirmed_findings": [0]})
    # 10 + 4 x 20 = 90, capped at 50; the finding's 20 comes on top
    assert r.json()["points_awarded"] == 50 + 20


def test_second_patrol_same_local_day_earns_zero_with_reason(api):
    boss = api.admin()
    cid, chief = api.chief("frank", boss)
    ids = []
    for hour, day in ((8, "2024-05-06"), (14, "2024-05-06"), (8, "2024-05-07")):
        r = api.c.post("/api/v1/patrols", headers=chief,
                       json=patrol_body(km=2.2, day=day, hour=hour))
        ids.append(r.json()["id"])
    got = [api.c.post(f"/api/v1/patrols/{i}/review", headers=boss,
                      json={"decision": "accept"}).json() for i in ids]
    assert [g["points_awarded"] for g in got] == [14, 0, 14]
    assert "daily limit" in got[1]["points_reason"] and "2024-05-06" in got[1]["points_reason"]
    entries = api.c.get(f"/api/v1/river-chiefs/{cid}/points", headers=chief).json()["entries"]
    assert [e["points"] for e in entries] == [14, 0, 14]
    assert "daily limit" in entries[1]["reason"]


def test_local_day_uses_portal_timezone(api):
    """23:30 and 00:30 Beijing time are two local days even though UTC sees one."""
    boss = api.admin()
    _, chief = api.chief("gina", boss)
    a = patrol_body(km=1.5)
    a["started_at"], a["ended_at"] = "2024-05-06T15:00:00Z", "2024-05-06T15:40:00Z"  # 23:00+08
    b = patrol_body(km=1.5)
    b["started_at"], b["ended_at"] = "2024-05-06T16:30:00Z", "2024-05-06T17:00:00Z"  # 00:30+08
    pts = []
    for body in (a, b):
        pid = api.c.post("/api/v1/patrols", headers=chief, json=body).json()["id"]
        pts.append(api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
                              json={"decision": "accept"}).json()["points_awarded"])
    assert pts == [12, 12]


def test_track_outside_basin_is_refused(api):
    boss = api.admin()
    _, chief = api.chief("hank", boss)
    body = patrol_body()
    body["track"]["coordinates"] = line_lonlat([(650_000, 3_200_000), (651_000, 3_201_000)])
    r = api.c.post("/api/v1/patrols", headers=chief, json=body)
    assert r.status_code == 422
    assert "no part inside the basin" in r.json()["detail"]
    body["track"] = {"type": "Point", "coordinates": [119.0, 29.7]}
    r = api.c.post("/api/v1/patrols", headers=chief, json=body)
    assert r.status_code == 422 and "LineString" in r.json()["detail"]


def test_rejected_patrol_earns_nothing_and_bad_indices_refused(api):
    boss = api.admin()
    cid, chief = api.chief("ivy", boss)
    pid = api.c.post("/api/v1/patrols", headers=chief, json=patrol_body(findings=1)).json()["id"]
    r = api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
                   json={"decision": "accept", "confirmed_findings": [3]})
    assert r.status_code == 422
    r = api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss, json={"decision": "reject"})
    assert r.json()["status"] == "rejected" and r.json()["points_awarded"] == 0
    assert api.c.get(f"/api/v1/river-chiefs/{cid}/points", headers=chief).json()["balance"] == 0


def test_idempotent_submission(api):
    boss = api.admin()
    _, chief = api.chief("jack", boss)
    body = patrol_body()
    h = dict(chief, **{"Idempotency-Key": "k-1"})
    r1 = api.c.post("/api/v1/patrols", headers=h, json=body)
    r2 = api.c.post("/api/v1/patrols", headers=h, json=body)
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["id"] == r2.json()["id"]
    assert r2.headers.get("Idempotent-Replayed") == "true"
    other = patrol_body(km=1.2)
    r3 = api.c.post("/api/v1/patrols", headers=h, json=other)
    assert r3.status_code == 409
    mine = api.c.get("/api/v1/patrols", headers=chief).json()
    assert [p["id"] for p in mine] == [r1.json()["id"]]


def test_reports_flow_hides_contact(api):
    boss = api.admin()
    y = 3_295_000.0
    lon, lat = line_lonlat([(705_000, y)])[0]
    r = api.c.post("/api/v1/reports", json={"category": "pollution", "description": "oil",
                                             "lon": lon, "lat": lat,
                                             "contact": "13912345678"})
    assert r.status_code == 201
    code = r.json()["tracking_code"]
    pub = api.c.get(f"/api/v1/reports/{code}").json()
    assert pub["status"] == "received" and "13912345678" not in str(pub)
    assert "contact" not in pub
    r = api.c.post(f"/api/v1/reports/{code}/assign", headers=boss, json={})
    assert r.json()["status"] == "assigned"
    r = api.c.post(f"/api/v1/reports/{code}/resolve", headers=boss,
                   json={"outcome": "confirmed", "reply": "cleaned up on 6 May"})
    pub = api.c.get(f"/api/v1/reports/{code}").json()
    assert pub["status"] == "resolved" and pub["public_reply"] == "cleaned up on 6 May"
    assert pub["resolved_at"] is not None
    full = api.c.get("/api/v1/reports", headers=boss).json()
    assert full[0]["contact"] == "13912345678" and full[0]["party_id"] == WEST
    assert api.c.get(f"/api/v1/reports/NOPE{code}").status_code == 404
    # anonymous report, no contact
    r = api.c.post("/api/v1/reports", json={"category": "garbage", "description": "bags",
                                             "lon": lon, "lat": lat})
    assert r.status_code == 201


def test_fund_use_cannot_exceed_ledger_receipts(api):
    boss = api.admin()
    west = api.officer(WEST, boss)
    east = api.officer(EAST, boss)
    proj = {"year": 2024, "name": "Sewage plant", "category": "water_treatment",
            "amount_cny": "600.25", "started_on": "2024-03-01", "progress": 40}
    r = api.c.post("/api/v1/projects", headers=west, json=proj)
    assert r.status_code == 201, r.text
    assert r.json()["amount_cny"] == "600.25"
    # the ledger shows 1000.00 received by west in 2024 (the 99999.00 settlement is not cash):
    # 600.25 + 399.75 = 1000.00 fits exactly, one fen more does not
    over = dict(proj, name="Too much", amount_cny="399.76")
    r = api.c.post("/api/v1/projects", headers=west, json=over)
    assert r.status_code == 422
    assert "1000.00" in r.json()["detail"] and "600.25" in r.json()["detail"]
    r = api.c.post("/api/v1/projects", headers=west, json=dict(proj, amount_cny="399.75"))
    assert r.status_code == 201
    # east received nothing; another party's projects are not an officer's to record
    assert api.c.post("/api/v1/projects", headers=east, json=dict(proj, amount_cny="0.01")
                      ).status_code == 422
    assert api.c.post("/api/v1/projects", headers=east,
                      json=dict(proj, party_id=WEST)).status_code == 403
    # more than two decimals is refused, not rounded
    assert api.c.post("/api/v1/projects", headers=west,
                      json=dict(proj, year=2023, amount_cny="1.001")).status_code == 422
    listing = api.c.get("/api/v1/projects", params={"party_id": WEST}).json()
    by_year = {g["year"]: g for g in listing}
    assert by_year[2024]["received_cny"] == "1000.00"
    assert by_year[2024]["spent_cny"] == "1000.00"
    assert by_year[2023]["received_cny"] == "250.50" and by_year[2023]["spent_cny"] == "0.00"
    assert len(by_year[2024]["projects"]) == 2


def test_leaderboard_pseudonyms_only(api):
    boss = api.admin()
    _, a = api.chief("kate", boss)
    _, b = api.chief("liam", boss, party=EAST)
    for hdr, km, x in ((a, 3.5, 705_000.0), (b, 1.2, 715_000.0)):
        pid = api.c.post("/api/v1/patrols", headers=hdr, json=patrol_body(km=km, x=x)).json()["id"]
        api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss, json={"decision": "accept"})
    board = api.c.get("/api/v1/leaderboard").json()
    assert [(r["points"], r["party_id"]) for r in board] == [(16, WEST), (12, EAST)]
    text = str(board)
    for secret in ("kate", "liam", "Name", "13800001111"):
        assert secret not in text


def test_openapi_document_lists_the_endpoints(api):
    doc = api.c.get("/openapi.json").json()
    paths = doc["paths"]
    for path, method in [("/api/v1/river-chiefs/applications", "post"),
                         ("/api/v1/river-chiefs/{chief_id}/approve", "post"),
                         ("/api/v1/auth/login", "post"), ("/api/v1/patrols", "post"),
                         ("/api/v1/patrols/{patrol_id}/review", "post"),
                         ("/api/v1/river-chiefs/{chief_id}/points", "get"),
                         ("/api/v1/reports", "post"), ("/api/v1/reports/{code}", "get"),
                         ("/api/v1/projects", "get")]:
        assert method in paths[path], (path, method)
    body = paths["/api/v1/patrols"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
