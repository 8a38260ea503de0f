"""``config/tuning.yaml``: declared parameter ranges and the settings of sweeps, sensitivity
analysis and calibration, as typed models (unknown keys are errors, as in the basin config)."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gep.io import load_settings

DEFAULT_FILE = "tuning.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SurrogateSettings(_Model):
    check: Literal["swept", "reference", "none"] = Field(
        "swept", description="How each sweep validates a surrogate against InVEST on the check "
        "year: 'swept' runs InVEST once at the swept value farthest from the config's and "
        "compares per pixel (plus the reference run); 'reference' compares with the reference "
        "run only; 'none' skips (not recommended).")
    check_year: int | None = Field(None, description="Year of the check (default: first year).")
    tolerance: float = Field(1e-6, gt=0, le=1e-3, description="Max per-pixel relative "
                             "difference allowed between surrogate and InVEST.")
    memory_mb: float = Field(2000, gt=0, description="Memory the water-yield surrogate may use "
                             "to keep compressed inputs between parameter sets.")


class Range(_Model):
    min: float
    max: float
    unit: str = ""
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if not self.min < self.max:
            raise ValueError(f"min {self.min:g} must be less than max {self.max:g}")
        return self


class MorrisSettings(_Model):
    trajectories: int = Field(10, ge=2, le=1000)
    levels: int = Field(4, ge=2, le=20)


class SobolSettings(_Model):
    n: int = Field(64, ge=8, le=65536, description="Base sample size N (a power of 2).")
    second_order: bool = False

    @model_validator(mode="after")
    def _power_of_two(self) -> "SobolSettings":
        if self.n & (self.n - 1):
            raise ValueError(f"n = {self.n} is not a power of 2 (Sobol' sequences need one)")
        return self


class SensitivitySettings(_Model):
    method: Literal["morris", "sobol"] = "morris"
    seed: int = 20240601
    surrogate: bool = True
    max_invest_runs: int = Field(40, ge=0, description="Refuse a design needing more InVEST "
                                 "runs than this (parameters without a surrogate).")
    morris: MorrisSettings = MorrisSettings()
    sobol: SobolSettings = SobolSettings()
    parameters: dict[str, Range] = Field(default_factory=dict)


class SweepSettings(_Model):
    max_combinations: int = Field(2000, ge=1, description="Refuse a sweep with more parameter "
                                  "combinations than this (checked before anything runs).")


class KcSettings(_Model):
    fit: bool = False
    min: float = Field(0.7, gt=0)
    max: float = Field(1.3, gt=0)


class ZSettings(_Model):
    min: float = Field(1.0, gt=0)
    max: float = Field(30.0, gt=0)


class CalibrationSettings(_Model):
    observed: Path | None = Field(None, description="CSV year,station,runoff_m3.")
    stations: dict[str, list[str] | Literal["all"]] = Field(
        default_factory=lambda: {"outlet": "all"},
        description="Station -> the parties whose land drains to it ('all': whole basin).")
    seasonality_constant: ZSettings = ZSettings()
    kc_scale: KcSettings = KcSettings()
    grid_points: int = Field(41, ge=5, le=1000, description="Points of the profile scan.")
    confidence: float = Field(0.95, gt=0, lt=1)
    check: bool = Field(True, description="Run InVEST once at the fitted values for the check "
                        "year and compare with the surrogate per pixel.")


class CompensationInputs(_Model):
    quality: Path | None = Field(None, description="Section water quality used when "
                                 "results/<basin>/monitoring/section_quality.csv is absent.")
    performance: Path | None = None
    incidents: Path | None = None


class TuningConfig(_Model):
    jobs: int | None = Field(None, ge=1, description="Parallel processes (default: CPUs).")
    surrogate: SurrogateSettings = SurrogateSettings()
    compensation: CompensationInputs = CompensationInputs()
    sensitivity: SensitivitySettings = SensitivitySettings()
    sweep: SweepSettings = SweepSettings()
    calibration: CalibrationSettings = CalibrationSettings()
    file: str | None = None
    folder: str | None = None

    def path(self, p: Path | str | None) -> Path | None:
        if p is None:
            return None
        p = Path(p)
        return p if p.is_absolute() or self.folder is None else Path(self.folder) / p


def load_tuning(path: str | Path | None, config_dir: Path) -> TuningConfig:
    """Load ``path`` (default ``<config dir>/tuning.yaml``; defaults if that is absent)."""
    explicit = path is not None
    path = Path(path) if explicit else Path(config_dir) / DEFAULT_FILE
    if not path.is_file() and not explicit:
        return TuningConfig(folder=str(config_dir))
    return load_settings(path, TuningConfig, what="tuning settings", example="config/tuning.yaml",
                         doc="see docs/tuning.md",
                         missing_fix="pass --tuning with an existing file, e.g. "
                                     "config/tuning.yaml",
                         extra={"file": str(path), "folder": str(path.resolve().parent)})
