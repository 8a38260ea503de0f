"""Typed configuration: the one source of truth.

``load_config(path)`` reads a basin YAML file, fills defaults, resolves every path relative to
the file, and raises :class:`gep.errors.ConfigError` naming the key and the fix. The JSON
schema that Snakemake validates against (``workflow/schemas/config.schema.json``) is generated
from these models by ``gep validate-config --write-schema`` and a test keeps the two in step.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, create_model,
                      field_validator, model_validator)

from gep.io import deep_merge, read_settings, validate_settings
from gep.models import ADAPTERS
# the models' sections, defined by their adapters (re-exported: importable from here)
from gep.models.annual_water_yield import AnnualWaterYieldConfig  # noqa: F401
from gep.models.carbon import CarbonConfig  # noqa: F401
from gep.models.habitat_quality import HabitatQualityConfig  # noqa: F401
from gep.models.ndr import NDRConfig  # noqa: F401
from gep.models.sdr import SDRConfig  # noqa: F401

WORLDCOVER_CLASSES = {
    10: "tree cover", 20: "shrubland", 30: "grassland", 40: "cropland", 50: "built-up",
    60: "bare / sparse vegetation", 70: "snow and ice", 80: "permanent water bodies",
    90: "herbaceous wetland", 95: "mangroves", 100: "moss and lichen",
}
YEAR_LAYERS = ("landcover", "precipitation", "reference_et")
STATIC_LAYERS = ("dem", "root_restricting_depth", "plant_available_water")
MODEL_IDS = tuple(ADAPTERS)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(_Model):
    crs: str = Field("EPSG:32650", description="Projected CRS of the basin grid (metres).")
    pixel_size: float = Field(30.0, gt=0, description="Pixel size in CRS units (metres).")

    @field_validator("crs")
    @classmethod
    def _projected(cls, v: str) -> str:
        from pyproj import CRS

        try:
            crs = CRS.from_user_input(v)
        except Exception as exc:  # pyproj raises CRSError
            raise ValueError(f"'{v}' is not a CRS pyproj understands ({exc})") from None
        if not crs.is_projected:
            raise ValueError(f"'{v}' is geographic; InVEST needs a projected CRS in metres, "
                             "e.g. the UTM zone of the basin (EPSG:326xx)")
        return v


class DemoConfig(_Model):
    rows: int = Field(200, ge=16, le=20000, description="Demo grid rows.")
    cols: int = Field(200, ge=16, le=20000, description="Demo grid columns.")
    seed: int = Field(20240601, description="Random seed; the demo is deterministic from it.")
    origin_x: float = Field(700000.0, description="Upper-left easting (m).")
    origin_y: float = Field(3310000.0, description="Upper-left northing (m).")
    mean_precipitation_mm: float = Field(1800.0, gt=0)


class PartiesConfig(_Model):
    path: Path = Field(..., description="Vector of parties (GeoPackage, Shapefile, GeoJSON).")
    id_field: str = Field("party_id", description="Field holding the party id.")
    layer: str | None = None


# The models' sections live in their adapters (gep/models/<id>.py); ``models`` holds one
# section per registered adapter, in the registry's order.
class _ModelsBase(_Model):
    invest_reports: bool = Field(
        True, description="Write InVEST's own HTML report beside each model's outputs "
                          "(<model>_report.html; water yield, SDR, NDR and carbon in InVEST "
                          "3.20). Off saves a third to a half of those runs and their "
                          "reports' memory (docs/scaling.md); the tables are the same.")
    gtiff_compression: Literal["zstd", "lzw"] = Field(
        "zstd", description="Codec of the GeoTIFFs InVEST writes: zstd (level 1) needs about "
                            "half the CPU of lzw, pygeoprocessing's own, to write and read "
                            "them; both are lossless, so pixels and tables are the same "
                            "(docs/scaling.md). lzw for readers older than GDAL 2.3.")

    def enabled(self) -> list[str]:
        return [m for m in MODEL_IDS if getattr(self, m).enabled]


ModelsConfig = create_model(
    "ModelsConfig", __base__=_ModelsBase, __module__=__name__,
    **{a.id: (a.config, a.config()) for a in ADAPTERS.values()})


class ValuationConfig(_Model):
    prices: Path = Path("prices.yaml")
    runoff_coefficients: Path = Path("tables/runoff_coefficients.csv")


class AttributionConfig(_Model):
    """Split every GEP change into land use and climate (docs/compensation.md)."""

    reference_years: list[int] | None = Field(
        None, description="Years whose per-pixel mean precipitation, reference ET and "
        "erosivity form the reference climate every year's land cover is also valued under "
        "(default: all configured years). Fix them for a running agreement: adding a year "
        "to `years` otherwise changes the reference climate of past years.")


class EarthEngineConfig(_Model):
    project: str | None = Field(None, description="Google Cloud project id for Earth Engine.")
    landcover: Literal["worldcover", "dynamicworld"] = "worldcover"
    dem: Literal["glo30", "srtm"] = "glo30"
    max_tile_pixels: int = Field(2048, ge=64, le=32768)
    cache_dir: Path | None = None


class ClassificationConfig(_Model):
    enabled: bool = False
    demo_imagery: bool = Field(False, description="Synthesise imagery and training points from "
                               "the demo land cover (offline classification of the demo).")
    imagery: dict[int, Path] = Field(default_factory=dict,
                                     description="Multi-band imagery GeoTIFF per year.")
    training: Path | None = Field(None, description="Labelled points or polygons (vector).")
    n_jobs: int = Field(1, description="Random-forest worker threads (-1: all cores).")
    label_field: str = "class"
    n_estimators: int = Field(200, gt=0)
    test_fraction: float = Field(0.3, gt=0, lt=1)
    seed: int = 0


class CompensationConfig(_Model):
    agreement: Path | None = Field(Path("agreement.yaml"),
                                   description="The agreement; null skips compensation.")
    quality: Path | None = Field(None, description="Annual section quality "
                                 "(year,section,indicator,concentration_mg_l) used when "
                                 "monitoring is disabled; monitoring computes it otherwise.")
    performance: Path | None = Field(None, description="Responsibility-list results "
                                     "(year,party_id,target,met) when monitoring is disabled.")
    incidents: Path | None = Field(None, description="Punitive-damage incidents "
                                   "(date,party_id,damage_cny,description).")


class MonitoringConfig(_Model):
    enabled: bool = True
    config: Path = Path("monitoring.yaml")
    readings: Path | None = Field(None, description="Readings file; demo generates one if null.")
    stations: Path | None = None


class LedgerConfig(_Model):
    enabled: bool = True
    origin: str = Field("gep.example/demo", description="Checkpoint origin line.")
    key_dir: Path = Field(Path("../keys"), description="Folder of the Ed25519 signing keys "
                          "(<key_dir>/<basin>/signer.key, generated if absent). Keep it out of "
                          "results/ and back it up: a new key cannot extend old checkpoints.")


class RatingConfig(_Model):
    enabled: bool = Field(False, description="Rate water-using enterprises (eco star rating).")
    rules: Path = Field(Path("star_rating.yaml"), description="Star-rating rules.")
    declarations: Path | None = Field(None, description="Enterprise declarations CSV; the demo "
                                      "generates about 60 enterprises if null.")
    demo_enterprises: int = Field(60, ge=1, le=100000,
                                  description="Enterprises the demo generator declares.")


class FilingConfig(_Model):
    body: str = Field(..., min_length=1, description="Body the agreement is filed with (备案).")
    date: str = Field(..., pattern=r"^\d{4}-\d{2}-\d{2}$",
                      description="Filing date, YYYY-MM-DD.")
    reference: str = Field(..., min_length=1, description="The body's reference number.")


class CommitteeConfig(_Model):
    enabled: bool = Field(False, description="Execution rate and the committee's monthly, "
                          "quarterly and annual papers (HTML and PDF).")
    execution_target: float = Field(0.85, gt=0, le=1,
                                    description="Agreement execution-rate target (协议执行率).")
    data_delivery_min_valid: float = Field(0.9, gt=0, le=1, description="Share of expected "
                                           "daily values that must be valid for a month's "
                                           "data delivery to count as executed.")
    pdf: bool = Field(True, description="Also render each paper as PDF (WeasyPrint).")
    payments: Path | None = Field(None, description="Record of payments of transfers the "
                                  "daily dispatch does not pay (transfer_id,paid_date,"
                                  "amount_cny): clawbacks, penalties, fixed transfers.")
    filing: FilingConfig | None = Field(None, description="Filing of the agreement with the "
                                        "local people's congress; recorded in the ledger.")


class PortalConfig(_Model):
    enabled: bool = Field(False, description="Build the demo portal database (gep portal seed) "
                          "and show patrols and reports in the committee report.")
    config: Path = Field(Path("portal.yaml"), description="Portal settings: points rules, "
                         "rate limits, security (see docs/portal.md).")


class ReportConfig(_Model):
    title_en: str = "Gross Ecosystem Product and ecological compensation"
    title_zh: str = "生态系统生产总值与流域生态补偿"


class Config(_Model):
    """A basin run."""

    basin: str = Field(..., pattern=r"^[A-Za-z0-9_-]+$")
    source: Literal["demo", "local", "earthengine"] = "demo"
    results_dir: Path = Path("../results")
    years: list[int] = Field(..., min_length=1)
    grid: GridConfig = GridConfig()
    demo: DemoConfig = DemoConfig()
    parties: PartiesConfig | None = None
    layers: dict[str, Any] = Field(default_factory=dict)
    landcover_legend: Path | None = None
    redline: Path | None = Field(None, description="Ecological red-line zones (vector); "
                                                   "the demo makes its own.")
    roads: Path | None = Field(None, description="Roads (vector or 0/1 raster) for the habitat "
                                                 "threat 'road'; optional.")
    earthengine: EarthEngineConfig = EarthEngineConfig()
    classification: ClassificationConfig = ClassificationConfig()
    models: ModelsConfig = ModelsConfig()
    valuation: ValuationConfig = ValuationConfig()
    attribution: AttributionConfig = AttributionConfig()
    compensation: CompensationConfig = CompensationConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    ledger: LedgerConfig = LedgerConfig()
    rating: RatingConfig = RatingConfig()
    committee: CommitteeConfig = CommitteeConfig()
    report: ReportConfig = ReportConfig()
    portal: PortalConfig = PortalConfig()
    config_dir: Path = Field(Path("."), description="Set by the loader: the config file's folder.")

    @field_validator("years")
    @classmethod
    def _years(cls, v: list[int]) -> list[int]:
        if sorted(set(v)) != list(v):
            raise ValueError("years must be strictly increasing without duplicates")
        if any(y < 1980 or y > 2100 for y in v):
            raise ValueError("years must lie between 1980 and 2100")
        return v

    @model_validator(mode="after")
    def _source_needs(self) -> "Config":
        # Messages start with "<key>: " so the error names the key (see validate()).
        c = self.classification
        if c.enabled and not c.demo_imagery:
            if c.training is None:
                raise ValueError("classification.training: classification.enabled needs "
                                 "labelled points or polygons")
            missing = [y for y in self.years if y not in c.imagery]
            if missing:
                raise ValueError(f"classification.imagery: no image for {missing[0]}")
        if c.demo_imagery and self.source != "demo":
            raise ValueError("classification.demo_imagery: works with source 'demo' only")
        ref = self.attribution.reference_years
        if ref is not None:
            if not ref:
                raise ValueError("attribution.reference_years is empty; list at least one of "
                                 f"the years {self.years}, or remove the key (all years)")
            outside = [y for y in ref if y not in self.years]
            if outside:
                raise ValueError(f"attribution.reference_years: {outside[0]} is not one of "
                                 f"the configured years {self.years}; the reference climate "
                                 "is the mean over years whose inputs are acquired")
            if len(set(ref)) != len(ref):
                raise ValueError("attribution.reference_years lists a year twice")
        if self.source in ("local", "earthengine") and self.parties is None:
            raise ValueError(f"parties: source '{self.source}' needs "
                             "'parties: {path, id_field}'")
        if self.source == "local":
            for name in YEAR_LAYERS + STATIC_LAYERS:
                if name == "landcover" and self.classification.enabled:
                    continue
                if name not in self.layers:
                    raise ValueError(f"layers.{name}: source 'local' needs this layer")
        return self

    # -- paths --------------------------------------------------------------------------------
    def path(self, p: Path | str | None) -> Path | None:
        """Resolve a config path relative to the config file's folder."""
        if p is None:
            return None
        p = Path(p)
        return p if p.is_absolute() else (self.config_dir / p)

    @property
    def reference_years(self) -> list[int]:
        """Years whose mean climate is the reference climate (default: all years)."""
        ref = self.attribution.reference_years
        return list(self.years) if ref is None else sorted(ref)

    @property
    def out(self) -> Path:
        """``results/<basin>``."""
        return (self.path(self.results_dir) / self.basin).resolve()


