"""Charts and maps for the committee report (matplotlib, Agg backend, PNG bytes).

Fonts (Chinese party names included) come from :mod:`gep.fonts`; parties are labelled with
their names (``林溪县 Linxi``), passed in as ``labels`` (party id -> label).
"""
from __future__ import annotations

import io

import matplotlib

from gep.fonts import configure_matplotlib

configure_matplotlib()
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _cjk(fn):
    """Re-apply the CJK font chain before a chart is drawn: text takes its font family from
    matplotlib's rcParams when it is created, and a host process (a notebook, a test run)
    may have changed them since this module was imported."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        configure_matplotlib()
        return fn(*args, **kwargs)
    return wrapper


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


@_cjk
def gep_trend(gep: pd.DataFrame, labels: dict[str, str] | None = None,
              service_names: dict[str, str] | None = None) -> bytes:
    """Basin GEP per year at constant prices, stacked by service, and per party.

    Both legends sit below their axes, never over the bars or lines."""
    labels, service_names = labels or {}, service_names or {}
    valued = gep[gep["value_cny_constant"].notna()].copy()
    valued["v"] = valued["value_cny_constant"].astype(float) / 1e6
    valued["service"] = valued["service"].map(lambda s: service_names.get(s, s))
    valued["party"] = valued["party_id"].map(lambda p: labels.get(p, p))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.6))
    by_service = valued.pivot_table(index="year", columns="service", values="v", aggfunc="sum")
    by_service.plot.bar(stacked=True, ax=a1, rot=0)
    a1.set_ylabel("百万元 million CNY (constant prices)")
    a1.set_title("流域各项服务 GEP  Basin GEP by service")
    by_party = valued.pivot_table(index="year", columns="party", values="v", aggfunc="sum")
    by_party.plot(ax=a2, marker="o")
    a2.set_ylabel("百万元 million CNY (constant prices)")
    a2.set_title("各方 GEP  GEP by party")
    a2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for ax in (a1, a2):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8,
                  frameon=False)
    return png(fig)


@_cjk
def party_map(parties, values: dict[str, float], title: str, label: str,
              diverging: bool = False, labels: dict[str, str] | None = None) -> bytes:
    """Choropleth of one number per party, each labelled with its name."""
    labels = labels or {}
    gdf = parties.copy()
    gdf["v"] = gdf["party_id"].map(values).astype(float)
    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    kw = {}
    if diverging:
        m = float(np.nanmax(np.abs(gdf["v"]))) or 1.0
        kw = dict(cmap="RdBu", vmin=-m, vmax=m)
    else:
        kw = dict(cmap="YlGn")
    gdf.plot(column="v", ax=ax, legend=True, edgecolor="#333", linewidth=0.6,
             legend_kwds={"label": label, "shrink": 0.7}, **kw)
    for _, r in gdf.iterrows():
        c = r.geometry.representative_point()
        ax.annotate(labels.get(r["party_id"], r["party_id"]).replace(" ", "\n", 1), (c.x, c.y),
                    ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7, "lw": 0})
    ax.set_title(title)
    ax.set_axis_off()
    return png(fig)


@_cjk
def raster_map(path, title: str, label: str, cmap: str = "viridis",
               max_pixels: int = 600) -> bytes:
    """A raster shown through an overview read (decimated), so any size stays cheap."""
    import rasterio

    with rasterio.open(path) as ds:
        f = max(1, int(np.ceil(max(ds.width, ds.height) / max_pixels)))
        a = ds.read(1, out_shape=(max(1, ds.height // f), max(1, ds.width // f)), masked=True)
    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    im = ax.imshow(a, cmap=cmap)
    fig.colorbar(im, ax=ax, shrink=0.7, label=label)
    ax.set_title(title)
    ax.set_axis_off()
    return png(fig)


WORLDCOVER_COLORS = {10: "#006400", 20: "#ffbb22", 30: "#ffff4c", 40: "#f096ff", 50: "#fa0000",
                     60: "#b4b4b4", 70: "#f0f0f0", 80: "#0064c8", 90: "#0096a0", 95: "#00cf75",
                     100: "#fae6a0"}


@_cjk
def landcover_map(path, title: str, max_pixels: int = 600) -> bytes:
    import rasterio
    from matplotlib.colors import ListedColormap

    with rasterio.open(path) as ds:
        f = max(1, int(np.ceil(max(ds.width, ds.height) / max_pixels)))
        a = ds.read(1, out_shape=(max(1, ds.height // f), max(1, ds.width // f)))
    codes = sorted(WORLDCOVER_COLORS)
    idx = np.full(a.shape, np.nan)
    for i, c in enumerate(codes):
        idx[a == c] = i
    fig, ax = plt.subplots(figsize=(5.2, 5.2))
    ax.imshow(idx, cmap=ListedColormap([WORLDCOVER_COLORS[c] for c in codes]), vmin=-0.5,
              vmax=len(codes) - 0.5, interpolation="nearest")
    present = [c for c in codes if (a == c).any()]
    from matplotlib.patches import Patch

    from gep.config import WORLDCOVER_CLASSES

    ax.legend(handles=[Patch(color=WORLDCOVER_COLORS[c], label=f"{c} {WORLDCOVER_CLASSES[c]}")
                       for c in present], loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=7, framealpha=0.8)
    ax.set_title(title)
    ax.set_axis_off()
    return png(fig)


@_cjk
def attribution_chart(att: pd.DataFrame, parties: list[str]) -> bytes:
    """Per party, each year's GEP change (all valued services, constant prices) split into
    land use and climate: stacked bars, the total as a black tick."""
    df = att.copy()
    for c in ("total", "land_use", "climate"):
        df[c] = df[c].astype(float) / 1e6
    by = df.groupby(["party_id", "year"])[["total", "land_use", "climate"]].sum()
    n = len(parties)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.8 * cols, 2.9 * rows), squeeze=False,
                             sharey=True)
    for ax, party in zip(axes.flat, parties):
        if party not in by.index.get_level_values(0):
            ax.set_axis_off()
            continue
        sub = by.loc[party]
        x = np.arange(len(sub))
        lu, cl = sub["land_use"].to_numpy(), sub["climate"].to_numpy()
        # stack positive parts upwards and negative parts downwards
        for vals, base_pos, base_neg, color, label in (
                (lu, 0 * lu, 0 * lu, "#2b8a3e", "land use"),
                (cl, np.maximum(lu, 0), np.minimum(lu, 0), "#4dabf7", "climate")):
            ax.bar(x, vals, bottom=np.where(vals >= 0, base_pos, base_neg), color=color,
                   label=label, width=0.6)
        ax.scatter(x, sub["total"], marker="_", s=300, color="black", label="total", zorder=3)
        ax.axhline(0, color="#555", linewidth=0.6)
        ax.set_xticks(x, [str(int(y)) for y in sub.index])
        ax.set_title(party, fontsize=9)
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    axes[0][0].set_ylabel("GEP change, million CNY")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    return png(fig)
