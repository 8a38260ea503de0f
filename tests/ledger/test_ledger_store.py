"""The SQLite store: canonical entries, idempotent transfers, balances, digests, alerts, proofs,
durability settings, and the ``gep ledger`` command end to end."""
from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gep.cli import main as gep_main
from gep.errors import InputDataError
from gep.ledger import api, merkle
from gep.ledger.audit import verify_ledger
from gep.ledger.records import transfer_canonical_bytes, transfer_record
from gep.ledger.store import Item, Ledger, TransferConflictError

from .ledger_helpers import canonical, mth, transfer_row, write_transfers


def _entries(db) -> list[bytes]:
    with Ledger(db, create=False) as lg:
        return [raw for _, raw in lg.entries()]


def test_entries_are_canonical_json_and_tree_matches_rfc(tmp_path):
    db = tmp_path / "l.db"
    rows = [transfer_row("T1", "1250000"), transfer_row("T2", "0.5", frm="xiahe", to="linxi",
                                                        explanation='引号 "quoted", comma')]
    api.append_transfers_csv(db, write_transfers(tmp_path / "t.csv", rows))
    raw = _entries(db)
    want0 = {"type": "transfer", "kind": "settlement", "transfer_id": "T1", "year": 2021,
             "clause": "base", "from_account": "zhejiang", "to_account": "anhui",
             "amount_cny": "1250000.00", "explanation": "基础补偿 base payment"}
    assert raw[0] == canonical(want0)
    assert json.loads(raw[1])["amount_cny"] == "0.50"
    assert "引号".encode() in raw[1]  # UTF-8, not \u escapes
    with Ledger(db, create=False) as lg:
        assert lg.root() == mth(raw)
        assert lg.leaf_hash(1) == hashlib.sha256(b"\x00" + raw[1]).digest()


def test_durability_settings(tmp_path):
    db = tmp_path / "l.db"
    with Ledger(db) as lg:
        assert lg.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert lg.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_idempotent_retry_reports_exists(tmp_path):
    db = tmp_path / "l.db"
    csv_path = write_transfers(tmp_path / "t.csv", [transfer_row("T1"), transfer_row("T2")])
    first = api.append_transfers_csv(db, csv_path)
    assert [r.status for r in first.results] == ["appended", "appended"]
    again = api.append_transfers_csv(db, csv_path)
    assert [r.status for r in again.results] == ["exists", "exists"]
    assert [r.index for r in again.results] == [0, 1]
    assert again.size == 2
    # Equal after normalisation: "100" and "100.00" are the same amount.
    same = write_transfers(tmp_path / "s.csv", [transfer_row("T1", "100")])
    assert api.append_transfers_csv(db, same).results[0].status == "exists"


@pytest.mark.parametrize("field,value", [
    ("amount_cny", "100.01"), ("year", "2022"), ("clause", "performance"),
    ("from_account", "xiahe"), ("to_account", "linxi"), ("explanation", "changed"),
])
def test_conflicting_retry_is_refused_naming_the_field(tmp_path, field, value):
    db = tmp_path / "l.db"
    api.append_transfers_csv(db, write_transfers(tmp_path / "a.csv", [transfer_row("T1")]))
    with Ledger(db, create=False) as lg:
        before = (lg.size, lg.root(), lg.balances())
    row = transfer_row("T1")
    row[field] = value
    # The conflicting row comes after a new, valid one: the whole batch must be refused.
    path = write_transfers(tmp_path / "b.csv", [transfer_row("T9"), row])
    with pytest.raises(TransferConflictError) as exc:
        api.append_transfers_csv(db, path)
    assert exc.value.field == field
    assert f"field '{field}'" in str(exc.value) and "line 3" in str(exc.value)
    with Ledger(db, create=False) as lg:
        assert (lg.size, lg.root(), lg.balances()) == before


def test_conflicting_kind_is_refused(tmp_path):
    db = tmp_path / "l.db"
    path = write_transfers(tmp_path / "a.csv", [transfer_row("T1")])
    api.append_transfers_csv(db, path, kind="settlement")
    with pytest.raises(TransferConflictError, match="kind"):
        api.append_transfers_csv(db, path, kind="disbursement")


def test_conflict_within_one_batch(tmp_path):
    db = tmp_path / "l.db"
    path = write_transfers(tmp_path / "a.csv", [transfer_row("T1"), transfer_row("T1", "5")])
    with pytest.raises(TransferConflictError, match="amount_cny"):
        api.append_transfers_csv(db, path)
    with Ledger(db, create=False) as lg:
        assert lg.size == 0
    dup = write_transfers(tmp_path / "b.csv", [transfer_row("T1"), transfer_row("T1")])
    res = api.append_transfers_csv(db, dup)
    assert [r.status for r in res.results] == ["appended", "exists"]


