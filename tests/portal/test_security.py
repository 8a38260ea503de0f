"""The security list of issue 11: missing / expired / forged tokens, wrong roles, personal
data never public, SQL-injection and script strings rendered back escaped in every text field,
oversize and fake uploads, path traversal in file names, rate limits, CSRF on the pages."""
from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from .helpers import WEST, line_lonlat, patrol_body

SQLITE = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
EVIL = "<script>alert('x')</script>'; DROP TABLE users; -- \" onmouseover=alert(1) &amp;"


def png(size: int = 8) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), (10, 120, 60)).save(buf, format="PNG")
    return buf.getvalue()


def csrf_of(client, path="/") -> str:
    html = client.get(path).text
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "page carries no CSRF token"
    return m.group(1)


@SQLITE
def test_missing_expired_and_forged_tokens(api):
    boss = api.admin()
    cid, chief = api.chief("mia", boss)
    url = f"/api/v1/river-chiefs/{cid}/points"
    assert api.c.get(url).status_code == 401
    assert api.c.post("/api/v1/patrols", json=patrol_body()).status_code == 401
    assert api.c.get(url, headers={"Authorization": "Basic abc"}).status_code == 401
    # expired: a token issued two token-lifetimes ago
    uid = api.c.get("/api/v1/river-chiefs/me", headers=chief).status_code
    assert uid == 200
    with api.portal.factory() as db:
        from gep.portal.models import Chief

        user_id = db.get(Chief, cid).user_id
    old = api.portal.tokens.issue(user_id, "chief", now=datetime.now(UTC) - timedelta(
        minutes=2 * api.portal.tokens.minutes))
    r = api.c.get(url, headers=api.auth(old))
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    # forged: right claims, wrong key; and a role raised by editing the payload
    claims = {"sub": str(user_id), "role": "committee", "typ": "access",
              "iat": int(datetime.now(UTC).timestamp()),
              "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp())}
    forged = jwt.encode(claims, b"not-the-portal-secret-at-all-32b", algorithm="HS256")
    assert api.c.get("/api/v1/reports", headers=api.auth(forged)).status_code == 401
    head, payload, sig = chief["Authorization"].split()[1].split(".")
    body = json.loads(jwt.utils.base64url_decode(payload))
    body["role"] = "committee"
    tampered = ".".join([head, jwt.utils.base64url_encode(json.dumps(body).encode()).decode(),
                         sig])
    assert api.c.get("/api/v1/reports", headers=api.auth(tampered)).status_code == 401
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert api.c.get("/api/v1/reports", headers=api.auth(unsigned)).status_code == 401


@SQLITE
def test_role_checks(api):
    boss = api.admin()
    c1, chief1 = api.chief("noah", boss)
    c2, chief2 = api.chief("olga", boss)
    officer = api.officer(WEST, boss)
    pid = api.c.post("/api/v1/patrols", headers=chief1, json=patrol_body()).json()["id"]
    for who in (chief1, officer):
        assert api.c.post(f"/api/v1/patrols/{pid}/review", headers=who,
                          json={"decision": "accept"}).status_code == 403
        assert api.c.post(f"/api/v1/river-chiefs/{c2}/approve",
                          headers=who).status_code == 403
        assert api.c.get("/api/v1/reports", headers=who).status_code == 403
        assert api.c.get("/api/v1/audit", headers=who).status_code == 403
    # nobody reads another chief's points; the officer reads none
    assert api.c.get(f"/api/v1/river-chiefs/{c2}/points", headers=chief1).status_code == 403
    assert api.c.get(f"/api/v1/river-chiefs/{c1}/points", headers=officer).status_code == 403
    assert api.c.get(f"/api/v1/river-chiefs/{c1}/points").status_code == 401
    # a chief cannot see another chief's patrol, nor record fund use
    assert api.c.get(f"/api/v1/patrols/{pid}", headers=chief2).status_code == 404
    assert api.c.post("/api/v1/projects", headers=chief1, json={
        "year": 2024, "name": "x", "category": "other", "amount_cny": "1.00",
        "started_on": "2024-01-01"}).status_code == 403
    # only the committee creates accounts; the public cannot self-register as committee
    assert api.c.post("/api/v1/users", headers=officer, json={
        "username": "evil", "password": "password-123", "role": "committee"}
    ).status_code == 403
    # every committee action is in the audit log
    api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss, json={"decision": "reject"})
    actions = [a["action"] for a in api.c.get("/api/v1/audit", headers=boss).json()]
    assert {"approve_chief", "create_user", "reject_patrol"} <= set(actions)


