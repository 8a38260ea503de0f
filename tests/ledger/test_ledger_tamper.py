"""Tampering with the database is caught by ``verify`` and the bad entry is named.

Each test edits the SQLite file directly (as an insider with write access would) and checks
that verification fails and points at the entry that was changed, moved, deleted or cut off;
and that checkpoints signed by any key but the published one are rejected.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3

import pytest

from gep.cli import main as gep_main
from gep.ledger import api
from gep.ledger.audit import verify_ledger
from gep.ledger.note import Checkpoint, Signer, load_verifiers, sign_checkpoint
from gep.ledger.records import record_key
from gep.ledger.store import Item, Ledger

from .ledger_helpers import mth, transfer_row, write_transfers

N_ENTRIES = 13


@pytest.fixture
def ledger(tmp_path, keys):
    """13 entries (10 transfers, 2 digests, 1 alert), checkpoints at sizes 6 and 13."""
    skey, vkey = keys
    db = tmp_path / "l.db"
    rows = [transfer_row(f"T{i}", f"{(i + 1) * 1000}.{i:02d}", year=2020 + i % 3,
                         frm=["zhejiang", "xiahe"][i % 2], to=["anhui", "shanyuan", "linxi"][i % 3])
            for i in range(10)]
    api.append_transfers_csv(db, write_transfers(tmp_path / "a.csv", rows[:6]))
    api.write_checkpoint(db, skey, "gep.example/test", tmp_path / "cp6")
    api.append_transfers_csv(db, write_transfers(tmp_path / "b.csv", rows[6:]),
                             kind="disbursement")
    for k in range(2):
        f = tmp_path / f"data{k}.csv"
        f.write_text(f"t,v\n{k},1\n", encoding="utf-8")
        api.append_digest(db, f, "data_batch", f"boundary sensors day {k}")
    alerts = tmp_path / "alerts.csv"
    alerts.write_text("date,section,indicator\n2021-07-03,boundary,NH3-N\n", encoding="utf-8")
    api.append_alerts_csv(db, alerts)
    cp = tmp_path / "checkpoint"
    api.write_checkpoint(db, skey, "gep.example/test", cp)
    return db, cp, vkey, skey


def _report(db, cp, vkey):
    return api.verify(db, cp, [vkey])


def _sql(db, *statements):
    con = sqlite3.connect(db)
    for stmt, args in statements:
        con.execute(stmt, args)
    con.commit()
    con.close()


def test_untouched_ledger_verifies(ledger):
    db, cp, vkey, _ = ledger
    rep = _report(db, cp, vkey)
    assert rep.ok, rep.summary()
    assert rep.size == N_ENTRIES and rep.checkpoints_checked == 2


def test_changing_any_byte_of_any_entry_is_named(ledger):
    """Exhaustive: every byte of every stored entry, one at a time."""
    db, cp, vkey, _ = ledger
    note = cp.read_text(encoding="utf-8")
    verifiers = load_verifiers([vkey])
    with Ledger(db, create=False) as lg:
        originals = [raw for _, raw in lg.entries()]
        assert len(originals) == N_ENTRIES
        checked = 0
        lg.conn.execute("BEGIN")  # one transaction, rolled back: no fsync per edit
        for idx, raw in enumerate(originals):
            for pos in range(len(raw)):
                bad = bytearray(raw)
                bad[pos] ^= 0x01
                lg.conn.execute("UPDATE entries SET entry=? WHERE idx=?", (bytes(bad), idx))
                rep = verify_ledger(lg, note, verifiers)
                assert not rep.ok and rep.first_bad_entry == idx, (idx, pos, rep.summary())
                checked += 1
            lg.conn.execute("UPDATE entries SET entry=? WHERE idx=?", (raw, idx))
        assert verify_ledger(lg, note, verifiers).ok
        lg.conn.execute("ROLLBACK")
    assert checked == sum(len(r) for r in originals)


def test_cli_names_the_bad_entry(ledger, capsys):
    db, cp, vkey, _ = ledger
    _sql(db, ("UPDATE entries SET entry=replace(entry, 'T3', 'T8') WHERE idx=3", ()))
    assert gep_main(["ledger", "verify", "--db", str(db), "--checkpoint", str(cp),
                     "--vkey", str(vkey)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("FAIL: first bad entry 3")


@pytest.mark.parametrize("idx", [5, 12])
def test_change_with_recomputed_leaf_hash_is_caught(ledger, idx):
    """The attacker also rewrites the leaf hash: the tree above, or the checkpoint, catches it."""
    db, cp, vkey, _ = ledger
    with Ledger(db, create=False) as lg:
        raw = lg.entry(idx)
    # A canonical edit (explanation of transfer 5, indicator of the alert at 12), with the
    # record's key and the leaf hash rewritten to match.
    bad = raw.replace(b"base payment", b"base paymenT").replace(b"NH3-N", b"NH3-X")
    assert bad != raw
    record = json.loads(bad)
    _sql(db, ("UPDATE entries SET entry=?, key=? WHERE idx=?", (bad, record_key(record), idx)),
         ("UPDATE nodes SET hash=? WHERE level=0 AND idx=?",
          (hashlib.sha256(b"\x00" + bad).digest(), idx)))
    rep = _report(db, cp, vkey)
    assert not rep.ok
    text = rep.summary()
    if idx == 5:  # inside a complete pair: the level-1 node over entries 4..5 disagrees
        assert "entries 4..5" in text
    else:  # entry 12 has no complete parent yet: only the signed root (size 13) catches it
        assert "an entry in 6..12 was altered" in text


@pytest.mark.parametrize("i,j", [(0, 1), (2, 9), (7, 12)])
def test_reordering_is_named(ledger, i, j):
    db, cp, vkey, _ = ledger
    con = sqlite3.connect(db)
    ri = con.execute("SELECT key, type, entry FROM entries WHERE idx=?", (i,)).fetchone()
    rj = con.execute("SELECT key, type, entry FROM entries WHERE idx=?", (j,)).fetchone()
    con.execute("UPDATE entries SET key='tmp' WHERE idx=?", (i,))
    con.execute("UPDATE entries SET key=?, type=?, entry=? WHERE idx=?", (*ri, j))
    con.execute("UPDATE entries SET key=?, type=?, entry=? WHERE idx=?", (*rj, i))
    con.commit()
    con.close()
    rep = _report(db, cp, vkey)
    assert not rep.ok and rep.first_bad_entry == i, rep.summary()


@pytest.mark.parametrize("idx", [0, 4, 11])
def test_deleting_an_entry_is_named(ledger, idx):
    db, cp, vkey, _ = ledger
    _sql(db, ("DELETE FROM entries WHERE idx=?", (idx,)))
    rep = _report(db, cp, vkey)
    assert not rep.ok and rep.first_bad_entry == idx, rep.summary()
    assert f"entry {idx}: entry is missing" in rep.summary()


def test_deleting_and_renumbering_is_named(ledger):
    db, cp, vkey, _ = ledger
    _sql(db, ("DELETE FROM entries WHERE idx=4", ()),
         ("UPDATE entries SET idx=idx-1 WHERE idx>4", ()))
    rep = _report(db, cp, vkey)
    assert not rep.ok and rep.first_bad_entry == 4, rep.summary()


@pytest.mark.parametrize("keep", [0, 7, 12])
def test_truncation_is_named(ledger, keep):
    """Cut the log and its whole tree back to ``keep`` entries, consistently: only the signed
    checkpoint (size 13) still remembers the lost entries."""
    db, cp, vkey, _ = ledger
    stmts = [("DELETE FROM entries WHERE idx>=?", (keep,))]
    for level in range(5):
        stmts.append(("DELETE FROM nodes WHERE level=? AND idx>=?", (level, keep >> level)))
    _sql(db, *stmts)
    rep = _report(db, cp, vkey)
    assert not rep.ok and rep.first_bad_entry == keep, rep.summary()
    assert f"entries {keep}..12 are missing" in rep.summary()


def test_truncating_entries_only_is_named(ledger):
    db, cp, vkey, _ = ledger
    _sql(db, ("DELETE FROM entries WHERE idx>=10", ()))
    rep = _report(db, cp, vkey)
    assert not rep.ok and rep.first_bad_entry == 10


def test_consistent_rewrite_is_caught_by_the_signed_checkpoint(ledger, tmp_path):
    """An insider rebuilds a fully self-consistent database with one amount changed and copies
    the signed checkpoints over: every hash in it agrees, but not with the signatures."""
    db, cp, vkey, _ = ledger
    with Ledger(db, create=False) as lg:
        records = [raw for _, raw in lg.entries()]
        rows = lg.checkpoints()
    forged = tmp_path / "forged.db"

    with Ledger(forged) as lg:
        recs = [json.loads(r) for r in records]
        recs[2]["amount_cny"] = "1.00"
        lg.append([Item(r) for r in recs])
        for _, size, root, origin, note in rows:
            lg.conn.execute("INSERT INTO checkpoints(tree_size, root, origin, note) "
                            "VALUES (?,?,?,?)", (size, root, origin, note))
        assert lg.root() == mth([json.dumps(r, sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=False).encode() for r in recs])
    rep = _report(forged, cp, vkey)
    assert not rep.ok
    assert "an entry in 0..5 was altered" in rep.summary()  # entry 2 is before size 6
    # Copying the whole forged file over the real one fails the same way.
    shutil.copyfile(forged, db)
    assert not _report(db, cp, vkey).ok


def test_tampered_balances_are_named(ledger):
    db, cp, vkey, _ = ledger
    _sql(db, ("UPDATE accounts SET credits_fen=credits_fen+1 "
              "WHERE account_id='settlement:anhui'", ()))
    rep = _report(db, cp, vkey)
    assert not rep.ok and "account 'settlement:anhui'" in rep.summary()


def test_checkpoint_signed_by_unknown_key_is_rejected(ledger, tmp_path):
    db, cp, vkey, _ = ledger
    with Ledger(db, create=False) as lg:
        size, root = lg.size, lg.root()
    mallory = Signer.generate("gep.example/test")  # same name, different key
    forged = tmp_path / "forged_cp"
    forged.write_text(sign_checkpoint(Checkpoint("gep.example/test", size, root), mallory),
                      encoding="utf-8")
    rep = api.verify(db, forged, [vkey])
    assert not rep.ok and "unknown key" in rep.summary()
    # ...and smuggled into the database it fails too.
    _sql(db, ("INSERT INTO checkpoints(tree_size, root, origin, note) VALUES (?,?,?,?)",
              (size, root, "gep.example/test", forged.read_text(encoding="utf-8"))))
    rep = _report(db, cp, vkey)
    assert not rep.ok and "unknown key" in rep.summary()


def test_edited_checkpoint_note_fails_signature(ledger, tmp_path):
    db, cp, vkey, _ = ledger
    lines = cp.read_text(encoding="utf-8").split("\n")
    lines[1] = "12"
    bad = tmp_path / "bad_cp"
    bad.write_text("\n".join(lines), encoding="utf-8")
    rep = api.verify(db, bad, [vkey])
    assert not rep.ok and "invalid signature" in rep.summary()


def test_tampered_tree_node_is_reported(ledger):
    db, cp, vkey, _ = ledger
    _sql(db, ("UPDATE nodes SET hash=zeroblob(32) WHERE level=2 AND idx=1", ()))
    rep = _report(db, cp, vkey)
    assert not rep.ok and "level 2, index 1" in rep.summary() and "entries 4..7" in rep.summary()


def test_parallel_scan_agrees_with_single_process(ledger):
    """Big logs are scanned by worker processes; they must find exactly the same things."""
    db, cp, vkey, _ = ledger
    note, verifiers = cp.read_text(encoding="utf-8"), load_verifiers([vkey])
    with Ledger(db, create=False) as lg:
        one = verify_ledger(lg, note, verifiers, workers=1)
        three = verify_ledger(lg, note, verifiers, workers=3)
    assert one.ok and three.ok and one.root == three.root and one.size == three.size
    _sql(db, ("DELETE FROM entries WHERE idx=4", ()),  # a gap at a chunk boundary
         ("UPDATE entries SET entry=replace(entry, 'T8', 'T9') WHERE idx=8", ()),
         ("UPDATE accounts SET debits_fen=0 WHERE account_id='settlement:xiahe'", ()))
    with Ledger(db, create=False) as lg:
        one = verify_ledger(lg, note, verifiers, workers=1)
        three = verify_ledger(lg, note, verifiers, workers=3)
    assert not one.ok and one.first_bad_entry == 4
    assert sorted(map(str, one.problems)) == sorted(map(str, three.problems))
    assert one.root == three.root
