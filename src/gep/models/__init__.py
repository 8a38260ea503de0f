"""One adapter per InVEST model (issue 16): see :mod:`gep.models.base`.

``ADAPTERS`` maps model id -> :class:`~gep.models.base.ModelAdapter`, in the order gep runs,
sums and values the models (the order of the zonal and GEP tables' rows). It is built from the
modules listed in ``MODEL_MODULES``, each a file ``gep/models/<id>.py`` defining ``ADAPTER``:
adding a model is adding its file and its name here. The config's ``models`` section, the
InVEST runner, the zonal sums, the valuation, the service names and the attribution all read
the models from this registry.
"""
from __future__ import annotations

import importlib

from gep.models.base import ModelAdapter, Service, Variable

#: the adapter modules, in the order of the GEP tables
MODEL_MODULES = ("annual_water_yield", "habitat_quality", "sdr", "ndr", "carbon")


def _load() -> dict[str, ModelAdapter]:
    out: dict[str, ModelAdapter] = {}
    for name in MODEL_MODULES:
        adapter = importlib.import_module(f"{__name__}.{name}").ADAPTER
        if not isinstance(adapter, ModelAdapter) or adapter.id != name:
            raise TypeError(f"gep.models.{name}.ADAPTER must be a ModelAdapter with id "
                            f"'{name}'")
        out[adapter.id] = adapter
    return out


ADAPTERS: dict[str, ModelAdapter] = _load()


def get(model_id: str) -> ModelAdapter:
    """The adapter of ``model_id``; ConfigError naming the known models otherwise."""
    try:
        return ADAPTERS[model_id]
    except KeyError:
        from gep.errors import ConfigError

        raise ConfigError(f"models.{model_id}", "unknown model",
                          f"use one of {tuple(ADAPTERS)}") from None


def variables() -> list[Variable]:
    """Every zonal variable, model by model."""
    return [v for a in ADAPTERS.values() for v in a.variables]


def services() -> list[Service]:
    """Every ecosystem service, model by model."""
    return [s for a in ADAPTERS.values() for s in a.services]


__all__ = ["ADAPTERS", "MODEL_MODULES", "ModelAdapter", "Service", "Variable", "get",
           "services", "variables"]
