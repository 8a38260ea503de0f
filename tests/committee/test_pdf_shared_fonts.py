"""The process-wide WeasyPrint font configuration of ``gep.pdf``: one per process, and a PDF
made with it has the same text, pages and embedded fonts as one made with a fresh
configuration (as every PDF was made before it was shared)."""
from __future__ import annotations

import pytest

PAGE = ("<html><head><style>@page{{size:A4}}body{{font-family:'Noto Sans CJK SC',"
        "'DejaVu Sans',sans-serif}} b{{font-weight:bold}}</style></head><body>"
        "<h1>{title}</h1><p><b>协议执行率</b> {rate} · Basin committee ✓</p>{rows}</body></html>")
DOCS = [PAGE.format(title="月度议事 Monthly agenda 2020-01", rate="87.50%",
                    rows="<p>上游 林溪县 Linxi</p>" * 60),
        PAGE.format(title="年度评估 Annual assessment 2021", rate="100.00%",
                    rows="<table>" + "<tr><td>补偿资金</td><td>1,234.56</td></tr>" * 40
                    + "</table>")]


def _summary(path):
    from pypdf import PdfReader

    reader = PdfReader(path)
    fonts = set()
    for page in reader.pages:
        for f in (page["/Resources"].get("/Font") or {}).values():
            name = str(f.get_object()["/BaseFont"])
            fonts.add(name.split("+", 1)[-1])  # the subset tag differs run to run
    return [p.extract_text() for p in reader.pages], fonts


def test_one_font_configuration_per_process():
    from gep.pdf import font_config

    assert font_config() is font_config()


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_shared_configuration_gives_the_pdf_of_a_fresh_one(tmp_path, order):
    weasyprint = pytest.importorskip("weasyprint")
    from weasyprint.text.fonts import FontConfiguration

    from gep.pdf import html_to_pdf

    for i in order:  # the shared configuration has already served the other document
        shared = html_to_pdf(DOCS[i], tmp_path / f"shared{i}.pdf")
        fresh = tmp_path / f"fresh{i}.pdf"
        weasyprint.HTML(string=DOCS[i]).write_pdf(str(fresh), font_config=FontConfiguration())
        text_shared, fonts_shared = _summary(shared)
        text_fresh, fonts_fresh = _summary(fresh)
        assert text_shared == text_fresh
        assert fonts_shared == fonts_fresh and any("CJK" in f for f in fonts_shared)
        assert "协议执行率" in text_shared[0] and "Basin committee" in text_shared[0]
    assert "补偿资金 1,234.56" in _summary(tmp_path / "shared1.pdf")[0][0]


def test_threads_share_the_configuration_safely(tmp_path):
    """Documents rendered from several threads at once (one font map, a lock) each get their
    own text."""
    pytest.importorskip("weasyprint")
    from concurrent.futures import ThreadPoolExecutor

    from gep.pdf import html_to_pdf

    def one(i):
        html = PAGE.format(title=f"第{i}号 paper {i}", rate=f"{i}.00%", rows="<p>行</p>" * 5)
        return _summary(html_to_pdf(html, tmp_path / f"t{i}.pdf"))[0][0]

    with ThreadPoolExecutor(4) as pool:
        texts = list(pool.map(one, range(6)))
    for i, text in enumerate(texts):
        assert f"第{i}号 paper {i}" in text and f"协议执行率 {i}.00%" in text


def _font_programs(path) -> list[bytes]:
    """The embedded font programs (FontFile, FontFile2, FontFile3 streams), sorted."""
    from pypdf import PdfReader

    out = []
    for page in PdfReader(path).pages:
        for f in (page["/Resources"].get("/Font") or {}).values():
            font = f.get_object()
            for desc in [font.get("/FontDescriptor")] + [
                    d.get_object().get("/FontDescriptor")
                    for d in font.get("/DescendantFonts") or []]:
                if desc is None:
                    continue
                desc = desc.get_object()
                for key in ("/FontFile", "/FontFile2", "/FontFile3"):
                    if key in desc:
                        out.append(desc[key].get_object().get_data())
    return sorted(out)


RENDER = """
import json, sys
from gep import pdf
if sys.argv[1] == "plain":
    pdf._shared["font_files"] = True        # WeasyPrint's own copy for every document
docs = json.loads(open(sys.argv[2], encoding="utf-8").read())
for i, html in enumerate(docs):
    pdf.html_to_pdf(html, f"{sys.argv[3]}/{sys.argv[1]}{i}.pdf")
print(len(pdf._FONT_FILES))
"""


def test_font_files_copied_once_give_the_same_fonts(tmp_path):
    """gep.pdf copies a font's file out of HarfBuzz once per process (the later documents
    reuse it): every document's embedded font programs equal those made with WeasyPrint's
    own copy per document (each way in a fresh interpreter, the same documents in order)."""
    pytest.importorskip("weasyprint")
    import json
    import subprocess
    import sys

    docs = tmp_path / "docs.json"
    docs.write_text(json.dumps([DOCS[0], DOCS[1], DOCS[0]]), encoding="utf-8")
    copies = {}
    for way in ("shared", "plain"):
        r = subprocess.run([sys.executable, "-c", RENDER, way, str(docs), str(tmp_path)],
                           check=True, capture_output=True, text=True)
        copies[way] = int(r.stdout.split()[-1])
    assert copies["plain"] == 0 and copies["shared"] >= 1     # the CJK faces, at least
    for i in range(3):
        got = _font_programs(tmp_path / f"shared{i}.pdf")
        assert got and got == _font_programs(tmp_path / f"plain{i}.pdf"), i


def test_another_weasyprint_keeps_its_own_font_copies(monkeypatch):
    """A WeasyPrint whose font module lacks the functions gep wraps is left alone: no error,
    nothing replaced (it copies font files per document, as WeasyPrint does)."""
    pytest.importorskip("weasyprint")
    from weasyprint.pdf import fonts as pdf_fonts

    from gep import pdf

    monkeypatch.setattr(pdf, "_shared", {})
    monkeypatch.delattr(pdf_fonts, "get_hb_object_data")
    face = pdf_fonts.get_pango_font_hb_face
    pdf._share_font_files()
    assert pdf_fonts.get_pango_font_hb_face is face
    assert not hasattr(pdf_fonts, "get_hb_object_data")
    assert pdf._shared["font_files"] is True          # decided once
