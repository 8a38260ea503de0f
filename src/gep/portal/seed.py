"""A deterministic demo portal: a committee account, officers, river chiefs (approved and
pending), patrols along the basin with findings (accepted, rejected, a second one the same day
that earns 0 points), public reports in every state, and fund-use projects within what the
ledger shows each party received. Built through the same service functions as the API, so it
obeys every rule; ``make demo`` leaves it at ``results/<basin>/portal/portal.db``.

Demo passwords are printed by ``gep portal seed`` and documented in docs/portal.md: they are
for a local demo only (the committee account of a real deployment comes from
``gep portal create-admin``).

Every demo account has the one published demo password, so the seed hashes it once (argon2,
the configured cost, a random salt) and stores that hash for all of them
(:class:`_DemoPasswords`): 16 argon2 hashes were 3/4 of the seed's CPU time. A password a
user sets later gets its own salt as always.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from gep.portal import services as svc
from gep.portal.models import Chief, Patrol, Report, User
from gep.portal.schemas import ApplicationIn, PatrolIn, ProjectIn, ReportIn, ReviewIn
from gep.portal.security import Principal

DEMO_PASSWORD = "demo-password"
COMMITTEE = "committee"


def _principal(u: User, via: str = "seed") -> Principal:
    return Principal(u.id, u.username, u.role, u.party_id, u.pseudonym, via)


def _track_in(geom, rng: random.Random, n: int = 12) -> list[list[float]]:
    """A wandering walk inside ``geom`` (lon/lat): steps of 1/15 of the party's size, at most
    about 600 m, so small parties of a tiny basin get a track too."""
    import math

    from shapely.geometry import Point

    minx, miny, maxx, maxy = geom.bounds
    size = min(maxx - minx, maxy - miny)
    for _ in range(1000):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if geom.contains(Point(x, y)):
            break
    else:
        c = geom.representative_point()
        x, y = c.x, c.y
    pts = [[round(x, 6), round(y, 6)]]
    step = min(0.006, size / 15) * rng.uniform(0.7, 1.1)
    heading = rng.uniform(0, 2 * math.pi)
    for _ in range(n - 1):
        for _try in range(24):
            h = heading + rng.uniform(-0.6, 0.6)
            nx, ny = x + step * math.cos(h), y + step * math.sin(h)
            if geom.contains(Point(nx, ny)):
                x, y, heading = nx, ny, h
                pts.append([round(x, 6), round(y, 6)])
                break
            heading += 1.2
    if len(pts) < 2:  # boxed in: walk to the polygon's representative point
        c = geom.representative_point()
        pts.append([round(c.x, 6), round(c.y, 6)])
        if pts[1] == pts[0]:
            pts[1] = [pts[0][0] + 1e-5, pts[0][1]]
    return pts


class _DemoPasswords:
    """``portal.passwords`` while seeding: :data:`DEMO_PASSWORD` is hashed on first use and
    that hash is reused; any other password is hashed as usual."""

    def __init__(self, passwords):
        self._passwords = passwords
        self._demo: str | None = None

    def hash(self, password: str) -> str:
        if password != DEMO_PASSWORD:
            return self._passwords.hash(password)
        if self._demo is None:
            self._demo = self._passwords.hash(password)
        return self._demo

    def verify(self, stored: str | None, password: str) -> bool:
        return self._passwords.verify(stored, password)


def seed(portal: svc.Portal, now: datetime | None = None) -> dict:
    """Fill an empty portal database; refuses a database that already has users."""
    passwords = portal.passwords
    portal.passwords = _DemoPasswords(passwords)
    try:
        return _seed(portal, now)
    finally:
        portal.passwords = passwords


def _seed(portal: svc.Portal, now: datetime | None) -> dict:
    rng = random.Random(20240601)
    with portal.factory() as db:
        if db.scalar(select(func.count()).select_from(User)):
            raise svc.PortalError(409, "the portal database already has accounts; seed only "
                                  "a new database")
        cp, officers, chiefs = _seed_accounts(portal, db)
        patrol_ids = _seed_patrols(portal, db, chiefs[:8], rng)
        _seed_reviews(portal, db, cp, patrol_ids)
        codes = _seed_reports(portal, db, rng, now or datetime(2024, 6, 1, 9))
        _seed_report_handling(portal, db, cp, codes)
        projects = _seed_projects(portal, db, officers)
        counts = {
            "chiefs": db.scalar(select(func.count()).select_from(Chief)),
            "patrols": db.scalar(select(func.count()).select_from(Patrol)),
            "reports": len(codes), "projects": projects,
        }
    portal.flush_ledger()
    return counts


def _seed_accounts(portal: svc.Portal, db) -> tuple[Principal, dict, list[tuple[Chief, User]]]:
    """The committee account, one officer per party, ten river chiefs (eight approved)."""
    committee = svc.create_user(portal, db, COMMITTEE, DEMO_PASSWORD, "committee")
    cp = _principal(committee)
    parties = sorted(portal.geometry.parties)
    officers = {}
    for pid in parties:
        officers[pid] = svc.create_user(portal, db, f"officer_{pid}", DEMO_PASSWORD,
                                        "officer", pid, actor=cp)
    chiefs: list[tuple[Chief, User]] = []
    for i in range(10):
        pid = parties[i % len(parties)]
        c = svc.apply_chief(portal, db, ApplicationIn(
            name=f"示范河长 {i + 1}", phone=f"1380000{i:04d}", party_id=pid,
            username=f"chief{i + 1:02d}", password=DEMO_PASSWORD))
        if i < 8:
            svc.decide_chief(db, cp, c.id, True)
        chiefs.append((c, db.get(User, c.user_id)))
    db.commit()
    return cp, officers, chiefs


PATROL_DAY = date(2024, 5, 6)
FINDING_KINDS = ["garbage", "pollution", "illegal_fishing", "damaged_bank", "sand_mining"]


def _seed_patrols(portal: svc.Portal, db, chiefs: list[tuple[Chief, User]],
                  rng: random.Random) -> list[tuple[int, int]]:
    """Three patrols per approved chief, and a second one on the first chief's first day
    (accepted, but earns 0: daily limit); ``(patrol id, number of findings)``."""
    tz = portal.settings.tz
    patrol_ids = []
    for i, (c, u) in enumerate(chiefs):
        who = _principal(u)
        geom = portal.geometry.parties[c.party_id]
        for k in range(3):
            day = PATROL_DAY + timedelta(days=k * 3 + i % 3)
            start = datetime.combine(day, datetime.min.time()).replace(hour=8 + k, tzinfo=tz)
            coords = _track_in(geom, rng)
            findings = []
            for j in range(rng.randint(0, 2)):
                lon, lat = coords[rng.randrange(len(coords))]
                findings.append(dict(kind=FINDING_KINDS[(i + j + k) % len(FINDING_KINDS)],
                                     description=f"示范发现 demo finding {j + 1}",
                                     lon=lon, lat=lat))
            data = PatrolIn(started_at=start, ended_at=start + timedelta(hours=2),
                            track={"type": "LineString", "coordinates": coords},
                            findings=findings)
            p, _ = svc.submit_patrol(portal, db, who, data, idempotency_key=f"seed-{i}-{k}")
            patrol_ids.append((p.id, len(findings)))
        if i == 0:
            start = datetime.combine(PATROL_DAY, datetime.min.time()).replace(hour=16,
                                                                              tzinfo=tz)
            data = PatrolIn(started_at=start, ended_at=start + timedelta(hours=1),
                            track={"type": "LineString",
                                   "coordinates": _track_in(geom, rng, 6)})
            p, _ = svc.submit_patrol(portal, db, who, data, idempotency_key="seed-0-x")
            patrol_ids.append((p.id, 0))
        db.commit()
    return patrol_ids


def _seed_reviews(portal: svc.Portal, db, cp: Principal,
                  patrol_ids: list[tuple[int, int]]) -> None:
    """Most patrols accepted, some rejected, some left submitted for the committee's desk."""
    for n, (pid_, nf) in enumerate(sorted(patrol_ids)):
        if n % 7 == 6:
            svc.review_patrol(portal, db, cp, pid_, ReviewIn(decision="reject",
                                                            note="track incomplete"))
        elif n % 5 != 4:
            svc.review_patrol(portal, db, cp, pid_, ReviewIn(
                decision="accept", confirmed_findings=list(range(nf))[: max(0, nf - n % 2)],
                note="ok"))
        db.commit()


