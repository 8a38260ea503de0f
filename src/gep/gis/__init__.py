"""GEP per party for GIS: ``results/<basin>/gep/gep_by_party.gpkg`` and its QGIS style.

The GeoPackage holds, for people who work in QGIS (or ArcGIS, or any OGR reader):

* ``gep_<year>``: the party polygons with their names (zh, en), role, province, area, and for
  every service its quantity (``<service>_qty``), its value at constant and current prices
  (``<service>_cny_const``, ``<service>_cny_cur``), the party totals (``gep_cny_const``,
  ``gep_cny_cur``), GEP per hectare (``gep_cny_const_per_ha``) and, when
  ``gep/attribution.csv`` exists, its figures for that year and party (``attr_*``);
* ``responsibility``: one feature per upstream party, year and target of the responsibility
  lists (``monitoring/performance.csv``), with value, threshold, unit and ``met``;
* ``services``: a table (no geometry) naming each service in zh and en with the unit of its
  ``_qty`` field.

Money fields are Real (GIS has no decimal type): the exact figures, to the fen, are the
Decimal-derived values of ``gep_by_party.csv`` converted once. The QGIS style
(``gep_by_party.qml``, also stored in the GeoPackage's ``layer_styles`` table so QGIS applies it
when the layer is opened) colours parties by GEP per hectare with the same classes for every
year and labels them ``林溪县 / Linxi County``.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from gep.errors import InputDataError
from gep.io import atomic_path, write_text
from gep.money import to_fen

if TYPE_CHECKING:  # imported inside the functions: `gep gis --help` stays light
    import geopandas as gpd
    import pandas as pd

PARTY_FIELDS = ["party_id", "name", "name_zh", "role", "province"]
STYLE_FIELD = "gep_cny_const_per_ha"
#: ColorBrewer YlGn, five classes (low GEP per hectare pale, high dark green)
YLGN = ["255,255,204,255", "194,230,153,255", "120,198,121,255", "49,163,84,255",
        "0,104,55,255"]


def _money(v) -> float:
    """A CSV money string (or Decimal) to the nearest float of its fen value; NaN if empty."""
    import numpy as np

    if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
        return float("nan")
    return float(to_fen(Decimal(str(v))))


def _area_ha(parties: gpd.GeoDataFrame) -> pd.Series:
    g = parties.geometry
    if parties.crs is not None and parties.crs.is_geographic:
        g = parties.to_crs(parties.estimate_utm_crs()).geometry
    return (g.area / 1e4).round(4)


def _field(*parts: str) -> str:
    name = "_".join(re.sub(r"[^0-9a-zA-Z]+", "_", str(p)).strip("_").lower() for p in parts)
    return name[:60]


def attribution_fields(att: pd.DataFrame, year: int,
                       source: str = "the attribution table") -> pd.DataFrame:
    """The attribution figures of ``year`` as one row per party, columns ``attr_*``.

    Works for a wide table (one row per year and party) and a long one (text columns such as
    service or driver name the figures): text columns become part of the field name.
    """
    import pandas as pd

    if "party_id" not in att.columns:
        raise InputDataError(source, "no party_id column",
                             "write one row per party (and year) with a party_id column")
    a = att[att["year"].astype(int) == int(year)] if "year" in att.columns else att
    a = a.drop(columns=[c for c in ("year",) if c in a.columns])
    keys = [c for c in a.columns if c != "party_id" and not pd.api.types.is_numeric_dtype(a[c])]
    vals = [c for c in a.columns if c != "party_id" and c not in keys]
    out: dict[str, dict] = {}
    for row in a.itertuples(index=False):
        r = row._asdict()
        prefix = ["attr", *(r[k] for k in keys)]
        for v in vals:
            out.setdefault(_field(*prefix, v), {})[r["party_id"]] = r[v]
    return pd.DataFrame(out)


def gep_layers(parties: gpd.GeoDataFrame, gep: pd.DataFrame,
               attribution: pd.DataFrame | None = None,
               attribution_source: str = "the attribution table"
               ) -> dict[int, gpd.GeoDataFrame]:
    """``{year: party polygons with every service's quantity and value}``; errors in the
    attribution table name ``attribution_source``."""
    import geopandas as gpd

    base = parties[PARTY_FIELDS + ["geometry"]].copy()
    base.insert(len(PARTY_FIELDS), "area_ha", _area_ha(parties))
    services = list(dict.fromkeys(gep["service"]))
    layers = {}
    for year in sorted(int(y) for y in gep["year"].unique()):
        g = gep[gep["year"].astype(int) == year]
        lay = base.copy()
        lay.insert(0, "year", year)
        totals = {k: {p: Decimal(0) for p in lay["party_id"]} for k in ("const", "cur")}
        for s in services:
            sub = g[g["service"] == s].set_index("party_id")
            lay[f"{s}_qty"] = lay["party_id"].map(sub["quantity"].astype(float))
            for k, col in (("const", "value_cny_constant"), ("cur", "value_cny_current")):
                vals = lay["party_id"].map(sub[col])
                lay[f"{s}_cny_{k}"] = [_money(v) for v in vals]
                for p, v in zip(lay["party_id"], vals):
                    if isinstance(v, str) and v.strip():
                        totals[k][p] += Decimal(v)
        for k in ("const", "cur"):
            lay[f"gep_cny_{k}"] = [float(to_fen(totals[k][p])) for p in lay["party_id"]]
        lay[STYLE_FIELD] = [float(to_fen(totals["const"][p] / Decimal(repr(a))))
                            if a > 0 else float("nan")
                            for p, a in zip(lay["party_id"], lay["area_ha"])]
        if attribution is not None:
            att = attribution_fields(attribution, year, attribution_source)
            for c in att.columns:
                lay[c] = lay["party_id"].map(att[c])
        geom = lay.pop("geometry")
        layers[year] = gpd.GeoDataFrame(lay, geometry=geom.values, crs=parties.crs)
    return layers


def responsibility_layer(parties: gpd.GeoDataFrame, perf: pd.DataFrame) -> gpd.GeoDataFrame:
    """One feature per party, year and target of the responsibility lists."""
    import geopandas as gpd
    import pandas as pd

    p = parties[PARTY_FIELDS[:3] + ["geometry"]]
    df = perf.merge(p, on="party_id", how="inner")
    out = pd.DataFrame({
        "year": df["year"].astype(int), "party_id": df["party_id"], "name": df["name"],
        "name_zh": df["name_zh"], "target": df["target"],
        "value": df["value"].astype(float), "threshold": df["threshold"].astype(float),
        "unit": df["unit"], "met": df["met"].astype(str).str.lower() == "true"})
    return gpd.GeoDataFrame(out, geometry=df["geometry"].values, crs=parties.crs)


def class_breaks(values, n: int = 5) -> list[float]:
    """``n`` quantile classes over ``values`` (NaN ignored), bounds rounded to whole CNY/ha
    outwards so every value falls in a class."""
    import numpy as np

    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return [0.0, 1.0]
    q = np.quantile(v, np.linspace(0, 1, n + 1))
    b = [float(np.floor(q[0]))] + [float(np.round(x)) for x in q[1:-1]] + [float(np.ceil(q[-1]))]
    out = [b[0]]
    for x in b[1:]:
        if x > out[-1]:
            out.append(x)
    if len(out) == 1:
        out.append(out[0] + 1.0)
    return out


def _opt(parent, name: str, value: str) -> None:
    ET.SubElement(parent, "Option", type="QString", name=name, value=value)


def qml_style(breaks: list[float], field: str = STYLE_FIELD) -> str:
    """A QGIS layer style: graduated colours on ``field`` with ``breaks``, name labels."""
    root = ET.Element("qgis", version="3.28.0-Firenze", styleCategories="Symbology|Labeling",
                      labelsEnabled="1")
    r = ET.SubElement(root, "renderer-v2", type="graduatedSymbol", attr=field,
                      graduatedMethod="GraduatedColor", symbollevels="0", forceraster="0",
                      enableorderby="0", referencescale="-1")
    ranges = ET.SubElement(r, "ranges")
    symbols = ET.SubElement(r, "symbols")
    n = len(breaks) - 1
    colours = [YLGN[round(i * (len(YLGN) - 1) / max(n - 1, 1))] for i in range(n)]
    for i in range(n):
        lo, hi = breaks[i], breaks[i + 1]
        ET.SubElement(ranges, "range", symbol=str(i), lower=f"{lo:.6f}", upper=f"{hi:.6f}",
                      label=f"{lo:,.0f} - {hi:,.0f} CNY/ha", render="true")
        sym = ET.SubElement(symbols, "symbol", type="fill", name=str(i), alpha="1",
                            clip_to_extent="1", force_rhr="0")
        lay = ET.SubElement(sym, "layer", attrib={"class": "SimpleFill", "enabled": "1",
                                                  "locked": "0", "pass": "0"})
        o = ET.SubElement(lay, "Option", type="Map")
        for k, v in (("color", colours[i]), ("outline_color", "51,51,51,255"),
                     ("outline_style", "solid"), ("outline_width", "0.4"),
                     ("outline_width_unit", "MM"), ("style", "solid"),
                     ("joinstyle", "bevel")):
            _opt(o, k, v)
    ET.SubElement(r, "classificationMethod", id="Quantile")
    lab = ET.SubElement(root, "labeling", type="simple")
    st = ET.SubElement(lab, "settings", calloutType="simple")
    ET.SubElement(st, "text-style", fieldName="\"name_zh\" || '\n' || \"name\"",
                  isExpression="1", fontFamily="Noto Sans CJK SC", fontSize="9",
                  fontSizeUnit="Point", textColor="20,20,20,255", multilineAlign="1")
    ET.SubElement(st, "text-buffer", bufferDraw="1", bufferSize="1",
                  bufferSizeUnits="MM", bufferColor="255,255,255,255")
    ET.SubElement(st, "placement", placement="1")  # over the polygon's point
    ET.SubElement(root, "layerGeometryType").text = "2"
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + \
        ET.tostring(root, encoding="unicode") + "\n"


def export_gpkg(parties_gpkg: Path, gep_csv: Path, out_gpkg: Path, out_qml: Path,
                performance_csv: Path | None = None,
                attribution_csv: Path | None = None) -> dict[str, Path]:
    """Write the GeoPackage and the QGIS style (both atomically)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyogrio

    parties = gpd.read_file(parties_gpkg)
    gep = pd.read_csv(gep_csv, dtype={"party_id": str, "value_cny_constant": str,
                                      "value_cny_current": str})
    attribution = None
    if attribution_csv is not None and Path(attribution_csv).is_file():
        attribution = pd.read_csv(attribution_csv, dtype={"party_id": str})
    layers = gep_layers(parties, gep, attribution, str(attribution_csv))
    breaks = class_breaks(np.concatenate([lay[STYLE_FIELD].to_numpy() for lay in
                                          layers.values()]))
    style = qml_style(breaks)
    from gep.services import SERVICE_NAMES  # the model registry: not at `gep gis --help`

    services = [s for s in dict.fromkeys(gep["service"])]
    units = gep.drop_duplicates("service").set_index("service")["unit"]
    svc = pd.DataFrame({
        "service": services,
        "name_zh": [SERVICE_NAMES.get(s, (s, s))[0] for s in services],
        "name_en": [SERVICE_NAMES.get(s, (s, s))[1] for s in services],
        "quantity_field": [f"{s}_qty" for s in services],
        "quantity_unit": [units[s] for s in services],
        "value_fields": [f"{s}_cny_const, {s}_cny_cur" for s in services],
    })
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    styles = pd.DataFrame({
        "f_table_catalog": "", "f_table_schema": "",
        "f_table_name": [f"gep_{y}" for y in layers], "f_geometry_column": "geom",
        "styleName": [f"gep_{y}" for y in layers], "styleQML": style, "styleSLD": "",
        "useAsDefault": True, "description": "GEP per hectare (constant CNY), party names",
        "owner": "gep", "ui": "", "update_time": now})
    with atomic_path(out_gpkg) as tmp:
        tmp.unlink()
        for y, lay in layers.items():
            pyogrio.write_dataframe(lay, tmp, layer=f"gep_{y}", driver="GPKG")
        if performance_csv is not None and Path(performance_csv).is_file():
            perf = pd.read_csv(performance_csv, dtype={"party_id": str, "met": str})
            pyogrio.write_dataframe(responsibility_layer(parties, perf), tmp,
                                    layer="responsibility", driver="GPKG")
        pyogrio.write_dataframe(svc, tmp, layer="services", driver="GPKG")
        pyogrio.write_dataframe(styles, tmp, layer="layer_styles", driver="GPKG")
    write_text(out_qml, style)
    return {"gpkg": Path(out_gpkg), "qml": Path(out_qml)}
