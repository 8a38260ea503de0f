"""InVEST annual water yield: water yield and water conservation (Ouyang's Q)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field

from gep.models.base import (Inputs, ModelAdapter, ModelConfig, Service, ValuationContext,
                             Valued, Variable, quantity, total)

ID = "annual_water_yield"


class AnnualWaterYieldConfig(ModelConfig):
    enabled: bool = True
    seasonality_constant: float = Field(5.0, ge=1, le=30, description="Zhang's Z (InVEST: 1-30).")
    biophysical_table: Path = Path("tables/biophysical.csv")
    n_workers: int = Field(-1, ge=-1)


#: InVEST's files gep reads from the workspace
OUTPUTS = {
    "water_yield": "output/per_pixel/wyield.tif",
    "watershed_results": "output/watershed_results_wyield.csv",
    # aligned inputs InVEST writes (the water-yield surrogate reads them)
    "lulc": "intermediate/clipped_lulc.tif",
    "eto": "intermediate/eto.tif",
    "precip": "intermediate/precip.tif",
    "soil": "intermediate/depth_to_root_rest_layer.tif",
    "pawc": "intermediate/pawc.tif",
}


def build(i: Inputs, params, workspace: Path) -> dict:
    return {
        "lulc_path": i.layer("landcover"),
        "precipitation_path": i.layer("precipitation"),
        "eto_path": i.layer("reference_et"),
        "depth_to_root_rest_layer_path": i.layer("root_restricting_depth"),
        "pawc_path": i.layer("plant_available_water"),
        "watersheds_path": i.party("basin.gpkg"),
        "sub_watersheds_path": i.party("subwatersheds.gpkg"),
        "biophysical_table_path": params["biophysical_table"],
        "seasonality_constant": params["seasonality_constant"],
        "n_workers": params.get("n_workers", -1),
    }


def value(party, ctx: ValuationContext) -> list[Valued]:
    """``water_yield`` (m3, physical) and ``water_conservation`` = sum over the land covers
    the runoff table counts of (WY - alpha P), valued at its unit price."""
    from gep.errors import ConfigError

    rows = [Valued("water_yield", total(party, "water_yield"), "m3", None)]
    missing = [c for c in party.index if c not in ctx.runoff]
    if missing:
        raise ConfigError("valuation.runoff_coefficients",
                          f"no runoff coefficient for land-cover code {missing[0]}",
                          "add a row for it")
    wc = sum((quantity(party.at[c, "water_yield"])
              - ctx.runoff[c] * quantity(party.at[c, "precipitation"])
              for c in party.index if ctx.runoff[c] is not None), Decimal(0))
    rows.append(Valued("water_conservation", wc, "m3",
                       wc * ctx.prices.num("water_conservation", "unit_price")))
    return rows


ADAPTER = ModelAdapter(
    id=ID,
    module="natcap.invest.annual_water_yield",
    config=AnnualWaterYieldConfig,
    args=build,
    outputs=OUTPUTS,
    variables=(
        # over the pixels where water yield is valid, so WY - alpha P compares like with like
        Variable("precipitation", None, "precipitation", "m3", lambda v, a: v / 1000.0 * a,
                 same_pixels_as="water_yield"),
        Variable("water_yield", ID, OUTPUTS["water_yield"], "m3", lambda v, a: v / 1000.0 * a),
    ),
    services=(Service("water_yield", "产水量", "Water yield", valued=False),
              Service("water_conservation", "水源涵养", "Water conservation", valued=True)),
    value=value,
    climate={"precipitation": "precipitation_path", "reference_et": "eto_path"},
)
