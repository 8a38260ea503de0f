"""Group commit of uploads (gep.operations.writer): a group of batches decided together gives
each the answer it would get alone, every answer comes after its batch is committed and its
digest is in the ledger, one failing batch costs the others nothing, a failed seal is made
good when the batch is re-sent, and two server processes (two writers) on one database store
each batch once."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from gep.operations import db, writer
from gep.operations.service import accept_batch, add_key, load_context, prepare, revoke_keys

STATIONS = ("boundary", "linxi_outlet", "shanyuan_outlet", "yunling_outlet")


def _rows(hour: int, start: float = 2.0, day: str = "2023-03-01", unit: str = "mg/L",
          indicators=("codmn", "nh3n")):
    return [{"timestamp": f"{day}T{hour:02d}:00:00+08:00", "indicator": ind,
             "value": start + k / 10, "unit": unit} for k, ind in enumerate(indicators)]


def _count(ctx, table):
    with ctx.Session() as s:
        return s.execute(select(func.count()).select_from(table)).scalar()


def _ledger(ctx) -> list[dict]:
    from gep.ledger.store import Ledger

    if not ctx.ledger_db.exists():
        return []
    with Ledger(ctx.ledger_db, create=False) as lg:
        return [json.loads(raw) for _i, raw in lg.entries()]


def _verified(ctx) -> bool:
    from gep.ledger.api import verify

    return verify(ctx.ledger_db).ok


def _batch_row(ctx, station, batch_id):
    B = db.Batch.__table__.c
    with ctx.engine.connect() as c:
        return c.execute(select(B.digest, B.ledger_index).where(
            B.station == station, B.batch_id == batch_id)).first()


def _one_group(ctx, jobs):
    """Run ``jobs`` through the writer as ONE group (it is held while they are queued)."""
    w = ctx.writer()
    with w.paused():
        events = [w.submit(j) for j in jobs]
    for e in events:
        assert e.wait(60)


def test_one_group_answers_each_batch_as_if_it_came_alone(ctx, monkeypatch):
    """Seven uploads decided in ONE group: the same batch twice, the same id with other
    content, a batch repeating readings of an earlier one of the group, a unit switch
    against the group, a bad and a revoked key."""
    key = add_key(ctx, "boundary")
    old = add_key(ctx, "linxi_outlet")
    revoke_keys(ctx, "linxi_outlet")
    jobs = [
        prepare(ctx, "boundary", "a", _rows(1), key=key, check_key=True),
        prepare(ctx, "boundary", "b", _rows(2), key=key, check_key=True),
        prepare(ctx, "boundary", "a", _rows(1), key=key, check_key=True),             # again
        prepare(ctx, "boundary", "a", _rows(1, start=9.0), key=key, check_key=True),  # changed
        prepare(ctx, "boundary", "c", _rows(2, start=5.0), key=key, check_key=True),  # dup rows
        prepare(ctx, "boundary", "d", _rows(3, unit="ug/L", indicators=("tp",)), key=key,
                check_key=True),
        prepare(ctx, "boundary", "e", _rows(4, unit="mg/L", indicators=("tp",)), key=key,
                check_key=True),                                                   # mixes units
        prepare(ctx, "boundary", "f", _rows(5), key=key + "x", check_key=True),
        prepare(ctx, "linxi_outlet", "g", _rows(5), key=old, check_key=True),
    ]
    from gep.ledger.store import Ledger

    real, appends = Ledger.append, []
    monkeypatch.setattr(Ledger, "append", lambda lg, items: appends.append(len(items)) or
                        real(lg, list(items)))
    _one_group(ctx, jobs)
    assert appends == [3]   # the three new batches sealed by ONE ledger transaction
    got = [j.result.status for j in jobs]
    assert got == [201, 201, 200, 409, 422, 201, 422, 401, 401], [j.result for j in jobs]
    assert jobs[2].result.body["ledger_index"] == jobs[0].result.body["ledger_index"]
    assert jobs[2].result.body["digest"] == jobs[0].result.body["digest"]
    assert all("already uploaded" in e["problem"] for e in jobs[4].result.body["errors"])
    assert len(jobs[4].result.body["errors"]) == 2
    assert "mix units" in jobs[6].result.body["errors"][0]["problem"]
    assert "revoked" in jobs[8].result.body["detail"]
    # stored: a, b, d only; one ledger entry each, at the index each answer names
    assert _count(ctx, db.Batch) == 3 and _count(ctx, db.Reading) == 2 + 2 + 1
    recs = _ledger(ctx)
    assert len(recs) == 3
    for j in (jobs[0], jobs[1], jobs[5]):
        assert recs[j.result.body["ledger_index"]]["sha256"] == j.result.body["digest"]
        assert _batch_row(ctx, "boundary", j.batch_id).ledger_index == \
            j.result.body["ledger_index"]
    assert _verified(ctx)


def test_concurrent_uploads_are_stored_and_sealed_before_each_answer(ctx):
    stations = [s for s in STATIONS if s in ctx.station_set()]
    jobs = [(s, h) for s in stations for h in range(8)]

    def post(job):
        station, hour = job
        res = accept_batch(ctx, station, f"{station}-{hour}", _rows(hour))
        # what the answer promises holds at the moment it is given
        row = _batch_row(ctx, station, f"{station}-{hour}")
        sealed = _ledger(ctx)[res.body["ledger_index"]]["sha256"]
        return res.status, row.digest == res.body["digest"], \
            row.ledger_index == res.body["ledger_index"], sealed == res.body["digest"]

    with ThreadPoolExecutor(16) as ex:
        out = list(ex.map(post, jobs))
    assert out == [(201, True, True, True)] * len(jobs)
    assert _count(ctx, db.Batch) == len(jobs)
    assert _count(ctx, db.Reading) == 2 * len(jobs)
    recs = _ledger(ctx)
    assert len(recs) == len(jobs) and len({r["sha256"] for r in recs}) == len(jobs)
    assert _verified(ctx)


def test_a_failing_batch_does_not_cost_the_others_theirs(ctx, monkeypatch):
    real = writer._insert

    def failing(ctx_, c, jobs, known):
        if any(j.batch_id == "poison" for j in jobs):
            raise RuntimeError("disk full (simulated)")
        return real(ctx_, c, jobs, known)

    monkeypatch.setattr(writer, "_insert", failing)
    jobs = [prepare(ctx, "boundary", "ok-1", _rows(1)),
            prepare(ctx, "linxi_outlet", "poison", _rows(1)),
            prepare(ctx, "shanyuan_outlet", "ok-2", _rows(1))]
    _one_group(ctx, jobs)
    assert [j.result.status if j.result else None for j in jobs] == [201, None, 201]
    assert isinstance(jobs[1].error, RuntimeError)
    assert _batch_row(ctx, "linxi_outlet", "poison") is None
    assert _count(ctx, db.Batch) == 2 and _count(ctx, db.Reading) == 4
    assert len(_ledger(ctx)) == 2 and _verified(ctx)
    # through the public call the failure is raised, nothing half stored
    with pytest.raises(RuntimeError, match="simulated"):
        accept_batch(ctx, "linxi_outlet", "poison", _rows(2))
    assert _count(ctx, db.Batch) == 2


def test_a_failed_seal_is_made_good_by_the_resend(ctx, monkeypatch):
    from gep.ledger.store import Ledger

    real = Ledger.append
    calls = []

    def flaky(self, items):
        calls.append(len(items))
        if len(calls) == 1:
            raise OSError("ledger disk gone (simulated)")
        return real(self, items)

    monkeypatch.setattr(Ledger, "append", flaky)
    with pytest.raises(OSError, match="simulated"):
        accept_batch(ctx, "boundary", "late-seal", _rows(1))
    row = _batch_row(ctx, "boundary", "late-seal")
    assert row is not None and row.ledger_index is None      # stored, not sealed: no 201
    res = accept_batch(ctx, "boundary", "late-seal", _rows(1))
    assert res.status == 200 and res.body["status"] == "exists"
    assert _ledger(ctx)[res.body["ledger_index"]]["sha256"] == row.digest
    assert _batch_row(ctx, "boundary", "late-seal").ledger_index == res.body["ledger_index"]


def test_two_server_processes_store_each_batch_once(ctx):
    """Two contexts on one database: two writers, as ``gep serve --workers 2`` runs. Both
    receive every batch at once: each is stored and sealed once, and both answers agree."""
    other = load_context(ctx.config_path, db_url=ctx.db_url)
    try:
        stations = [s for s in STATIONS if s in ctx.station_set()]
        batches = [(s, h) for s in stations for h in range(6)]
        work = [(c, s, h) for s, h in batches for c in (ctx, other)]

        def post(job):
            c, station, hour = job
            return (station, hour), accept_batch(c, station, f"{station}-{hour}", _rows(hour))

        with ThreadPoolExecutor(16) as ex:
            out = list(ex.map(post, work))
    finally:
        other.close()
    by_batch: dict = {}
    for k, res in out:
        by_batch.setdefault(k, []).append(res)
    for k, (r1, r2) in by_batch.items():
        assert sorted([r1.status, r2.status]) == [200, 201], (k, r1, r2)
        assert r1.body["ledger_index"] == r2.body["ledger_index"] is not None
    assert _count(ctx, db.Batch) == len(batches)
    assert _count(ctx, db.Reading) == 2 * len(batches)
    assert len(_ledger(ctx)) == len(batches) and _verified(ctx)


def test_a_waiter_gone_does_not_stop_the_writer(ctx):
    """A request whose event loop is gone (notify raises) is stored all the same, and the
    writer goes on answering the next ones."""
    w = ctx.writer()
    job = prepare(ctx, "boundary", "orphan", _rows(1))

    def gone(_job):
        raise RuntimeError("Event loop is closed")

    job.notify = gone
    w.q.put(job)
    res = accept_batch(ctx, "boundary", "next", _rows(2))
    assert res.status == 201
    assert ctx.writer() is w and w.thread.is_alive()
    assert _batch_row(ctx, "boundary", "orphan").ledger_index is not None


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_recording_the_ledger_index_leaves_every_connection_committing_to_disk(ctx):
    """The ledger index is committed without an fsync (it can be re-derived); the pooled
    connection goes back to synchronous=FULL for the uploads that follow."""
    for k in range(3):
        assert accept_batch(ctx, "boundary", f"b{k}", _rows(k)).status == 201
    conns = [ctx.engine.connect() for _ in range(5)]   # the whole pool, at once
    try:
        # on the driver's connections: no transaction (SQLAlchemy would BEGIN IMMEDIATE)
        assert [c.connection.dbapi_connection.execute("PRAGMA synchronous").fetchone()[0]
                for c in conns] == [2] * 5
    finally:
        for c in conns:
            c.close()
    assert _batch_row(ctx, "boundary", "b2").ledger_index is not None
