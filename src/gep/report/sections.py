"""Report sections contributed by later stages (compensation, monitoring, ledger).

Each function returns ``None`` when its stage's outputs are absent, otherwise a dict with
``id, zh, en`` (titles) and ``html`` (a trusted fragment built here, values escaped).
"""
from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from gep.paths import Paths


def _table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in df.itertuples(index=False))
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>" \
           "</table></div>"


def extra_sections(cfg, p: Paths, data_uri) -> list[dict]:
    out = []
    for fn in (compensation_section, monitoring_section, ledger_section):
        s = fn(cfg, p, data_uri)
        if s:
            out.append(s)
    return out


def compensation_section(cfg, p: Paths, data_uri) -> dict | None:
    return None


def monitoring_section(cfg, p: Paths, data_uri) -> dict | None:
    return None


def ledger_section(cfg, p: Paths, data_uri) -> dict | None:
    return None
