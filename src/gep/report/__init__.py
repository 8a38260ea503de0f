"""The committee report: one self-contained, bilingual (zh/en) HTML file.

``build_report(cfg)`` (:mod:`gep.report.build`) reads the GEP tables and, when they exist, the
compensation, monitoring and ledger outputs, draws charts and maps (embedded as data URIs, so
the file reads offline and can be mailed), and writes atomically ``results/<basin>/report/``:

* ``index.html``, the report (with a print stylesheet);
* ``report.pdf``, the same report printed by WeasyPrint (:mod:`gep.pdf`);
* ``tables.xlsx``, every table of the report, one sheet each (:mod:`gep.report.tables`).

Parties appear by name (``林溪县 Linxi County``, from the party table) wherever a person reads;
their ids stay in the machine CSVs.
"""
from __future__ import annotations

from gep.report import charts  # noqa: F401  (re-exported)
from gep.report.build import (  # noqa: F401  (re-exported)
    build_report,
    data_uri,
    report_tables,
    service_label,
)
from gep.services import SERVICE_NAMES  # noqa: F401  (re-exported)
