"""The committee report as PDF (``report/report.pdf``), printed from its HTML by WeasyPrint.

WeasyPrint lays the page out with the report's print stylesheet (``@media print`` and
``@page`` in the template) and finds fonts through fontconfig: the CJK text needs Debian's
``fonts-noto-cjk`` and WeasyPrint needs Pango (``make fonts-deps`` installs both).
"""
from __future__ import annotations

import logging
from pathlib import Path

from gep.io import atomic_path


def html_to_pdf(html: str, out_path: str | Path, base_url: str | Path | None = None) -> Path:
    """Render ``html`` to a PDF at ``out_path`` (atomically) and return the path."""
    from weasyprint import HTML

    for name in ("weasyprint", "fontTools"):  # per-glyph chatter at INFO
        logging.getLogger(name).setLevel(max(logging.getLogger(name).level, logging.WARNING))
    with atomic_path(out_path) as tmp:
        HTML(string=html, base_url=str(base_url) if base_url is not None else None).write_pdf(
            tmp)
    return Path(out_path)
