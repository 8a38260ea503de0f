"""The committee report as PDF (``report/report.pdf``), printed from its HTML by WeasyPrint.

WeasyPrint lays the page out with the report's print stylesheet (``@media print`` and
``@page`` in the template); the one HTML-to-PDF helper is :func:`gep.pdf.html_to_pdf`.
"""
from __future__ import annotations

from gep.pdf import html_to_pdf

__all__ = ["html_to_pdf"]
