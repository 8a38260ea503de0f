"""Filing the agreement in the ledger (idempotent, bad input writes nothing), the PDF helper
and the optional portal hook without a portal."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import yaml


def gep(*args):
    return subprocess.run([sys.executable, "-m", "gep", *args], capture_output=True, text=True)


def test_filing_goes_into_the_ledger_once(config_factory):
    cfg = config_factory(demo={"rows": 64, "cols": 64})
    out = yaml.safe_load(cfg.read_text())["results_dir"]
    args = ["agreement", "file", "--config", str(cfg), "--body", "某市人大常委会 Standing "
            "Committee", "--date", "2021-01-05", "--reference", "RD-2021-1"]
    r = gep(*args)
    assert r.returncode == 0, r.stderr
    db = f"{out}/demo/ledger/ledger.db"
    first = gep("ledger", "export", "--db", db).stdout.splitlines()
    rec = json.loads(first[-1])["record"]
    assert rec["type"] == "digest" and "某市人大常委会" in rec["covers"]
    assert "RD-2021-1" in rec["covers"] and "2021-01-05" in rec["covers"]
    assert gep(*args).returncode == 0  # again: nothing new
    assert gep("ledger", "export", "--db", db).stdout.splitlines() == first
    filings = (cfg.parent.parent / "results" / "demo" / "committee" / "filings.csv").read_text()
    assert filings.count("RD-2021-1") == 1 and rec["sha256"] in filings


def test_bad_filing_writes_nothing(config_factory):
    cfg = config_factory()
    r = gep("agreement", "file", "--config", str(cfg), "--body", "X", "--date", "2021-13-05",
            "--reference", "R")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--date" in lines[0] and "Fix:" in lines[0]
    assert not (cfg.parent.parent / "results").exists()


def test_html_to_pdf_keeps_chinese_text(tmp_path):
    from pypdf import PdfReader

    from gep.pdf import html_to_pdf

    html = ("<html><head><style>@page{size:A4}body{font-family:'Noto Sans CJK SC'}</style>"
            "</head><body><h1>流域生态补偿 协议执行率 87.50%</h1><p>Basin committee</p>"
            + "<p>行</p>" * 120 + "</body></html>")
    out = html_to_pdf(html, tmp_path / "a.pdf")
    reader = PdfReader(out)
    assert len(reader.pages) > 1
    text = reader.pages[0].extract_text()
    assert "流域生态补偿" in text and "协议执行率 87.50%" in text and "Basin committee" in text
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]  # no temporary left behind


def test_portal_hook_without_portal(tmp_path):
    from gep.committee.portal import open_items

    assert open_items(tmp_path / "portal.db", dt.date(2024, 3, 31))["status"] == "absent"
    import sqlite3

    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    assert open_items(tmp_path / "other.db", dt.date(2024, 3, 31))["status"] == "no_view"


class _Run:
    """Just what ``recommendations`` reads, with chosen quarterly compliance."""

    def __init__(self, quarterly: dict[str, dict[str, tuple[int, int]]]):
        from decimal import Decimal

        self.quarterly = quarterly
        self.wq_targets = {"a": Decimal("0.95"), "b": Decimal("0.95")}
        self.target = Decimal("0.85")
        self.execution, self.responsibility, self.ratings = [], [], []
        self.settlement_summary = {}

    def wq_compliance(self, start, end):
        q = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        return self.quarterly.get(q, {})


def test_recommendation_below_target_two_quarters_running():
    from gep.committee.bulletin import recommendations

    run = _Run({"2023-Q4": {"a": (80, 92)},            # a: 87 %, below 95 %
                "2024-Q1": {"a": (85, 91), "b": (80, 91)},   # a below again; b once
                "2024-Q2": {"a": (91, 91), "b": (91, 91)},
                "2024-Q3": {"a": (80, 92), "b": (91, 92)},   # b: 98.9 %, fine
                "2024-Q4": {"a": (92, 92), "b": (80, 92)}})
    recs = recommendations(run, 2024)
    flagged = [r["party_id"] for r in recs if r["rule"] == "below_target_two_quarters"]
    assert flagged == ["a"]  # Q4 2023 and Q1 2024 running; b never twice in a row
    assert "2024-Q1" in next(r["en"] for r in recs if r["party_id"] == "a")
