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


def party_labels(p: Paths) -> dict[str, str]:
    """Party id -> the name a person reads, ``林溪县 Linxi County`` (from the party table)."""
    import csv

    path = p.parties_csv
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return {r["party_id"]: " ".join(x for x in (r.get("name_zh"), r.get("name")) if x)
                or r["party_id"] for r in csv.DictReader(fh)}


def extra_sections(cfg, p: Paths, data_uri) -> list[dict]:
    from gep.report.committee_sections import committee_section, rating_section

    out = []
    from gep.report.portal_section import portal_section

    for fn in (classification_section, attribution_section, compensation_section,
               monitoring_section, portal_section, rating_section, committee_section,
               ledger_section):
        s = fn(cfg, p, data_uri)
        if s:
            out.append(s)
    return out


def rel(p: Paths, path) -> str:
    """A result's path as a reader of the results folder names it (``compensation/...``)."""
    return Path(path).relative_to(p.root).as_posix()


def _fmt(x) -> str:
    try:
        return f"{float(x):,.2f}"
    except (TypeError, ValueError):
        return str(x)


def _bi(zh: str, en: str) -> str:
    return f"<span class='zh'>{escape(zh)}</span> <span class='en'>{escape(en)}</span>"


def classification_section(cfg, p: Paths, data_uri) -> dict | None:
    """Accuracy assessment of the land-cover classification, per year (held-out split)."""
    import json

    years = [y for y in cfg.years if p.landcover_run(y).metrics.exists()]
    if not years:
        return None
    rows, html = [], []
    for y in years:
        m = json.loads(p.landcover_run(y).metrics.read_text())
        rows.append({"year": y, "overall accuracy / 总体精度": f"{m['overall_accuracy']:.3f}",
                     "kappa": f"{m['kappa']:.3f}", "n train": m["n_train"],
                     "n test": m["n_test"], "split": m["split"]})
    tables = [("分类精度 Classification", pd.DataFrame(rows))]
    html += [_table(tables[-1][1])]
    last = p.landcover_run(years[-1])
    m = json.loads(last.metrics.read_text())
    per = pd.DataFrame([{"class": f"{k} {v['name']}", "precision": f"{v['precision']:.3f}",
                         "recall": f"{v['recall']:.3f}", "f1": f"{v['f1']:.3f}",
                         "support": v["support"]} for k, v in m["per_class"].items()])
    html += [f"<h3>{_bi(f'{years[-1]} 年分类精度（按类别）', f'Per-class accuracy, {years[-1]}')}"
             "</h3>", _table(per)]
    tables.append((f"分类精度 Per class {years[-1]}", per))
    png = last.png
    if png.exists():
        html.append(f"<figure><img src='{data_uri(png.read_bytes())}' alt='confusion matrix'>"
                    f"<figcaption>{_bi('混淆矩阵（留出样本）', 'Confusion matrix (held-out samples)')}"
                    "</figcaption></figure>")
    return dict(id="classification", zh="土地覆被分类精度评价", en="Land-cover classification "
                "accuracy", html="\n".join(html), tables=tables)


def land_use_share(summary: dict) -> tuple[float | None, float]:
    """Share of the reward entitlements that comes from land-use change, and their sum.

    Each upstream party's entitled reward rests on its gain ``d`` on the agreement's basis; the
    land-use part of it is its land-use change clipped to [0, d] (all of it on the land-use
    basis)."""
    basis = summary["rules"].get("reward_basis")
    total = land = 0.0
    for info in summary["by_year"].values():
        for party in info["parties"].values():
            ent, d = float(party["entitlement_reward"]), float(party["increment"])
            if ent <= 0 or d <= 0:
                continue
            if basis == "land_use":
                part = 1.0
            elif "change_land_use" in party:
                part = min(max(float(party["change_land_use"]), 0.0), d) / d
            else:
                continue
            total += ent
            land += ent * part
    return (land / total if total > 0 else None), total


