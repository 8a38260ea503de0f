"""Each account's statement in words, English and Chinese, for the committee report.

Built only from the engine's output files (``summary.json`` and ``statement.csv``), so the
report explains exactly what was settled, including for results produced on another machine.
"""
from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

from gep.errors import InputDataError
from gep.paths import CompensationFiles

SERVICE_ZH = {
    "water_conservation": "水源涵养", "biodiversity": "生物多样性", "soil_retention": "土壤保持",
    "water_purification": "水质净化", "carbon": "固碳", "carbon_sequestration": "固碳",
    "oxygen": "释氧", "flood_regulation": "洪水调蓄", "climate_regulation": "气候调节",
}
ROLE_ZH = {"central": "中央财政", "fund": "流域基金", "upstream": "上游",
           "downstream": "下游"}
CLAUSE_EN = {"base": "base compensation", "reward": "GEP performance reward",
             "bet": "water-quality bet", "grant": "fixed grant", "clawback": "clawback",
             "penalty": "punitive damages"}
CLAUSE_ZH = {"base": "基础补偿", "reward": "GEP绩效奖励", "bet": "水质对赌", "grant": "固定拨款",
             "clawback": "扣回", "penalty": "惩罚性赔偿"}


def _m(value: str | Decimal) -> str:
    """Money with thousands separators: 1,234,567.89."""
    return f"{Decimal(value):,.2f}"


def _p(value: str | Decimal, places: int = 4) -> str:
    return f"{Decimal(value):.{places}f}"


def _pct(value: str | Decimal) -> str:
    return f"{Decimal(value) * 100:.2f}%"


