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

WeasyPrint subsets each embedded font with fontTools and drops the font's GSUB and GPOS
tables; fontTools (4.68) decompiles both tables in full before it drops them, which was 40 %
of a committee paper's CPU time. :func:`_install_early_drop` makes WeasyPrint's subsetter
delete the tables it would drop before that: the PDFs are byte-identical
(tests/committee/test_pdf_subsetting.py), a year's 17 papers take 3 CPU s less.
"""
from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from gep.errors import GepError
from gep.io import atomic_path

CJK_FONT_FAMILIES = "'Noto Sans CJK SC', 'Noto Serif CJK SC', 'WenQuanYi Zen Hei', sans-serif"


class PdfError(GepError, OSError):
    """WeasyPrint (or its system libraries) is not available."""


_shared: dict = {}
_render_lock = threading.Lock()


def _weasyprint():
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: pango missing
        raise PdfError(f"weasyprint: cannot load ({exc}). Fix: run `make fonts-deps` (Debian "
                       "libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk) and install the "
                       "package (pip install weasyprint)") from None
    _install_early_drop()
    return weasyprint


def _install_early_drop() -> None:
    """Make WeasyPrint's font subsetting delete the tables it drops before fontTools reads
    them (once per process; left alone if WeasyPrint no longer uses ``fontTools.subset``)."""
    if _shared.get("early_drop"):
        return
    _shared["early_drop"] = True
    import fontTools.subset
    import weasyprint.pdf.fonts as wp_fonts

    if getattr(wp_fonts, "subset", None) is not fontTools.subset:
        return

    class EarlyDropSubsetter(fontTools.subset.Subsetter):
        def subset(self, font):
            for tag in self.dropped_tables(font):
                del font[tag]
            super().subset(font)

        def dropped_tables(self, font) -> list[str]:
            """The tables ``_prune_pre_subset`` deletes whatever their content, in its order
            (``kern`` goes when ``GPOS`` is still there)."""
            o, present, out = self.options, set(font.keys()), []
            for tag in self._sort_tables(font):
                if (tag.strip() in o.drop_tables
                        or (tag.strip() in o.hinting_tables and not o.hinting)
                        or (tag == "kern" and not o.legacy_kern and "GPOS" in present)):
                    out.append(tag)
                    present.discard(tag)
            return out

    class SubsetModule:
        """``fontTools.subset`` with :class:`EarlyDropSubsetter` as its ``Subsetter``."""
        Subsetter = EarlyDropSubsetter

        def __getattr__(self, name):
            return getattr(fontTools.subset, name)

    wp_fonts.subset = SubsetModule()


def font_config():
    """The process's one WeasyPrint ``FontConfiguration``, made on first use.

    Documents rendered with it reuse the fonts pango has already loaded; a document's own
    ``@font-face`` rules are added to it (gep's documents have none).
    """
    if "fonts" not in _shared:
        from weasyprint.text.fonts import FontConfiguration

        _shared["fonts"] = FontConfiguration()
    return _shared["fonts"]


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
        fonts = font_config()
        css = [wp.CSS(string=s, font_config=fonts) for s in (stylesheets or [])]
        doc.write_pdf(str(tmp), stylesheets=css or None, font_config=fonts)
    return Path(out_path)
