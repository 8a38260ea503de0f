"""Charts for the committee report: the daily index with alerts, and the responsibility map.

matplotlib with the Agg backend; each function writes a PNG atomically and returns its path.
Fonts (Chinese included) come from :mod:`gep.fonts`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gep.io import atomic_path

def _plt():
    from gep.fonts import configure_matplotlib

    configure_matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out_png: str | Path) -> Path:
    import matplotlib.pyplot as plt

    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(out_png)


def daily_index_chart(daily_index_csv: str | Path, alerts_csv_list: list[str | Path],
                      out_png: str | Path) -> Path:
    """Daily index per section (one panel each), anomaly days in red, dispatch alerts as
    triangles above the line (每日生态绩效指数与预警)."""
    plt = _plt()
    di = pd.read_csv(daily_index_csv, dtype={"party_id": str}, keep_default_na=False,
                     na_values={"index": [""]})
    di["date"] = pd.to_datetime(di["date"])
    alerts = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in alerts_csv_list
              if Path(p).is_file()]
    al = pd.concat(alerts, ignore_index=True) if alerts else pd.DataFrame(
        columns=["date", "party_id"])
    al_days = {(p, d) for p, d in zip(al["party_id"], pd.to_datetime(al["date"]))}
    sections = list(dict.fromkeys(di["section"]))
    fig, axes = plt.subplots(len(sections), 1, figsize=(11, 1.55 * len(sections) + 0.8),
                             sharex=True, squeeze=False)
    for ax, sec in zip(axes[:, 0], sections):
        d = di[di["section"] == sec]
        ax.plot(d["date"], d["index"], lw=0.7, color="#1f6f8b")
        bad = d[d["anomaly"].astype(str).str.lower() == "true"]
        ax.scatter(bad["date"], bad["index"].fillna(0.0), s=9, color="#c0392b", zorder=3,
                   label="anomaly day")
        party = (d["party_id"].iloc[0] if len(d) else "") or ""
        hit = [dt for dt in d["date"] if (party, dt) in al_days]
        if hit:
            ax.scatter(hit, np.full(len(hit), 1.06), marker="v", s=14, color="#e67e22",
                       zorder=3, label="alert, payment withheld")
        ax.set_ylim(-0.05, 1.12)
        ax.set_ylabel(sec, rotation=0, ha="right", va="center", fontsize=8)
        ax.grid(alpha=0.3)
    handles: dict = {}
    for ax in axes[:, 0]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    if handles:
        axes[0, 0].legend(handles.values(), handles.keys(), loc="lower left", fontsize=7,
                          ncol=2)
    axes[0, 0].set_title("Daily ecological performance index 每日生态绩效指数 (0-1)")
    return _save(fig, out_png)


def responsibility_map(performance_csv: str | Path, parties_gpkg: str | Path, year: int,
                       out_png: str | Path, downstream_csv: str | Path | None = None) -> Path:
    """Map of the responsibility lists (责任清单) of ``year``: each party coloured by the share
    of its targets met and labelled with target, value and met. ``downstream_csv`` (the
    downstream parties' lists, same columns) adds the other side of the two-way lists."""
    import geopandas as gpd
    from matplotlib.colors import Normalize

    plt = _plt()
    perf = pd.read_csv(performance_csv, dtype={"met": str})
    if downstream_csv is not None and Path(downstream_csv).is_file():
        down = pd.read_csv(downstream_csv, dtype={"met": str})
        perf = pd.concat([perf, down], ignore_index=True)
    perf = perf[perf["year"] == int(year)]
    gdf = gpd.read_file(parties_gpkg)
    share = perf.assign(m=perf["met"].str.lower() == "true").groupby("party_id")["m"].mean()
    gdf["share"] = gdf["party_id"].map(share)
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    cmap, norm = plt.get_cmap("RdYlGn"), Normalize(0, 1)
    listed = gdf[gdf["share"].notna()]
    other = gdf[gdf["share"].isna()]
    if len(other):
        other.plot(ax=ax, color="#dddddd", edgecolor="#555", linewidth=0.6, hatch="//")
    if len(listed):
        listed.plot(ax=ax, column="share", cmap=cmap, norm=norm, edgecolor="#333",
                    linewidth=0.8)
    short = {"water_quality_compliance_rate": "water quality 水质达标率",
             "flow_compliance_rate": "eco-flow days 生态流量保障率",
             "redline_natural_cover_km2": "red-line natural cover 红线区自然覆盖",
             "compensation_paid_on_time_cny": "compensation paid on time 按时足额补偿",
             "industrial_emissions_t": "emissions under cap 排放总量控制"}
    cells, colours = [], []
    for _, r in gdf.iterrows():
        c = r.geometry.representative_point()
        rows = perf[perf["party_id"] == r["party_id"]]
        met = [str(t).lower() == "true" for t in rows["met"]]
        label = f"{r.get('name_zh') or r['party_id']}"
        if met:
            label += f"\n{sum(met)}/{len(met)}"
        ax.annotate(label, (c.x, c.y), ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7, "lw": 0})
        for t, ok in zip(rows.itertuples(index=False), met):
            cells.append([" ".join(x for x in (r.get("name_zh"), r.get("name")) if x)
                          or r["party_id"],
                          short.get(t.target, t.target), _fmt(t.value, t.unit),
                          _fmt(t.threshold, t.unit), "✓" if ok else "✗"])
            colours.append(["white"] * 4 + ["#c8e6c9" if ok else "#ffcdd2"])
    if cells:
        table = ax.table(cellText=cells, cellColours=colours, loc="bottom", cellLoc="center",
                         colLabels=["party", "target", "value", "target value", "met"],
                         colWidths=[0.2, 0.44, 0.14, 0.14, 0.08],
                         bbox=[0.0, -0.06 * (len(cells) + 1), 1.0, 0.06 * (len(cells) + 1)])
        table.auto_set_font_size(False)
        table.set_fontsize(7)
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
    fig.colorbar(sm, ax=ax, shrink=0.6, label="share of targets met")
    ax.set_title(f"Two-way responsibility lists {year} 上下游双向责任清单; grey: no list")
    ax.set_axis_off()
    return _save(fig, out_png)


def _fmt(v, unit: str) -> str:
    if unit == "CNY":
        return f"{float(v) / 1e6:,.1f} M"
    if unit == "t (cap)":
        return f"{float(v):,.0f} t"
    if unit == "share of days":
        return f"{float(v) * 100:.1f}%"
    return f"{float(v):.2f} {unit}"
