"""The committee's papers: every period exists, their numbers agree with the CSVs they
summarise (recomputed here), the PDFs hold text (Chinese included), optional inputs (portal,
attribution) are read when present, and bad periods stop cleanly."""
from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction

import pytest

from gep.committee.periods import periods_of_year


def rows(path):
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def gep(*args):
    return subprocess.run([sys.executable, "-m", "gep", *args], capture_output=True, text=True)


def paper(out, label):
    c = out / "committee"
    return json.loads((c / f"{label}.json").read_text()), (c / f"{label}.html").read_text()


def money(x: Decimal) -> str:
    return f"{x:,.2f}"


def test_every_period_is_built_and_indexed(committee_run):
    _, _, out = committee_run
    index = (out / "committee" / "index.html").read_text()
    for y in (2020, 2021, 2022, 2023):
        for per in periods_of_year(y):
            for ext in ("html", "json"):
                assert (out / "committee" / f"{per.label}.{ext}").exists()
            assert f'href="{per.label}.html"' in index
    assert len(periods_of_year(2023)) == 17


def test_monthly_agenda_matches_alerts_and_dispatch(committee_run):
    _, _, out = committee_run
    alerts = rows(out / "dispatch" / "2023" / "alerts.csv")
    months = defaultdict(int)
    for a in alerts:
        months[a["date"][:7]] += 1
    month = max(months, key=months.get)  # the month with most alerts
    data, html = paper(out, month)
    days = defaultdict(set)
    for a in alerts:
        if a["date"].startswith(month):
            days[a["party_id"]].add(a["date"])
    assert data["numbers"]["alert_days"] == {k: len(v) for k, v in days.items()}
    withheld = defaultdict(Decimal)
    for d in rows(out / "dispatch" / "2023" / "disbursements.csv"):
        if d["date"].startswith(month):
            withheld[d["party_id"]] += Decimal(d["withheld_cny"])
    assert {k: Decimal(v) for k, v in data["numbers"]["withheld_cny"].items()} == withheld
    for v in withheld.values():
        assert money(v) in html
    assert "月度议事" in html or "议事议程" in html


