"""The committee's papers: monthly agenda (议事), quarterly bulletin (通报), annual assessment
(评估). Each is computed from the run's CSVs into a plain data structure (also written as
``<period>.json``), rendered to one bilingual HTML page with a print stylesheet, and to a PDF
of the same HTML (WeasyPrint, ``gep.pdf``). ``index.html`` lists every paper.
"""
from __future__ import annotations

import calendar
import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, cached_property
from pathlib import Path

from gep.committee.periods import Period, periods_of_year
from gep.errors import InputDataError
from gep.io import write_json, write_text

Z = Decimal(0)


def money(x: Decimal) -> str:
    return f"{Decimal(x):,.2f}"


def pct(x: Decimal | float | None) -> str:
    if x is None:
        return "—"
    return f"{(Decimal(str(x)) * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def _rows(path: Path) -> list[dict]:
    if not Path(path).is_file():
        return []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _table(zh, en, columns, rows, note=None) -> dict:
    return {"zh": zh, "en": en, "columns": columns, "rows": rows, "note": note}


class RunData:
    """The run's outputs, read lazily and once, for every paper of a build."""

    def __init__(self, cfg, p):
        self.cfg, self.p = cfg, p
        self.target = Decimal(repr(cfg.committee.execution_target))

    @cached_property
    def parties(self) -> dict[str, dict]:
        return {r["party_id"]: r for r in _rows(self.p.parties_csv)}

    def name(self, pid: str) -> str:
        r = self.parties.get(pid)
        return f"{r.get('name_zh', '')} {r.get('name', pid)}".strip() if r else pid

    @cached_property
    def execution(self) -> list[dict]:
        if not self.p.execution_csv.is_file():
            raise InputDataError(str(self.p.execution_csv), "execution rate not computed",
                                 "run `gep execution --config C` first")
        return _rows(self.p.execution_csv)

    @cached_property
    def obligations(self) -> list[dict]:
        return _rows(self.p.obligations_csv)

    def execution_to_date(self, year: int, until: dt.date) -> dict[str, tuple[int, int]]:
        """party (and 'basin') -> (due, executed) of obligations of ``year`` due by ``until``."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for o in self.obligations:
            if int(o["year"]) == year and dt.date.fromisoformat(o["due_date"]) <= until:
                for k in (o["party_id"], "basin"):
                    out[k][0] += 1
                    out[k][1] += o["executed"] == "true"
        return {k: (v[0], v[1]) for k, v in out.items()}

    @cached_property
    def transfers(self) -> list[dict]:
        return _rows(self.p.compensation.transfers)

    def dispatch_rows(self, year: int, key: str) -> list[dict]:
        """Rows of a file of ``year``'s dispatch folder (a ``DispatchFiles`` key: alerts,
        disbursements, settlement, ledger_transfers); none when it is absent."""
        return _rows(self.p.dispatch(year).file(key))

    @cached_property
    def compliance(self) -> dict[str, list[tuple[str, str, bool, bool]]] | None:
        """date -> ``(party_id, target_class, compliant, sufficient)`` of every row of the
        daily compliance table at a party's section; None when monitoring did not run. Read
        with the csv module (the job needs no pandas) and kept by date, so a period's rows
        are found without scanning the whole table."""
        f = self.p.monitoring.daily_compliance
        if not f.is_file():
            return None
        party_of = {r["section"]: r["party_id"] for r in _rows(self.p.monitoring.daily_index)
                    if r["party_id"]}
        by_date: dict[str, list[tuple[str, str, bool, bool]]] = defaultdict(list)
        for r in _rows(f):
            pid = party_of.get(r["section"])
            if pid:
                by_date[r["date"]].append((pid, r["target_class"], r["compliant"] == "true",
                                           r["sufficient"] == "true"))
        return by_date

    def _compliance_rows(self, start: dt.date, end: dt.date):
        lo, hi = start.isoformat(), end.isoformat()
        for day, rows in self.compliance.items():
            if lo <= day <= hi:
                for row in rows:
                    yield day, row

    def wq_compliance(self, start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:
        """party -> (compliant days, days): a day is compliant when every assessed indicator
        at the party's stations met its target class (as in the responsibility list)."""
        if self.compliance is None:
            return {}
        day_ok: dict[tuple[str, str], bool] = {}
        for day, (pid, target, compliant, _) in self._compliance_rows(start, end):
            if target != "":
                day_ok[(pid, day)] = day_ok.get((pid, day), True) and compliant
        return _tally((pid, ok) for (pid, _), ok in day_ok.items())

    def delivery(self, start: dt.date, end: dt.date) -> dict[str, tuple[int, int]]:
        if self.compliance is None:
            return {}
        return _tally((pid, sufficient)
                      for _, (pid, _, _, sufficient) in self._compliance_rows(start, end))

    @cached_property
    def wq_targets(self) -> dict[str, Decimal]:
        from gep.monitoring.settings import load_settings

        if self.cfg.monitoring.config is None or not self.cfg.path(
                self.cfg.monitoring.config).is_file():
            return {}
        s = load_settings(self.cfg.path(self.cfg.monitoring.config))
        out = {}
        for pid, r in self.parties.items():
            if r.get("role") == "upstream":
                t = s.responsibility.targets(pid).water_quality_compliance_rate
                if t is not None:
                    out[pid] = Decimal(repr(t))
        return out

    @cached_property
    def ratings(self) -> list[dict]:
        return _rows(self.p.ratings_csv)

    @cached_property
    def gep(self) -> dict[tuple[int, str], Decimal]:
        out: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
        for r in _rows(self.p.gep_csv):
            v = r.get("value_cny_constant", "")
            if v not in ("", "nan", "NaN"):
                out[(int(r["year"]), r["party_id"])] += Decimal(v)
        return out

    @cached_property
    def settlement_summary(self) -> dict:
        f = self.p.compensation.summary
        return json.loads(f.read_text(encoding="utf-8"))["by_year"] if f.is_file() else {}

    @cached_property
    def responsibility(self) -> list[dict]:
        return (_rows(self.p.monitoring.performance) + _rows(self.p.downstream_csv))


