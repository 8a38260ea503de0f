"""Report sections of issue 12: the enterprise star rating, the agreement execution rate with
the committee's papers, and the agreement's filing. Each returns ``None`` when its outputs
are absent (see ``gep.report.sections``)."""
from __future__ import annotations

import csv
from decimal import Decimal

import pandas as pd

from gep.paths import Paths
from gep.report.sections import _bi, _table, rel


def _rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def rating_section(cfg, p: Paths, data_uri) -> dict | None:
    if not p.ratings_csv.exists():
        return None
    rows = _rows(p.ratings_csv)
    years = sorted({int(r["year"]) for r in rows})
    tab = []
    for y in years:
        rr = [r for r in rows if int(r["year"]) == y]
        counts = {s: sum(1 for r in rr if int(r["stars"]) == s) for s in range(0, 6)}
        tab.append({"year": y, "enterprises / 企业": len(rr),
                    **{f"{s}★": counts[s] for s in range(0, 6)},
                    "incentives / 激励": sum(1 for r in rr if r["priority_funding"] == "true"
                                           or Decimal(r["water_price_discount"]) > 0),
                    "provisional / 临时": sum(1 for r in rr if r["provisional"] == "true")})
    certs = rel(p, p.certificate_files.index)
    html = [_table(pd.DataFrame(tab)),
            f"<p>{_bi(f'三星及以上且申报已核验的企业享受水价优惠、优先资金与排污权激励；证书见 {certs}。', f'Verified enterprises with three stars or more earn water-price discounts and priority funding or emission rights; certificates: {certs}.')}</p>"]
    return dict(id="rating", zh="企业生态反哺星级认证", en="Enterprise eco star rating",
                html="\n".join(html))


def committee_section(cfg, p: Paths, data_uri) -> dict | None:
    html = []
    if p.filings_csv.exists():
        f = pd.DataFrame(_rows(p.filings_csv))
        if len(f):
            html += [f"<h3>{_bi('协议备案', 'Filing of the agreement')}</h3>",
                     _table(f[["date", "body", "reference", "agreement_id", "sha256",
                               "ledger_index"]]),
                     f"<p>{_bi('备案记录（协议摘要、备案机关与文号）已写入阳光账本。', 'The filing (agreement digest, body and reference) is recorded in the sunshine ledger.')}</p>"]
    if p.execution_csv.exists():
        target = Decimal(repr(cfg.committee.execution_target))
        ex = [r for r in _rows(p.execution_csv) if r["obligation"] == "all"]
        parties = sorted({r["party_id"] for r in ex} - {"basin"}) + ["basin"]
        years = sorted({r["year"] for r in ex})
        look = {(r["year"], r["party_id"]): r for r in ex}
        from gep.report.sections import party_labels

        labels = party_labels(p) | {"basin": "流域 Basin"}
        papers = rel(p, p.committee_index)
        tab = []
        for pid in parties:
            row = {"party / 参与方": labels.get(pid, pid)}
            for y in years:
                r = look.get((y, pid))
                row[y] = "—" if r is None else (
                    f"{Decimal(r['rate']) * 100:.2f}% ({r['executed']}/{r['due']})"
                    + (" ⚑" if Decimal(r["rate"]) < target else ""))
            tab.append(row)
        html += [f"<h3>{_bi(f'协议执行率（目标 {target * 100:.0f}%）', f'Agreement execution rate (target {target * 100:.0f}%)')}</h3>",
                 _table(pd.DataFrame(tab)),
                 f"<p>{_bi(f'义务：结算转账按期足额支付、责任清单目标、各月监测数据有效报送（≥90%）；⚑ 为低于目标。月度议事、季度通报与年度评估见 {papers}。', f'Obligations: settlement transfers paid in full by their due date, responsibility-list targets, monthly data delivery (>= 90 % valid); ⚑ below target. Monthly agendas, quarterly bulletins and annual assessments: {papers}.')}</p>"]
    if not html:
        return None
    return dict(id="committee", zh="委员会：协议执行与备案", en="Committee: execution and filing",
                html="\n".join(html))
