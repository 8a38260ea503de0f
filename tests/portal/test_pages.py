"""The pages (forms with CSRF tokens, session cookie) for the flows the browser test does not
walk: anonymous report and its triage, fund use by an officer, the public pages."""
from __future__ import annotations

import re

import pytest

from .helpers import WEST, line_lonlat

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def token(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def login(client, user: str, password: str = "password-123"):
    client.cookies.clear()
    r = client.post("/login", data={"username": user, "password": password,
                                     "csrf_token": token(client, "/login")},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def test_report_form_and_triage(api):
    api.admin()
    c = api.c
    lon, lat = line_lonlat([(705_000, 3_295_000)])[0]
    r = c.post("/report", data={"category": "pollution", "description": "黑水 black water",
                                "lon": str(lon), "lat": str(lat), "contact": "",
                                "csrf_token": token(c, "/report")})
    assert r.status_code == 200
    code = re.search(r'id="tracking-code">([^<]+)<', r.text).group(1)
    assert re.search(r'id="report-status">received<', c.get(f"/reports/{code}").text)
    assert c.get(f"/track?code={code}", follow_redirects=False).headers["location"] == \
        f"/reports/{code}"
    login(c, "boss")
    t = token(c, f"/committee/reports/{code}")
    assert c.post(f"/committee/reports/{code}", data={"action": "assign", "csrf_token": t}
                  ).status_code == 200
    c.post(f"/committee/reports/{code}", data={
        "action": "resolve", "outcome": "confirmed", "reply": "已处理 handled", "csrf_token": t})
    c.cookies.clear()
    page = c.get(f"/reports/{code}").text
    assert re.search(r'id="report-status">resolved<', page)
    assert "已处理 handled" in page
    # bad coordinates come back as a message, not a crash
    r = c.post("/report", data={"category": "pollution", "description": "x", "lon": "east",
                                "lat": "1", "csrf_token": token(c, "/report")})
    assert r.status_code == 422 and "lon" in r.text


def test_officer_records_fund_use_through_the_page(api):
    boss = api.admin()
    api.officer(WEST, boss, username="off_w")
    c = api.c
    login(c, "off_w")
    t = token(c, "/projects/new")
    form = {"year": "2024", "name": "护林员 forest rangers", "category": "reforestation",
            "amount_cny": "999.99", "started_on": "2024-02-01", "ended_on": "",
            "progress": "30", "description": "", "csrf_token": t}
    r = c.post("/projects/new", data=form, follow_redirects=False)
    assert r.status_code == 303
    page = c.get(r.headers["location"]).text
    assert "护林员 forest rangers" in page and "999.99" in page
    assert "fund use of west 2024" in page  # its sunshine-ledger record is linked
    r = c.post("/projects/new", data=dict(form, amount_cny="0.02"))
    assert r.status_code == 422 and "1000.00" in r.text and "999.99" in r.text
    listing = c.get("/projects").text
    assert 'class="received">1000.00<' in listing and 'class="spent">999.99<' in listing


def test_public_pages_render(api):
    for path in ["/", "/leaderboard", "/map", "/projects", "/report", "/apply", "/login"]:
        r = api.c.get(path)
        assert r.status_code == 200, path
        assert 'lang="zh"' in r.text and 'lang="en"' in r.text  # bilingual
    assert api.c.get("/patrols/999").status_code == 404
    assert api.c.get("/committee", follow_redirects=False).status_code == 303
    assert api.c.get("/projects/new").status_code == 401