# ----------------------------------------------------------------------------- papers

def _execution_flag(rd: RunData, due: int, done: int, zh: str, en: str) -> dict | None:
    if due == 0:
        return None
    r = Decimal(done) / Decimal(due)
    if r < rd.target:
        return {"zh": f"{zh}协议执行率 {pct(r)}，低于 {pct(rd.target)} 目标",
                "en": f"{en}agreement execution rate {pct(r)} is below the {pct(rd.target)} "
                      "target"}
    return None


def monthly(rd: RunData, per: Period) -> dict:
    from gep.committee.portal import open_items

    y, end = per.year, per.end
    month = per.label
    flags = []
    alerts = [a for a in rd.dispatch_rows(y, "alerts") if a["date"].startswith(month)]
    by_party = _alerts_by_party(alerts)
    sums, dispatch_section = _month_dispatch(rd, per)
    portal = open_items(rd.p.portal_db, end)
    secs = [_month_alerts_section(rd, alerts, by_party), dispatch_section,
            _month_portal_section(rd, portal)]
    decisions = _month_decisions(rd, per, by_party, portal)
    ex = rd.execution_to_date(y, end).get("basin", (0, 0))
    f = _execution_flag(rd, ex[0], ex[1], "年初至今", "Year to date: ")
    if f:
        flags.append(f)
    secs.append({"zh": "四、待决事项", "en": "4. Decisions due", "bullets": decisions or [
        {"zh": "无待决事项", "en": "No decisions due"}]})
    return {"period": per.label, "kind": "month", "sections": secs, "flags": flags,
            "numbers": {"alert_days": {k: len(v["days"]) for k, v in by_party.items()},
                        "withheld_cny": {k: f"{s[2]:.2f}" for k, s in sums.items()},
                        "execution_to_date": {"due": ex[0], "executed": ex[1]}}}


def _alerts_by_party(alerts: list[dict]) -> dict[str, dict]:
    """party -> alert days, alert rows and the amount withheld (once per alert day)."""
    by_party = defaultdict(lambda: {"days": set(), "rows": 0, "withheld": Z})
    for a in alerts:
        b = by_party[a["party_id"]]
        b["rows"] += 1
        if a["date"] not in b["days"]:
            b["days"].add(a["date"])
            b["withheld"] += Decimal(a["day_withheld_cny"] or "0")
    return by_party


