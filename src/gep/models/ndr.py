"""InVEST nutrient delivery ratio: water purification (N and P retained)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from gep.models.base import (Inputs, ModelAdapter, ModelConfig, Service, ValuationContext,
                             Valued, Variable, total)

ID = "ndr"


class NDRConfig(ModelConfig):
    enabled: bool = False
    biophysical_table: Path = Path("tables/biophysical.csv")
    threshold_flow_accumulation: int = Field(1000, gt=0)
    k_param: float = 2.0
    subsurface_critical_length_n: float = 200.0
    subsurface_eff_n: float = Field(0.8, ge=0, le=1)
    flow_dir_algorithm: Literal["MFD", "D8"] = "MFD"
    reuse_dem_products: bool = Field(
        True, description="Compute the DEM-only steps (pit filling, flow routing, LS ...) once "
                          "per basin, keyed by content, and reuse them in every year and in "
                          "both SDR and NDR (docs/dem_products.md).")


OUTPUTS = {
    "modified_load_n": "intermediate_outputs/modified_load_n.tif",
    "n_export": "n_total_export.tif",
    "modified_load_p": "intermediate_outputs/modified_load_p.tif",
    "p_export": "p_surface_export.tif",
}

#: files of an actual run's workspace that the reference-climate surrogate reuses
#: (gep.attribution.surrogates): the runoff proxy enters only the runoff proxy index, which
#: scales the loads; the delivery ratios do not depend on it
INTERMEDIATES = {
    "aligned_runoff_proxy": "intermediate_outputs/aligned_runoff_proxy.tif",
    "mask": "intermediate_outputs/watersheds_mask.tif",
    "masked_lulc": "intermediate_outputs/masked_lulc.tif",
    "load_n": "intermediate_outputs/load_n.tif",
    "load_p": "intermediate_outputs/load_p.tif",
    "ndr_n": "intermediate_outputs/ndr_n.tif",
    "ndr_p": "intermediate_outputs/ndr_p.tif",
    "sub_ndr_n": "intermediate_outputs/sub_ndr_n.tif",
}


def build(i: Inputs, params, workspace: Path) -> dict:
    return {
        "dem_path": i.layer("dem"),
        "lulc_path": i.layer("landcover"),
        "runoff_proxy_path": i.layer("precipitation"),
        "watersheds_path": i.party("basin.gpkg"),
        "biophysical_table_path": params["biophysical_table"],
        "calc_n": True,
        "calc_p": True,
        "threshold_flow_accumulation": params["threshold_flow_accumulation"],
        "k_param": params["k_param"],
        "subsurface_critical_length_n": params["subsurface_critical_length_n"],
        "subsurface_eff_n": params["subsurface_eff_n"],
        "flow_dir_algorithm": params["flow_dir_algorithm"],
    }


def value(party, ctx: ValuationContext) -> list[Valued]:
    """``water_purification`` = N + P retained (t); value = N x N price + P x P price."""
    nt = total(party, "n_retained")
    pt = total(party, "p_retained")
    val = (nt * ctx.prices.num("water_purification", "n_price")
           + pt * ctx.prices.num("water_purification", "p_price"))
    return [Valued("water_purification", nt + pt, "t (N + P)", val)]


def _kg_per_ha_to_t(v, a):
    return v * a / 10000.0 / 1000.0


ADAPTER = ModelAdapter(
    id=ID,
    module="natcap.invest.ndr.ndr",
    config=NDRConfig,
    args=build,
    outputs=OUTPUTS,
    variables=(
        # retained = modified load minus export (kg/ha)
        Variable("n_retained", ID, OUTPUTS["modified_load_n"], "t", _kg_per_ha_to_t,
                 path2=OUTPUTS["n_export"]),
        Variable("p_retained", ID, OUTPUTS["modified_load_p"], "t", _kg_per_ha_to_t,
                 path2=OUTPUTS["p_export"]),
    ),
    services=(Service("water_purification", "水质净化", "Water purification", valued=True),),
    value=value,
    climate={"precipitation": "runoff_proxy_path"},
)