@pytest.mark.parametrize("field,value,fragment", [
    ("amount_cny", "-5", "not positive"),
    ("amount_cny", "0", "not positive"),
    ("amount_cny", "1.005", "more than two decimal places"),
    ("amount_cny", "abc", "not a decimal number"),
    ("amount_cny", "NaN", "not finite"),
    ("year", "twenty", "not an integer"),
    ("transfer_id", "", "empty"),
    ("to_account", "zhejiang", "both"),
])
def test_bad_rows_write_nothing(tmp_path, field, value, fragment):
    db = tmp_path / "l.db"
    row = transfer_row("T2")
    row[field] = value
    path = write_transfers(tmp_path / "a.csv", [transfer_row("T1"), row])
    with pytest.raises(InputDataError) as exc:
        api.append_transfers_csv(db, path)
    assert fragment in str(exc.value) and exc.value.line == 3
    assert exc.value.field == field
    assert not db.exists() or _entries(db) == []


def test_missing_column_is_named(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("transfer_id,year,clause,from_account,to_account,explanation\n"
                 "T1,2021,base,a,b,x\n", encoding="utf-8")
    with pytest.raises(InputDataError) as exc:
        api.append_transfers_csv(tmp_path / "l.db", p)
    assert exc.value.field == "amount_cny"


def test_balances_are_double_entry(tmp_path):
    db = tmp_path / "l.db"
    rows = [transfer_row("A", "10.10", frm="zhejiang", to="anhui"),
            transfer_row("B", "2.25", frm="anhui", to="shanyuan"),
            transfer_row("C", "0.01", frm="xiahe", to="shanyuan")]
    api.append_transfers_csv(db, write_transfers(tmp_path / "t.csv", rows))
    want: dict[str, list[Decimal]] = {}
    for r in rows:  # appended as settlements: the settlement book
        want.setdefault("settlement:" + r["from_account"], [Decimal(0), Decimal(0)])[0] += \
            Decimal(r["amount_cny"])
        want.setdefault("settlement:" + r["to_account"], [Decimal(0), Decimal(0)])[1] += \
            Decimal(r["amount_cny"])
    with Ledger(db, create=False) as lg:
        got = {a: [Decimal(d) / 100, Decimal(c) / 100] for a, (d, c) in lg.balances().items()}
    assert got == want
    assert sum(d for d, _ in got.values()) == sum(c for _, c in got.values())


def test_settlement_and_disbursement_are_separate_books(tmp_path):
    """The daily cash flows that pay an annual obligation must not count it twice."""
    db = tmp_path / "l.db"
    api.append_transfers_csv(db, write_transfers(
        tmp_path / "s.csv", [transfer_row("S", "100.00", frm="central", to="shanyuan")]))
    api.append_transfers_csv(db, write_transfers(
        tmp_path / "d.csv", [transfer_row("D1", "60.00", frm="central", to="shanyuan"),
                             transfer_row("D2", "40.00", frm="central", to="shanyuan")]),
        kind="disbursement")
    with Ledger(db, create=False) as lg:
        b = lg.balances()
    assert b["settlement:shanyuan"] == (0, 10000)
    assert b["disbursement:shanyuan"] == (0, 10000)
    assert "shanyuan" not in b


def test_digests_keyed_by_content(tmp_path):
    db = tmp_path / "l.db"
    f = tmp_path / "gep_2021.csv"
    f.write_bytes(b"year,party_id,value\n2021,shanyuan,1.5\n")
    r1 = api.append_digest(db, f, "gep_table", "GEP 2021, all parties")
    r2 = api.append_digest(db, f, "gep_table", "GEP 2021, all parties")
    assert (r1.appended, r2.exists, r2.size) == (1, 1, 1)
    rec = json.loads(_entries(db)[0])
    assert rec == {"type": "digest", "kind": "gep_table", "covers": "GEP 2021, all parties",
                   "file": "gep_2021.csv", "size_bytes": f.stat().st_size,
                   "sha256": hashlib.sha256(f.read_bytes()).hexdigest()}
    f.write_bytes(b"year,party_id,value\n2021,shanyuan,1.6\n")  # new content -> new entry
    assert api.append_digest(db, f, "gep_table", "GEP 2021, all parties").appended == 1
    with pytest.raises(InputDataError, match="kind"):
        api.append_digest(db, f, "weather", "x")


def test_alerts_stored_as_given_and_idempotent(tmp_path):
    db = tmp_path / "l.db"
    p = tmp_path / "alerts.csv"
    p.write_text("date,section,indicator,value,action\n"
                 "2021-07-03,boundary,NH3-N,1.40,pause\n"
                 "2021-07-04,boundary,TP,0.25,pause\n", encoding="utf-8")
    assert api.append_alerts_csv(db, p).appended == 2
    assert api.append_alerts_csv(db, p).exists == 2
    recs = [json.loads(r) for r in _entries(db)]
    assert recs[0] == {"type": "alert", "fields": {"date": "2021-07-03", "section": "boundary",
                                                   "indicator": "NH3-N", "value": "1.40",
                                                   "action": "pause"}}


def test_store_proofs_verify_and_match_oracle(tmp_path):
    db = tmp_path / "l.db"
    rows = [transfer_row(f"T{i}", f"{i + 1}.00") for i in range(13)]
    # Three batches so the tree's right edge is carried across transactions.
    for k, chunk in enumerate((rows[:5], rows[5:6], rows[6:])):
        api.append_transfers_csv(db, write_transfers(tmp_path / f"{k}.csv", chunk))
    raw = _entries(db)
    with Ledger(db, create=False) as lg:
        for n in range(14):
            assert lg.root(n) == mth(raw[:n])
        for i in range(13):
            merkle.verify_inclusion(i, 13, merkle.leaf_hash(raw[i]), lg.inclusion_proof(i),
                                    mth(raw))
        for m in range(1, 13):
            merkle.verify_consistency(m, 13, mth(raw[:m]), mth(raw), lg.consistency_proof(m))


def test_reopen_and_non_ledger_files(tmp_path):
    db = tmp_path / "l.db"
    api.append_transfers_csv(db, write_transfers(tmp_path / "a.csv", [transfer_row("T1")]))
    api.append_transfers_csv(db, write_transfers(tmp_path / "b.csv", [transfer_row("T2")]))
    assert len(_entries(db)) == 2
    other = tmp_path / "other.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE x(a)")
    con.commit()
    con.close()
    with pytest.raises(InputDataError, match="not a gep ledger"):
        Ledger(other)
    con = sqlite3.connect(other)  # the foreign file was left as it was (not switched to WAL)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some text long enough" * 10)
    with pytest.raises(InputDataError, match="not an SQLite database"):
        Ledger(text)
    with pytest.raises(InputDataError, match="no ledger database"):
        Ledger(tmp_path / "missing.db", create=False)