def _month_alerts_section(rd: RunData, alerts: list[dict], by_party: dict) -> dict:
    rows = [[pid, rd.name(pid), len(b["days"]), b["rows"], money(b["withheld"])]
            for pid, b in sorted(by_party.items())]
    detail = [[a["date"], a["party_id"], a["cause"], a["message"]] for a in alerts[:15]]
    return {"zh": "一、告警", "en": "1. Alerts", "tables": [
        _table("各方告警", "Alerts by party", ["party_id", "名称 name", "告警日 alert days",
                                              "告警条数 alerts", "暂扣 withheld (CNY)"], rows,
               None if rows else "本月无告警 No alerts this month."),
        _table("告警明细（前 15 条）", "Alert details (first 15)",
               ["date", "party_id", "cause", "message"], detail)] if rows else [
        _table("各方告警", "Alerts by party", [], [], "本月无告警 No alerts this month.")]}


def _month_dispatch(rd: RunData, per: Period) -> tuple[dict, dict]:
    """(party -> [scheduled, paid, withheld] this month, the section on withheld payments
    and escrow)."""
    y, month, end = per.year, per.label, per.end
    disbursements = rd.dispatch_rows(y, "disbursements")
    disb = [d for d in disbursements if d["date"].startswith(month)]
    ytd = [d for d in disbursements if d["date"] <= end.isoformat()]
    sums = defaultdict(lambda: [Z, Z, Z])
    escrow = defaultdict(Decimal)
    for d in disb:
        s = sums[d["party_id"]]
        s[0] += Decimal(d["scheduled_cny"])
        s[1] += Decimal(d["paid_cny"])
        s[2] += Decimal(d["withheld_cny"])
    for d in ytd:
        escrow[d["party_id"]] += Decimal(d["withheld_cny"])
    rows = [[pid, rd.name(pid), money(s[0]), money(s[1]), money(s[2]), money(escrow[pid])]
            for pid, s in sorted(sums.items())]
    if rows:
        tot = [sum((s[i] for s in sums.values()), Z) for i in range(3)]
        rows.append(["basin", "合计 total", money(tot[0]), money(tot[1]), money(tot[2]),
                     money(sum(escrow.values(), Z))])
    note = None if rows else ("本月无逐日拨付（该年不调度）No daily dispatch this month (no "
                              "settlement is paid out in this year).")
    if per.number == 12 and rows:
        settle = rd.dispatch_rows(y, "settlement")
        note = "年末托管结算 Year-end escrow settlement: " + "; ".join(
            f"{s['party_id']} P {s['P']}: released {money(Decimal(s['released_cny']))}, "
            f"forfeited {money(Decimal(s['forfeited_cny']))}" for s in settle)
    return sums, {"zh": "二、暂扣拨付与托管资金", "en": "2. Withheld payments and escrow",
                  "tables": [_table("本月逐日拨付（元）", "Daily dispatch this month (CNY)",
                                    ["party_id", "名称 name", "应拨 scheduled", "已拨 paid",
                                     "暂扣 withheld", "托管余额 escrow to date"], rows, note)]}


def _month_portal_section(rd: RunData, portal: dict) -> dict:
    if portal["status"] == "ok":
        rows = [[i["kind"], i["item_id"], i["party_id"], i["opened"], i["summary"]]
                for i in portal["items"][:30]]
        note = (f"公众举报 citizen reports open: {portal['counts'].get('citizen_report', 0)}; "
                f"巡河发现 patrol findings open: {portal['counts'].get('patrol_finding', 0)}")
    else:
        rows = []
        db = rd.p.portal_db.relative_to(rd.p.root).as_posix()
        note = (f"公众参与平台尚未接入 The citizen portal is not connected (no {db})."
                if portal["status"] == "absent" else
                f"公众参与平台未提供 committee_open_items The portal exposes no committee view "
                f"({portal['status']}).")
    return {"zh": "三、公众举报与巡河发现", "en": "3. Open citizen reports and patrol findings",
            "tables": [_table("未结事项", "Open items", ["kind", "id", "party_id", "opened",
                                                     "summary"], rows, note)]}


