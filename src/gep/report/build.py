"""Building the committee report: :func:`build_report` (also ``gep.report.build_report``)
in named steps (data, figures, party rows, increments, model runs, settings), and the
report's tables with exact money for ``tables.xlsx``.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
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
from gep.services import SERVICE_NAMES


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


#: maps of one model output of the last year: (model, the key of the output in the model's
#: adapter (``gep.models``, where InVEST's file names live), zh, en, unit, colour map)
MODEL_MAPS = (
    ("annual_water_yield", "water_yield", "产水量", "Water yield", "mm", "Blues"),
    ("habitat_quality", "quality", "生境质量", "Habitat quality", "0-1", "YlGn"),
)


def build_report(cfg: Config, paths: Paths | None = None, pdf: bool = True) -> Path:
    """Write ``index.html``, ``tables.xlsx`` and (if ``pdf``) ``report.pdf``; return the
    HTML's path."""
    p = paths or Paths(cfg)
    d = _ReportData.read(p)
    figures = _figures(p, d)
    party_rows = _party_rows(d)
    totals = [dict(year=int(y), **{k: _money(d.total.loc[y, k]) for k in d.total.columns},
                   basin=_money(d.total.loc[y].sum())) for y in d.total.index]
    inc_tab = _increments_table(d.inc, d.labels)
    runs = _model_runs(cfg, p, d.years)
    prices_path = Path(cfg.path(cfg.valuation.prices))
    prices_text = prices_path.read_text(encoding="utf-8")
    from gep.valuation import load_prices

    base_year = load_prices(prices_path).base_year
    env = Environment(loader=PackageLoader("gep.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    sections = extra_sections(cfg, p, data_uri)
    html = env.get_template("report.html.j2").render(
        cfg=cfg, base_year=base_year, years=[int(y) for y in d.years], first=d.first,
        last=d.last, figures=figures, labels=d.labels,
        parties=party_rows, party_ids=list(d.total.columns), totals=totals,
        increments=inc_tab.to_dict("records"), inc_columns=list(inc_tab.columns), runs=runs,
        prices_text=prices_text, settings_text=json.dumps(_settings(cfg), indent=2,
                                                          ensure_ascii=False),
        basin_total_last=_money(d.total.loc[d.last].sum()),
        basin_total_first=_money(d.total.loc[d.first].sum()),
        sections=sections,
    )
    tables = report_tables(d.money_str, d.inc, d.labels, runs, base_year, sections)
    from gep.report.tables import write_xlsx

    write_xlsx(p.report_xlsx, tables)
    out = p.report_html
    if pdf:
        from gep.pdf import html_to_pdf

        html_to_pdf(html, p.report_pdf, base_url=p.report)
    write_text(out, html)
    return out


@dataclass
class _ReportData:
    """The GEP tables and parties the report rests on, read once."""

    gep: pd.DataFrame
    money_str: pd.DataFrame           # gep_by_party.csv as text: money never via floats
    inc: pd.DataFrame
    parties: gpd.GeoDataFrame
    years: list
    total: pd.DataFrame               # constant-price GEP, year x party
    labels: dict[str, str]

    @property
    def first(self) -> int:
        return int(self.years[0])

    @property
    def last(self) -> int:
        return int(self.years[-1])

    @classmethod
    def read(cls, p: Paths) -> _ReportData:
        gep = pd.read_csv(p.gep_csv)
        money_str = pd.read_csv(p.gep_csv, dtype=str, keep_default_na=False)
        inc = pd.read_csv(p.increments_csv, dtype={"delta_value_cny_constant": str})
        parties = gpd.read_file(p.parties_gpkg)
        years = sorted(gep["year"].unique())
        valued = gep[gep["value_cny_constant"].notna()]
        total = valued.groupby(["year", "party_id"])["value_cny_constant"].sum().unstack()
        labels = party_labels(p)
        for k in parties["party_id"]:
            labels.setdefault(k, k)
        return cls(gep, money_str, inc, parties, years, total, labels)


def _figures(p: Paths, d: _ReportData) -> list[dict]:
    """GEP trend, GEP per hectare and its change by party, land cover, the model maps."""
    first, last, total, labels = d.first, d.last, d.total, d.labels
    area_ha = (d.parties.set_index("party_id").geometry.area / 1e4).to_dict()
    figures = [
        dict(zh="流域 GEP 变化趋势（不变价）", en="GEP trend (constant prices)",
             src=data_uri(charts.gep_trend(d.gep, labels, {s: service_label(s)
                                                            for s in SERVICE_NAMES})),
             wide=True),
        dict(zh=f"{last} 年各方单位面积 GEP", en=f"GEP per hectare by party, {last}",
             src=data_uri(charts.party_map(
                 d.parties, {k: total.loc[last, k] / area_ha[k] for k in total.columns},
                 f"{last} 年单位面积 GEP  GEP {last} (CNY/ha, constant prices)", "CNY/ha",
                 labels=labels))),
    ]
    if first != last:
        change = {k: total.loc[last, k] - total.loc[first, k] for k in total.columns}
        figures.append(dict(zh=f"{first}-{last} 年 GEP 变化", en=f"GEP change {first}-{last}",
                            src=data_uri(charts.party_map(
                                d.parties, change, f"{first}-{last} 年 GEP 变化  GEP change "
                                f"{first}-{last} (CNY, constant)", "CNY", diverging=True,
                                labels=labels))))
    for y in sorted({first, last}):
        figures.append(dict(zh=f"{y} 年土地覆被", en=f"Land cover {y}",
                            src=data_uri(charts.landcover_map(p.year_file(y, "landcover"),
                                                              f"Land cover {y} (WorldCover)"))))
    from gep import models

    for model, key, zh, en, unit, cmap in MODEL_MAPS:
        f = models.get(model).output(p.workspace(last, model), key)
        if f.exists():
            figures.append(dict(zh=f"{last} 年{zh}", en=f"{en} {last}",
                                src=data_uri(charts.raster_map(f, f"{en} {last}", unit, cmap))))
    return figures


def _party_rows(d: _ReportData) -> list[dict]:
    """Each party's services of the last year: quantity, unit, constant and current value."""
    names = d.parties.set_index("party_id")
    rows = []
    for pid in d.parties["party_id"]:
        sub = d.gep[(d.gep["party_id"] == pid) & (d.gep["year"] == d.last)]
        rows.append(dict(
            party_id=pid, name=names.at[pid, "name"], name_zh=names.at[pid, "name_zh"],
            role=names.at[pid, "role"], province=names.at[pid, "province"],
            services=[dict(zh=SERVICE_NAMES.get(s, (s, s))[0], en=SERVICE_NAMES.get(s, (s, s))[1],
                           quantity=f"{q:,.0f}", unit=u, const=_money(vc), cur=_money(vt))
                      for s, q, u, vc, vt in sub[["service", "quantity", "unit",
                                                  "value_cny_constant",
                                                  "value_cny_current"]].itertuples(index=False)],
            total=_money(sub["value_cny_constant"].sum()),
        ))
    return rows


def _increments_table(inc: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """Year x party rows, one column per service, the increments as text (2 decimals)."""
    inc_tab = inc.pivot_table(index=["year", "party_id"], columns="service",
                              values="delta_value_cny_constant", aggfunc="first").reset_index()
    for c in inc_tab.columns[2:]:
        inc_tab[c] = [f"{float(v):,.2f}" if isinstance(v, str) else "—" for v in inc_tab[c]]
    inc_tab["party_id"] = [labels.get(k, k) for k in inc_tab["party_id"]]
    return inc_tab.rename(columns={"year": "年份 year", "party_id": "参与方 party",
                                   **{s: service_label(s) for s in inc_tab.columns[2:]}})


def _model_runs(cfg: Config, p: Paths, years) -> list[dict]:
    runs = []
    for y in years:
        for m in cfg.models.enabled():
            f = p.run_record(y, m)
            if f.exists():
                r = json.loads(f.read_text())
                # No run time here: the report must be byte-identical for identical inputs
                # (it is digested into the ledger); times stay in gep_run.json and the logs.
                runs.append(dict(year=int(y), model=m, version=r.get("invest_version", "")))
    return runs


def _settings(cfg: Config) -> dict:
    """The resolved config, without where this machine keeps its folders: that is not part of
    what was computed (and would make two identical runs in two folders publish different
    reports)."""
    settings = dump_resolved(cfg)
    settings.pop("config_dir", None)
    settings.pop("results_dir", None)
    settings.get("ledger", {}).pop("key_dir", None)
    return settings


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
