"""The star-rating rules (``config/star_rating.yaml``), validated by a pydantic model."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, \
    model_validator

from gep.io import load_settings
from gep.money import D

INDICATORS = ("env_investment_share", "pollutant_reduction_rate", "green_tech_share")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _dec(v):
    if isinstance(v, bool) or not isinstance(v, (int, float, str, Decimal)):
        raise ValueError("must be a number")
    try:
        d = D(v)
    except Exception:  # noqa: BLE001 - decimal raises several types
        raise ValueError(f"'{v}' is not a number") from None
    if not d.is_finite():
        raise ValueError(f"'{v}' is not finite")
    return d


class Indicator(_Model):
    weight: Decimal = Field(..., description="Weight of the indicator; weights sum to 1.")
    low: Decimal = Field(..., description="Value scoring 0.")
    high: Decimal = Field(..., description="Value scoring 1.")

    _num = field_validator("weight", "low", "high", mode="before")(_dec)

    @model_validator(mode="after")
    def _check(self) -> Indicator:
        if self.weight <= 0:
            raise ValueError("weight must be > 0")
        if not self.high > self.low:
            raise ValueError(f"high ({self.high}) must be greater than low ({self.low})")
        return self


class Incentive(_Model):
    water_price_discount: Decimal = Field(..., description="Share off the water price, [0, 1).")
    priority_funding: bool
    priority_emission_rights: bool

    _num = field_validator("water_price_discount", mode="before")(_dec)

    @field_validator("water_price_discount")
    @classmethod
    def _share(cls, v: Decimal) -> Decimal:
        if not Decimal(0) <= v < 1:
            raise ValueError("must lie in [0, 1)")
        return v


class StarRules(_Model):
    indicators: dict[str, Indicator]
    stars_at: list[Decimal] = Field(..., min_length=1)
    incentives: dict[int, Incentive] = Field(default_factory=dict)

    @field_validator("stars_at", mode="before")
    @classmethod
    def _stars_num(cls, v):
        if not isinstance(v, list):
            raise ValueError("must be a list of score thresholds, e.g. [20, 40, 60, 80, 95]")
        return [_dec(x) for x in v]

    @model_validator(mode="after")
    def _check(self) -> StarRules:
        unknown = [k for k in self.indicators if k not in INDICATORS]
        if unknown:
            raise ValueError(f"indicators.{unknown[0]}: unknown indicator (known: "
                             f"{', '.join(INDICATORS)})")
        missing = [k for k in INDICATORS if k not in self.indicators]
        if missing:
            raise ValueError(f"indicators.{missing[0]}: missing")
        total = sum((i.weight for i in self.indicators.values()), Decimal(0))
        if total != 1:
            raise ValueError(f"indicators: weights sum to {total}, not 1")
        s = self.stars_at
        if any(b <= a for a, b in zip(s, s[1:])) or s[0] <= 0 or s[-1] > 100:
            raise ValueError("stars_at: thresholds must increase strictly within (0, 100]")
        for k in self.incentives:
            if not 1 <= k <= len(s):
                raise ValueError(f"incentives.{k}: not a star count (1..{len(s)})")
        ks = sorted(self.incentives)
        for a, b in zip(ks, ks[1:]):
            if self.incentives[b].water_price_discount < self.incentives[a].water_price_discount:
                raise ValueError(f"incentives.{b}.water_price_discount: smaller than for {a} "
                                 "stars; more stars never earn less")
        return self

    @property
    def max_stars(self) -> int:
        return len(self.stars_at)


def load_rules(path: str | Path) -> StarRules:
    """Read and validate the rules; ``ConfigError`` names the file, the key and a fix."""
    return load_settings(path, StarRules, what="star-rating rules",
                         example="config/star_rating.yaml",
                         doc="see docs/committee.md (star-rating rules) and "
                             "config/star_rating.yaml",
                         missing_fix="pass --rules config/star_rating.yaml")