def _month_decisions(rd: RunData, per: Period, by_party: dict, portal: dict) -> list[dict]:
    y, month = per.year, per.label
    decisions = []
    dfail = [o for o in rd.obligations if o["obligation"] == "data_delivery"
             and o["item"] == month and o["executed"] != "true"]
    for o in dfail:
        decisions.append({"zh": f"{o['party_id']} 本月数据报送不足（{o['detail']}）：决定是否发出督办通知",
                          "en": f"{o['party_id']}: data delivery short this month "
                                f"({o['detail']}); decide on a notice"})
    for pid in sorted(by_party):
        decisions.append({"zh": f"{pid}：审议 {len(by_party[pid]['days'])} 个告警日的暂扣拨付",
                          "en": f"{pid}: review the payments withheld on "
                                f"{len(by_party[pid]['days'])} alert days"})
    due_now = [o for o in rd.obligations if o["obligation"] == "settlement_transfer"
               and o["due_date"][:7] == month]
    if due_now:
        owed = defaultdict(Decimal)
        for t in rd.transfers:
            if int(t["year"]) == y - 1:
                owed[t["from_account"]] += Decimal(t["amount_cny"])
        decisions.append({"zh": f"{y - 1} 年度结算转账 {len(due_now)} 笔本月到期，核实足额到账",
                          "en": f"{len(due_now)} settlement transfers of {y - 1} fall due this "
                                "month; confirm payment in full: " + "; ".join(
                                    f"{k} {money(v)}" for k, v in sorted(owed.items()))})
    if per.number == 12:
        decisions.append({"zh": f"{y} 年责任清单考核与托管资金年末结算",
                          "en": f"Assess the {y} responsibility lists; settle the escrow"})
    if portal["status"] == "ok" and portal["items"]:
        decisions.append({"zh": f"处理 {len(portal['items'])} 项未结公众举报与巡河发现",
                          "en": f"Act on {len(portal['items'])} open citizen reports and "
                                "patrol findings"})
    return decisions


def quarterly(rd: RunData, per: Period) -> dict:
    y, end = per.year, per.end
    ex = rd.execution_to_date(y, end)
    parties, rows, numbers = _quarter_ranking(rd, per, ex)
    b = ex.get("basin", (0, 0))
    flags = _quarter_flags(rd, parties, numbers, ex)
    progress = [[r["party_id"], r["target"], r["value"], r["threshold"], r["unit"], r["met"]]
                for r in rd.responsibility if int(r["year"]) == y - 1] if per.number == 1 else []
    rate = pct(Decimal(b[1]) / b[0]) if b[0] else '—'
    secs = [{"zh": "一、各方履约排名", "en": "1. Parties ranked by compliance and execution",
             "tables": [_table(f"{per.label} 各方水质达标、数据报送与协议执行（按执行率排名）",
                               f"{per.label}: water quality, data delivery and execution, ranked",
                               ["rank 排名", "party_id", "名称 name",
                                "水质达标率 WQ compliance", "目标 target", "进度 progress",
                                "数据有效率 data valid", "告警日 alert days",
                                "执行 executed/due (YTD)", "执行率 rate (YTD)"], rows,
                               "排名：年初至今执行率，其次水质达标率。Ranked by execution rate "
                               "to date, then water-quality compliance.")]},
            {"zh": "二、协议执行率", "en": "2. Agreement execution rate",
             "paragraphs": [{"zh": f"截至 {end} 全流域执行率 {rate}"
                                   f"（{b[1]}/{b[0]}），目标 {pct(rd.target)}。",
                             "en": f"Basin execution rate to {end}: "
                                   f"{rate} ({b[1]} of "
                                   f"{b[0]} obligations due), target {pct(rd.target)}."}]}]
    if progress:
        secs.append({"zh": "三、上年度责任清单结果", "en": "3. Last year's responsibility lists",
                     "tables": [_table(f"{y - 1} 年责任清单", f"Responsibility lists {y - 1}",
                                       ["party_id", "target", "value", "threshold", "unit",
                                        "met"], progress)]})
    return {"period": per.label, "kind": "quarter", "sections": secs, "flags": flags,
            "numbers": {"parties": numbers,
                        "basin_execution": {"due": b[0], "executed": b[1]}}}


