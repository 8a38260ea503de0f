"""The committee papers' water-quality compliance and data-delivery counts (read without
pandas) against the same counts computed here with pandas, on a table mixing compliant and
failing indicators, sections of no party, unassessed rows and days outside the period."""
from __future__ import annotations

import csv
import datetime as dt
import random
from types import SimpleNamespace

import pandas as pd
import pytest

from gep.committee.bulletin import RunData

SECTIONS = {"s_up": "up", "s_up2": "up", "s_mid": "mid", "s_none": ""}


@pytest.fixture
def run_data(tmp_path):
    rng = random.Random(7)
    index = tmp_path / "daily_index.csv"
    with open(index, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "section", "party_id", "index"])
        for sec, pid in SECTIONS.items():
            w.writerow(["2021-01-01", sec, pid, "1.0"])
    comp = tmp_path / "daily_compliance.csv"
    with open(comp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "section", "station", "indicator", "sufficient", "target_class",
                    "compliant"])
        day = dt.date(2021, 3, 20)
        while day <= dt.date(2021, 7, 10):
            for sec in SECTIONS:
                for ind in ("codmn", "nh3n", "tp"):
                    target = rng.choice(["II", "III", ""])
                    w.writerow([day.isoformat(), sec, f"{sec}_1", ind,
                                rng.choice(["true", "true", "false"]), target,
                                rng.choice(["true", "true", "true", "false"]) if target
                                else ""])
            day += dt.timedelta(days=1)
    p = SimpleNamespace(monitoring=SimpleNamespace(daily_compliance=comp, daily_index=index))
    cfg = SimpleNamespace(committee=SimpleNamespace(execution_target=0.85))
    return RunData(cfg, p), comp, index


def _expected(comp, index, start, end):
    dc = pd.read_csv(comp, dtype=str, keep_default_na=False)
    di = pd.read_csv(index, dtype=str, keep_default_na=False)
    party_of = {s: p for s, p in zip(di["section"], di["party_id"]) if p}
    dc["party_id"] = dc["section"].map(party_of)
    dc = dc[dc["party_id"].notna() & (dc["date"] >= str(start)) & (dc["date"] <= str(end))]
    assessed = dc[dc["target_class"] != ""]
    days = assessed.assign(c=assessed["compliant"] == "true").groupby(
        ["party_id", "date"])["c"].all().groupby(level=0).agg(["sum", "count"])
    valid = dc.assign(v=dc["sufficient"] == "true").groupby("party_id")["v"].agg(
        ["sum", "count"])
    return ({k: (int(r["sum"]), int(r["count"])) for k, r in days.iterrows()},
            {k: (int(r["sum"]), int(r["count"])) for k, r in valid.iterrows()})


@pytest.mark.parametrize("start, end", [(dt.date(2021, 4, 1), dt.date(2021, 6, 30)),
                                        (dt.date(2021, 3, 1), dt.date(2021, 3, 31)),
                                        (dt.date(2021, 1, 1), dt.date(2021, 12, 31)),
                                        (dt.date(2022, 1, 1), dt.date(2022, 3, 31))])
def test_counts_match_pandas(run_data, start, end):
    rd, comp, index = run_data
    wq, delivery = _expected(comp, index, start, end)
    assert rd.wq_compliance(start, end) == wq
    assert rd.delivery(start, end) == delivery
    assert list(rd.wq_compliance(start, end)) == sorted(wq)  # party order as before
    if start.year == 2021:
        assert wq and any(ok < n for ok, n in wq.values())  # the table has failing days


def test_no_monitoring_no_counts(tmp_path):
    p = SimpleNamespace(monitoring=SimpleNamespace(
        daily_compliance=tmp_path / "absent.csv", daily_index=tmp_path / "absent2.csv"))
    rd = RunData(SimpleNamespace(committee=SimpleNamespace(execution_target=0.85)), p)
    assert rd.wq_compliance(dt.date(2021, 1, 1), dt.date(2021, 3, 31)) == {}
    assert rd.delivery(dt.date(2021, 1, 1), dt.date(2021, 3, 31)) == {}