def _read(out_dir: Path) -> tuple[dict, dict[tuple[int, str], dict[str, Decimal]]]:
    files = CompensationFiles(out_dir)
    summary_path, statement_path = files.summary, files.statement
    for p in (summary_path, statement_path):
        if not p.is_file():
            raise InputDataError(str(p), "engine output not found",
                                 "run `gep allocate --out DIR` first")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    lines: dict[tuple[int, str], dict[str, Decimal]] = {}
    with open(statement_path, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            key = (int(row["year"]), row["party_id"])
            lines.setdefault(key, {})[row["clause"]] = Decimal(row["amount_cny"])
    return summary, lines


def _bet_outcome(year: int, info: dict, summary: dict) -> tuple[list, list]:
    """The year's P index at the section, met or missed, and what that means for payment."""
    rules = summary["rules"]
    section = summary["section"]
    P = info["P"]
    pays = rules["pays_upstream"]
    if info["target_met"]:
        S = info.get("S")
        s_en = f"the undiscounted ratio S = {_p(S)} gives " if S is not None else ""
        s_zh = f"未折算比值 S = {_p(S)}，" if S is not None else ""
        tail_en = f"; {s_en}the excess factor e = {_p(info['e'])}" if rules["tiers"] else ""
        tail_zh = f"；{s_zh}超额系数 e = {_p(info['e'])}" if rules["tiers"] else ""
        en = [f"The water-quality index at section '{section}' was P = {_p(P)} (P <= 1, "
              f"target met){tail_en}."]
        zh = [f"{section}断面水质指数 P = {_p(P)}（P ≤ 1，达标）{tail_zh}。"]
    else:
        tail_en = f", so no base or reward is paid for {year}" if pays else ""
        tail_zh = f"，{year}年不支付基础补偿和绩效奖励" if pays else ""
        en = [f"The water-quality index at section '{section}' was P = {_p(P)} (P > 1, "
              f"target missed){tail_en}."]
        zh = [f"{section}断面水质指数 P = {_p(P)}（P > 1，未达标）{tail_zh}。"]
    if pays and not info["target_met"]:
        en.append("Its entitlement, not paid this year, would have been:")
        zh.append("其本年应得（未支付）如下：")
    return en, zh


def _base_entitlement(info: dict, party: dict, summary: dict) -> tuple[list, list]:
    """The account's weight in the CPI-indexed base payment."""
    if not Decimal(info["base"]) > 0:
        return [], []
    weights = [a["base_weight"] for a in summary["accounts"]
               if a["role"] == "upstream" and a["base_weight"] is not None]
    wsum = sum((Decimal(w) for w in weights), Decimal(0))
    return ([f"Base: its weight {party['base_weight']} of {wsum} in the CPI-indexed base "
             f"{_m(info['base'])} gives an entitlement of "
             f"{_m(party['entitlement_base'])}."],
            [f"基础补偿：按CPI调整后的基础补偿 {_m(info['base'])} 元，权重 "
             f"{party['base_weight']}/{wsum}，应得 {_m(party['entitlement_base'])} 元。"])


def _reward_entitlement(info: dict, party: dict, rules: dict) -> tuple[list, list]:
    """The GEP change behind the reward (split into land use and climate when known), the
    gain on the reward's basis and the entitlement it gives."""
    if rules["reward_rate"] is None:
        return [], []
    en: list[str] = []
    zh: list[str] = []
    services = rules["reward_services"]
    rate = _pct(rules["reward_rate"])
    basis = rules.get("reward_basis") or "total"
    names_zh = "、".join(SERVICE_ZH.get(s, s) for s in services)
    if "change_total" in party:
        en.append(f"Its GEP change in {', '.join(services)} was {_m(party['change_total'])}"
                  f" (constant prices): {_m(party['change_land_use'])} from land use and "
                  f"{_m(party['change_climate'])} from climate.")
        zh.append(f"其{names_zh}GEP变化 {_m(party['change_total'])} 元（不变价），其中土地"
                  f"利用贡献 {_m(party['change_land_use'])} 元，气候贡献 "
                  f"{_m(party['change_climate'])} 元。")
    what_en = ("land use (GEP under the reference climate)" if basis == "land_use"
               else "total GEP (land use and climate)")
    what_zh = "土地利用（参考气候下的GEP）" if basis == "land_use" else "GEP总变化（含气候）"
    gain_en, gain_zh = _reward_gain(party, rules.get("reward_baseline") == "high_water_mark")
    en.append(f"Reward basis: {what_en}; {gain_en} (negative counts as 0); {rate} of it, "
              f"at current prices (x CPI factor {info.get('cpi_factor')}), is an "
              f"entitlement of {_m(party['entitlement_reward'])}.")
    zh.append(f"GEP绩效奖励依据：{what_zh}；{gain_zh}（负值计为0），按 {rate} 并乘以CPI"
              f"系数 {info.get('cpi_factor')} 折算为现价，应得 "
              f"{_m(party['entitlement_reward'])} 元。")
    return en, zh


def _reward_gain(party: dict, hwm: bool) -> tuple[str, str]:
    """The gain d_i: above the high-water mark, or over the previous year."""
    if hwm:
        return ((f"its level on this basis, {_m(party['level'])} relative to the base "
                 f"year, stands {_m(party['increment'])} above its high-water mark "
                 f"{_m(party['high_water_mark'])} (the best earlier level)"),
                (f"其相对基准年的水平 {_m(party['level'])} 元高出历史最高水平 "
                 f"{_m(party['high_water_mark'])} 元的部分为 {_m(party['increment'])} 元"))
    return (f"its gain over the previous year is {_m(party['increment'])}",
            f"其较上年增量为 {_m(party['increment'])} 元")


def _tier_payment(info: dict, party: dict, rules: dict) -> tuple[list, list]:
    """Performance targets met, the tier factor and what was paid (target met only)."""
    if not (info["target_met"] and rules["tiers"]):
        return [], []
    tiers = rules["tiers"]
    if party["targets"]:
        en = [f"It met {party['targets_met']} of {party['targets']} performance "
              f"targets (s = {_p(party['s'])})."]
        zh = [f"完成绩效目标 {party['targets_met']}/{party['targets']} 项"
              f"（s = {_p(party['s'])}）。"]
    else:
        en = ["No performance targets were set, so s = 1."]
        zh = ["未设绩效目标，s = 1。"]
    formula = (f"{tiers['basic']} + {tiers['performance']} x {_p(party['s'])} + "
               f"{tiers['excess']} x {_p(info['e'])} = {_p(party['tier_factor'])}")
    en.append(f"Share paid (basic + performance x s + excess x e) = {formula}: base "
              f"{_m(party['paid_base'])}, reward {_m(party['paid_reward'])}; unearned tier "
              "money is not transferred.")
    zh.append(f"兑付比例（基础档 + 绩效档×s + 超额档×e）= {formula.replace(' x ', '×')}："
              f"基础补偿 {_m(party['paid_base'])} 元，绩效奖励 {_m(party['paid_reward'])} "
              "元；未达成档位的资金不拨付。")
    return en, zh


def _clawback(info: dict, party: dict, rules: dict) -> tuple[list, list]:
    """What the missed target claws back from the lookback years (target missed only)."""
    if info["target_met"] or rules["clawback"] is None:
        return [], []
    years = "、".join(str(y) for y in info["clawback_lookback_years"])
    years_en = ", ".join(str(y) for y in info["clawback_lookback_years"])
    if Decimal(party["clawback"]) > 0:
        return ([f"Clawback at rate {_pct(info['clawback_rate'])} of the "
                 f"{_m(party['clawback_basis'])} received in {years_en}: returns "
                 f"{_m(party['clawback'])} to its funders in proportion to what each "
                 "paid."],
                [f"按扣回比例 {_pct(info['clawback_rate'])} 扣回 {years}年所获 "
                 f"{_m(party['clawback_basis'])} 元中的 {_m(party['clawback'])} 元，"
                 "按原出资比例退还出资方。"])
    return (["Nothing is clawed back: it received no base or reward in the lookback "
             "years."],
            ["无扣回：回溯年份未获基础补偿或绩效奖励。"])


def _upstream_detail(year: int, acc: dict, info: dict, summary: dict) -> tuple[list, list]:
    """Derivation of an upstream account's base, reward and clawback, in both languages."""
    en: list[str] = []
    zh: list[str] = []
    party = info["parties"][acc["id"]]
    rules = summary["rules"]
    for d_en, d_zh in (_bet_outcome(year, info, summary),
                       _base_entitlement(info, party, summary),
                       _reward_entitlement(info, party, rules),
                       _tier_payment(info, party, rules),
                       _clawback(info, party, rules)):
        en += d_en
        zh += d_zh
    return en, zh


def _fixed_detail(account: str, info: dict, names: dict) -> tuple[list, list]:
    """Sentences for the fixed bet / grant transfers that involved ``account`` this year."""
    en: list[str] = []
    zh: list[str] = []
    for ft in info.get("fixed_transfers", []):
        if not ft["applied"] or account not in (ft["from"], ft["to"]):
            continue
        frm, to = names[ft["from"]], names[ft["to"]]
        amount = _m(ft["amount"])
        if ft["when"] == "always":
            why_en, why_zh = "Under the agreement", "按协议"
        else:
            op = "<=" if ft["when"] == "p_le_1" else ">"
            why_en = f"Because P = {_p(info['P'])} {op} 1"
            why_zh = f"因 P = {_p(info['P'])} {'≤' if op == '<=' else '>'} 1"
        en.append(f"{why_en}, {frm[0]} pays {to[0]} {amount} ({CLAUSE_EN[ft['clause']]}, "
                  "an amount fixed by the agreement).")
        zh.append(f"{why_zh}，{frm[1]}向{to[1]}支付{CLAUSE_ZH[ft['clause']]} {amount} 元（协议约定的固定金额）。")
    return en, zh


def _net_position(year: int, acc: dict, clauses: dict[str, Decimal]) -> tuple[list, list]:
    """The account's net for the year and its amount under each clause."""
    name_en = acc["name"] or acc["id"]
    name_zh = acc["name_zh"] or name_en
    role_zh = ROLE_ZH[acc["role"]]
    role_zh = "" if role_zh == name_zh else f"（{role_zh}）"
    net = sum(clauses.values(), Decimal(0))
    if net > 0:
        head_en = f"In {year} {name_en} ({acc['role']}) received a net {_m(net)} CNY."
        head_zh = f"{year}年，{name_zh}{role_zh}净收入 {_m(net)} 元。"
    elif net < 0:
        head_en = f"In {year} {name_en} ({acc['role']}) paid a net {_m(-net)} CNY."
        head_zh = f"{year}年，{name_zh}{role_zh}净支出 {_m(-net)} 元。"
    else:
        head_en = f"In {year} {name_en} ({acc['role']}) had a net balance of 0.00 CNY."
        head_zh = f"{year}年，{name_zh}{role_zh}收支相抵为 0.00 元。"
    en, zh = [head_en], [head_zh]
    if clauses:
        en.append("By clause: " + "; ".join(
            f"{CLAUSE_EN[c]} {'+' if v > 0 else '-'}{_m(abs(v))}"
            for c, v in clauses.items()) + ".")
        zh.append("分项：" + "；".join(
            f"{CLAUSE_ZH[c]} {'+' if v > 0 else '-'}{_m(abs(v))} 元"
            for c, v in clauses.items()) + "。")
    else:
        en.append("It had no transfers this year.")
        zh.append("本年无资金往来。")
    return en, zh


def _funding_share(acc: dict, summary: dict) -> tuple[list, list]:
    """A central or downstream account's share of every payment to upstream."""
    funding = summary["rules"]["funding"]
    if acc["role"] == "central":
        share_en = f"a share {funding['central']} of every payment to upstream"
        share_zh = f"承担每笔上游补偿的 {funding['central']}"
    else:
        downs = [a for a in summary["accounts"] if a["role"] == "downstream"]
        bsum = sum((Decimal(a["benefit_weight"] or 0) for a in downs), Decimal(0))
        share_en = (f"the downstream share {funding['downstream']} of every "
                    f"payment to upstream, split by benefit weight "
                    f"({acc['benefit_weight']} of {bsum})")
        share_zh = (f"按受益权重 {acc['benefit_weight']}/{bsum} 分担下游份额 "
                    f"{funding['downstream']}")
    return ([f"It funds {share_en}; clawbacks return to it in the same proportions."],
            [f"该方{share_zh}；扣回资金按同一比例退还。"])


def _role_detail(year: int, acc: dict, info: dict, summary: dict,
                 clauses: dict[str, Decimal]) -> tuple[list, list]:
    """What the account's role adds: an upstream derivation, a funder's share, the fund's
    punitive damages."""
    if acc["role"] == "upstream":
        return _upstream_detail(year, acc, info, summary)
    if acc["role"] in ("central", "downstream") and summary["rules"]["funding"]:
        return _funding_share(acc, summary)
    if acc["role"] == "fund" and "penalty" in clauses:
        mult = summary["rules"]["punitive_multiplier"]
        return ([f"It receives punitive damages of {mult} times the assessed "
                 "ecological damage."],
                [f"该基金收取生态损害额 {mult} 倍的惩罚性赔偿。"])
    return [], []


def _penalty_paid(acc: dict, summary: dict, clauses: dict[str, Decimal]
                  ) -> tuple[list, list]:
    """Punitive damages an account (not the fund) paid for its incidents."""
    if acc["role"] == "fund" or "penalty" not in clauses:
        return [], []
    mult = summary["rules"]["punitive_multiplier"]
    return ([f"Punitive damages are {mult} times the assessed ecological damage "
             "of its incidents, paid to the basin fund."],
            [f"惩罚性赔偿为其生态损害事件损害额的 {mult} 倍，缴入流域基金。"])


def narrative(out_dir: str | Path) -> dict[str, dict[int, dict[str, str]]]:
    """``party_id -> year -> {"en": str, "zh": str}``: each account's statement in words.

    Every account of the agreement gets an entry for every settled year, also when it has no
    transfers that year. Amounts are the ones in statement.csv (positive = receives).
    """
    out_dir = Path(out_dir)
    summary, lines = _read(out_dir)
    result: dict[str, dict[int, dict[str, str]]] = {}
    names = {a["id"]: (a["name"] or a["id"], a["name_zh"] or a["name"] or a["id"])
             for a in summary["accounts"]}
    for acc in summary["accounts"]:
        per_year: dict[int, dict[str, str]] = {}
        for year in summary["years"]:
            info = summary["by_year"][str(year)]
            clauses = lines.get((year, acc["id"]), {})
            en: list[str] = []
            zh: list[str] = []
            for d_en, d_zh in (_net_position(year, acc, clauses),
                               _role_detail(year, acc, info, summary, clauses),
                               _fixed_detail(acc["id"], info, names),
                               _penalty_paid(acc, summary, clauses)):
                en += d_en
                zh += d_zh
            per_year[year] = {"en": " ".join(en), "zh": "".join(zh)}
        result[acc["id"]] = per_year
    return result
