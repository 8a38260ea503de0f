"""HTML -> PDF with WeasyPrint: text stays text (searchable, extractable), not screenshots.

WeasyPrint lays out with pango, so Debian's ``libpango-1.0-0`` and ``libpangoft2-1.0-0`` must
be installed, and Chinese glyphs need a CJK font (``fonts-noto-cjk``); ``make fonts-deps``
installs them. Print rules (page size, margins, page breaks) belong in the HTML's own
``@media print`` / ``@page`` CSS, so the PDF and a browser's print agree.

Every PDF of a process shares one WeasyPrint ``FontConfiguration`` (:func:`font_config`): a
fresh one per document builds its own pango font map, so each document loaded the 20 MB Noto
CJK faces anew (a year's 17 committee papers: 0.74 GB peak memory instead of 0.33 GB, and
about 15 % more CPU time; the PDFs are byte-identical). pango's font map is not made for
concurrent use, so documents are rendered one at a time (a lock) within a process.

WeasyPrint copies each font's whole file out of HarfBuzz for every document that uses it
(``weasyprint.text.fonts.get_hb_object_data``): two 20 MB Noto CJK faces per paper, 0.3-0.5 of
a year's committee job (4 CPU s). :func:`_share_font_files` keeps one copy per font of the
shared font map, keyed by the address and length of the face's HarfBuzz blob, which a
reference held here keeps alive (so no other data can take its address); documents get the
same bytes as before (tested: the embedded font programs are identical).
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from gep.errors import GepError
from gep.io import atomic_path

LOG = logging.getLogger(__name__)
CJK_FONT_FAMILIES = "'Noto Sans CJK SC', 'Noto Serif CJK SC', 'WenQuanYi Zen Hei', sans-serif"


class PdfError(GepError, OSError):
    """WeasyPrint (or its system libraries) is not available."""


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango missing
        raise PdfError(f"weasyprint: cannot load ({exc}). Fix: run `make fonts-deps` (Debian "
                       "libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk) "
                       "and install the package (pip install weasyprint)") from None
    return weasyprint


_shared: dict = {}
_render_lock = threading.Lock()


def font_config():
    """The process's one WeasyPrint ``FontConfiguration``, made on first use.

    Documents rendered with it reuse the fonts pango has already loaded; a document's own
    ``@font-face`` rules are added to it (gep's documents have none).
    """
    if "fonts" not in _shared:
        from weasyprint.text.fonts import FontConfiguration

        _shared["fonts"] = FontConfiguration()
    return _shared["fonts"]


_FONT_FILES: dict[tuple[int, int], bytes] = {}
_PANGO_FACES: set[int] = set()


def _share_font_files() -> None:
    """Once per process: WeasyPrint's PDF fonts read a pango font's file from a copy made once
    (see the module doc); subset fonts, colour glyphs and anything else as before."""
    if _shared.get("font_files"):
        return
    from weasyprint.pdf import fonts as pdf_fonts
    from weasyprint.text.ffi import ffi, harfbuzz

    _shared["font_files"] = True
    real_data = getattr(pdf_fonts, "get_hb_object_data", None)
    real_face = getattr(pdf_fonts, "get_pango_font_hb_face", None)
    if real_data is None or real_face is None:     # another WeasyPrint: its own copies
        LOG.debug("weasyprint.pdf.fonts has other names: font files copied per document")
        return

    def address(pointer) -> int:
        return int(ffi.cast("uintptr_t", pointer))

    def face(pango_font):
        hb_face = real_face(pango_font)
        _PANGO_FACES.add(address(hb_face))
        return hb_face

    def data(hb_object, ot_color=None, glyph=None):
        if ot_color is not None or address(hb_object) not in _PANGO_FACES:
            return real_data(hb_object, ot_color, glyph)
        blob = harfbuzz.hb_face_reference_blob(hb_object)    # held: its memory stays its own
        length = ffi.new("unsigned int *")
        pointer = harfbuzz.hb_blob_get_data(blob, length)
        if pointer == ffi.NULL:
            return real_data(hb_object)
        key = (address(pointer), int(length[0]))
        if key not in _FONT_FILES:
            _FONT_FILES[key] = real_data(hb_object)
        return _FONT_FILES[key]

    pdf_fonts.get_hb_object_data, pdf_fonts.get_pango_font_hb_face = data, face


def html_to_pdf(html: str, out_path: str | os.PathLike, base_url: str | os.PathLike | None = None,
                stylesheets: list[str] | None = None) -> Path:
    """Render ``html`` to ``out_path`` atomically (a crash never leaves a partial PDF).

    ``base_url`` resolves relative links and images (usually the HTML file's folder);
    ``stylesheets`` are extra CSS strings applied after the document's own.
    """
    wp = _weasyprint()
    # per-glyph chatter at INFO; WeasyPrint sets "fontTools" to DEBUG while it subsets (to
    # collect its warnings), so the subsetter's and the font reader's own loggers are set too
    for name in ("weasyprint", "fontTools", "fontTools.subset", "fontTools.ttLib"):
        logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.WARNING))
    doc = wp.HTML(string=html, base_url=str(base_url) if base_url is not None else None)
    with _render_lock, atomic_path(out_path, suffix=".pdf") as tmp:
        _share_font_files()
        fonts = font_config()
        css = [wp.CSS(string=s, font_config=fonts) for s in (stylesheets or [])]
        doc.write_pdf(str(tmp), stylesheets=css or None, font_config=fonts)
    return Path(out_path)