def attribution_section(cfg, p: Paths, data_uri) -> dict | None:
    """Per party, each year's GEP change split into land use and climate, and the share of
    the reward pool that land use earns."""
    import json

    from gep.report import charts

    if not p.attribution_csv.exists():
        return None
    att = pd.read_csv(p.attribution_csv, dtype={"total": str, "land_use": str,
                                                "climate": str})
    if att.empty:
        return None
    parties = list(dict.fromkeys(att["party_id"]))
    html = [f"<figure class='wide'><img src='{data_uri(charts.attribution_chart(att, parties))}'"
            f" alt='GEP change split into land use and climate'><figcaption>"
            f"{_bi('各方GEP年度变化：土地利用（参考气候下）与气候的贡献（不变价）', 'GEP change per party and year: land use (under the reference climate) and climate (constant prices)')}"
            "</figcaption></figure>"]
    summary_path = p.compensation.summary
    if summary_path.exists():
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        share, pool = land_use_share(summary)
        basis = summary["rules"].get("reward_basis")
        baseline = summary["rules"].get("reward_baseline")
        if basis is not None:
            if share is None:
                zh = f"本期无绩效奖励（奖励依据：{basis}，基线：{baseline}）。"
                en = (f"No GEP reward was earned in these years (basis {basis}, baseline "
                      f"{baseline}).")
            else:
                zh = (f"绩效奖励资金 {_fmt(pool)} 元中 {share:.1%} 来自土地利用变化"
                      f"（奖励依据：{basis}，基线：{baseline}）。")
                en = (f"{share:.1%} of the reward pool ({_fmt(pool)} CNY entitled) comes from "
                      f"land-use change (basis {basis}, baseline {baseline}).")
            html.append(f"<p>{_bi(zh, en)}</p>")
    return dict(id="attribution", zh="GEP变化归因：土地利用与气候",
                en="GEP change: land use or climate", html="\n".join(html))


def compensation_section(cfg, p: Paths, data_uri) -> dict | None:
    """Per-year settlement, each party's net statement, and its derivation in words."""
    import json

    summary_path = p.compensation.summary
    if not summary_path.exists():
        return None
    from gep.compensation import narrative

    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    stmt = pd.read_csv(p.compensation.statement, dtype={"amount_cny": str})
    rows = []
    for y, d in summary["by_year"].items():
        t = d["totals"]
        rows.append({"year": y, "P": d["P"], "met / 达标": "yes 是" if d["target_met"] else
                     "no 否", "clawback rate / 扣回比例": d["clawback_rate"],
                     "base B_t / 基础补偿": _fmt(d["base"]),
                     "reward pool R_t / 奖励资金池": _fmt(d["reward_pool"]),
                     "paid to upstream / 支付上游": _fmt(t["paid_to_upstream"]),
                     "clawback / 扣回": _fmt(t["clawback"]), "penalty / 罚没": _fmt(t["penalty"])})
    tables = [("年度结算 Annual settlement", pd.DataFrame(rows))]
    html = [f"<h3>{_bi('年度结算', 'Annual settlement')}</h3>", _table(tables[-1][1])]
    labels = {a["id"]: " ".join(x for x in (a.get("name_zh"), a.get("name")) if x) or a["id"]
              for a in summary["accounts"]} | party_labels(p)
    net = stmt.assign(amount=stmt["amount_cny"].astype(float)).pivot_table(
        index="party_id", columns="year", values="amount", aggfunc="sum").fillna(0.0)
    net = net.map(_fmt).reset_index()
    net.insert(0, "party / 参与方", [labels.get(k, k) for k in net.pop("party_id")])
    net.columns = [str(c) for c in net.columns]
    tables.append(("各方净收支 Net per account", net))
    html += [f"<h3>{_bi('各方净收支（正数为收入，元）', 'Net per account (positive = receives, CNY)')}"
             "</h3>", _table(net)]
    html.append(f"<h3>{_bi('各方结算说明', 'Statements with their derivation')}</h3>")
    words = narrative(p.compensation)
    names = {a["id"]: (a.get("name_zh") or a["id"], a.get("name") or a["id"])
             for a in summary["accounts"]}
    for pid, by_year in words.items():
        zh, en = names.get(pid, (pid, pid))
        items = "".join(f"<li><b>{y}</b> <span class='zh'>{escape(t['zh'])}</span> "
                        f"<span class='en'>{escape(t['en'])}</span></li>"
                        for y, t in sorted(by_year.items()))
        html.append(f"<details><summary>{escape(zh)} {escape(en)} ({escape(pid)})</summary>"
                    f"<ul>{items}</ul></details>")
    f = rel(p, p.compensation.transfers)
    html.append(f"<p>{_bi(f'全部转账及其计算过程见 {f}。', f'Every transfer with its explanation: {f}.')}</p>")
    return dict(id="compensation", zh="生态补偿结算", en="Ecological compensation",
                html="\n".join(html), tables=tables)


