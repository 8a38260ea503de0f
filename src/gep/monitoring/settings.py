"""Typed monitoring configuration (``config/monitoring.yaml``).

One pydantic model validates the whole file up front, so a typo in a threshold fails before
any reading is touched, with the key path and a fix in the message. Cross-checks that need
the stations table (sections named in the config must exist) live in ``gep.monitoring.pipeline``.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from gep.io import load_settings as _load_settings

CLASSES = ("I", "II", "III", "IV", "V")
NATURAL_COVER_DEFAULT = (10, 20, 30, 80, 90)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Span = tuple[float, float]


class GrossRange(_Model):
    sensor: Span = Field(..., description="Sensor span: readings outside FAIL (flag 4).")
    operator: Span | None = Field(None, description="Operator span: outside SUSPECT (flag 3).")

    @model_validator(mode="after")
    def _inside(self) -> GrossRange:
        lo, hi = sorted(self.sensor)
        if self.operator is not None:
            olo, ohi = sorted(self.operator)
            if olo < lo or ohi > hi:
                raise ValueError(f"operator span {list(self.operator)} must lie inside the "
                                 f"sensor span {list(self.sensor)}")
        return self


class Spike(_Model):
    suspect: float = Field(..., gt=0, description="|x_n - (x_n-1 + x_n+1)/2| above: suspect.")
    fail: float = Field(..., gt=0, description="Above: fail.")

    @model_validator(mode="after")
    def _order(self) -> Spike:
        if self.fail < self.suspect:
            raise ValueError("fail must be >= suspect")
        return self


class RateOfChange(_Model):
    suspect_per_hour: float = Field(..., gt=0, description="|dx/dt| above (units/hour): suspect.")
    fail_per_hour: float | None = Field(None, gt=0, description="Above: fail.")


class FlatLine(_Model):
    suspect_hours: float = Field(..., gt=0)
    fail_hours: float = Field(..., gt=0)
    tolerance: float = Field(..., ge=0, description="Range within which values count as equal.")

    @model_validator(mode="after")
    def _order(self) -> FlatLine:
        if self.fail_hours < self.suspect_hours:
            raise ValueError("fail_hours must be >= suspect_hours")
        return self


class Standard(_Model):
    kind: Literal["max", "min", "range"]
    limits: dict[Literal["I", "II", "III", "IV", "V"], float | tuple[float, float]]
    assessed: bool = Field(True, description="False: monitored but not judged (e.g. TN, rivers).")

    @model_validator(mode="after")
    def _ladder(self) -> Standard:
        missing = [c for c in CLASSES if c not in self.limits]
        if missing:
            raise ValueError(f"limits for class(es) {', '.join(missing)} are missing")
        vals = [self.limits[c] for c in CLASSES]
        if self.kind == "range":
            if not all(isinstance(v, tuple) and v[0] <= v[1] for v in vals):
                raise ValueError("range limits must be [low, high] pairs")
            return self
        if not all(isinstance(v, float) for v in vals):
            raise ValueError(f"{self.kind} limits must be single numbers")
        ordered = vals == sorted(vals) if self.kind == "max" else vals == sorted(vals, reverse=True)
        if not ordered:
            raise ValueError("class limits must get worse from I to V (increasing for max, "
                             "decreasing for min)")
        return self


class Indicator(_Model):
    name: str
    name_zh: str = ""
    unit: str
    gross_range: GrossRange
    spike: Spike | None = None
    rate_of_change: RateOfChange | None = None
    flat_line: FlatLine | None = None
    standard: Standard | None = None


class TargetClass(_Model):
    default: Literal["I", "II", "III", "IV", "V"] = "III"
    sections: dict[str, Literal["I", "II", "III", "IV", "V"]] = Field(default_factory=dict)

    def of(self, section: str) -> str:
        return self.sections.get(section, self.default)


class FlowSettings(_Model):
    indicator: str = "flow"
    ecological_min_m3s: dict[str, float] = Field(default_factory=dict)

    @field_validator("ecological_min_m3s")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, q in v.items() if not q > 0]
        if bad:
            raise ValueError(f"ecological minimum flow must be > 0 (section {bad[0]})")
        return v


class IndexSettings(_Model):
    class_scores: dict[Literal["I", "II", "III", "IV", "V"], float] = Field(
        default_factory=lambda: {"I": 1.0, "II": 0.8, "III": 0.6, "IV": 0.3, "V": 0.0})
    weights: dict[str, float] = Field(..., min_length=1)
    score_points: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _valid(self) -> IndexSettings:
        if any(c not in self.class_scores for c in CLASSES):
            raise ValueError("class_scores needs a score for each class I..V")
        scores = [self.class_scores[c] for c in CLASSES]
        if scores != sorted(scores, reverse=True) or not all(0 <= s <= 1 for s in scores):
            raise ValueError("class_scores must lie in [0, 1] and not increase from I to V")
        if any(w < 0 for w in self.weights.values()) or sum(self.weights.values()) <= 0:
            raise ValueError("weights must be >= 0 and not all zero")
        for ind, pts in self.score_points.items():
            xs = [p[0] for p in pts]
            if len(pts) < 2 or xs != sorted(xs) or not all(0 <= p[1] <= 1 for p in pts):
                raise ValueError(f"score_points.{ind}: need >= 2 [value, score] points with "
                                 "increasing values and scores in [0, 1]")
        return self


class RedlineTarget(_Model):
    min_km2: float | None = Field(None, ge=0)
    min_share: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _one(self) -> RedlineTarget:
        if (self.min_km2 is None) == (self.min_share is None):
            raise ValueError("give exactly one of min_km2 or min_share")
        return self


class PartyTargets(_Model):
    water_quality_compliance_rate: float | None = Field(None, ge=0, le=1)
    flow_compliance_rate: float | None = Field(None, ge=0, le=1)
    redline_natural_cover: RedlineTarget | None = None


class DownstreamTargets(_Model):
    emission_cap_t: float | None = Field(None, ge=0, description="Cap on the total annual "
                                         "emissions (t) of the party's declared enterprises.")


class Responsibility(_Model):
    natural_cover_codes: list[int] = Field(default_factory=lambda: list(NATURAL_COVER_DEFAULT))
    defaults: PartyTargets = Field(default_factory=PartyTargets)
    parties: dict[str, PartyTargets] = Field(default_factory=dict)
    downstream: dict[str, DownstreamTargets] = Field(
        default_factory=dict, description="Downstream parties' own lists (gep downstream).")

    def targets(self, party: str) -> PartyTargets:
        """The party's targets: its own keys over the defaults."""
        own = self.parties.get(party, PartyTargets())
        merged = self.defaults.model_dump() | {k: v for k, v in own.model_dump().items()
                                                if v is not None}
        return PartyTargets.model_validate(merged)


