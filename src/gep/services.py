"""Names of the ecosystem services gep values (one place, light to import)."""
from __future__ import annotations

#: Services with a money value in gep_by_party.csv and increments.csv (see docs/valuation).
VALUED_SERVICES = ("water_conservation", "biodiversity", "soil_retention",
                   "water_purification", "carbon_sequestration")

#: service id -> (zh, en), for everything a person reads (report, GeoPackage)
SERVICE_NAMES = {
    "water_yield": ("产水量", "Water yield"),
    "water_conservation": ("水源涵养", "Water conservation"),
    "biodiversity": ("生物多样性维护", "Biodiversity"),
    "soil_retention": ("土壤保持", "Soil retention"),
    "water_purification": ("水质净化", "Water purification"),
    "carbon_storage": ("碳储量", "Carbon storage"),
    "carbon_sequestration": ("固碳", "Carbon sequestration"),
}
