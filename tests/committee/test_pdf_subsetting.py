"""gep.pdf's faster font subsetting: the tables WeasyPrint's subsetting discards (GSUB, GPOS,
kern, hinting) are deleted before fontTools reads them, and a subset already made in the
process is reused. The PDFs are byte for byte those of WeasyPrint's own subsetting.
``SOURCE_DATE_EPOCH`` fixes the fonts' ``head`` timestamp, the only part of a WeasyPrint PDF
that differs between two renderings of one document."""
from __future__ import annotations

import pytest

from .test_pdf_shared_fonts import DOCS

#: a paper with the committee template's own kind of content (tables, page counter, CJK)
PAPER = ("<html><head><style>@page{size:A4;margin:16mm;@bottom-center{content:counter(page) "
         "\" / \" counter(pages)}} body{font-family:'Noto Sans CJK SC','Noto Sans','DejaVu Sans',"
         "sans-serif} td.num{text-align:right}</style></head><body><h1>年度评估 Annual "
         "assessment 2023</h1><table><thead><tr><th>party 主体</th><th>paid 已拨 (元)</th>"
         "</tr></thead>" + "<tr><td>林溪县 Linxi</td><td class=num>1,234,567.89</td></tr>" * 90
         + "</table><p><i>fi fl ffi — “quoted” · ✓</i></p></body></html>")


@pytest.mark.parametrize("html", DOCS + [PAPER], ids=["agenda", "assessment", "paper"])
def test_faster_subsetting_gives_the_same_bytes(tmp_path, monkeypatch, html):
    pytest.importorskip("weasyprint")
    import fontTools.subset
    import weasyprint.pdf.fonts as wp_fonts

    from gep import pdf

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    pdf.html_to_pdf(html, tmp_path / "first.pdf")  # installs the faster subsetting
    subsetter, made = wp_fonts.subset.Subsetter, pdf._shared["subsets"]
    assert subsetter is not fontTools.subset.Subsetter
    dropped, own = [], subsetter.dropped_tables

    def spy(self, font):
        tags = own(self, font)
        dropped.extend(tags)
        return tags

    monkeypatch.setattr(subsetter, "dropped_tables", spy)
    made.clear()
    fresh = pdf.html_to_pdf(html, tmp_path / "fresh.pdf").read_bytes()
    assert {"GSUB", "GPOS"} <= set(dropped)  # the fonts had the tables: the drop did something
    n_subsets, n_dropped = len(made), len(dropped)
    assert n_subsets >= 2
    reused = pdf.html_to_pdf(html, tmp_path / "reused.pdf").read_bytes()
    assert (len(made), len(dropped)) == (n_subsets, n_dropped)  # every subset came from `made`

    # WeasyPrint's own subsetting
    monkeypatch.setattr(wp_fonts, "subset", fontTools.subset)
    monkeypatch.setattr(wp_fonts.Font, "_fonttools_subset", pdf._shared["own_subset"])
    slow = pdf.html_to_pdf(html, tmp_path / "slow.pdf").read_bytes()
    assert (len(made), len(dropped)) == (n_subsets, n_dropped)
    assert fresh == slow
    assert reused == slow


def test_a_subset_is_reused_only_for_the_same_glyphs(tmp_path, monkeypatch):
    """A document after another one with other text in the same fonts: its own subsets, the
    PDF of WeasyPrint's own subsetting."""
    pytest.importorskip("weasyprint")
    import fontTools.subset
    import weasyprint.pdf.fonts as wp_fonts

    from gep import pdf

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first, second = ("<p>Basin committee 2020 agenda</p>",
                     "<p>Zyxwvut quarterly bulletin 1987</p>")
    pdf.html_to_pdf(first, tmp_path / "first.pdf")
    pdf._shared["subsets"].clear()
    pdf.html_to_pdf(first, tmp_path / "first.pdf")
    fast = pdf.html_to_pdf(second, tmp_path / "fast.pdf").read_bytes()
    assert len(pdf._shared["subsets"]) == 2  # one font, two glyph sets
    monkeypatch.setattr(wp_fonts, "subset", fontTools.subset)
    monkeypatch.setattr(wp_fonts.Font, "_fonttools_subset", pdf._shared["own_subset"])
    assert pdf.html_to_pdf(second, tmp_path / "slow.pdf").read_bytes() == fast