_FIXES = {
    "literal_error": "use one of the allowed values",
}
_EXAMPLE = "config/config.yaml"
_DOC = "see the key's description in workflow/schemas/config.schema.json"


def validate(data: dict, file: str | None = None, config_dir: Path | None = None) -> Config:
    """Validate a config mapping; raise ConfigError for the first problem found."""
    if isinstance(data, dict) and config_dir is not None and "config_dir" not in data:
        data = {**data, "config_dir": str(config_dir)}
    return validate_settings(data, Config, file=file, example=_EXAMPLE, doc=_DOC,
                             fixes=_FIXES)


def load_config(path: str | Path, overrides: dict | None = None) -> Config:
    """Load and validate a basin config file. ``overrides`` are merged (deeply) on top."""
    path = Path(path)
    data = read_settings(path, what="config file",
                         missing_fix="pass --config with an existing file, e.g. "
                                     "config/config.yaml")
    if overrides and isinstance(data, dict):
        data = deep_merge(data, overrides)
    return validate(data, file=str(path), config_dir=path.resolve().parent)


def dump_resolved(cfg: Config) -> dict:
    """The config as plain data with ``config_dir`` kept, so it reloads identically from any
    folder (Snakemake passes this file to every stage, including ``--config`` overrides)."""
    data = cfg.model_dump(mode="json", exclude_none=True)
    data["config_dir"] = str(Path(cfg.config_dir).resolve())
    return data


def json_schema() -> dict:
    """The JSON schema of the config file (for Snakemake's ``validate``)."""
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema"}
    schema.update(Config.model_json_schema())
    schema["properties"].pop("config_dir", None)
    return schema