# ------------------------------------------------------------------------------ CLI
def test_cli_end_to_end(tmp_path, capsys):
    db, keydir = str(tmp_path / "l.db"), tmp_path / "keys"
    t = write_transfers(tmp_path / "t.csv", [transfer_row("T1"), transfer_row("T2", "3.00")])
    assert gep_main(["ledger", "keygen", "--name", "gep.example/demo", "--out",
                     str(keydir)]) == 0
    assert gep_main(["ledger", "append", "--db", db, "--transfers", str(t)]) == 0
    assert "appended 2" in capsys.readouterr().out
    assert gep_main(["ledger", "append", "--db", db, "--transfers", str(t),
                     "--kind", "settlement"]) == 0
    assert "already present 2" in capsys.readouterr().out
    rep = tmp_path / "report.html"
    rep.write_text("<p>report</p>", encoding="utf-8")
    assert gep_main(["ledger", "append", "--db", db, "--digest", str(rep), "--kind", "report",
                     "--covers", "annual report 2021"]) == 0
    cp, vk = tmp_path / "checkpoint", tmp_path / "verifier.vkey"
    assert gep_main(["ledger", "checkpoint", "--db", db, "--key", str(keydir / "signer.key"),
                     "--origin", "gep.example/demo", "--out", str(cp),
                     "--vkey-out", str(vk)]) == 0
    capsys.readouterr()
    lines = cp.read_text(encoding="utf-8").split("\n")
    raw = _entries(db)
    assert lines[:3] == ["gep.example/demo", "3", base64.b64encode(mth(raw)).decode()]
    assert lines[4].startswith("— gep.example/demo ")
    assert vk.read_text().strip() == (keydir / "verifier.vkey").read_text().strip()
    assert gep_main(["ledger", "verify", "--db", db, "--checkpoint", str(cp),
                     "--vkey", str(vk)]) == 0
    assert capsys.readouterr().out.startswith("OK: 3 entries")
    assert gep_main(["ledger", "export", "--db", db]) == 0
    out = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [o["index"] for o in out] == [0, 1, 2]
    assert all(canonical(o["record"]) == raw[o["index"]] for o in out)
    assert all(o["leaf_hash"] == hashlib.sha256(b"\x00" + raw[o["index"]]).hexdigest()
               for o in out)
    assert gep_main(["ledger", "prove", "--db", db, "--entry", "1"]) == 0
    proof = json.loads(capsys.readouterr().out)
    assert proof["tree_size"] == 3 and proof["checkpoint"] == cp.read_text(encoding="utf-8")
    merkle.verify_inclusion(1, 3, bytes.fromhex(proof["leaf_hash"]),
                            [bytes.fromhex(h) for h in proof["inclusion_path"]], mth(raw))
    assert gep_main(["ledger", "prove", "--db", db, "--from-size", "1"]) == 0
    cons = json.loads(capsys.readouterr().out)
    merkle.verify_consistency(1, 3, mth(raw[:1]), mth(raw),
                              [bytes.fromhex(h) for h in cons["consistency_path"]])
    # User errors exit 2 with a message naming the file and the fix.
    assert gep_main(["ledger", "append", "--db", db, "--digest", str(rep)]) == 2
    assert "--kind and --covers" in capsys.readouterr().err
    assert gep_main(["ledger", "verify", "--db", str(tmp_path / "nope.db")]) == 2


