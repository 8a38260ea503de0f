"""Scores, stars and incentives, exactly (Decimal), and the ratings' outputs.

``score_k = clip((x_k - low_k) / (high_k - low_k), 0, 1)``,
``score = 100 * sum_k weight_k * score_k`` rounded half-up to two decimals, ``stars`` = the
number of ``stars_at`` thresholds the rounded score reaches, incentives from the rules for
that star count when the declaration is verified (none when provisional).
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from html import escape
from pathlib import Path

from gep.io import atomic_dir, write_csv
from gep.paths import Paths
from gep.rating.declarations import Declaration
from gep.rating.rules import INDICATORS, StarRules

RATINGS_HEADER = ("year", "enterprise_id", "party_id", "score", "stars",
                  "water_price_discount", "priority_funding", "priority_emission_rights",
                  "provisional")
CENT = Decimal("0.01")


def _b(x: bool) -> str:
    return "true" if x else "false"


def rate(d: Declaration, rules: StarRules) -> dict:
    """One declaration's rating as a ratings.csv row (strings), plus the indicator detail."""
    values = {"env_investment_share": None, "pollutant_reduction_rate": None,
              "green_tech_share": d.green_tech_share}
    with localcontext() as ctx:
        ctx.prec = 40
        values["env_investment_share"] = d.env_investment_share
        values["pollutant_reduction_rate"] = d.pollutant_reduction_rate
        total = Decimal(0)
        parts = {}
        for k in INDICATORS:
            ind = rules.indicators[k]
            s = (values[k] - ind.low) / (ind.high - ind.low)
            s = min(Decimal(1), max(Decimal(0), s))
            parts[k] = s
            total += ind.weight * s
        score = (100 * total).quantize(CENT, rounding=ROUND_HALF_UP)
    stars = sum(1 for t in rules.stars_at if score >= t)
    inc = rules.incentives.get(stars) if d.verified else None
    row = {
        "year": d.year, "enterprise_id": d.enterprise_id, "party_id": d.party_id,
        "score": f"{score:.2f}", "stars": stars,
        "water_price_discount": f"{inc.water_price_discount}" if inc else "0",
        "priority_funding": _b(bool(inc and inc.priority_funding)),
        "priority_emission_rights": _b(bool(inc and inc.priority_emission_rights)),
        "provisional": _b(not d.verified),
    }
    return {"row": row, "values": values, "scores": parts}


def rate_all(declarations: list[Declaration], rules: StarRules) -> list[dict]:
    return [rate(d, rules) for d in sorted(declarations, key=lambda d: (d.year,
                                                                         d.enterprise_id))]


def write_outputs(declarations: list[Declaration], rules: StarRules, ratings_csv: Path,
                  certificates_dir: Path, basin: str = "") -> dict[str, Path]:
    """Compute everything, then write ratings.csv and the certificate pages atomically."""
    rated = rate_all(declarations, rules)
    by_key = {(d.year, d.enterprise_id): d for d in declarations}
    pages = {}
    for r in rated:
        row = r["row"]
        d = by_key[(row["year"], row["enterprise_id"])]
        pages[Paths.CertificateFiles.certificate_name(d.year, d.enterprise_id)] = \
            certificate_html(d, r, rules, basin)
    pages[Paths.CertificateFiles.index] = _index_html(rated, by_key, basin)
    with atomic_dir(certificates_dir) as tmp:
        for rel, html in pages.items():
            f = tmp / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(html, encoding="utf-8")
    write_csv(ratings_csv, RATINGS_HEADER, [r["row"] for r in rated])
    return {"ratings": Path(ratings_csv), "certificates": Path(certificates_dir)}


_CSS = """
body{font-family:'Noto Serif CJK SC','Noto Sans CJK SC',serif;margin:2em;color:#222}
.cert{border:6px double #2e7d32;padding:2em 3em;max-width:42em;margin:auto;text-align:center}
h1{color:#2e7d32;margin:.2em 0}.stars{font-size:2.4em;color:#f9a825;letter-spacing:.1em}
table{margin:1em auto;border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .7em}
.prov{color:#c62828;font-weight:bold}
@page{size:A4;margin:18mm}
@media print{body{margin:0}.cert{border-width:4px}}
"""


