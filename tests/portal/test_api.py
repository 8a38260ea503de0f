"""The API flows on SQLite and PostgreSQL: apply -> approve -> log in -> patrol -> review ->
points, the points rules, reports, fund use against the ledger, the leaderboard."""
from __future__ import annotations

import math

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
