"""The upload API: keys (wrong, revoked, another station's), idempotent replays, the file
ingestion rules row by row (422, nothing stored), and the ledger sealing each batch."""
from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import func, select, text

from gep.operations import db
from gep.operations.service import add_key, revoke_keys

URL = "/api/v1/stations/{}/readings"


def _rows(day="2023-03-01", hours=3, indicator="codmn", unit="mg/L", start=2.0):
    return [{"timestamp": f"{day}T{h:02d}:00:00+08:00", "indicator": indicator,
             "value": start + h / 10, "unit": unit} for h in range(hours)]


def _post(client, station, key, body):
    return client.post(URL.format(station), json=body,
                       headers={"Authorization": f"Bearer {key}"} if key else {})


def _count(ctx, table=db.Reading):
    with ctx.Session() as s:
        return s.execute(select(func.count()).select_from(table)).scalar()


def _ledger_records(ctx):
    from gep.ledger.store import Ledger

    with Ledger(ctx.ledger_db, create=False) as lg:
        return [json.loads(raw) for _i, raw in lg.entries()]


def test_accepted_batch_is_stored_and_sealed_in_the_ledger(ctx, client):
    key = add_key(ctx, "boundary")
    body = {"batch_id": "b-1", "readings": _rows()}
    r = _post(client, "boundary", key, body)
    assert r.status_code == 201, r.text
    # the digest: SHA-256 of the batch's canonical JSON, computed here independently
    canon = json.dumps({"station": "boundary", **body}, sort_keys=True, separators=(",", ":"),
                       ensure_ascii=False).encode()
    assert r.json()["digest"] == hashlib.sha256(canon).hexdigest()
    assert _count(ctx) == 3
    recs = _ledger_records(ctx)
    assert recs[r.json()["ledger_index"]]["sha256"] == hashlib.sha256(canon).hexdigest()
    assert recs[r.json()["ledger_index"]]["kind"] == "data_batch"
    # stored values and times are the uploaded ones (UTC ns)
    with ctx.Session() as s:
        got = s.execute(select(db.Reading.ts_ns, db.Reading.value)
                        .order_by(db.Reading.ts_ns)).all()
    t0 = int(dt.datetime(2023, 2, 28, 16, tzinfo=dt.UTC).timestamp()) * 10**9
    assert got == [(t0 + h * 3600 * 10**9, 2.0 + h / 10) for h in range(3)]


def test_replayed_batch_is_idempotent_and_a_changed_one_conflicts(ctx, client):
    key = add_key(ctx, "boundary")
    body = {"batch_id": "b-1", "readings": _rows()}
    first = _post(client, "boundary", key, body).json()
    again = _post(client, "boundary", key, body)
    assert again.status_code == 200 and again.json()["status"] == "exists"
    assert again.json()["digest"] == first["digest"]
    assert again.json()["ledger_index"] == first["ledger_index"]
    assert _count(ctx) == 3 and _count(ctx, db.Batch) == 1
    changed = {"batch_id": "b-1", "readings": _rows(start=9.0)}
    r = _post(client, "boundary", key, changed)
    assert r.status_code == 409 and "other content" in r.json()["detail"]
    assert len(_ledger_records(ctx)) == 1


def test_keys_wrong_missing_revoked_or_of_another_station(ctx, client):
    key = add_key(ctx, "boundary")
    other = add_key(ctx, "linxi_outlet")
    body = {"batch_id": "b-1", "readings": _rows()}
    assert _post(client, "boundary", None, body).status_code == 401
    assert _post(client, "boundary", key + "x", body).status_code == 401
    r = _post(client, "boundary", other, body)
    assert r.status_code == 403 and "another station" in r.json()["detail"]
    assert revoke_keys(ctx, "boundary") == 1
    r = _post(client, "boundary", key, body)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert _count(ctx) == 0 and _count(ctx, db.Batch) == 0
    # only the hash is stored: the key itself is nowhere in the table
    with ctx.Session() as s:
        stored = [tuple(x) for x in s.execute(text("SELECT * FROM ops_station_keys")).all()]
    assert key not in repr(stored) and hashlib.sha256(key.encode()).hexdigest() in repr(stored)


