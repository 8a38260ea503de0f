"""The committee report: one self-contained, bilingual (zh/en) HTML file.

``build_report(cfg)`` reads the GEP tables and, when they exist, the compensation, monitoring
and ledger outputs, draws charts and maps (embedded as data URIs, so the file reads offline and
can be mailed), and writes atomically ``results/<basin>/report/``:

* ``index.html``, the report (with a print stylesheet);
* ``report.pdf``, the same report printed by WeasyPrint (:mod:`gep.pdf`);
* ``tables.xlsx``, every table of the report, one sheet each (:mod:`gep.report.tables`).

Parties appear by name (``林溪县 Linxi County``, from the party table) wherever a person reads;
their ids stay in the machine CSVs.
"""
from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path

import geopandas as gpd
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from gep.config import Config, dump_resolved
from gep.io import write_text
from gep.money import to_fen
from gep.paths import Paths
from gep.report import charts
from gep.report.sections import extra_sections, party_labels
from gep.services import SERVICE_NAMES  # noqa: F401  (re-exported)



def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _money(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return "—" if v != v else f"{v:,.0f}"


def service_label(s: str) -> str:
    zh, en = SERVICE_NAMES.get(s, (s, s))
    return f"{zh} {en}" if zh != en else s


def build_report(cfg: Config, paths: Paths | None = None, pdf: bool = True) -> Path:
    """Write ``index.html``, ``tables.xlsx`` and (if ``pdf``) ``report.pdf``; return the
    HTML's path."""
    p = paths or Paths(cfg)
    gep = pd.read_csv(p.gep_csv)
    money_str = pd.read_csv(p.gep_csv, dtype=str, keep_default_na=False)
    inc = pd.read_csv(p.increments_csv, dtype={"delta_value_cny_constant": str})
    parties = gpd.read_file(p.party_file("parties.gpkg"))
    years = sorted(gep["year"].unique())
    first, last = int(years[0]), int(years[-1])
    valued = gep[gep["value_cny_constant"].notna()]
    total = valued.groupby(["year", "party_id"])["value_cny_constant"].sum().unstack()
    area_ha = (parties.set_index("party_id").geometry.area / 1e4).to_dict()
    labels = party_labels(p)
    for k in parties["party_id"]:
        labels.setdefault(k, k)

    figures = [
        dict(zh="流域 GEP 变化趋势（不变价）", en="GEP trend (constant prices)",
             src=data_uri(charts.gep_trend(gep, labels, {s: service_label(s)
                                                          for s in SERVICE_NAMES})),
             wide=True),
        dict(zh=f"{last} 年各方单位面积 GEP", en=f"GEP per hectare by party, {last}",
             src=data_uri(charts.party_map(
                 parties, {k: total.loc[last, k] / area_ha[k] for k in total.columns},
                 f"{last} 年单位面积 GEP  GEP {last} (CNY/ha, constant prices)", "CNY/ha",
                 labels=labels))),
    ]
    if first != last:
        change = {k: total.loc[last, k] - total.loc[first, k] for k in total.columns}
        figures.append(dict(zh=f"{first}-{last} 年 GEP 变化", en=f"GEP change {first}-{last}",
                            src=data_uri(charts.party_map(
                                parties, change, f"{first}-{last} 年 GEP 变化  GEP change "
                                f"{first}-{last} (CNY, constant)", "CNY", diverging=True,
                                labels=labels))))
    for y in sorted({first, last}):
        figures.append(dict(zh=f"{y} 年土地覆被", en=f"Land cover {y}",
                            src=data_uri(charts.landcover_map(p.year_file(y, "landcover"),
                                                              f"Land cover {y} (WorldCover)"))))
    wy = p.workspace(last, "annual_water_yield") / "output" / "per_pixel" / "wyield.tif"
    if wy.exists():
        figures.append(dict(zh=f"{last} 年产水量", en=f"Water yield {last}",
                            src=data_uri(charts.raster_map(wy, f"Water yield {last}", "mm",
                                                           "Blues"))))
    hq = p.workspace(last, "habitat_quality") / "quality_c.tif"
    if hq.exists():
        figures.append(dict(zh=f"{last} 年生境质量", en=f"Habitat quality {last}",
                            src=data_uri(charts.raster_map(hq, f"Habitat quality {last}", "0-1",
                                                           "YlGn"))))

    names = parties.set_index("party_id")
    party_rows = []
    for pid in parties["party_id"]:
        sub = gep[(gep["party_id"] == pid) & (gep["year"] == last)]
        party_rows.append(dict(
            party_id=pid, name=names.at[pid, "name"], name_zh=names.at[pid, "name_zh"],
            role=names.at[pid, "role"], province=names.at[pid, "province"],
            services=[dict(zh=SERVICE_NAMES.get(s, (s, s))[0], en=SERVICE_NAMES.get(s, (s, s))[1],
                           quantity=f"{q:,.0f}", unit=u, const=_money(vc), cur=_money(vt))
                      for s, q, u, vc, vt in sub[["service", "quantity", "unit",
                                                  "value_cny_constant",
                                                  "value_cny_current"]].itertuples(index=False)],
            total=_money(sub["value_cny_constant"].sum()),
        ))
    totals = [dict(year=int(y), **{k: _money(total.loc[y, k]) for k in total.columns},
                   basin=_money(total.loc[y].sum())) for y in total.index]
    inc_tab = inc.pivot_table(index=["year", "party_id"], columns="service",
                              values="delta_value_cny_constant", aggfunc="first").reset_index()
    for c in inc_tab.columns[2:]:
        inc_tab[c] = [f"{float(v):,.2f}" if isinstance(v, str) else "—" for v in inc_tab[c]]
    inc_tab["party_id"] = [labels.get(k, k) for k in inc_tab["party_id"]]
    inc_tab = inc_tab.rename(columns={"year": "年份 year", "party_id": "参与方 party",
                                      **{s: service_label(s) for s in inc_tab.columns[2:]}})
    runs = []
    for y in years:
        for m in cfg.models.enabled():
            f = p.workspace(y, m) / "gep_run.json"
            if f.exists():
                r = json.loads(f.read_text())
                # No run time here: the report must be byte-identical for identical inputs
                # (it is digested into the ledger); times stay in gep_run.json and the logs.
                runs.append(dict(year=int(y), model=m, version=r.get("invest_version", "")))
    prices_path = Path(cfg.path(cfg.valuation.prices))
    prices_text = prices_path.read_text(encoding="utf-8")
    from gep.valuation import load_prices

    base_year = load_prices(prices_path).base_year
    settings = dump_resolved(cfg)
    # Where this machine keeps its folders is not part of what was computed (and would make
    # two identical runs in two folders publish different reports).
    settings.pop("config_dir", None)
    settings.pop("results_dir", None)
    settings.get("ledger", {}).pop("key_dir", None)

    env = Environment(loader=PackageLoader("gep.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    sections = extra_sections(cfg, p, data_uri)
    html = env.get_template("report.html.j2").render(
        cfg=cfg, base_year=base_year, years=[int(y) for y in years], first=first, last=last,
        figures=figures, labels=labels,
        parties=party_rows, party_ids=list(total.columns), totals=totals,
        increments=inc_tab.to_dict("records"), inc_columns=list(inc_tab.columns), runs=runs,
        prices_text=prices_text, settings_text=json.dumps(settings, indent=2,
                                                          ensure_ascii=False),
        basin_total_last=_money(total.loc[last].sum()),
        basin_total_first=_money(total.loc[first].sum()),
        sections=sections,
    )
    tables = report_tables(money_str, inc, labels, runs, base_year, sections)
    from gep.report.tables import write_xlsx

    write_xlsx(p.report_xlsx, tables)
    out = p.report_html
    if pdf:
        from gep.pdf import html_to_pdf

        html_to_pdf(html, p.report_pdf, base_url=p.report)
    write_text(out, html)
    return out


def report_tables(gep_str: pd.DataFrame, inc: pd.DataFrame, labels: dict[str, str],
                  runs: list[dict], base_year: int, sections: list[dict]
                  ) -> list[tuple[str, pd.DataFrame]]:
    """The report's tables for ``tables.xlsx`` with exact money (Decimal, to the fen).

    ``gep_str`` is gep_by_party.csv read as text, so amounts never pass through floats."""
    def dec(v: str):
        return to_fen(Decimal(v)) if v not in ("", None) else None

    g = gep_str.copy()
    g["year"] = g["year"].astype(int)
    g.insert(2, "name", [labels.get(k, k) for k in g["party_id"]])
    g["quantity"] = g["quantity"].astype(float)
    for c in ("value_cny_constant", "value_cny_current"):
        g[c] = [dec(v) for v in g[c]]
    valued = g[g["value_cny_constant"].notna()]
    sums: dict = {}
    for y, pid, v in zip(valued["year"], valued["party_id"], valued["value_cny_constant"]):
        sums[(y, pid)] = sums.get((y, pid), Decimal(0)) + v
    pids = list(dict.fromkeys(valued["party_id"]))
    summary = pd.DataFrame([
        {"年份 year": y, **{labels.get(k, k): sums.get((y, k), Decimal(0)) for k in pids},
         "流域 basin": sum((sums.get((y, k), Decimal(0)) for k in pids), Decimal(0))}
        for y in sorted({y for y, _ in sums})])
    i = inc.copy()
    i.insert(2, "name", [labels.get(k, k) for k in i["party_id"]])
    i["delta_value_cny_constant"] = [dec(v) if isinstance(v, str) else None
                                     for v in i["delta_value_cny_constant"]]
    out = [(f"概要 GEP summary ({base_year} CNY)", summary),
           ("各方GEP gep_by_party", g),
           ("增量 increments", i),
           ("模型运行 Model runs", pd.DataFrame(runs))]
    for s in sections:
        out += s.get("tables", [])
    return out