def _seed_reports(portal: svc.Portal, db, rng: random.Random, t0: datetime) -> list[str]:
    """Twelve public reports inside the basin; their tracking codes."""
    cats = ["pollution", "garbage", "illegal_fishing", "sand_mining", "fund_misuse"]
    minx, miny, maxx, maxy = portal.geometry.basin.bounds
    codes = []
    for i in range(12):
        while True:
            lon, lat = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if portal.geometry.inside_basin(lon, lat):
                break
        r = svc.create_report(portal, db, ReportIn(
            category=cats[i % len(cats)], description=f"示范举报 demo report {i + 1}",
            lon=round(lon, 6), lat=round(lat, 6),
            contact=f"1390000{i:04d}" if i % 2 else None))
        codes.append(r.tracking_code)
    # Demo reports arrive over a few days, so handling times are realistic (not ms).
    for i, r in enumerate(db.scalars(select(Report).order_by(Report.id))):
        r.created_at = t0 + timedelta(hours=7 * i)
    db.commit()
    return codes


def _seed_report_handling(portal: svc.Portal, db, cp: Principal, codes: list[str]) -> None:
    """Reports in every state: new, assigned, resolved with each outcome."""
    for i, code in enumerate(codes):
        if i % 3 == 0:
            continue
        rep = svc.assign_report(db, cp, code, None)
        rep.assigned_at = rep.created_at + timedelta(hours=3)
        if i % 3 == 2:
            svc.resolve_report(portal, db, cp, code,
                               ["confirmed", "not_confirmed", "referred"][i % 4 % 3],
                               "已核查处理 checked and handled",
                               now=rep.created_at + timedelta(hours=20 + 13 * i))
        db.commit()


PROJECT_NAMES = {"water_treatment": "村镇污水处理站", "reforestation": "水源涵养林建设",
                 "wetland": "河口湿地修复", "monitoring": "水质自动监测站"}
PROJECT_SHARES = ("0.35", "0.25", "0.15", "0.05")


def _seed_projects(portal: svc.Portal, db, officers: dict) -> int:
    """Fund-use projects of each party's officer within what the ledger shows it received."""
    projects = 0
    for (pid, year), fen in sorted(portal.received().items()):
        if pid not in officers or fen <= 0:
            continue
        who = _principal(officers[pid])
        left = Decimal(fen) / 100
        for j, (cat, label) in enumerate(PROJECT_NAMES.items()):
            amount = (left * Decimal(PROJECT_SHARES[j])).quantize(Decimal("0.01"))
            if amount <= 0:
                continue
            svc.create_project(portal, db, who, ProjectIn(
                year=year, name=f"{label} {year}", category=cat, amount_cny=amount,
                started_on=date(year, 3, 1), progress=min(100, 40 + 20 * j),
                description=f"{pid} {year} {cat}"))
            projects += 1
        db.commit()
    return projects