def _quarter_ranking(rd: RunData, per: Period, ex: dict[str, tuple[int, int]]
                     ) -> tuple[list[str], list[list], dict[str, dict]]:
    """(parties, ranked table rows, party -> numbers) of a quarter: water-quality
    compliance against target, data delivery, alert days and execution to date; ranked by
    execution rate, then compliance."""
    y, start, end = per.year, per.start, per.end
    wq = rd.wq_compliance(start, end)
    dl = rd.delivery(start, end)
    alerts = defaultdict(set)
    for a in rd.dispatch_rows(y, "alerts"):
        if start.isoformat() <= a["date"] <= end.isoformat():
            alerts[a["party_id"]].add(a["date"])
    parties = sorted(set(wq) | set(dl) | {k for k in ex if k != "basin"})
    rows, numbers = [], {}
    for pid in parties:
        c = wq.get(pid)
        crate = Decimal(c[0]) / Decimal(c[1]) if c and c[1] else None
        d = dl.get(pid)
        drate = Decimal(d[0]) / Decimal(d[1]) if d and d[1] else None
        e = ex.get(pid)
        erate = Decimal(e[1]) / Decimal(e[0]) if e and e[0] else None
        tgt = rd.wq_targets.get(pid)
        on_track = ("—" if tgt is None or crate is None else
                    ("达标 on track" if crate >= tgt else "落后 behind"))
        numbers[pid] = {"wq_compliant_days": c[0] if c else None, "days": c[1] if c else None,
                        "wq_rate": None if crate is None else f"{crate:.6f}",
                        "delivery_rate": None if drate is None else f"{drate:.6f}",
                        "execution_due": e[0] if e else 0, "execution_done": e[1] if e else 0,
                        "alert_days": len(alerts.get(pid, ()))}
        rows.append([pid, rd.name(pid), pct(crate), pct(tgt) if tgt is not None else "—",
                     on_track, pct(drate), len(alerts.get(pid, ())),
                     f"{e[1]}/{e[0]}" if e else "0/0", pct(erate)])
    key = {r[0]: (-(Decimal(numbers[r[0]]["execution_done"]) / numbers[r[0]]["execution_due"]
                    if numbers[r[0]]["execution_due"] else Z),
                  -(Decimal(numbers[r[0]]["wq_rate"]) if numbers[r[0]]["wq_rate"] else Z),
                  r[0]) for r in rows}
    rows.sort(key=lambda r: key[r[0]])
    for i, r in enumerate(rows, 1):
        r.insert(0, i)
        numbers[r[1]]["rank"] = i
    return parties, rows, numbers


def _quarter_flags(rd: RunData, parties: list[str], numbers: dict[str, dict],
                   ex: dict[str, tuple[int, int]]) -> list[dict]:
    b = ex.get("basin", (0, 0))
    flags = []
    f = _execution_flag(rd, b[0], b[1], "年初至今全流域", "Basin, year to date: ")
    if f:
        flags.append(f)
    for pid in parties:
        e = ex.get(pid)
        f = e and _execution_flag(rd, e[0], e[1], f"{pid} 年初至今", f"{pid}, year to date: ")
        if f:
            flags.append(f)
        n = numbers[pid]
        tgt = rd.wq_targets.get(pid)
        if tgt is not None and n["wq_rate"] is not None and Decimal(n["wq_rate"]) < tgt:
            flags.append({"zh": f"{pid} 本季水质达标率 {pct(Decimal(n['wq_rate']))} 低于目标 "
                                f"{pct(tgt)}",
                          "en": f"{pid}: water-quality compliance {pct(Decimal(n['wq_rate']))} "
                                f"this quarter is below its {pct(tgt)} target"})
    return flags


def _quarter_rates(rd: RunData, per: Period) -> dict[str, Decimal]:
    wq = rd.wq_compliance(per.start, per.end)
    return {k: Decimal(v[0]) / Decimal(v[1]) for k, v in wq.items() if v[1]}