def test_checkpoint_refuses_other_origin_and_tampered_log(tmp_path, keys):
    skey, _ = keys
    db = tmp_path / "l.db"
    api.append_transfers_csv(db, write_transfers(tmp_path / "a.csv", [transfer_row("T1")]))
    api.write_checkpoint(db, skey, "gep.example/test", tmp_path / "cp1")
    with pytest.raises(InputDataError, match="origin"):
        api.write_checkpoint(db, skey, "another/origin", tmp_path / "cp2")
    con = sqlite3.connect(db)
    con.execute("UPDATE entries SET entry = replace(entry, '100.00', '900.00')")
    con.commit()
    con.close()
    with pytest.raises(InputDataError, match="refusing to sign"):
        api.write_checkpoint(db, skey, "gep.example/test", tmp_path / "cp3")
    assert not (tmp_path / "cp3").exists()


def test_checkpoint_is_idempotent_at_same_size(tmp_path, keys):
    skey, _ = keys
    db = tmp_path / "l.db"
    api.append_transfers_csv(db, write_transfers(tmp_path / "a.csv", [transfer_row("T1")]))
    api.write_checkpoint(db, skey, "gep.example/test", tmp_path / "cp")
    first = (tmp_path / "cp").read_text()
    api.write_checkpoint(db, skey, "gep.example/test", tmp_path / "cp")
    assert (tmp_path / "cp").read_text() == first  # Ed25519 is deterministic
    with Ledger(db, create=False) as lg:
        assert len(lg.checkpoints()) == 1


def test_import_is_light():
    """Appending must not load numpy/pandas/rasterio (nor cryptography)."""
    import subprocess
    import sys

    code = ("import sys, gep.ledger, gep.ledger.api, gep.ledger.store, gep.ledger.cli\n"
            "bad = [m for m in ('numpy', 'pandas', 'rasterio', 'cryptography', 'jinja2') "
            "if m in sys.modules]\nprint(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_concurrent_writers_are_serialised(tmp_path):
    """Two connections appending at once (as two pipeline rules might): nothing lost or torn."""
    import threading

    db = tmp_path / "l.db"
    Ledger(db).close()
    errors = []

    def writer(tag):
        try:
            with Ledger(db) as lg:
                for b in range(15):
                    lg.append([Item(transfer_record(transfer_row(f"{tag}{b}-{j}", "1.00"),
                                                    "settlement")) for j in range(3)])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Ledger(db, create=False) as lg:
        assert verify_ledger(lg).ok
        ids = [json.loads(raw)["transfer_id"] for _, raw in lg.entries()]
        assert lg.root() == mth([raw for _, raw in lg.entries()])
    assert sorted(ids) == sorted(f"{t}{b}-{j}" for t in "AB" for b in range(15) for j in range(3))
    # Each batch of three is contiguous: transactions did not interleave.
    for k in range(0, len(ids), 3):
        assert len({i.rsplit("-", 1)[0] for i in ids[k:k + 3]}) == 1


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({
    "transfer_id": st.text(min_size=1), "clause": st.text(), "explanation": st.text(),
    "from_account": st.text(min_size=1), "to_account": st.text(min_size=1),
    "amount_cny": st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e15"), places=2
                              ).map(lambda d: f"{d:.2f}"),
    "year": st.integers(-10**6, 10**6), "kind": st.sampled_from(["settlement", "disbursement"]),
}))
def test_fast_transfer_encoding_equals_the_contract(fields):
    """verify's fast path produces exactly json.dumps(sort_keys, (",", ":"), ensure_ascii=False)."""
    record = {"type": "transfer", **fields}
    assert transfer_canonical_bytes(record) == canonical(record)
