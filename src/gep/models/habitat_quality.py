"""InVEST habitat quality: biodiversity (habitat-quality-weighted area)."""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from pydantic import Field

from gep.models.base import (Inputs, ModelAdapter, ModelConfig, Service, ValuationContext,
                             Valued, Variable, quantity, total)

ID = "habitat_quality"


class HabitatQualityConfig(ModelConfig):
    enabled: bool = True
    half_saturation_constant: float = Field(0.05, gt=0)
    threats_table: Path = Path("tables/threats.csv")
    sensitivity_table: Path = Path("tables/sensitivity.csv")


OUTPUTS = {
    "quality": "quality_c.tif",
    # gep's copy of the threats table, its paths leading to the year's inputs
    "threats_table": "gep_threats.csv",
    # what the habitat-quality surrogate reads (gep.tuning.surrogate)
    "degradation": "deg_sum_c.tif",
    "habitat": "intermediate/habitat_c.tif",
    "access": "intermediate/access_layer.tif",
    "filtered": "intermediate/filtered_{decay}_{threat}_c.tif",
    "sensitivity": "intermediate/sens_{threat}_c.tif",
}


def threats_table_for(inputs: Path, table: str, workspace: Path) -> Path:
    """InVEST resolves the threats table's ``cur_path`` relative to the table; our table names
    files of the year's input folder, so write a copy into the workspace whose paths lead
    from there to that folder (kept there: it records exactly which rasters the model read)."""
    import pandas as pd

    from gep.errors import ConfigError

    df = pd.read_csv(table)
    if "cur_path" not in df.columns:
        raise ConfigError(f"models.{ID}.threats_table",
                          f"{table} has no 'cur_path' column",
                          "add cur_path naming each threat raster, e.g. threat_built.tif")
    out = Path(workspace) / OUTPUTS["threats_table"]
    out.parent.mkdir(parents=True, exist_ok=True)
    # relative to the table (InVEST resolves them so): the results folder stays movable and
    # the parameter set of the workspace opens anywhere
    df["cur_path"] = [Path(os.path.relpath((inputs / p).resolve(), out.parent.resolve()))
                      .as_posix() for p in df["cur_path"]]
    df.to_csv(out, index=False)
    return out


def build(i: Inputs, params, workspace: Path) -> dict:
    threats = threats_table_for(i.folder, params["threats_table"], workspace)
    return {
        "lulc_cur_path": i.layer("landcover"),
        "threats_table_path": str(threats),
        "sensitivity_table_path": params["sensitivity_table"],
        "half_saturation_constant": params["half_saturation_constant"],
    }


def value(party, ctx: ValuationContext) -> list[Valued]:
    """``biodiversity`` = sum_c HQ[c] (ha); value = sum_c HQ[c] x EF[c] x the standard
    equivalent value (Xie et al. 2015)."""
    from gep.errors import ConfigError
    from gep.money import D

    prices = ctx.prices
    bio = prices.service("biodiversity")
    ef = {int(k): D(v) for k, v in bio.get("equivalent_factors", {}).items()}
    sev = prices.num("biodiversity", "standard_equivalent_value")
    hq = total(party, "habitat_quality")
    missing = [c for c in party.index if c not in ef]
    if missing:
        raise ConfigError("services.biodiversity.equivalent_factors",
                          f"no factor for land-cover code {missing[0]}",
                          "add one", file=prices.file)
    val = sum((quantity(party.at[c, "habitat_quality"]) * ef[c] * sev for c in party.index),
              Decimal(0))
    return [Valued("biodiversity", hq, "ha (habitat-quality weighted)", val)]


ADAPTER = ModelAdapter(
    id=ID,
    module="natcap.invest.habitat_quality",
    config=HabitatQualityConfig,
    args=build,
    outputs=OUTPUTS,
    variables=(Variable("habitat_quality", ID, OUTPUTS["quality"], "ha",
                        lambda v, a: v * a / 10000.0),),
    services=(Service("biodiversity", "生物多样性维护", "Biodiversity", valued=True),),
    value=value,
)