def monitoring_section(cfg, p: Paths, data_uri) -> dict | None:
    """Responsibility lists (table and map), the daily index with alerts, dispatch totals."""
    import tempfile

    perf_csv = p.monitoring.performance
    daily_csv = p.monitoring.daily_index
    if not perf_csv.exists() or not daily_csv.exists():
        return None
    from gep.monitoring import plots

    perf = pd.read_csv(perf_csv)
    last = int(perf["year"].max())
    html = [f"<h3>{_bi(f'{last} 年上游责任清单', f'Responsibility list of the upstream parties, {last}')}"
            "</h3>"]
    tab = perf[perf["year"] == last][["party_id", "target", "value", "threshold", "unit", "met"]]
    labels = party_labels(p)
    tab.insert(0, "party / 参与方", [labels.get(k, k) for k in tab.pop("party_id")])
    tables = [(f"责任清单 Responsibility {last}", tab)]
    html.append(_table(tab))
    if p.downstream_csv.exists():
        down = pd.read_csv(p.downstream_csv, dtype=str)
        down = down[down["year"] == str(last)][["party_id", "target", "value", "threshold",
                                                 "unit", "met"]]
        down.insert(0, "party / 参与方", [labels.get(k, k) for k in down.pop("party_id")])
        tables.append((f"下游责任清单 Downstream responsibility {last}", down))
        html += [f"<h3>{_bi(f'{last} 年下游责任清单', f'Responsibility list of the downstream parties, {last}')}"
                 "</h3>", _table(down)]
    years_dir = p.dispatch_folders()
    alerts = [d.alerts for d in years_dir if d.alerts.exists()]
    with tempfile.TemporaryDirectory() as tmp:
        m = plots.responsibility_map(perf_csv, p.parties_gpkg, last,
                                     f"{tmp}/map.png", downstream_csv=p.downstream_csv)
        c = plots.daily_index_chart(daily_csv, alerts, f"{tmp}/daily.png")
        html.append("<div class='figs'>"
                    f"<figure><img src='{data_uri(Path(m).read_bytes())}' alt='map'>"
                    f"<figcaption>{_bi('责任地图', 'Responsibility map')}</figcaption></figure>"
                    f"<figure class='wide'><img src='{data_uri(Path(c).read_bytes())}' "
                    "alt='daily index'><figcaption>"
                    f"{_bi('每日生态绩效指数（红点为告警）', 'Daily ecological performance index (alerts marked)')}"
                    "</figcaption></figure></div>")
    settle = [pd.read_csv(d.settlement, dtype=str) for d in years_dir if d.settlement.exists()]
    if settle:
        df = pd.concat(settle)
        cols = ["entitlement_cny", "paid_cny", "withheld_cny", "released_cny", "forfeited_cny"]
        tot = df.assign(**{c: df[c].astype(float) for c in cols}).groupby("year")[cols].sum()
        tot = tot.map(_fmt).reset_index()
        html += [f"<h3>{_bi('逐日拨付与托管资金', 'Daily disbursement and escrow')}</h3>",
                 _table(tot)]
        tables.append(("逐日拨付 Daily disbursement", tot))
    n_alerts = sum(len(pd.read_csv(a)) for a in alerts)
    zh, en = rel(p, p.dispatch("<年>").alerts), rel(p, p.dispatch("<year>").alerts)
    html.append(f"<p>{_bi(f'共 {n_alerts} 条告警，详见 {zh}。', f'{n_alerts} alerts in all: {en}.')}</p>")
    return dict(id="monitoring", zh="水质监测、责任清单与逐日拨付",
                en="Monitoring, responsibility lists and daily dispatch", html="\n".join(html),
                tables=tables)


def ledger_section(cfg, p: Paths, data_uri) -> dict | None:
    """The audit trail: SHA-256 of every input and output the figures rest on.

    The ledger (built after this report) records these same digests, the report's own digest
    and every transfer, under a signed checkpoint anyone can verify."""
    import hashlib

    files = [p.gep_csv, p.increments_csv, p.attribution_csv, p.compensation.transfers,
             p.compensation.statement, p.monitoring.section_quality,
             p.monitoring.performance, p.parties_gpkg]
    files += [p.year_file(y, n) for y in cfg.years for n in ("landcover", "precipitation")]
    rows = []
    for f in files:
        if f.exists():
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            rows.append({"file": str(f.relative_to(p.root)), "bytes": f.stat().st_size,
                         "sha256": h.hexdigest()})
    site = rel(p, p.ledger.site_index)
    html = [_table(pd.DataFrame(rows)),
            f"<p>{_bi(f'以上文件摘要、全部转账与本报告的摘要均写入阳光账本（{site}），由签名检查点保护，任何人可验证。', f'These digests, every transfer and this report digest are appended to the sunshine ledger ({site}) under a signed checkpoint that anyone can verify (gep ledger verify).')}</p>"]
    return dict(id="audit", zh="审计追踪", en="Audit trail", html="\n".join(html),
                tables=[("审计追踪 Audit trail", pd.DataFrame(rows))])
