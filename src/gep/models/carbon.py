"""InVEST carbon storage: carbon storage and, from the year before, sequestration."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from gep.models.base import (Inputs, ModelAdapter, ModelConfig, Service, ValuationContext,
                             Valued, Variable, total)

ID = "carbon"


class CarbonConfig(ModelConfig):
    enabled: bool = False
    carbon_pools_table: Path = Path("tables/carbon_pools.csv")


OUTPUTS = {"storage": "c_storage_bas.tif"}


def build(i: Inputs, params, workspace: Path) -> dict:
    return {
        "lulc_bas_path": i.layer("landcover"),
        "carbon_pools_path": params["carbon_pools_table"],
        "calc_sequestration": False,
        "do_valuation": False,
    }


def value(party, ctx: ValuationContext) -> list[Valued]:
    """``carbon_storage`` (t C, physical) and ``carbon_sequestration``: storage minus the
    previous year's, valued at the CO2 price x 44/12 (not reported for the first year)."""
    cs = total(party, "carbon_storage")
    rows = [Valued("carbon_storage", cs, "t C", None)]
    before = ctx.previous_total("carbon_storage")
    if before is not None:
        seq = cs - before
        rows.append(Valued("carbon_sequestration", seq, "t C",
                           seq * Decimal(44) / Decimal(12) * ctx.prices.num("carbon", "co2_price")))
    return rows


ADAPTER = ModelAdapter(
    id=ID,
    module="natcap.invest.carbon",
    config=CarbonConfig,
    args=build,
    outputs=OUTPUTS,
    variables=(Variable("carbon_storage", ID, OUTPUTS["storage"], "t C",
                        lambda v, a: v * a / 10000.0),),
    services=(Service("carbon_storage", "碳储量", "Carbon storage", valued=False),
              Service("carbon_sequestration", "固碳", "Carbon sequestration", valued=True)),
    value=value,
)
