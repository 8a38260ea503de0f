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

WeasyPrint subsets each embedded font of each document with fontTools;
:func:`_speed_up_subsetting` makes that cheaper twice over, the PDFs staying byte-identical
(tests/committee/test_pdf_subsetting.py):

* WeasyPrint drops the fonts' GSUB and GPOS tables, but fontTools (4.68) decompiles both in
  full before it drops them, which was 40 % of a committee paper's CPU time: the tables it
  would drop are deleted before it starts;
* a subset depends only on the font file, the glyphs kept and two options, and papers of one
  kind use the same glyphs of the same fonts (the 85 demo papers: 255 subsets, 66 different):
  each different subset is made once per process.
"""
from __future__ import annotations

import hashlib
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
    _speed_up_subsetting()
    return weasyprint


def _speed_up_subsetting() -> None:
    """Make WeasyPrint's font subsetting delete the tables it drops before fontTools reads
    them, and reuse a subset already made in this process (once per process; left alone if
    WeasyPrint no longer subsets through ``fontTools.subset`` and ``Font._fonttools_subset``)."""
    if _shared.get("subsetting"):
        return
    _shared["subsetting"] = True
    import fontTools.subset
    import weasyprint.pdf.fonts as wp_fonts

    own = getattr(wp_fonts.Font, "_fonttools_subset", None)
    if getattr(wp_fonts, "subset", None) is not fontTools.subset or own is None:
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

    made: dict[tuple, bytes] = {}

    def reused_subset(font, to_unicode, hinting):
        """``Font._fonttools_subset``, once per font file, face, glyph set and options: what
        it reads (its options are ``hinting`` and whether glyphs are missing)."""
        key = (hashlib.sha256(font.file_content).digest(), font.index, frozenset(to_unicode),
               bool(hinting), bool(font.missing))
        if key not in made:
            own(font, to_unicode, hinting)
            made[key] = font.file_content
        font.file_content = made[key]

    wp_fonts.subset = SubsetModule()
    wp_fonts.Font._fonttools_subset = reused_subset
    _shared.update(subsets=made, own_subset=own)


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
