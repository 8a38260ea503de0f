"""The shape of a model adapter: everything gep knows about one InVEST model, in one object.

In the spirit of InVEST's own ``MODEL_SPEC``, a :class:`ModelAdapter` names

- ``id``: the model id of the config (``models.<id>``), the workspace folder and the rules;
- ``module``: the ``natcap.invest`` module that runs it (imported only when it runs);
- ``config``: its pydantic config section (a :class:`ModelConfig`);
- ``args``: how a year's input folder and the section's parameters become InVEST ``args``;
- ``outputs``: the files of InVEST's workspace gep reads, by key (InVEST's own names such as
  ``wyield.tif`` live here and nowhere else);
- ``variables``: its zonal variables (:mod:`gep.zonal`), the per-pixel quantities summed per
  party and land cover;
- ``services`` and ``value``: the ecosystem services it yields and how one party's zonal
  sums become physical quantities and money (:mod:`gep.valuation`);
- ``climate``: the climate layers it reads and the InVEST argument naming each (the reference
  climate of :mod:`gep.attribution` replaces them).

Adapter modules import nothing heavy and never ``gep.config`` at module level: the config
imports their sections.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, NamedTuple

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from gep.valuation import Prices


#: InVEST modules that run with ``n_workers = -1`` whatever the job's cores: with worker
#: processes (natcap.invest 3.20.2, GDAL 3.6) one of NDR's tasks segfaults inside GDAL in the
#: worker, and taskgraph then waits forever for the dead worker's result (natcap/taskgraph#85)
NO_WORKERS = frozenset({"natcap.invest.ndr.ndr"})


class ModelConfig(BaseModel):
    # no docstring: the schema's description of each section is its own class's
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


@dataclass(frozen=True)
class Variable:
    """A zonal variable: per-pixel values of one raster, scaled to a quantity per pixel."""

    name: str
    model: str | None            # None: a layer of the year's inputs (``path`` is its name)
    path: str                    # relative to the model workspace (or the inputs layer name)
    unit: str
    scale: Callable[[Any, float], Any]  # (values, pixel area m2) -> quantity
    path2: str | None = None     # for differences (load minus export)
    same_pixels_as: str | None = None  # count only where this variable is valid too


@dataclass(frozen=True)
class Service:
    """An ecosystem service of the GEP table; ``valued``: it has a money value."""

    id: str
    zh: str
    en: str
    valued: bool


class Valued(NamedTuple):
    """One row of a party's GEP: a service's quantity and its value at ``price_year`` prices
    (``None``: physical only)."""

    service: str
    quantity: Decimal
    unit: str
    value: Decimal | None


def quantity(x) -> Decimal:
    """A zonal quantity (float) as Decimal, exactly as the valuation has always read it."""
    from gep.money import D

    return D(float(x))


def total(party: "pd.DataFrame", variable: str) -> Decimal:
    """Sum over the party's land covers of one zonal variable."""
    return sum((quantity(party.at[c, variable]) for c in party.index), Decimal(0))


class ValuationContext:
    """What a model's valuation sees besides one party's zonal sums: the prices, the runoff
    coefficients and the previous year's zonal table (for changes such as sequestration)."""

    def __init__(self, prices: "Prices", runoff: dict, previous: "pd.DataFrame | None" = None,
                 party: str | None = None, _totals: dict | None = None):
        self.prices = prices
        self.runoff = runoff
        self.previous = previous
        self.party = party
        self._previous_totals: dict[str, Any] = {} if _totals is None else _totals

    def at(self, party: str) -> "ValuationContext":
        """The context of one party (sharing the previous year's totals)."""
        return ValuationContext(self.prices, self.runoff, self.previous, party,
                                self._previous_totals)

    def previous_total(self, variable: str) -> Decimal | None:
        """The party's total of ``variable`` in the previous year (None when not known)."""
        party = self.party
        if variable not in self._previous_totals:
            prev = self.previous
            s = None
            if prev is not None and variable in set(prev["variable"]):
                s = prev[prev["variable"] == variable].groupby("party_id")["quantity"].sum()
            self._previous_totals[variable] = s
        s = self._previous_totals[variable]
        if s is None or party not in s.index:
            return None
        return quantity(s[party])


class Inputs:
    """One year's input folder (``gep acquire``'s layout), as InVEST argument strings."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def layer(self, name: str) -> str:
        """A raster layer of the year, e.g. ``landcover``."""
        from gep.paths import Paths

        return str(Paths.input_layer(self.folder, name))

    def party(self, name: str) -> str:
        """A file of the basin beside the year folders (``basin.gpkg``, ``subwatersheds.gpkg``)."""
        from gep.paths import Paths

        return str(Paths.inputs_party_file(self.folder, name))


ArgsBuilder = Callable[[Inputs, Mapping[str, Any], Path], dict]
Valuer = Callable[["pd.DataFrame", ValuationContext], list]


@dataclass(frozen=True)
class ModelAdapter:
    """One InVEST model as gep runs, sums and values it (see the module docstring)."""

    id: str
    module: str
    config: type[ModelConfig]
    args: ArgsBuilder
    outputs: Mapping[str, str] = field(default_factory=dict)
    variables: tuple[Variable, ...] = ()
    services: tuple[Service, ...] = ()
    value: Valuer | None = None
    climate: Mapping[str, str] = field(default_factory=dict)

    def build_args(self, inputs: Path, params: Mapping[str, Any], workspace: Path,
                   year: int | None = None) -> dict[str, Any]:
        """InVEST ``args`` for one year's input folder (see gep.acquire)."""
        workers = -1 if self.module in NO_WORKERS else int(params.get("n_workers", -1))
        base = {"workspace_dir": str(workspace), "results_suffix": "", "n_workers": workers}
        return base | self.args(Inputs(Path(inputs)), params, Path(workspace))

    def output(self, workspace: Path, key: str, **fields: str) -> Path:
        """A file of the model's workspace by key of ``outputs`` (``fields`` fill a pattern
        such as habitat quality's ``intermediate/sens_{threat}_c.tif``)."""
        name = self.outputs[key]
        return Path(workspace) / (name.format(**fields) if fields else name)

    def invest_module(self):
        """The ``natcap.invest`` module (imported on first use: it is heavy; its report
        module only when a report is made, see :mod:`gep.models.lazy_reporters`; its GeoTIFFs
        in the codec of :mod:`gep.models.gtiff`)."""
        from gep.models import gtiff, lazy_reporters

        lazy_reporters.install()
        gtiff.install()
        return importlib.import_module(self.module)

    @property
    def key_variable(self) -> str | None:
        """The first zonal variable read from the model's workspace: the model's outputs are
        in a zonal table when it holds this variable."""
        return next((v.name for v in self.variables if v.model is not None), None)

    def valued(self, party: "pd.DataFrame", ctx: ValuationContext) -> list[Valued]:
        """GEP rows of one party (index: land-cover code, columns: zonal variables), or none
        when the model has no valuation or its outputs are not in the table."""
        if self.value is None or self.key_variable not in set(party.columns):
            return []
        return list(self.value(party, ctx))