def test_unknown_station_is_404(ctx, client):
    key = add_key(ctx, "boundary")
    assert _post(client, "nowhere", key, {"batch_id": "x", "readings": _rows()}).status_code \
        in (403, 404)


@pytest.mark.parametrize("bad,field,words", [
    ({"indicator": "cod"}, "indicator", "unknown indicator 'cod'"),
    ({"unit": "m3/s"}, "unit", "does not fit indicator 'codmn'"),
    ({"timestamp": "2023-03-01T01:00:00"}, "timestamp", "UTC offset"),
    ({"timestamp": "yesterday"}, "timestamp", "not an ISO 8601"),
    ({"value": "2,5"}, "value", "not a finite number"),
    ({"timestamp": "2023-03-01T00:00:00+08:00"}, "timestamp", "duplicate reading"),
])
def test_a_bad_row_rejects_the_whole_batch(ctx, client, bad, field, words):
    key = add_key(ctx, "boundary")
    rows = _rows()
    rows[1] = {**rows[1], **bad}
    r = _post(client, "boundary", key, {"batch_id": "b-1", "readings": rows})
    assert r.status_code == 422, r.text
    errs = r.json()["errors"]
    assert [e["row"] for e in errs] == [1] and errs[0]["field"] == field
    assert words in errs[0]["problem"]
    assert _count(ctx) == 0 and _count(ctx, db.Batch) == 0
    assert not ctx.ledger_db.exists() or _ledger_records(ctx) == []


def test_gateway_clock_in_the_future(ctx, client):
    key = add_key(ctx, "boundary")
    now = dt.datetime.now(dt.UTC)
    rows = [{"timestamp": (now + dt.timedelta(minutes=m)).isoformat(), "indicator": "codmn",
             "value": 2.0, "unit": "mg/L"} for m in (5, 30)]
    r = _post(client, "boundary", key, {"batch_id": "future", "readings": rows})
    assert r.status_code == 422
    assert [e["row"] for e in r.json()["errors"]] == [1]
    assert "in the future" in r.json()["errors"][0]["problem"]
    assert _count(ctx) == 0


def test_duplicates_and_mixed_units_across_batches(ctx, client):
    key = add_key(ctx, "shanyuan_outlet")
    assert _post(client, "shanyuan_outlet", key, {"batch_id": "a", "readings": _rows(
        indicator="tp", unit="ug/L", start=20)}).status_code == 201
    # the same hour again in another batch: a duplicate
    r = _post(client, "shanyuan_outlet", key, {"batch_id": "b", "readings": _rows(
        indicator="tp", unit="ug/L", start=30)})
    assert r.status_code == 422 and len(r.json()["errors"]) == 3
    assert "already uploaded" in r.json()["errors"][0]["problem"]
    # later hours, but in mg/L: the series would mix units
    r = _post(client, "shanyuan_outlet", key, {"batch_id": "c", "readings": _rows(
        day="2023-03-02", indicator="tp", unit="mg/L", start=0.02)})
    assert r.status_code == 422 and "mix units" in r.json()["errors"][0]["problem"]
    assert _count(ctx) == 3


def test_empty_reading_is_kept_as_missing(ctx, client):
    key = add_key(ctx, "boundary")
    rows = _rows()
    rows[2]["value"] = None
    assert _post(client, "boundary", key, {"batch_id": "n", "readings": rows}).status_code \
        == 201
    with ctx.Session() as s:
        vals = s.execute(select(db.Reading.value).order_by(db.Reading.ts_ns)).scalars().all()
    assert vals[2] is None and vals[:2] == [2.0, 2.1]


def test_malformed_body(ctx, client):
    key = add_key(ctx, "boundary")
    r = _post(client, "boundary", key, {"batch_id": "x", "readings": "nope"})
    assert r.status_code == 422
    r = _post(client, "boundary", key, {"batch_id": "bad id!", "readings": _rows()})
    assert r.status_code == 422 and "batch_id" in r.json()["detail"]
