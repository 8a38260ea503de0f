"""Names of the ecosystem services gep values (one place, light to import)."""
from __future__ import annotations

#: Services with a money value in gep_by_party.csv and increments.csv (see docs/valuation).
VALUED_SERVICES = ("water_conservation", "biodiversity", "soil_retention",
                   "water_purification", "carbon_sequestration")
