"""Enterprise eco star rating (生态反哺星级认证, issue 12).

Water-using enterprises declare, per year, their revenue, environmental investment, pollutant
baseline and reduction, green-technology share and emissions; ``gep rate`` scores them with
the rules of ``config/star_rating.yaml`` (validated up front), awards stars and incentives
(from three stars up, verified declarations only) and writes ``ratings.csv`` and a bilingual
certificate page per rated enterprise. Formats: docs/committee.md.
"""
from __future__ import annotations

from gep.lazy import lazy_exports

# imported on first use, so ``gep --help`` (which imports gep.rating.cli) stays light
lazy_exports(__name__, {
    "gep.rating.declarations": ("DECLARATION_COLUMNS", "read_declarations"),
    "gep.rating.rules": ("StarRules", "load_rules"),
    "gep.rating.score": ("RATINGS_HEADER", "rate", "rate_all"),
})

__all__ = ["DECLARATION_COLUMNS", "RATINGS_HEADER", "StarRules", "load_rules", "rate",
           "rate_all", "read_declarations"]