def certificate_html(d: Declaration, r: dict, rules: StarRules, basin: str = "") -> str:
    row = r["row"]
    stars = int(row["stars"])
    mark = "★" * stars + "☆" * (rules.max_stars - stars)
    names = {"env_investment_share": ("环保投入占营收比", "Environmental investment / revenue"),
             "pollutant_reduction_rate": ("污染物削减率", "Pollutant reduction rate"),
             "green_tech_share": ("绿色技术占比", "Green-technology share")}
    rows = "".join(
        f"<tr><td>{zh}<br>{en}</td><td>{r['values'][k]:.4f}</td>"
        f"<td>{r['scores'][k] * 100:.1f}</td><td>{rules.indicators[k].weight}</td></tr>"
        for k, (zh, en) in names.items())
    if row["provisional"] == "true":
        status = ("<p class='prov'>临时评级（申报未经核验，不享受激励）<br>Provisional rating "
                  "(declaration not verified; no incentives)</p>")
    else:
        status = "<p>申报已核验 Declaration verified</p>"
    if row["priority_funding"] == "true" or row["water_price_discount"] != "0":
        inc = (f"<p>激励 Incentives: 水价优惠 water-price discount "
               f"{Decimal(row['water_price_discount']) * 100:.0f}%; 优先资金支持 priority "
               f"funding {'是 yes' if row['priority_funding'] == 'true' else '否 no'}; "
               f"优先排污权 priority emission rights "
               f"{'是 yes' if row['priority_emission_rights'] == 'true' else '否 no'}</p>")
    else:
        inc = "<p>无激励 No incentives</p>"
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(d.enterprise_id)} {d.year} 生态反哺星级认证 Eco star certificate</title>
<style>{_CSS}</style></head><body><div class="cert">
<p>{escape(basin)} 流域生态补偿 River-basin ecological compensation</p>
<h1>生态反哺星级认证证书</h1><h2>Eco Feedback Star Certificate</h2>
<p style="font-size:1.3em"><b>{escape(d.name)}</b> ({escape(d.enterprise_id)})</p>
<p>{escape(d.sector)} · {escape(d.party_id)} · {d.year} 年度 year</p>
<div class="stars">{mark}</div>
<p>{stars} 星 stars · 得分 score {row['score']} / 100</p>
<table><tr><th>指标 Indicator</th><th>值 Value</th><th>得分 Score (0-100)</th>
<th>权重 Weight</th></tr>{rows}</table>
{status}{inc}
<p style="font-size:.8em">评分规则 Rules:
score = 100 × Σ weight × clip((x − low)/(high − low), 0, 1);
星级阈值 star thresholds {', '.join(str(t) for t in rules.stars_at)}.</p>
</div></body></html>
"""


def _page(year, enterprise_id: str) -> str:
    return Paths.CertificateFiles.certificate_name(year, enterprise_id)


def _index_html(rated: list[dict], by_key: dict, basin: str) -> str:
    rows = "".join(
        f"<tr><td>{r['row']['year']}</td><td><a href='"
        f"{escape(_page(r['row']['year'], r['row']['enterprise_id']))}'>"
        f"{escape(r['row']['enterprise_id'])}</a></td>"
        f"<td>{escape(by_key[(r['row']['year'], r['row']['enterprise_id'])].name)}</td>"
        f"<td>{escape(r['row']['party_id'])}</td><td>{r['row']['score']}</td>"
        f"<td>{'★' * int(r['row']['stars'])}</td>"
        f"<td>{'临时 provisional' if r['row']['provisional'] == 'true' else ''}</td></tr>"
        for r in rated)
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(basin)} 生态反哺星级认证 Eco star ratings</title><style>{_CSS}</style></head>
<body><h1>生态反哺星级认证 Eco star ratings</h1><table><tr><th>年 Year</th><th>编号 ID</th>
<th>企业 Enterprise</th><th>属地 Party</th><th>得分 Score</th><th>星级 Stars</th><th></th>
</tr>{rows}</table></body></html>
"""