def recommendations(rd: RunData, y: int) -> list[dict]:
    """Rules, each flagging a party or the basin (docs/committee.md)."""
    out = []
    quarters = [Period("quarter", y - 1, 4)] + [Period("quarter", y, q) for q in range(1, 5)]
    rates = [_quarter_rates(rd, q) for q in quarters]
    for pid, tgt in sorted(rd.wq_targets.items()):
        runs = [q.label for q, prev, cur in zip(quarters[1:], rates, rates[1:])
                if pid in prev and pid in cur and prev[pid] < tgt and cur[pid] < tgt]
        if runs:
            out.append({"rule": "below_target_two_quarters", "party_id": pid,
                        "zh": f"{pid} 水质达标率连续两个季度低于目标 {pct(tgt)}（至 {runs[0]}）："
                              "建议约谈并制定整改方案",
                        "en": f"{pid}: water-quality compliance below its {pct(tgt)} target two "
                              f"quarters running (to {runs[0]}): summon the party and ask for a "
                              "remediation plan"})
    for r in rd.execution:
        if int(r["year"]) == y and r["obligation"] == "all" and Decimal(r["rate"]) < rd.target:
            who = "全流域 basin" if r["party_id"] == "basin" else r["party_id"]
            out.append({"rule": "execution_below_target", "party_id": r["party_id"],
                        "zh": f"{who} 协议执行率 {pct(Decimal(r['rate']))} 低于 {pct(rd.target)}："
                              "建议逐项督办未履行义务",
                        "en": f"{who}: execution rate {pct(Decimal(r['rate']))} below "
                              f"{pct(rd.target)}: follow up each unexecuted obligation"})
    for r in rd.responsibility:
        if int(r["year"]) == y and r["met"] != "true":
            out.append({"rule": "target_missed", "party_id": r["party_id"],
                        "zh": f"{r['party_id']} 未完成责任清单目标 {r['target']}（{r['value']} / "
                              f"{r['threshold']} {r['unit']}）",
                        "en": f"{r['party_id']}: responsibility target {r['target']} missed "
                              f"({r['value']} vs {r['threshold']} {r['unit']})"})
    summary = rd.settlement_summary.get(str(y))
    if summary is not None and not summary.get("target_met", True):
        out.append({"rule": "water_quality_bet_missed", "party_id": "",
                    "zh": f"{y} 年考核断面 P 指数 {summary.get('P')} > 1，对赌未达标：扣回款项于 {y + 1} "
                          "年到期，建议督促上游按期足额退还并查明超标原因",
                    "en": f"The boundary section's P index {summary.get('P')} > 1 in {y}: the "
                          f"clawbacks fall due in {y + 1}; see that the upstream parties pay them "
                          "in full and on time, and find the cause of the exceedance"})
    prov = [r for r in rd.ratings if int(r["year"]) == y and r["provisional"] == "true"
            and int(r["stars"]) >= 3]
    if prov:
        out.append({"rule": "verify_declarations", "party_id": "",
                    "zh": f"{len(prov)} 家企业达三星以上但申报未核验：建议尽快核验",
                    "en": f"{len(prov)} enterprises rate three stars or more on unverified "
                          "declarations: verify them so incentives can apply"})
    return out


def annual(rd: RunData, per: Period) -> dict:
    y = per.year
    flags = []
    tot, gep_section = _annual_gep_section(rd, y)
    ex = [r for r in rd.execution if int(r["year"]) == y]
    by_star, rating_section = _annual_rating_section(rd, y)
    secs = [gep_section, _annual_payout_section(rd, y),
            _annual_execution_section(rd, y, ex, flags), rating_section]
    recs = recommendations(rd, y)
    secs.append({"zh": "五、建议", "en": "5. Recommendations",
                 "bullets": recs or [{"zh": "无", "en": "None"}]})
    return {"period": per.label, "kind": "year", "sections": secs, "flags": flags,
            "numbers": {"gep_basin": f"{tot:.2f}",
                        "execution": {r["party_id"] + ":" + r["obligation"]: r["rate"]
                                      for r in ex},
                        "stars": {str(k): v[0] for k, v in by_star.items()},
                        "recommendations": [r["rule"] + ":" + r["party_id"] for r in recs]}}


