"""Figures the committee report shows from the portal database: patrols, confirmed findings
per party, and how long public reports took to handle. Read-only; no personal data."""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from gep.portal.models import Chief, Finding, Patrol, PointsEntry, Report


def committee_stats(db: Session) -> dict:
    patrols = defaultdict(Counter)
    km = defaultdict(float)
    for party, status, k in db.execute(select(Chief.party_id, Patrol.status, Patrol.km_in_party)
                                       .join(Chief, Chief.id == Patrol.chief_id)):
        patrols[party][status] += 1
        if status == "accepted":
            km[party] += k
    findings = defaultdict(Counter)
    for party, kind in db.execute(select(Chief.party_id, Finding.kind)
                                  .join(Patrol, Patrol.id == Finding.patrol_id)
                                  .join(Chief, Chief.id == Patrol.chief_id)
                                  .where(Finding.confirmed.is_(True))):
        findings[party][kind] += 1
    points = defaultdict(int)
    for party, pts in db.execute(select(Chief.party_id, PointsEntry.points)
                                 .join(Chief, Chief.id == PointsEntry.chief_id)):
        points[party] += pts
    parties = sorted(set(patrols) | set(findings))
    per_party = [{"party_id": pid, "accepted": patrols[pid]["accepted"],
                  "rejected": patrols[pid]["rejected"],
                  "submitted": patrols[pid]["submitted"], "km": round(km[pid], 1),
                  "confirmed_findings": sum(findings[pid].values()),
                  "findings_by_kind": dict(sorted(findings[pid].items())),
                  "points": points[pid]} for pid in parties]
    by_cat: dict[str, list[float]] = defaultdict(list)
    open_by_cat: Counter = Counter()
    total_by_cat: Counter = Counter()
    for cat, status, created, resolved in db.execute(
            select(Report.category, Report.status, Report.created_at, Report.resolved_at)):
        total_by_cat[cat] += 1
        if status == "resolved" and resolved is not None:
            by_cat[cat].append((resolved - created).total_seconds() / 3600)
        else:
            open_by_cat[cat] += 1
    reports = []
    for cat in sorted(total_by_cat):
        hours = by_cat.get(cat, [])
        reports.append({"category": cat, "received": total_by_cat[cat],
                        "resolved": len(hours), "open": open_by_cat[cat],
                        "median_hours": round(statistics.median(hours), 1) if hours else None,
                        "max_hours": round(max(hours), 1) if hours else None})
    return {"parties": per_party, "reports": reports}
