"""The public site writes the files gep.paths.SiteFiles names, and its pages link them."""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gep.errors import GepError
from gep.ledger import api
from gep.ledger.audit import ScanWorkerError, verify_ledger
from gep.ledger.site import ASSETS, build_site
from gep.ledger.store import Ledger
from gep.paths import LedgerFiles, Paths, SiteFiles

from .ledger_helpers import transfer_row, write_transfers


def _ledger(tmp_path: Path, keys, n: int = 5) -> tuple[Path, Path]:
    skey, _ = keys
    db = tmp_path / "ledger.db"
    rows = [transfer_row(f"t{i}", amount=f"{i + 1}.00") for i in range(n)]
    api.append_transfers_csv(db, write_transfers(tmp_path / "t.csv", rows))
    cp = tmp_path / "cp"
    api.write_checkpoint(db, skey, "gep.example/test", cp)
    return db, cp


def test_site_writes_every_file_that_site_files_names(tmp_path, keys):
    db, cp = _ledger(tmp_path, keys, n=300)   # 300 entries: two chunks of 256
    out = tmp_path / "site"
    index = build_site(db, cp, keys[1], out)
    files = SiteFiles(out)
    assert index == files.index
    missing = [k for k in SiteFiles.NAMES if not files.file(k).exists()]
    assert missing == []
    assert files.entries_js(0).is_file() and files.entries_js(1).is_file()
    assert not files.entries_js(2).exists()
    assert files.checkpoint.read_text(encoding="utf-8") == cp.read_text(encoding="utf-8")
    assert len(files.export.read_text(encoding="utf-8").splitlines()) == 300


def test_pages_link_the_names_the_site_writes(tmp_path, keys):
    """The templates and site.js spell the file names themselves (static files); they must
    stay in step with SiteFiles."""
    db, cp = _ledger(tmp_path, keys)
    out = tmp_path / "site"
    build_site(db, cp, keys[1], out)
    files = SiteFiles(out)
    page = files.index.read_text(encoding="utf-8")
    for name in (SiteFiles.checkpoint, SiteFiles.verifier_key, SiteFiles.export):
        assert f'href="{name}"' in page, name
    assert f'src="{SiteFiles.transfers_js}"' in page
    entry_page = files.entry.read_text(encoding="utf-8")
    assert f'href="{SiteFiles.index}"' in entry_page
    script = (ASSETS / "site.js").read_text(encoding="utf-8")
    assert f'href: "{SiteFiles.entry}#" + t[0]' in script  # a transfer's proof link
    chunk = files.entries_js(7).relative_to(out).as_posix()
    prefix, suffix = chunk.split("7")
    assert f'"{prefix}" + k + "{suffix}"' in script


def test_paths_names_the_basin_site_under_the_ledger_folder(tmp_path):
    p = Paths(None, root=tmp_path)
    assert p.ledger_site == SiteFiles(tmp_path / "ledger" / LedgerFiles.site)
    assert p.ledger_site.index == p.ledger.site_index


def test_a_failing_scan_worker_is_a_gep_error_naming_the_file(tmp_path, keys):
    db, _ = _ledger(tmp_path, keys)
    con = sqlite3.connect(db)
    con.execute("DROP TABLE nodes")
    con.commit()
    con.close()
    with Ledger(db, create=False) as lg, pytest.raises(ScanWorkerError) as err:
        verify_ledger(lg, workers=2)
    assert isinstance(err.value, GepError) and isinstance(err.value, RuntimeError)
    text = str(err.value)
    assert text.startswith(f"{db}: ledger scan worker failed (")
    assert "no such table: nodes" in text and ". Fix: " in text
    assert "Traceback" in err.value.stderr and "Traceback" not in text
