"""``report/tables.xlsx``: every table of the committee report, one sheet each, for Excel.

Numbers are numbers (not text): money cells hold the exact Decimal amount to the fen with a
``#,##0.00`` format, counts are integers, other figures floats. Text a table shows formatted
(``1,234.56``) is turned back into its number. Header rows are bold and frozen. The same
tables give the same bytes (no save time inside).
"""
from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from gep.io import atomic_path

_NUMBER = re.compile(r"^-?\d{1,3}(,\d{3})*(\.\d+)?$|^-?\d+(\.\d+)?$")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
MONEY_FORMAT = "#,##0.00"


def cell_value(v):
    """A table cell as Excel should hold it."""
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, Decimal):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if np.isnan(v) else float(v)
    s = str(v).strip()
    if _NUMBER.match(s):
        s = s.replace(",", "")
        return Decimal(s) if "." in s else int(s)
    return None if s in ("", "—", "nan") else s


def sheet_name(title: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = _BAD_SHEET_CHARS.sub(" ", title).strip()[:31] or "Sheet"
    name, i = base, 2
    while name.lower() in used:
        suffix = f" ({i})"
        name, i = base[:31 - len(suffix)] + suffix, i + 1
    used.add(name.lower())
    return name


def write_xlsx(path: str | Path, tables: list[tuple[str, pd.DataFrame]]) -> Path:
    """Write ``[(title, table), ...]`` to ``path``, one sheet per table, atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for title, df in tables:
        ws = wb.create_sheet(sheet_name(title, used))
        ws.append([str(c) for c in df.columns])
        for c in ws[1]:
            c.font = Font(bold=True)
        widths = [len(str(c)) for c in df.columns]
        for row in df.itertuples(index=False):
            values = [cell_value(v) for v in row]
            ws.append(values)
            for j, v in enumerate(values):
                cell = ws.cell(row=ws.max_row, column=j + 1)
                if isinstance(v, Decimal) and v.as_tuple().exponent == -2:
                    cell.number_format = MONEY_FORMAT
                elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10000:
                    cell.number_format = "#,##0"
                widths[j] = max(widths[j], len(str(v)) if v is not None else 0)
        ws.freeze_panes = "A2"
        for j, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(j)].width = min(60, max(8, w + 2))
    wb.properties.creator = "gep"
    with atomic_path(path) as tmp:
        wb.save(tmp)
        _reproducible(tmp)
    return Path(path)


def _reproducible(path: Path) -> None:
    """Same tables, same bytes: drop the save time openpyxl writes into the document
    properties and give every zip member a fixed date."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = [(i, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in members:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", data)
            z.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), data,
                       compress_type=zipfile.ZIP_DEFLATED)
