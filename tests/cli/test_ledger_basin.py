"""``gep ledger ... --config BASIN``: keys, database, checkpoint and site where Paths says."""
from __future__ import annotations

import yaml

from gep.cli import main
from gep.config import load_config
from gep.paths import Paths


def test_ledger_commands_in_the_basin_form(tmp_path, capsys):
    basin = tmp_path / "basin.yaml"
    basin.write_text(yaml.safe_dump({"basin": "t", "years": [2021], "results_dir": "res",
                                     "ledger": {"origin": "test.example/t",
                                                "key_dir": "keys"}}), encoding="utf-8")
    p = Paths(load_config(basin))
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n", encoding="utf-8")
    c = ["--config", str(basin)]
    assert main(["ledger", "keygen", *c]) == 0
    assert p.ledger_keys.signer.is_file() and p.ledger_keys.verifier.is_file()
    assert p.ledger_keys.root == tmp_path / "keys" / "t"
    assert main(["ledger", "append", *c, "--digest", str(data), "--kind", "data_batch",
                 "--covers", "test data"]) == 0
    assert p.ledger.db.is_file()
    assert main(["ledger", "checkpoint", *c]) == 0
    assert p.ledger.checkpoint.read_text(encoding="utf-8").startswith("test.example/t\n")
    assert p.ledger.verifier_key.read_bytes() == p.ledger_keys.verifier.read_bytes()
    assert main(["ledger", "site", *c]) == 0
    assert p.ledger.site_index.is_file()
    capsys.readouterr()
    assert main(["ledger", "verify", *c, "--checkpoint", str(p.ledger.checkpoint),
                 "--vkey", str(p.ledger.verifier_key)]) == 0
    assert capsys.readouterr().out.startswith("OK: 1 entries")
    # the explicit form reads the same database
    assert main(["ledger", "export", "--db", str(p.ledger.db)]) == 0
    explicit = capsys.readouterr().out
    assert main(["ledger", "export", *c]) == 0
    assert capsys.readouterr().out == explicit and "test data" in explicit


def test_without_a_basin_config_a_missing_flag_is_named(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["ledger", "verify"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--db" in err[0] and "Fix: " in err[0]