def test_quarterly_bulletin_matches_compliance_and_execution(committee_run):
    _, _, out = committee_run
    party_of = {r["section"]: r["party_id"] for r in rows(out / "monitoring" / "daily_index.csv")
                if r["party_id"]}
    day_ok = defaultdict(lambda: True)
    for r in rows(out / "monitoring" / "daily_compliance.csv"):
        p = party_of.get(r["section"])
        if p and r["target_class"] and r["date"].startswith("2023-"):
            day_ok[(p, r["date"])] &= r["compliant"] == "true"
    obligations = rows(out / "committee" / "obligations.csv")
    for q in (1, 2, 3, 4):
        months = {f"2023-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)}
        end = f"2023-{3 * q:02d}-31"
        data, html = paper(out, f"2023-Q{q}")
        parties = data["numbers"]["parties"]
        for p, n in parties.items():
            days = [ok for (pp, d), ok in day_ok.items() if pp == p and d[:7] in months]
            if days:
                assert abs(float(n["wq_rate"]) - sum(days) / len(days)) < 1e-6
                assert n["wq_compliant_days"] == sum(days) and n["days"] == len(days)
            mine = [o for o in obligations if o["party_id"] == p and o["year"] == "2023"
                    and o["due_date"] <= end]
            assert n["execution_due"] == len(mine)
            assert n["execution_done"] == sum(o["executed"] == "true" for o in mine)
        # ranked by execution rate to date (then compliance)
        ranked = sorted(parties, key=lambda p: parties[p]["rank"])
        rates = [Fraction(parties[p]["execution_done"], parties[p]["execution_due"] or 1)
                 for p in ranked]
        assert rates == sorted(rates, reverse=True)
        b = data["numbers"]["basin_execution"]
        mine = [o for o in obligations if o["year"] == "2023" and o["due_date"] <= end]
        assert (b["due"], b["executed"]) == (len(mine), sum(o["executed"] == "true"
                                                            for o in mine))
        below = Fraction(b["executed"], b["due"]) < Fraction(85, 100)
        assert ("Basin, year to date: agreement execution rate" in html) == below


def test_annual_assessment_matches_the_csvs(committee_run):
    _, _, out = committee_run
    data, html = paper(out, "2023")
    ex = [r for r in rows(out / "committee" / "execution.csv") if r["year"] == "2023"]
    assert data["numbers"]["execution"] == {f"{r['party_id']}:{r['obligation']}": r["rate"]
                                            for r in ex}
    basin = next(r for r in ex if r["party_id"] == "basin" and r["obligation"] == "all")
    pct = f"{(Decimal(basin['rate']) * 100).quantize(Decimal('0.01'))}%"
    assert pct in html
    stars = defaultdict(int)
    for r in rows(out / "rating" / "ratings.csv"):
        if r["year"] == "2023":
            stars[r["stars"]] += 1
    assert data["numbers"]["stars"] == dict(stars)
    gep = sum((Decimal(r["value_cny_constant"]) for r in rows(out / "gep" / "gep_by_party.csv")
               if r["year"] == "2023" and r["value_cny_constant"]), Decimal(0))
    assert Decimal(data["numbers"]["gep_basin"]) == gep and money(gep) in html
    flagged = {f["en"].split(":")[0] for f in data["flags"]}
    for r in ex:
        if r["obligation"] == "all":
            who = "Basin" if r["party_id"] == "basin" else r["party_id"]
            assert (who in flagged) == (Decimal(r["rate"]) < Decimal("0.85")), who
    recs = set(data["numbers"]["recommendations"])
    for r in ex:
        if r["obligation"] == "all":
            assert (f"execution_below_target:{r['party_id']}" in recs) == \
                (Decimal(r["rate"]) < Decimal("0.85"))
    for f in ("performance.csv", "responsibility_downstream.csv"):
        for r in rows(out / "monitoring" / f):
            if r["year"] == "2023":
                assert (f"target_missed:{r['party_id']}" in recs) >= (r["met"] == "false")


def test_pdfs_hold_the_text(committee_run):
    from pypdf import PdfReader

    _, cfg, out = committee_run
    r = gep("bulletin", "--config", str(cfg), "--period", "2023-07", "--period", "2023-Q3",
            "--period", "2023", "--pdf")
    assert r.returncode == 0, r.stderr
    for label, words in (("2023-07", ["2023 年 7 月议事议程", "Monthly agenda"]),
                         ("2023-Q3", ["2023 年第 3 季度通报", "Quarterly bulletin"]),
                         ("2023", ["2023 年度评估", "协议执行率", "Annual assessment"])):
        reader = PdfReader(out / "committee" / f"{label}.pdf")
        text = "\n".join(p.extract_text() for p in reader.pages)
        for w in words:
            assert w in text, (label, w)
        data = json.loads((out / "committee" / f"{label}.json").read_text())
        if label == "2023":
            assert money(Decimal(data["numbers"]["gep_basin"])) in text
        for page in reader.pages:  # text, not pictures of text
            xobj = page["/Resources"].get("/XObject")
            assert not xobj or not any(x.get_object().get("/Subtype") == "/Image"
                                       for x in xobj.get_object().values())


def test_portal_items_reach_the_monthly_agenda(committee_run):
    from gep.committee.portal import open_items

    _, cfg, out = committee_run
    db = out / "portal" / "portal.db"
    db.parent.mkdir(exist_ok=True)
    real = db.with_name("portal.db.real")   # the run's own seeded portal, put back after
    if db.exists():
        db.rename(real)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE reports (kind, item_id, party_id, opened, closed, summary, "
                "reporter_phone)")
    con.executemany("INSERT INTO reports VALUES (?,?,?,?,?,?,?)", [
        ("citizen_report", "R-1", "linxi", "2023-06-20", None, "foam below the weir", "138"),
        ("patrol_finding", "P-7", "xiahe", "2023-07-02", "2023-07-30", "outfall leak", ""),
        ("citizen_report", "R-2", "yunling", "2023-08-01", None, "later report", "139")])
    con.execute("CREATE VIEW committee_open_items AS SELECT kind, item_id, party_id, opened, "
                "closed, summary FROM reports")
    con.commit()
    con.close()
    try:
        import datetime as dt

        items = open_items(db, dt.date(2023, 7, 31))
        assert [i["item_id"] for i in items["items"]] == ["R-1"]
        assert items["counts"] == {"citizen_report": 1, "patrol_finding": 0}
        assert [i["item_id"] for i in open_items(db, dt.date(2023, 7, 15))["items"]] == \
            ["R-1", "P-7"]
        r = gep("bulletin", "--config", str(cfg), "--period", "2023-07", "--no-pdf")
        assert r.returncode == 0, r.stderr
        html = (out / "committee" / "2023-07.html").read_text()
        assert "foam below the weir" in html and "later report" not in html
        assert "138" not in re.sub(r"\d{3}[,.]\d", "", html)  # never a reporter's phone
    finally:
        db.unlink()
        gep("bulletin", "--config", str(cfg), "--period", "2023-07", "--no-pdf")
        not_connected = "portal is not connected" in (out / "committee" / "2023-07.html"
                                                      ).read_text()
        if real.exists():
            real.rename(db)
            gep("bulletin", "--config", str(cfg), "--period", "2023-07", "--no-pdf")
    assert not_connected


def test_attribution_shown_when_present(committee_run):
    _, cfg, out = committee_run
    f = out / "gep" / "attribution.csv"
    f.write_text("year,party_id,service,total,land_use,climate\n"
                 "2023,linxi,water_conservation,1000.00,812.34,187.66\n")
    try:
        assert gep("bulletin", "--config", str(cfg), "--period", "2023",
                   "--no-pdf").returncode == 0
        html = (out / "committee" / "2023.html").read_text()
        assert "812.34" in html and "land_use" in html
    finally:
        f.unlink()
        gep("bulletin", "--config", str(cfg), "--period", "2023", "--no-pdf")
    assert "No attribution" in (out / "committee" / "2023.html").read_text()


@pytest.mark.parametrize("period", ["2023-13", "2023-Q5", "2031", "March"])
def test_bad_period_stops_cleanly(committee_run, period):
    _, cfg, out = committee_run
    r = gep("bulletin", "--config", str(cfg), "--period", period)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "--period" in lines[0] and "Fix:" in lines[0]


def test_report_and_ledger_show_ratings_execution_and_filing(committee_run):
    import hashlib

    _, cfg, out = committee_run
    html = (out / "report" / "index.html").read_text()
    assert "企业生态反哺星级认证" in html and "Agreement execution rate" in html
    filing = rows(out / "committee" / "filings.csv")[0]
    assert filing["reference"] in html and filing["sha256"] in html
    assert "下游责任清单" in html
    r = gep("ledger", "export", "--db", str(out / "ledger" / "ledger.db"))
    records = [json.loads(line)["record"] for line in r.stdout.splitlines()]
    covers = defaultdict(list)
    for x in records:
        if x["type"] == "digest":
            covers[x["sha256"]].append(x["covers"])
    agreement = hashlib.sha256((cfg.parent / "agreement.yaml").read_bytes()).hexdigest()
    assert agreement == filing["sha256"]
    assert any(filing["body"] in c and filing["reference"] in c and "备案" in c
               for c in covers[agreement])
    ratings = hashlib.sha256((out / "rating" / "ratings.csv").read_bytes()).hexdigest()
    assert any("star ratings" in c for c in covers[ratings])
    # no personal data: enterprise names stay out of the ledger
    assert "Demo Paper Co." not in r.stdout


def test_one_job_for_several_years_writes_the_papers_of_a_job_per_year(committee_run, tmp_path):
    """The workflow builds each year's papers in a job of its own (rule committee_year);
    ``gep bulletin --year Y1 --year Y2 ...`` builds several years in one process and writes the
    same bytes. On a copy of the run (other tests rebuild some of its papers from changed
    inputs)."""
    import shutil

    import yaml

    tmp, cfg, out = committee_run
    for d in ("config", "results"):
        shutil.copytree(tmp / d, tmp_path / d)
    copy_cfg = tmp_path / "config" / cfg.name
    data = yaml.safe_load(copy_cfg.read_text(encoding="utf-8"))
    data["results_dir"] = str(tmp_path / "results")
    copy_cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    papers = tmp_path / out.relative_to(tmp) / "committee"
    years = ("2020", "2021", "2022", "2023")

    def build(*runs):
        for f in papers.iterdir():
            if f.suffix in (".html", ".json") and f.stem[:4].isdigit():
                f.unlink()
        for run in runs:
            r = gep("bulletin", "--config", str(copy_cfg), *run, "--no-pdf")
            assert r.returncode == 0, r.stderr[-2000:]
        return {f.name: f.read_bytes() for f in papers.iterdir()
                if f.suffix in (".html", ".json") and f.stem[:4].isdigit()}

    one_job = build([a for y in years for a in ("--year", y)])
    assert len(one_job) == 4 * 17 * 2
    per_year = build(*(["--year", y] for y in years))
    assert per_year.keys() == one_job.keys()
    assert [k for k in one_job if per_year[k] != one_job[k]] == []
