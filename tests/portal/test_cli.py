"""``gep portal ...`` commands: create-admin from stdin, bad input as one line and exit 2,
the deterministic demo seed (which obeys the portal's own rules), the report section."""
from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from decimal import Decimal


from .helpers import RECEIVED, WEST


def gep(*args, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "gep", *args], input=stdin,
                          capture_output=True, text=True, timeout=300)


def test_create_admin_from_stdin_then_login(basin_config, tmp_path):
    from fastapi.testclient import TestClient

    from gep.portal.app import create_app

    from .helpers import build

    url = f"sqlite:///{tmp_path / 'p.db'}"
    r = gep("portal", "create-admin", "--config", str(basin_config), "--db", url,
            "--username", "chair", stdin="s3cret-passphrase\n")
    assert r.returncode == 0, r.stderr
    assert "created committee account 'chair'" in r.stdout
    r = gep("portal", "create-admin", "--config", str(basin_config), "--db", url,
            "--username", "chair", stdin="another-passphrase\n")
    assert r.returncode == 2 and "taken" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    r = gep("portal", "create-admin", "--config", str(basin_config), "--db", url,
            "--username", "short", stdin="abc\n")
    assert r.returncode == 2 and "at least 8 characters" in r.stderr
    portal = build(basin_config, url)
    with TestClient(create_app(portal)) as c:
        ok = c.post("/api/v1/auth/login", json={"username": "chair",
                                                 "password": "s3cret-passphrase"})
        assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
    portal.engine.dispose()


def test_bad_config_and_db_are_one_line_errors(basin_config, tmp_path):
    bad = tmp_path / "portal.yaml"
    bad.write_text("points: {per_patrol: ten}\n", encoding="utf-8")
    import yaml

    data = yaml.safe_load(basin_config.read_text(encoding="utf-8"))
    data["portal"] = {"config": str(bad)}
    c2 = basin_config.parent / "config_badportal.yaml"
    c2.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    r = gep("portal", "migrate", "--config", str(c2), "--db", f"sqlite:///{tmp_path}/x.db")
    assert r.returncode == 2
    assert "points.per_patrol" in r.stderr and "Fix:" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = gep("serve", "--config", str(basin_config), "--db", "mysql://u@h/db")
    assert r.returncode == 2 and "not supported" in r.stderr


def test_seed_follows_the_rules(basin_config, tmp_path):
    from sqlalchemy import func, select

    from gep.portal.models import Patrol, PointsEntry, Project, Report

    from .helpers import build

    url = f"sqlite:///{tmp_path / 'seed.db'}"
    r = gep("portal", "seed", "--config", str(basin_config), "--db", url)
    assert r.returncode == 0, r.stderr
    again = gep("portal", "seed", "--config", str(basin_config), "--db", url)
    assert again.returncode == 2 and "already has accounts" in again.stderr
    # deterministic: seeding another new database publishes the very same ledger documents,
    # so re-running make demo does not grow the sunshine ledger
    from gep.ledger.store import Ledger

    from .helpers import build as build_portal

    first = build_portal(basin_config, url)
    ledger_db = first.ledger_db
    first.engine.dispose()
    with Ledger(ledger_db) as lg:
        size = lg.size
    url2 = f"sqlite:///{tmp_path / 'seed2.db'}"
    assert gep("portal", "seed", "--config", str(basin_config), "--db", url2).returncode == 0
    with Ledger(ledger_db) as lg:
        assert lg.size == size
    portal = build(basin_config, url)
    with portal.factory() as db:
        accepted = db.scalars(select(Patrol).where(Patrol.status == "accepted")).all()
        entries = db.scalars(select(PointsEntry)).all()
        assert accepted and {e.patrol_id for e in entries} == {p.id for p in accepted}
        zero = [e for e in entries if e.points == 0]
        assert zero and all("daily limit" in e.reason for e in zero)
        assert db.scalar(select(func.count()).select_from(Patrol)
                         .where(Patrol.status == "submitted")) > 0
        statuses = set(db.scalars(select(Report.status)))
        assert statuses == {"received", "assigned", "resolved"}
        spent = defaultdict(int)
        for p in db.scalars(select(Project)):
            spent[(p.party_id, p.year)] += p.amount_fen
        assert spent, "the seed records fund use where the ledger shows receipts"
        for key, fen in spent.items():
            assert fen <= int(Decimal(RECEIVED[key]) * 100)
    portal.engine.dispose()


def test_report_section_from_portal_db(basin_config, tmp_path):
    """The committee report's section counts what the seeded database holds."""
    from sqlalchemy import select

    from gep.config import load_config
    from gep.paths import Paths
    from gep.portal.models import Chief, Finding, Patrol
    from gep.report.portal_section import portal_section

    cfg = load_config(basin_config)
    p = Paths(cfg)
    assert portal_section(cfg, p, None) is None  # no portal database yet
    r = gep("portal", "seed", "--config", str(basin_config))
    assert r.returncode == 0, r.stderr
    try:
        sec = portal_section(cfg, p, None)
        from .helpers import build

        portal = build(basin_config, None)
        with portal.factory() as db:
            n_acc = len(db.scalars(select(Patrol).join(Chief).where(
                Chief.party_id == WEST, Patrol.status == "accepted")).all())
            n_conf = len(db.scalars(select(Finding).join(Patrol).join(Chief).where(
                Chief.party_id == WEST, Finding.confirmed.is_(True))).all())
        portal.engine.dispose()
        row = [ln for ln in sec["html"].split("<tr>") if f"<td>{WEST}</td>" in ln][0]
        cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
        assert int(cells[1]) == n_acc and int(cells[5]) == n_conf
        assert "median hours" in sec["html"]
    finally:
        p.portal_db.unlink()
