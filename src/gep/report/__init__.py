"""The committee report: one self-contained, bilingual (zh/en) HTML file.

``build_report(cfg)`` reads the GEP tables and, when they exist, the compensation, monitoring
and ledger outputs, draws charts and maps (embedded as data URIs, so the file reads offline and
can be mailed), and writes ``results/<basin>/report/index.html`` atomically.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from gep.config import Config, dump_resolved
from gep.io import write_text
from gep.paths import Paths
from gep.report import charts
from gep.report.sections import extra_sections

SERVICE_NAMES = {
    "water_yield": ("产水量", "Water yield"),
    "water_conservation": ("水源涵养", "Water conservation"),
    "biodiversity": ("生物多样性维护", "Biodiversity"),
    "soil_retention": ("土壤保持", "Soil retention"),
    "water_purification": ("水质净化", "Water purification"),
    "carbon_storage": ("碳储量", "Carbon storage"),
    "carbon_sequestration": ("固碳", "Carbon sequestration"),
}


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _money(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return "—" if v != v else f"{v:,.0f}"


def build_report(cfg: Config, paths: Paths | None = None) -> Path:
    p = paths or Paths(cfg)
    gep = pd.read_csv(p.gep_csv)
    inc = pd.read_csv(p.increments_csv, dtype={"delta_value_cny_constant": str})
    parties = gpd.read_file(p.party_file("parties.gpkg"))
    years = sorted(gep["year"].unique())
    first, last = int(years[0]), int(years[-1])
    valued = gep[gep["value_cny_constant"].notna()]
    total = valued.groupby(["year", "party_id"])["value_cny_constant"].sum().unstack()
    area_ha = (parties.set_index("party_id").geometry.area / 1e4).to_dict()

    figures = [
        dict(zh="流域 GEP 变化趋势（不变价）", en="GEP trend (constant prices)",
             src=data_uri(charts.gep_trend(gep)), wide=True),
        dict(zh=f"{last} 年各方单位面积 GEP", en=f"GEP per hectare by party, {last}",
             src=data_uri(charts.party_map(
                 parties, {k: total.loc[last, k] / area_ha[k] for k in total.columns},
                 f"GEP {last} (CNY/ha, constant prices)", "CNY/ha"))),
    ]
    if first != last:
        change = {k: total.loc[last, k] - total.loc[first, k] for k in total.columns}
        figures.append(dict(zh=f"{first}-{last} 年 GEP 变化", en=f"GEP change {first}-{last}",
                            src=data_uri(charts.party_map(
                                parties, change, f"GEP change {first}-{last} (CNY, constant)",
                                "CNY", diverging=True))))
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
    html = env.get_template("report.html.j2").render(
        cfg=cfg, base_year=base_year, years=[int(y) for y in years], first=first, last=last,
        figures=figures,
        parties=party_rows, party_ids=list(total.columns), totals=totals,
        increments=inc_tab.to_dict("records"), inc_columns=list(inc_tab.columns), runs=runs,
        prices_text=prices_text, settings_text=json.dumps(settings, indent=2,
                                                          ensure_ascii=False),
        basin_total_last=_money(total.loc[last].sum()),
        basin_total_first=_money(total.loc[first].sum()),
        sections=extra_sections(cfg, p, data_uri),
    )
    out = p.report / "index.html"
    write_text(out, html)
    return out
