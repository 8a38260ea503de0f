"""Where every stage reads and writes, for a basin: the one map of ``results/<basin>/``.

Used by the ``gep`` command and by the Snakemake rules, so the two never disagree.
"""
from __future__ import annotations

from pathlib import Path

from gep.config import Config

#: year layers that carry the climate; the reference climate replaces them by their mean
CLIMATE_FILES = ("precipitation", "reference_et", "erosivity")
YEAR_FILES = ("landcover", "precipitation", "reference_et", "dem", "root_restricting_depth",
              "plant_available_water", "threat_built", "threat_crop", "threat_road",
              "erosivity", "erodibility")
STATIC_FILES = ("dem", "root_restricting_depth", "plant_available_water", "roads")
PARTY_FILES = ("parties.gpkg", "parties.csv", "parties.tif", "basin.gpkg", "subwatersheds.gpkg",
               "redline.tif")


class Paths:
    def __init__(self, cfg: Config, root: Path | None = None):
        self.cfg = cfg
        self.root = Path(root) if root is not None else cfg.out

    # inputs
    @property
    def inputs(self) -> Path:
        return self.root / "inputs"

    def year_dir(self, year) -> Path:
        return self.inputs / str(year)

    def year_file(self, year, name: str) -> Path:
        return self.year_dir(year) / f"{name}.tif"

    def static_file(self, name: str) -> Path:
        return self.inputs / "static" / f"{name}.tif"

    def party_file(self, name: str) -> Path:
        return self.inputs / name

    # reference climate (attribution of GEP changes to land use and climate)
    @property
    def reference_climate(self) -> Path:
        """Per-pixel mean precipitation, reference ET and erosivity of the reference years."""
        return self.inputs / "reference"

    def reference_file(self, name: str) -> Path:
        return self.reference_climate / f"{name}.tif"

    def reference_workspace(self, year, model: str) -> Path:
        """A climate-dependent model of ``year``'s land cover under the reference climate."""
        return self.root / "reference" / str(year) / model

    # models
    def workspace(self, year, model: str) -> Path:
        return self.root / "invest" / str(year) / model

    # GEP
    def zonal(self, year) -> Path:
        return self.root / "gep" / "zonal" / f"{year}.csv"

    @property
    def gep_csv(self) -> Path:
        return self.root / "gep" / "gep_by_party.csv"

    @property
    def increments_csv(self) -> Path:
        return self.root / "gep" / "increments.csv"

    @property
    def attribution_csv(self) -> Path:
        """GEP changes per party and service split into land use and climate."""
        return self.root / "gep" / "attribution.csv"

    # GIS
    @property
    def gep_gpkg(self) -> Path:
        """GEP per party for GIS: one layer per year, the responsibility lists, services."""
        return self.root / "gep" / "gep_by_party.gpkg"

    @property
    def gep_qml(self) -> Path:
        """QGIS style of the GeoPackage's GEP layers."""
        return self.root / "gep" / "gep_by_party.qml"

    def zonal_reference(self, year) -> Path:
        return self.root / "gep" / "zonal_reference" / f"{year}.csv"

    @property
    def gep_reference_csv(self) -> Path:
        """GEP of each year's land cover under the reference climate."""
        return self.root / "gep" / "gep_reference.csv"


    # downstream stages
    @property
    def compensation(self) -> Path:
        return self.root / "compensation"

    @property
    def monitoring(self) -> Path:
        return self.root / "monitoring"

    def dispatch(self, year) -> Path:
        return self.root / "dispatch" / str(year)

    @property
    def ledger(self) -> Path:
        return self.root / "ledger"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def report_html(self) -> Path:
        return self.report / "index.html"

    @property
    def report_pdf(self) -> Path:
        return self.report / "report.pdf"

    @property
    def report_xlsx(self) -> Path:
        """Every table of the report, one sheet each (numbers as numbers)."""
        return self.report / "tables.xlsx"

    @property
    def portal(self) -> Path:
        return self.root / "portal"

    @property
    def portal_db(self) -> Path:
        return self.portal / "portal.db"

    @property
    def portal_uploads(self) -> Path:
        return self.portal / "uploads"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def effective_config(self) -> Path:
        return self.root / "config.effective.yaml"

    # enterprise star rating and the committee (issue 12)
    @property
    def rating(self) -> Path:
        return self.root / "rating"

    @property
    def ratings_csv(self) -> Path:
        return self.rating / "ratings.csv"

    @property
    def demo_declarations(self) -> Path:
        return self.rating / "demo" / "declarations.csv"

    @property
    def certificates(self) -> Path:
        return self.rating / "certificates"

    @property
    def downstream_csv(self) -> Path:
        """Responsibility lists of the downstream parties (owed vs paid, emission caps)."""
        return self.monitoring / "responsibility_downstream.csv"

    @property
    def committee(self) -> Path:
        return self.root / "committee"

    @property
    def execution_csv(self) -> Path:
        return self.committee / "execution.csv"

    @property
    def obligations_csv(self) -> Path:
        return self.committee / "obligations.csv"

    @property
    def filings_csv(self) -> Path:
        return self.committee / "filings.csv"

    def committee_paper(self, period: str, ext: str = "html") -> Path:
        """A monthly agenda (2024-03), quarterly bulletin (2024-Q1) or assessment (2024)."""
        return self.committee / f"{period}.{ext}"

    @property
    def committee_index(self) -> Path:
        return self.committee / "index.html"

    # daily operations (issue 18): the station service's database and per-day products
    @property
    def operations(self) -> Path:
        return self.root / "operations"

    @property
    def operations_db(self) -> Path:
        return self.operations / "operations.db"

    def operations_day(self, date) -> Path:
        return self.operations / "days" / str(date)
