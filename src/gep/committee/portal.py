"""Optional hook: open citizen reports and patrol findings from the citizen portal (issue 11).

The monthly agenda lists them when ``results/<basin>/portal/portal.db`` exists. The portal is
built separately; this hook fixes the contract it must expose, read-only, with no personal
data: a table or view ``committee_open_items`` with the columns

    kind        'citizen_report' | 'patrol_finding'
    item_id     the portal's public id of the report or finding
    party_id    the party whose territory it concerns (may be empty)
    opened      ISO date (YYYY-MM-DD) it was filed
    closed      ISO date it was closed, or NULL/'' while open
    summary     a short public description (no names, phone numbers or other personal data)

An item is on the agenda of a month when it was opened on or before the month's last day and
was not closed by then. Without the file the agenda says the portal is not connected; with a
file lacking the view it says so, rather than failing the committee's papers.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

VIEW = "committee_open_items"
COLUMNS = ("kind", "item_id", "party_id", "opened", "closed", "summary")
KINDS = ("citizen_report", "patrol_finding")


def open_items(db: str | Path, until: dt.date) -> dict:
    """``{"status": "absent" | "no_view" | "ok", "items": [...], "counts": {kind: n}}``."""
    db = Path(db)
    if not db.is_file():
        return {"status": "absent", "items": [], "counts": {}}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = {r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
        if VIEW not in names:
            return {"status": "no_view", "items": [], "counts": {}}
        day = until.isoformat()
        rows = con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM {VIEW} WHERE opened <= ? AND "
            "(closed IS NULL OR closed = '' OR closed > ?) ORDER BY opened, item_id",
            (day, day)).fetchall()
    except sqlite3.Error as exc:
        return {"status": f"error: {exc}", "items": [], "counts": {}}
    finally:
        con.close()
    items = [dict(zip(COLUMNS, (("" if v is None else str(v)) for v in r))) for r in rows]
    counts = {k: sum(1 for i in items if i["kind"] == k) for k in KINDS}
    return {"status": "ok", "items": items, "counts": counts}