def _annual_gep_section(rd: RunData, y: int) -> tuple[Decimal, dict]:
    """(the basin's GEP of ``y``, the section on GEP per party, its change and attribution)."""
    pids = sorted({k[1] for k in rd.gep})
    rows = []
    for pid in pids:
        cur, prev = rd.gep.get((y, pid)), rd.gep.get((y - 1, pid))
        rows.append([pid, rd.name(pid), money(cur) if cur is not None else "—",
                     money(prev) if prev is not None else "—",
                     money(cur - prev) if cur is not None and prev is not None else "—"])
    tot = sum((rd.gep.get((y, k), Z) for k in pids), Z)
    totp = sum((rd.gep.get((y - 1, k), Z) for k in pids), Z)
    has_prev = any((y - 1, k) in rd.gep for k in pids)
    rows.append(["basin", "全流域 basin", money(tot), money(totp) if has_prev else "—",
                 money(tot - totp) if has_prev else "—"])
    tables = [_table(f"{y} 年 GEP（不变价，元）", f"GEP {y} (constant prices, CNY)",
                     ["party_id", "名称 name", f"GEP {y}", f"GEP {y - 1}", "变化 change"], rows)]
    attr = [r for r in _rows(rd.p.attribution_csv) if r.get("year") == str(y)]
    if attr:
        tables.append(_table("GEP 变化归因：土地利用与气候", "GEP change attributed to land use "
                             "and climate", ["party_id", "service", "total", "land_use",
                                             "climate"],
                             [[r["party_id"], r["service"], r["total"], r["land_use"],
                               r["climate"]] for r in attr]))
    else:
        f = rd.p.attribution_csv.relative_to(rd.p.root).as_posix()
        tables[0]["note"] = (f"归因结果（{f}）尚无，仅列 GEP 变化。No attribution "
                             f"({f}) yet: the GEP change is shown.")
    return tot, {"zh": "一、GEP 及其变化", "en": "1. GEP and its change", "tables": tables}


def _annual_payout_section(rd: RunData, y: int) -> dict:
    clause = defaultdict(Decimal)
    for t in rd.transfers:
        if int(t["year"]) == y:
            clause[t["clause"]] += Decimal(t["amount_cny"])
    rows = [[c, money(v)] for c, v in sorted(clause.items())]
    settle = rd.dispatch_rows(y, "settlement")
    srows = [[s["party_id"], money(Decimal(s["entitlement_cny"])), money(Decimal(s["paid_cny"])),
              money(Decimal(s["withheld_cny"])), money(Decimal(s["released_cny"])),
              money(Decimal(s["forfeited_cny"]))] for s in settle]
    return {"zh": "二、补偿结算与拨付", "en": "2. Settlement and payouts", "tables": [
        _table(f"{y} 年度结算（按条款，元）", f"Settlement of {y} by clause (CNY)",
               ["clause", "amount_cny"], rows, None if rows else "本年无结算 No settlement."),
        _table(f"{y} 年逐日拨付（上年结算，元）", f"Daily dispatch in {y} (last year's "
               "settlement, CNY)", ["party_id", "entitled", "paid", "withheld", "released",
                                    "forfeited"], srows,
               None if srows else "本年无逐日拨付 No dispatch this year.")]}


def _annual_execution_section(rd: RunData, y: int, ex: list[dict], flags: list[dict]) -> dict:
    """The execution-rate table of ``y``; appends a flag per rate below target to ``flags``
    (the basin first)."""
    rows = [[r["party_id"], r["obligation"], r["due"], r["executed"], pct(Decimal(r["rate"])),
             "⚑ 低于目标 below target" if Decimal(r["rate"]) < rd.target else ""]
            for r in ex if r["obligation"] == "all" or r["party_id"] == "basin"]
    basin = next((r for r in ex if r["party_id"] == "basin" and r["obligation"] == "all"), None)
    for r in ([basin] if basin else []) + [r for r in ex if r["obligation"] == "all"
                                             and r["party_id"] != "basin"]:
        who = ("全流域", "Basin: ") if r["party_id"] == "basin" else (f"{r['party_id']} ",
                                                                    f"{r['party_id']}: ")
        f = _execution_flag(rd, int(r["due"]), int(r["executed"]), *who)
        if f:
            flags.append(f)
    return {"zh": "三、协议执行率", "en": "3. Agreement execution rate", "tables": [
        _table(f"{y} 年协议执行率（目标 {pct(rd.target)}）",
               f"Execution rate {y} (target {pct(rd.target)})",
               ["party_id", "obligation", "due", "executed", "rate", ""], rows)]}


