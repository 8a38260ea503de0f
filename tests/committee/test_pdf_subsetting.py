"""gep.pdf's early drop of the font tables WeasyPrint's subsetting discards (GSUB, GPOS, kern,
hinting): the PDFs are byte for byte those of WeasyPrint's own subsetting, which decompiles
the tables before it drops them. ``SOURCE_DATE_EPOCH`` fixes the fonts' ``head`` timestamp,
the only part of a WeasyPrint PDF that differs between two renderings of one document."""
from __future__ import annotations

import pytest

from .test_pdf_shared_fonts import DOCS

#: a paper with the committee template's own stylesheet (tables, page counter, bold, CJK)
PAPER = ("<html><head><style>@page{size:A4;margin:16mm;@bottom-center{content:counter(page) "
         "\" / \" counter(pages)}} body{font-family:'Noto Sans CJK SC','Noto Sans','DejaVu Sans',"
         "sans-serif} td.num{text-align:right}</style></head><body><h1>年度评估 Annual "
         "assessment 2023</h1><table><thead><tr><th>party 主体</th><th>paid 已拨 (元)</th>"
         "</tr></thead>" + "<tr><td>林溪县 Linxi</td><td class=num>1,234,567.89</td></tr>" * 90
         + "</table><p><i>fi fl ffi — “quoted” · ✓</i></p></body></html>")


@pytest.mark.parametrize("html", DOCS + [PAPER], ids=["agenda", "assessment", "paper"])
def test_early_drop_gives_the_same_bytes(tmp_path, monkeypatch, html):
    pytest.importorskip("weasyprint")
    import fontTools.subset
    import weasyprint.pdf.fonts as wp_fonts

    from gep.pdf import html_to_pdf

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    fast = html_to_pdf(html, tmp_path / "fast.pdf").read_bytes()
    again = html_to_pdf(html, tmp_path / "again.pdf").read_bytes()
    assert fast == again  # deterministic, so a difference below is the subsetting's

    subsetter = wp_fonts.subset.Subsetter
    assert subsetter is not fontTools.subset.Subsetter
    dropped, own = [], subsetter.dropped_tables

    def spy(self, font):
        tags = own(self, font)
        dropped.extend(tags)
        return tags

    monkeypatch.setattr(subsetter, "dropped_tables", spy)
    html_to_pdf(html, tmp_path / "spied.pdf")
    assert {"GSUB", "GPOS"} <= set(dropped)  # the fonts had the tables: the drop did something

    monkeypatch.setattr(wp_fonts, "subset", fontTools.subset)  # WeasyPrint's own path
    slow = html_to_pdf(html, tmp_path / "slow.pdf").read_bytes()
    assert slow == fast