class DispatchSettings(_Model):
    pace: list[tuple[float, float]] = Field(
        default_factory=lambda: [(0.0, 0.0), (0.6, 0.5), (0.9, 1.0), (1.0, 1.0)])
    escrow_account: str = Field("escrow", pattern=r"^[A-Za-z0-9_.\-]+$")

    @field_validator("pace")
    @classmethod
    def _pace(cls, pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        if len(pts) < 2 or xs[0] != 0 or xs[-1] != 1:
            raise ValueError("pace needs points from index 0 to index 1, e.g. "
                             "[[0, 0], [0.6, 0.5], [0.9, 1], [1, 1]]")
        if any(b <= a for a, b in itertools.pairwise(xs)):
            raise ValueError("pace index values must strictly increase")
        if ys != sorted(ys) or not all(0 <= y <= 1 for y in ys):
            raise ValueError("pace shares must lie in [0, 1] and never decrease (a better "
                             "river never pays less)")
        return pts


class MonitoringSettings(_Model):
    timezone: str = "Asia/Shanghai"
    expected_interval_minutes: int = Field(60, ge=1, le=1440)
    qc_engine: Literal["ioos_qc", "vectorized"] = Field(
        "ioos_qc", description="ioos_qc: every QARTOD test from ioos_qc; vectorized: numpy "
        "equivalents of its spike and flat-line tests (identical flags, ~10x faster)")
    min_valid_readings_per_day: int = Field(18, ge=1)
    units: dict[str, dict[str, float]] = Field(..., min_length=1)
    standard: dict[str, str] = Field(default_factory=dict)
    target_class: TargetClass = Field(default_factory=TargetClass)
    indicators: dict[str, Indicator] = Field(..., min_length=1)
    flow: FlowSettings = Field(default_factory=FlowSettings)
    index: IndexSettings
    responsibility: Responsibility = Field(default_factory=Responsibility)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)

    _source: str | None = PrivateAttr(default=None)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{v}' is not an IANA time zone (e.g. Asia/Shanghai)") from None
        return v

    @model_validator(mode="after")
    def _cross(self) -> MonitoringSettings:
        for name, ind in self.indicators.items():
            if ind.unit not in self.units:
                raise ValueError(f"indicators.{name}.unit '{ind.unit}' is not a canonical "
                                 f"unit listed under units ({', '.join(self.units)})")
            if ind.unit not in self.units[ind.unit] or self.units[ind.unit][ind.unit] != 1:
                raise ValueError(f"units.{ind.unit} must map '{ind.unit}' itself to 1")
        for name in self.index.weights:
            if name not in self.indicators:
                raise ValueError(f"index.weights.{name}: not an indicator of this file")
            std = self.indicators[name].standard
            if name != self.flow.indicator and (std is None or std.kind == "range") \
                    and name not in self.index.score_points:
                raise ValueError(f"index.weights.{name}: the indicator has no max/min class "
                                 "limits to score it; give index.score_points for it")
        for name in self.index.score_points:
            if name not in self.indicators:
                raise ValueError(f"index.score_points.{name}: not an indicator of this file")
        if self.flow.indicator not in self.indicators and self.flow.ecological_min_m3s:
            raise ValueError(f"flow.indicator '{self.flow.indicator}' is not an indicator")
        return self

    @property
    def expected_per_day(self) -> int:
        return 1440 // self.expected_interval_minutes

    @property
    def source(self) -> str | None:
        return self._source


def load_settings(path: str | Path) -> MonitoringSettings:
    """Read and validate ``monitoring.yaml``; :class:`ConfigError` names the key and a fix."""
    settings = _load_settings(path, MonitoringSettings, what="monitoring configuration",
                              example="config/monitoring.yaml",
                              doc="see docs/monitoring.md for the key's form and "
                                  "config/monitoring.yaml for an example",
                              missing_fix="pass --settings config/monitoring.yaml (or a copy "
                                          "of it), or set monitoring.config in the basin "
                                          "config")
    settings._source = str(path)
    return settings