def _annual_rating_section(rd: RunData, y: int) -> tuple[dict, dict]:
    """(stars -> [enterprises, provisional, with incentives], the star-rating section)."""
    by_star = defaultdict(lambda: [0, 0, 0])
    for r in (r for r in rd.ratings if int(r["year"]) == y):
        s = by_star[int(r["stars"])]
        s[0] += 1
        s[1] += r["provisional"] == "true"
        s[2] += r["priority_funding"] == "true" or Decimal(r["water_price_discount"]) > 0
    rows = [[k, v[0], v[1], v[2]] for k, v in sorted(by_star.items())]
    return by_star, {"zh": "四、企业生态反哺星级认证", "en": "4. Enterprise eco star rating",
                     "tables": [_table(f"{y} 年星级分布", f"Stars {y}",
                                       ["stars 星级", "enterprises 企业数", "provisional 临时",
                                        "with incentives 享受激励"], rows,
                                       None if rows else "本年无评级 No ratings this year.")]}


def _tally(flags) -> dict[str, tuple[int, int]]:
    """party -> (how many of its ``(party, flag)`` pairs are true, how many there are)."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pid, flag in flags:
        out[pid][0] += flag
        out[pid][1] += 1
    return {pid: (out[pid][0], out[pid][1]) for pid in sorted(out)}


# ----------------------------------------------------------------------------- rendering

@cache
def _env():
    """One Jinja environment per process: its templates are compiled once for all papers."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("gep.committee", "templates"),
                       autoescape=select_autoescape(["html", "j2"]))


def render(cfg, paper: dict, per: Period) -> str:
    zh, en = per.title
    return _env().get_template("paper.html.j2").render(
        cfg=cfg, paper=paper, title_zh=zh, title_en=en, period_end=per.end.isoformat())


BUILDERS = {"month": monthly, "quarter": quarterly, "year": annual}


def build(cfg, p, periods: list[Period], pdf: bool = True) -> list[Path]:
    """Compute every paper first, then write HTML, JSON and PDF of each (atomically)."""
    rd = RunData(cfg, p)
    papers = [(per, BUILDERS[per.kind](rd, per)) for per in periods]
    htmls = [(per, paper, render(cfg, paper, per)) for per, paper in papers]
    out = []
    for per, paper, html in htmls:
        out.append(write_text(p.committee_paper(per.label, "html"), html))
        write_json(p.committee_paper(per.label, "json"), paper)
        if pdf:
            from gep.pdf import html_to_pdf

            out.append(html_to_pdf(html, p.committee_paper(per.label, "pdf"),
                                   base_url=p.committee))
    return out


def build_index(cfg, p) -> Path:
    years = []
    for y in cfg.years:
        items = []
        for per in periods_of_year(y):
            zh, en = per.title
            items.append({"label": per.label, "zh": zh, "en": en, "kind": per.kind,
                          "pdf": p.committee_paper(per.label, "pdf").is_file(),
                          "flags": len(json.loads(p.committee_paper(per.label, "json")
                                                  .read_text(encoding="utf-8"))["flags"])
                          if p.committee_paper(per.label, "json").is_file() else 0})
        years.append({"year": y, "items": items})
    ex = {r["year"]: r for r in _rows(p.execution_csv)
          if r["party_id"] == "basin" and r["obligation"] == "all"}
    filings = _rows(p.filings_csv)
    html = _env().get_template("index.html.j2").render(
        cfg=cfg, years=years, execution=ex, filings=filings,
        target=Decimal(repr(cfg.committee.execution_target)), pct=pct,
        Decimal=Decimal, month_name=calendar.month_abbr)
    return write_text(p.committee_index, html)
