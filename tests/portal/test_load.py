"""Load over loopback against a real uvicorn process (``gep serve``), on SQLite and
PostgreSQL: 20 river chiefs each send 10 patrols at once (200 concurrent submissions, each
with its own Idempotency-Key), then every submission is retried once at the same time as a
client would after a lost response. No submission may be lost or stored twice. No timing is
asserted (throughput figures come from benchmarks/bench_portal.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from .helpers import free_port, patrol_body, wait_port

CHIEFS, PER_CHIEF = 20, 10


@pytest.fixture
def server(basin_config, db_url, tmp_path):
    from gep.portal import services as svc
    from gep.portal.schemas import ApplicationIn

    from .helpers import build

    portal = build(basin_config, db_url)
    tokens = []
    with portal.factory() as db:
        boss = svc.create_user(portal, db, "boss", "password-123", "committee")
        actor = svc.Principal(boss.id, "boss", "committee", None, boss.pseudonym, "test")
        for i in range(CHIEFS):
            c = svc.apply_chief(portal, db, ApplicationIn(
                name=f"Chief {i}", phone="13800001111", party_id="west",
                username=f"load{i:02d}", password="password-123"))
            svc.decide_chief(db, actor, c.id, True)
            tokens.append(portal.tokens.issue(c.user_id, "chief"))
        db.commit()
    portal.engine.dispose()
    port = free_port()
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "gep", "serve", "--config", str(basin_config),
                             "--db", db_url, "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}", tokens, db_url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_concurrent_submissions_no_loss_no_duplicate(server, basin_config):
    import httpx
    from sqlalchemy import func, select

    from gep.portal.models import Patrol

    from .helpers import build

    base, tokens, db_url = server
    jobs = [(c, k) for c in range(CHIEFS) for k in range(PER_CHIEF)]
    limits = httpx.Limits(max_connections=CHIEFS * PER_CHIEF)

    def run_all():
        # a fresh client per round, as a phone retrying after a lost response reconnects
        with httpx.Client(base_url=base, timeout=120, limits=limits) as client:
            def submit(job):
                c, k = job
                body = patrol_body(km=1 + k / 10, x=701_000.0 + 400 * c, hour=6 + k % 12)
                r = client.post("/api/v1/patrols", json=body, headers={
                    "Authorization": f"Bearer {tokens[c]}", "Idempotency-Key": f"c{c}-p{k}"})
                return (job, r.status_code, r.json().get("id"),
                        r.headers.get("Idempotent-Replayed"))

            with ThreadPoolExecutor(max_workers=CHIEFS * PER_CHIEF) as pool:
                return list(pool.map(submit, jobs))

    first = run_all()
    retry = run_all()
    assert [s for _, s, _, _ in first] == [201] * len(jobs)
    assert [s for _, s, _, _ in retry] == [201] * len(jobs)
    ids = {job: pid for job, _, pid, _ in first}
    assert len(set(ids.values())) == len(jobs)  # 200 distinct patrols
    assert {job: pid for job, _, pid, _ in retry} == ids  # every retry got its original
    assert all(rep == "true" for *_, rep in retry)
    portal = build(basin_config, db_url)
    with portal.factory() as db:
        assert db.scalar(select(func.count()).select_from(Patrol)) == len(jobs)
        keys = db.execute(select(Patrol.chief_id, Patrol.idempotency_key)).all()
        assert len(set(keys)) == len(jobs)
        per_chief = db.execute(select(Patrol.chief_id, func.count())
                               .group_by(Patrol.chief_id)).all()
        assert sorted(n for _, n in per_chief) == [PER_CHIEF] * CHIEFS
    portal.engine.dispose()
