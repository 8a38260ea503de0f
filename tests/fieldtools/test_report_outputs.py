"""Outputs for people: names instead of ids, BOM CSVs for Excel, tables.xlsx, report.pdf."""
from __future__ import annotations

import csv
import re
from decimal import Decimal
from html import unescape

import pandas as pd
import pytest

from gep.io import read_csv_rows, write_csv

BOM = b"\xef\xbb\xbf"


def _names(out):
    with open(out / "inputs" / "parties.csv", newline="", encoding="utf-8-sig") as fh:
        return {r["party_id"]: (r["name_zh"], r["name"]) for r in csv.DictReader(fh)}


def test_people_csvs_have_a_bom_machine_csvs_do_not(field_run):
    _, out = field_run
    for f in ("gep/gep_by_party.csv", "gep/increments.csv", "compensation/statement.csv",
              "compensation/transfers.csv", "monitoring/performance.csv",
              "inputs/parties.csv"):
        assert (out / f).read_bytes().startswith(BOM), f
    for f in ("gep/zonal/2020.csv", "monitoring/daily_index.csv"):
        assert not (out / f).read_bytes().startswith(BOM), f
    # and the readers take either
    rows = [r for _, r in read_csv_rows(out / "gep" / "gep_by_party.csv", ["year", "party_id"],
                                        "GEP table")]
    assert rows[0]["year"] == "2020"
    assert pd.read_csv(out / "gep" / "gep_by_party.csv").columns[0] == "year"


def test_write_csv_bom_round_trip(tmp_path):
    rows = [("linxi", "林溪县", "12.30")]
    a = write_csv(tmp_path / "a.csv", ("party_id", "name_zh", "amount"), rows, bom=True)
    b = write_csv(tmp_path / "b.csv", ("party_id", "name_zh", "amount"), rows)
    assert a.read_bytes() == BOM + b.read_bytes()
    assert a.read_bytes().decode("utf-8-sig") == "party_id,name_zh,amount\nlinxi,林溪县,12.30\n"
    for p in (a, b):
        assert [r for _, r in read_csv_rows(p, ["party_id"], "t")] == [
            {"party_id": "linxi", "name_zh": "林溪县", "amount": "12.30"}]


def test_report_shows_names_not_ids(field_run):
    _, out = field_run
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    names = _names(out)
    summary = html[html.index('<section id="summary">'):html.index('<section id="maps">')]
    heads = [unescape(h) for h in re.findall(r"<th>([^<]*)</th>", summary)]
    for pid, (zh, en) in names.items():
        assert f"{zh} {en}" in heads
        assert pid not in heads
    cells = [unescape(c) for c in re.findall(r"<td>([^<]*)</td>", html)]
    assert not set(names) & set(cells), "a party id shown where a reader expects a name"


def test_tables_xlsx_matches_the_csvs(field_run):
    _, out = field_run
    sheets = pd.read_excel(out / "report" / "tables.xlsx", sheet_name=None)
    assert {"各方GEP gep_by_party", "增量 increments", "模型运行 Model runs"} <= set(sheets)
    csv_gep = pd.read_csv(out / "gep" / "gep_by_party.csv", dtype=str, keep_default_na=False)
    x = sheets["各方GEP gep_by_party"]
    assert len(x) == len(csv_gep)
    assert x["year"].tolist() == csv_gep["year"].astype(int).tolist()
    assert x["party_id"].tolist() == csv_gep["party_id"].tolist()
    assert x["quantity"].tolist() == pytest.approx(csv_gep["quantity"].astype(float).tolist(),
                                                   rel=1e-12)
    for col in ("value_cny_constant", "value_cny_current"):
        assert pd.api.types.is_float_dtype(x[col])  # numbers, not text
        got = ["" if pd.isna(v) else f"{Decimal(repr(v)):.2f}" for v in x[col]]
        want = ["" if v == "" else f"{Decimal(v):.2f}" for v in csv_gep[col]]
        assert got == want
    names = _names(out)
    assert x["name"].tolist() == [" ".join(names[p]) for p in csv_gep["party_id"]]
    # the summary sheet: basin total per year = the CSV's sum, to the fen
    summary = next(v for k, v in sheets.items() if k.startswith("概要"))
    for _, r in summary.iterrows():
        y = int(r["年份 year"])
        want = sum((Decimal(v) for yy, v in zip(csv_gep["year"], csv_gep["value_cny_constant"])
                    if int(yy) == y and v), Decimal(0))
        assert Decimal(repr(float(r["流域 basin"]))).quantize(Decimal("0.01")) == want
    inc = pd.read_csv(out / "gep" / "increments.csv", dtype=str, keep_default_na=False)
    xi = sheets["增量 increments"]
    assert [f"{Decimal(repr(v)):.2f}" for v in xi["delta_value_cny_constant"]] == \
        [f"{Decimal(v):.2f}" for v in inc["delta_value_cny_constant"]]


def test_xlsx_same_tables_same_bytes(tmp_path):
    import time

    from gep.report.tables import write_xlsx

    t = [("概要 summary", pd.DataFrame({"party": ["林溪县 Linxi County"],
                                        "gep": [Decimal("1234.50")]}))]
    a = write_xlsx(tmp_path / "a.xlsx", t)
    time.sleep(1.1)  # a save time, if any were written, would differ
    b = write_xlsx(tmp_path / "b.xlsx", t)
    assert a.read_bytes() == b.read_bytes()
    got = pd.read_excel(a)
    assert got.iloc[0].tolist() == ["林溪县 Linxi County", 1234.5]


def test_xlsx_money_cells_are_numbers_with_two_decimals(field_run):
    from openpyxl import load_workbook

    _, out = field_run
    ws = load_workbook(out / "report" / "tables.xlsx")["各方GEP gep_by_party"]
    header = [c.value for c in ws[1]]
    col = header.index("value_cny_constant") + 1
    cells = [ws.cell(row=r, column=col) for r in range(2, ws.max_row + 1)]
    valued = [c for c in cells if c.value is not None]
    assert valued and all(c.data_type == "n" and c.number_format == "#,##0.00"
                          for c in valued)


def test_report_pdf_contains_the_report_text(field_run):
    from pypdf import PdfReader

    cfg_path, out = field_run
    from gep.config import load_config

    cfg = load_config(cfg_path)
    pdf = out / "report" / "report.pdf"
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 3
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    kpi = re.findall(r"<b>([\d,]+)</b>", html)[:2]  # basin GEP of the first and last year
    for s in [cfg.report.title_zh, *kpi, "生态补偿结算", "审计追踪", "Audittrail"]:
        assert re.sub(r"\s+", "", s) in text, s
    for zh, _en in _names(out).values():
        assert zh in text


def test_print_stylesheet(field_run):
    _, out = field_run
    html = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "@media print" in html and "@page" in html