@SQLITE
def test_api_ignores_the_session_cookie(api):
    """A page cannot be used to call the API with a citizen's cookie (no CSRF via the API)."""
    api.admin()
    token = csrf_of(api.c, "/login")
    r = api.c.post("/login", data={"username": "boss", "password": "password-123",
                                   "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and "gep_session" in r.cookies
    assert api.c.get("/api/v1/reports").status_code == 401
    assert api.c.get("/committee").status_code == 200


@SQLITE
def test_csrf_on_pages(api):
    form = {"name": "Pat", "phone": "13800001111", "party_id": WEST, "username": "pat01",
            "password": "password-123"}
    r = api.c.post("/apply", data=form)
    assert r.status_code == 403 and "CSRF" in r.text
    csrf_of(api.c, "/apply")  # sets the cookie
    r = api.c.post("/apply", data=dict(form, csrf_token="forged-token-value"))
    assert r.status_code == 403
    r = api.c.post("/apply", data=dict(form, csrf_token=csrf_of(api.c, "/apply")))
    assert r.status_code == 200 and "pending" in r.text


def test_injection_strings_are_stored_verbatim_and_rendered_escaped(api):
    boss = api.admin()
    r = api.c.post("/api/v1/river-chiefs/applications", json={
        "name": EVIL[:200], "phone": "13800001111", "party_id": WEST, "username": "quinn",
        "password": "password-123"})
    cid = r.json()["id"]
    api.c.post(f"/api/v1/river-chiefs/{cid}/approve", headers=boss)
    chief = api.login("quinn")
    body = patrol_body(findings=1)
    body["findings"][0]["description"] = EVIL
    pid = api.c.post("/api/v1/patrols", headers=chief, json=body).json()["id"]
    api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss,
               json={"decision": "accept", "confirmed_findings": [0], "note": EVIL})
    lon, lat = body["track"]["coordinates"][0]
    code = api.c.post("/api/v1/reports", json={"category": "other", "description": EVIL,
                                                "lon": lon, "lat": lat, "contact": EVIL[:200]}
                      ).json()["tracking_code"]
    api.c.post(f"/api/v1/reports/{code}/resolve", headers=boss,
               json={"outcome": "referred", "reply": EVIL})
    api.c.post("/api/v1/river-chiefs/applications", json={  # stays pending: on /committee
        "name": EVIL[:200], "phone": "13800001111", "party_id": WEST, "username": "quinn2",
        "password": "password-123"})
    officer = api.officer(WEST, boss)
    proj = api.c.post("/api/v1/projects", headers=officer, json={
        "year": 2024, "name": EVIL[:200], "category": "other", "amount_cny": "1.00",
        "started_on": "2024-01-01", "description": EVIL}).json()
    # stored verbatim (the SQL was data, the tables are intact)
    assert api.c.get(f"/api/v1/reports/{code}").json()["public_reply"] == EVIL
    assert api.c.get(f"/api/v1/projects/{proj['id']}").json()["description"] == EVIL
    assert api.c.get("/api/v1/river-chiefs", headers=boss).json()[0]["name"] == EVIL[:200]
    # rendered escaped on every page that shows them
    login = csrf_of(api.c, "/login")
    api.c.post("/login", data={"username": "boss", "password": "password-123",
                               "csrf_token": login})
    pages = ["/committee", f"/committee/patrols/{pid}", f"/committee/reports/{code}",
             f"/patrols/{pid}", f"/reports/{code}", f"/projects/{proj['id']}", "/projects"]
    for path in pages:
        html = api.c.get(path).text
        assert "<script>alert(" not in html, path
        assert "onmouseover=alert(1)" not in html.replace("&#34; onmouseover", ""), path
        assert "&lt;script&gt;alert(" in html, path


@SQLITE
def test_public_pages_show_no_personal_data(api):
    boss = api.admin()
    cid, chief = api.chief("rita", boss)
    pid = api.c.post("/api/v1/patrols", headers=chief, json=patrol_body()).json()["id"]
    api.c.post(f"/api/v1/patrols/{pid}/review", headers=boss, json={"decision": "accept"})
    lon, lat = line_lonlat([(705_000, 3_295_000)])[0]
    code = api.c.post("/api/v1/reports", json={"category": "other", "description": "d",
                                                "lon": lon, "lat": lat,
                                                "contact": "rita@example.org"}
                      ).json()["tracking_code"]
    public = api.c.__class__(api.c.app)  # a fresh visitor, no cookies
    for path in ["/", "/leaderboard", "/map", f"/patrols/{pid}", f"/reports/{code}",
                 "/projects", f"/api/v1/reports/{code}", "/api/v1/leaderboard",
                 "/api/v1/ledger-events"]:
        text = public.get(path).text
        for personal in ("Name rita", "13800001111", "rita@example.org", '"rita"'):
            assert personal not in text, (path, personal)


@SQLITE
def test_uploads_checked_by_content_size_and_name(api):
    boss = api.admin()
    _, chief = api.chief("sam", boss)

    def send(files):
        return api.c.post("/api/v1/patrols", headers=chief,
                          data={"patrol": json.dumps(patrol_body())}, files=files)

    good = send([("photos", ("../../../../etc/cron.d/x.png", png(), "image/png"))])
    assert good.status_code == 201, good.text
    p = api.c.get(f"/api/v1/patrols/{good.json()['id']}", headers=boss).json()
    assert p["photos"][0]["name"] == "x.png"
    stored = list((api.portal.uploads / "photos").iterdir())
    assert [f.name for f in stored] == [p["photos"][0]["sha256"] + ".png"]
    assert not Path("/etc/cron.d/x.png").exists()
    fake = send([("photos", ("cat.jpg", b"<?php system($_GET['c']); ?>", "image/jpeg"))])
    assert fake.status_code == 422 and "JPEG" in fake.json()["detail"]
    broken = send([("photos", ("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "image/png"))])
    assert broken.status_code == 422
    big = png(8) + b"\0" * (5 * 1024 * 1024)  # valid PNG header, over 5 MB
    r = send([("photos", ("big.png", big, "image/png"))])
    assert r.status_code in (413, 422)
    # the whole request over the configured limit: 413 before anything is parsed
    r = api.c.post("/api/v1/reports", content=b"x" * (31 * 1024 * 1024),
                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert list((api.portal.uploads / "photos").iterdir()) == stored


@SQLITE
def test_evidence_file_names_and_types(api):
    boss = api.admin()
    officer = api.officer(WEST, boss)
    proj = api.c.post("/api/v1/projects", headers=officer, json={
        "year": 2024, "name": "Plant", "category": "other", "amount_cny": "10.00",
        "started_on": "2024-01-01"}).json()
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = api.c.post(f"/api/v1/projects/{proj['id']}/evidence", headers=officer,
                   files=[("files", ("..\\..\\boot.ini.pdf", pdf, "application/pdf"))])
    assert r.status_code == 201, r.text
    ev = r.json()["evidence"][0]
    assert ev["name"] == "boot.ini.pdf" and ev["content_type"] == "application/pdf"
    r = api.c.post(f"/api/v1/projects/{proj['id']}/evidence", headers=officer,
                   files=[("files", ("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))])
    assert r.status_code == 422


@SQLITE
def test_report_rate_limit_with_retry_after(make_api):
    api = make_api()
    lon, lat = line_lonlat([(705_000, 3_295_000)])[0]
    body = {"category": "garbage", "description": "bags", "lon": lon, "lat": lat}
    codes = [api.c.post("/api/v1/reports", json=body).status_code for _ in range(11)]
    assert codes == [201] * 10 + [429]  # default: 10 per minute per client address
    r = api.c.post("/api/v1/reports", json=body)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    strict = make_api(rate_limits={"reports_per_minute": 2, "lookups_per_minute": 3})
    assert [strict.c.post("/api/v1/reports", json=body).status_code
            for _ in range(3)] == [201, 201, 429]
    # guessing tracking codes is slowed down too
    assert [strict.c.get(f"/api/v1/reports/R{i:010d}").status_code
            for i in range(4)] == [404, 404, 404, 429]


def test_rate_limiter_window_slides():
    from gep.portal.ratelimit import RateLimiter

    now = [1000.0]
    rl = RateLimiter(60, clock=lambda: now[0])
    assert [rl.check("r", "a", 2) for _ in range(2)] == [0, 0]
    assert rl.check("r", "a", 2) == 60
    assert rl.check("r", "b", 2) == 0  # another client has its own window
    now[0] += 30
    assert rl.check("r", "a", 2) == 30
    now[0] += 30.5
    assert rl.check("r", "a", 2) == 0
