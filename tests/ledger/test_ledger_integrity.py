"""Issue 14: a damaged or altered SQLite file never verifies, is never exported as if it were
the record, and publishing on top of it says to restore from backup (never to adopt it)."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from gep.cli import main as gep_main
from gep.errors import GepError, InputDataError
from gep.ledger import api
from .ledger_helpers import transfer_row, write_transfers

# Bytes 96-99 name the SQLite library version that last wrote the file: any value is valid.
HEADER_OFFSETS = [o for o in range(100) if not 96 <= o <= 99]


@pytest.fixture
def ledger_db(tmp_path):
    db = tmp_path / "ledger.db"
    csv = write_transfers(tmp_path / "t.csv", [transfer_row(f"t{i}", f"{100 + i}.00")
                                               for i in range(20)])
    api.append_transfers_csv(db, csv)
    assert api.verify(db).ok
    return db


def _flip(src: Path, dst: Path, offset: int) -> Path:
    data = bytearray(src.read_bytes())
    data[offset] ^= 0x01
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize("offset", HEADER_OFFSETS)
def test_a_flipped_header_byte_never_verifies(ledger_db, tmp_path, offset, capsys):
    bad = _flip(ledger_db, tmp_path / "flipped.db", offset)
    code = gep_main(["ledger", "verify", "--db", str(bad)])
    out = capsys.readouterr()
    assert code in (1, 2), f"byte {offset} flipped and verify still says {out.out!r}"
    assert "OK:" not in out.out
    assert "Traceback" not in out.err


def test_integrity_check_finds_a_damaged_page(ledger_db, tmp_path):
    # Byte 20 (reserved space per page) makes every b-tree page read wrongly.
    bad = _flip(ledger_db, tmp_path / "flipped.db", 20)
    report = api.verify(bad)
    text = report.summary()
    assert not report.ok
    assert "reserved space per page (byte 20) is 1, expected 0" in text
    assert "SQLite integrity check" in text


def _tamper_amount(db: Path, index: int, new_amount: str) -> None:
    conn = sqlite3.connect(db)
    raw = conn.execute("SELECT entry FROM entries WHERE idx=?", (index,)).fetchone()[0]
    rec = json.loads(raw)
    old = rec["amount_cny"]
    conn.execute("UPDATE entries SET entry=? WHERE idx=?",
                 (raw.replace(f'"amount_cny":"{old}"'.encode(),
                              f'"amount_cny":"{new_amount}"'.encode()), index))
    conn.commit()
    conn.close()


def test_export_refuses_a_tampered_ledger(ledger_db, tmp_path, capsys):
    _tamper_amount(ledger_db, 5, "999999.00")
    out_file = tmp_path / "export.jsonl"
    assert gep_main(["ledger", "export", "--db", str(ledger_db), "--out", str(out_file)]) == 2
    assert gep_main(["ledger", "export", "--db", str(ledger_db)]) == 2
    cap = capsys.readouterr()
    assert "999999" not in cap.out and cap.out == ""      # nothing altered reaches stdout
    assert not out_file.exists()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 2 and all("fails verification" in ln and "entry 5" in ln
                                   and "backup" in ln for ln in lines)


def test_export_of_a_good_ledger_still_works(ledger_db, tmp_path):
    out_file = tmp_path / "export.jsonl"
    assert gep_main(["ledger", "export", "--db", str(ledger_db), "--out", str(out_file)]) == 0
    rows = [json.loads(line) for line in out_file.read_text(encoding="utf-8").splitlines()]
    assert [r["record"]["amount_cny"] for r in rows] == [f"{100 + i}.00" for i in range(20)]


def test_resubmitting_after_tampering_never_says_adopt_the_stored_value(ledger_db, tmp_path):
    _tamper_amount(ledger_db, 3, "1.00")
    csv = write_transfers(tmp_path / "again.csv", [transfer_row("t3", "103.00")])
    with pytest.raises(InputDataError) as err:
        api.append_transfers_csv(ledger_db, csv)
    msg = str(err.value)
    assert "restore the recorded value" not in msg
    assert "never adopt the stored value" in msg and "backup" in msg


def test_publish_on_a_tampered_ledger_says_restore_from_backup(tmp_path):
    from gep.config import validate
    from gep.paths import Paths
    from gep.publish import publish

    cfg = validate({"basin": "t", "years": [2021, 2022], "results_dir": "results",
                    "compensation": {"agreement": "agreement.yaml"},
                    "monitoring": {"enabled": False},
                    "ledger": {"key_dir": "keys"}}, config_dir=tmp_path)
    p = Paths(cfg)
    for f in (p.gep_csv, p.increments_csv):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("party_id,gep_cny\na,1.00\n", encoding="utf-8")
    repo_config = Path(__file__).resolve().parents[2] / "config"
    (tmp_path / "agreement.yaml").write_bytes((repo_config / "agreement.yaml").read_bytes())
    p.party_file("parties.csv").parent.mkdir(parents=True)
    p.party_file("parties.csv").write_text("party_id,name,name_zh\nanhui,Anhui,安徽\n"
                                           "zhejiang,Zhejiang,浙江\n", encoding="utf-8")
    comp = p.compensation / "transfers.csv"
    comp.parent.mkdir(parents=True)
    write_transfers(comp, [transfer_row(f"t{i}") for i in range(3)])
    out = publish(cfg)
    assert api.verify(out["db"]).ok
    conn = sqlite3.connect(out["db"])
    first_transfer = conn.execute("SELECT min(idx) FROM entries WHERE type='transfer'"
                                  ).fetchone()[0]
    conn.close()
    _tamper_amount(out["db"], first_transfer, "7.00")
    before = out["db"].read_bytes()
    with pytest.raises(GepError) as err:
        publish(cfg)
    msg = str(err.value)
    assert "fails verification" in msg and "backup" in msg
    assert "restore the recorded value" not in msg
    assert out["db"].read_bytes() == before          # nothing appended to the altered log
