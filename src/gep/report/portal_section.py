"""The committee report's portal section: river-chief patrols, confirmed findings per party,
and public-report handling times. Shown only when the portal database exists."""
from __future__ import annotations

from html import escape

import pandas as pd

from gep.paths import Paths


def portal_section(cfg, p: Paths, data_uri) -> dict | None:
    portal_cfg = getattr(cfg, "portal", None)
    if portal_cfg is None or not portal_cfg.enabled or not p.portal_db.is_file():
        return None
    from gep.portal import db as dbm
    from gep.portal.stats import committee_stats
    from gep.report.sections import _bi, _table, party_labels

    engine = dbm.make_engine(dbm.default_sqlite_url(p.portal_db))
    try:
        with dbm.session_factory(engine)() as db:
            stats = committee_stats(db)
    finally:
        engine.dispose()
    labels = party_labels(p)
    parties = pd.DataFrame([{
        "party / 参与方": labels.get(r["party_id"], r["party_id"]),
        "accepted patrols / 通过巡河": r["accepted"],
        "rejected / 退回": r["rejected"], "awaiting review / 待审": r["submitted"],
        "km in own party / 本方里程": f"{r['km']:.1f}",
        "confirmed findings / 确认问题": r["confirmed_findings"],
        "by kind / 分类": ", ".join(f"{k} {n}" for k, n in r["findings_by_kind"].items()),
        "points / 积分": r["points"]} for r in stats["parties"]])
    reports = pd.DataFrame([{
        "category / 类别": r["category"], "received / 收到": r["received"],
        "resolved / 办结": r["resolved"], "open / 未结": r["open"],
        "median hours to resolve / 办结时长中位数（小时）":
            "—" if r["median_hours"] is None else f"{r['median_hours']:.1f}",
        "longest (h) / 最长（小时）": "—" if r["max_hours"] is None else f"{r['max_hours']:.1f}",
    } for r in stats["reports"]])
    html = [
        "<p>" + _bi("民间河长巡河记录（经委员会审核）、经确认的问题，以及公众监督举报的"
                    "办理时长。数据来自监督平台数据库；个人信息不在本报告中。",
                    "Civic river chiefs' patrols (as reviewed by the committee), the findings it "
                    "confirmed, and how long public reports took to handle. From the portal "
                    "database; no personal data.") + "</p>",
        f"<h3>{_bi('巡河与确认的问题', 'Patrols and confirmed findings')}</h3>",
        _table(parties) if len(parties) else "<p>—</p>",
        f"<h3>{_bi('监督举报办理', 'Public report handling')}</h3>",
        _table(reports) if len(reports) else "<p>—</p>",
        f"<p><code>{escape(p.portal_db.name)}</code></p>",
    ]
    return dict(id="portal", zh="民间河长与公众监督", en="River chiefs and public reports",
                html="\n".join(html))
