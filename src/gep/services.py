"""Names of the ecosystem services gep values, from the model adapters (``gep.models``)."""
from __future__ import annotations

from gep.models import services as _services

#: Services with a money value in gep_by_party.csv and increments.csv (see docs/valuation).
VALUED_SERVICES = tuple(s.id for s in _services() if s.valued)

#: service id -> (zh, en), for everything a person reads (report, GeoPackage)
SERVICE_NAMES = {s.id: (s.zh, s.en) for s in _services()}
