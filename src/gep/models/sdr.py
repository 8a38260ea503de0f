"""InVEST sediment delivery ratio: soil retention (avoided erosion)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from gep.models.base import (Inputs, ModelAdapter, ModelConfig, Service, ValuationContext,
                             Valued, Variable, total)

ID = "sdr"


class SDRConfig(ModelConfig):
    enabled: bool = False
    biophysical_table: Path = Path("tables/biophysical.csv")
    threshold_flow_accumulation: int = Field(1000, gt=0)
    k_param: float = 2.0
    sdr_max: float = Field(0.8, gt=0, le=1)
    ic_0_param: float = 0.5
    l_max: float = Field(122.0, gt=0)
    flow_dir_algorithm: Literal["MFD", "D8"] = "MFD"
    reuse_dem_products: bool = Field(
        True, description="Compute the DEM-only steps (pit filling, flow routing, LS ...) once "
                          "per basin, keyed by content, and reuse them in every year and in "
                          "both SDR and NDR (docs/dem_products.md).")


OUTPUTS = {"avoided_erosion": "avoided_erosion.tif"}

#: files of an actual run's workspace that the reference-climate surrogate reuses
#: (gep.attribution.surrogates): erosivity enters only RKLS = LS x R x K and USLE = RKLS x CP
INTERMEDIATES = {
    "aligned_erosivity": "intermediate_outputs/aligned_erosivity.tif",
    "mask": "intermediate_outputs/mask.tif",
    "ls": "intermediate_outputs/ls.tif",
    "masked_erodibility": "intermediate_outputs/masked_erodibility.tif",
    "stream": "stream.tif",
    "cp": "intermediate_outputs/cp.tif",
}


def build(i: Inputs, params, workspace: Path) -> dict:
    return {
        "dem_path": i.layer("dem"),
        "erosivity_path": i.layer("erosivity"),
        "erodibility_path": i.layer("erodibility"),
        "lulc_path": i.layer("landcover"),
        "watersheds_path": i.party("basin.gpkg"),
        "biophysical_table_path": params["biophysical_table"],
        "threshold_flow_accumulation": params["threshold_flow_accumulation"],
        "k_param": params["k_param"],
        "sdr_max": params["sdr_max"],
        "ic_0_param": params["ic_0_param"],
        "l_max": params["l_max"],
        "flow_dir_algorithm": params["flow_dir_algorithm"],
    }


def value(party, ctx: ValuationContext) -> list[Valued]:
    """``soil_retention`` = avoided erosion A (t); value = lambda A / rho x dredging cost
    + A (N% x N price + P% x P price)."""
    a = total(party, "avoided_erosion")
    n = ctx.prices.num
    val = (n("soil_retention", "siltation_fraction") * a
           / n("soil_retention", "soil_bulk_density")
           * n("soil_retention", "dredging_cost")
           + a * (n("soil_retention", "soil_n_fraction")
                  * n("soil_retention", "n_price")
                  + n("soil_retention", "soil_p_fraction")
                  * n("soil_retention", "p_price")))
    return [Valued("soil_retention", a, "t", val)]


ADAPTER = ModelAdapter(
    id=ID,
    module="natcap.invest.sdr.sdr",
    config=SDRConfig,
    args=build,
    outputs=OUTPUTS,
    variables=(Variable("avoided_erosion", ID, OUTPUTS["avoided_erosion"], "t",
                        lambda v, a: v * a / 10000.0),),
    services=(Service("soil_retention", "土壤保持", "Soil retention", valued=True),),
    value=value,
    climate={"erosivity": "erosivity_path"},
)
