"""Where every stage reads and writes, for a basin: the one map of ``results/<basin>/``.

Used by the ``gep`` command and by the Snakemake rules, so the two never disagree.
"""
from __future__ import annotations

from pathlib import Path

from gep.config import Config

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
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def effective_config(self) -> Path:
        return self.root / "config.effective.yaml"

    # daily operations (issue 18): the station service's database and per-day products
    @property
    def operations(self) -> Path:
        return self.root / "operations"

    @property
    def operations_db(self) -> Path:
        return self.operations / "operations.db"

    def operations_day(self, date) -> Path:
        return self.operations / "days" / str(date)
