"""Where every stage reads and writes, for a basin: the one map of ``results/<basin>/``.

Used by the ``gep`` command and by the Snakemake rules, so the two never disagree.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the folder map itself imports nothing heavy
    from gep.config import Config

#: year layers that carry the climate; the reference climate replaces them by their mean
CLIMATE_FILES = ("precipitation", "reference_et", "erosivity")
YEAR_FILES = ("landcover", "precipitation", "reference_et", "dem", "root_restricting_depth",
              "plant_available_water", "threat_built", "threat_crop", "threat_road",
              "erosivity", "erodibility")
STATIC_FILES = ("dem", "root_restricting_depth", "plant_available_water", "roads")
PARTY_FILES = ("parties.gpkg", "parties.csv", "parties.tif", "basin.gpkg", "subwatersheds.gpkg",
               "redline.tif")


class _File:
    """A file of a stage folder: on the class, its name; on a folder object, its path."""

    def __init__(self, name: str):
        self.name = name

    def __set_name__(self, owner, attr):
        owner.NAMES = {**getattr(owner, "NAMES", {}), attr: self.name}

    def __get__(self, folder, owner=None):
        return self.name if folder is None else folder.root / self.name


class Folder(os.PathLike):
    """A stage's output folder and the names of the files in it.

    ``CompensationFiles(out).transfers`` is ``out / "transfers.csv"``; on the class,
    ``CompensationFiles.transfers`` is the bare name. A folder is path-like: ``Path(f)``,
    ``str(f)``, ``f / "x"`` and ``f.exists()`` behave as on its root, so a stage writing into an
    explicit ``--out`` and ``Paths`` for the basin name files the same way.
    """

    NAMES: dict[str, str] = {}

    def __init__(self, root):
        self.root = Path(root)

    def __fspath__(self) -> str:
        return str(self.root)

    def __str__(self) -> str:
        return str(self.root)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.root)!r})"

    def __truediv__(self, other) -> Path:
        return self.root / other

    def __eq__(self, other) -> bool:
        if not isinstance(other, (str, os.PathLike)):
            return NotImplemented
        return Path(self) == Path(other)

    def __hash__(self) -> int:
        return hash(self.root)

    def __getattr__(self, attr):  # Path's own methods: exists, mkdir, glob, iterdir, name ...
        if attr.startswith("__") or attr == "root":
            raise AttributeError(attr)
        return getattr(self.root, attr)

    def file(self, key: str) -> Path:
        """The file of a key of ``NAMES`` (a stage that returns ``{key: path}``)."""
        return self.root / self.NAMES[key]


class CompensationFiles(Folder):
    """``gep allocate``: the agreement's transfers, per-party statement and derivation."""

    transfers = _File("transfers.csv")
    statement = _File("statement.csv")
    summary = _File("summary.json")


class MonitoringFiles(Folder):
    """``gep monitor``: QC'd readings, the daily ecological index, compliance, the bet."""

    readings_qc = _File("readings_qc.parquet")
    daily_index = _File("daily_index.csv")
    daily_compliance = _File("daily_compliance.csv")
    anomalies = _File("anomalies.csv")
    section_quality = _File("section_quality.csv")
    performance = _File("performance.csv")
    downstream = _File("responsibility_downstream.csv")


class DispatchFiles(Folder):
    """``gep dispatch`` / ``gep daily``: one year's paced payments, alerts and settlement."""

    disbursements = _File("disbursements.csv")
    alerts = _File("alerts.csv")
    settlement = _File("settlement.csv")
    ledger_transfers = _File("ledger_transfers.csv")
    daily_runs = _File("daily_runs.csv")  # `gep daily`: the days it paid


class DayFiles(Folder):
    """``gep daily``: one day's index and anomalies."""

    daily_index = _File("daily_index.csv")
    anomalies = _File("anomalies.csv")


class LedgerFiles(Folder):
    """``gep publish``: the append-only ledger, its signed checkpoint and the public site."""

    db = _File("ledger.db")
    checkpoint = _File("checkpoint")
    verifier_key = _File("verifier.vkey")
    site = _File("site")
    site_index = _File("site/index.html")


class SiteFiles(Folder):
    """``gep ledger site``: the static public ledger site, its downloads and data scripts."""

    index = _File("index.html")
    entry = _File("entry.html")
    checkpoint = _File("checkpoint.txt")
    verifier_key = _File("verifier.vkey")
    export = _File("ledger.jsonl")
    assets = _File("assets")
    data = _File("data")
    transfers_js = _File("data/transfers.js")

    def entries_js(self, k: int) -> Path:
        """The ``k``-th chunk of entries with their proofs."""
        return self.root / "data" / f"entries-{k}.js"


class ReportFiles(Folder):
    """``gep report``: the committee report."""

    html = _File("index.html")
    pdf = _File("report.pdf")
    xlsx = _File("tables.xlsx")


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
        return self.input_layer(self.year_dir(year), name)

    def static_file(self, name: str) -> Path:
        return self.input_layer(self.static_dir, name)

    def party_file(self, name: str) -> Path:
        return self.inputs / name

    # reference climate (attribution of GEP changes to land use and climate)
    @property
    def reference_climate(self) -> Path:
        """Per-pixel mean precipitation, reference ET and erosivity of the reference years."""
        return self.inputs / "reference"

    def reference_file(self, name: str) -> Path:
        return self.input_layer(self.reference_climate, name)

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
    def compensation(self) -> CompensationFiles:
        return CompensationFiles(self.root / "compensation")

    @property
    def monitoring(self) -> MonitoringFiles:
        return MonitoringFiles(self.root / "monitoring")

    def dispatch(self, year) -> DispatchFiles:
        return DispatchFiles(self.root / "dispatch" / str(year))

    @property
    def ledger(self) -> LedgerFiles:
        return LedgerFiles(self.root / "ledger")

    @property
    def report(self) -> ReportFiles:
        return ReportFiles(self.root / "report")

    @property
    def report_html(self) -> Path:
        return self.report.html

    @property
    def report_pdf(self) -> Path:
        return self.report.pdf

    @property
    def report_xlsx(self) -> Path:
        """Every table of the report, one sheet each (numbers as numbers)."""
        return self.report.xlsx

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
        return self.monitoring.downstream

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

    def operations_day(self, date) -> DayFiles:
        return DayFiles(self.operations / "days" / str(date))

    # --- the acquired inputs, by file
    @property
    def input_files(self) -> InputFiles:
        """The acquired parties, red line and land cover (``gep acquire``)."""
        return InputFiles(self.inputs)

    @property
    def parties_csv(self) -> Path:
        return self.input_files.parties_csv

    @property
    def parties_raster(self) -> Path:
        """The party raster (value = the party's index in parties.csv)."""
        return self.input_files.parties_raster

    @property
    def parties_tif(self) -> Path:
        return self.input_files.parties_raster

    @property
    def basin_gpkg(self) -> Path:
        return self.input_files.basin_gpkg

    @property
    def subwatersheds_gpkg(self) -> Path:
        return self.input_files.subwatersheds_gpkg

    @property
    def parties_gpkg(self) -> Path:
        return self.input_files.parties_gpkg

    @property
    def redline_raster(self) -> Path:
        return self.input_files.redline_raster

    @property
    def redline_tif(self) -> Path:
        return self.input_files.redline_raster

    @property
    def demo_readings(self) -> Path:
        return self.monitoring_demo.readings

    @property
    def demo_stations(self) -> Path:
        """The stations table the demo monitoring writes (when the basin gives none)."""
        return self.monitoring_demo.stations

    @property
    def monitoring_demo(self) -> "MonitoringDemoFiles":
        """``gep monitor-demo``: the demo basin's synthetic readings and stations."""
        return MonitoringDemoFiles(self.monitoring / "demo")

    @property
    def ledger_keys(self) -> "LedgerKeyFiles":
        """The basin's Ed25519 keys (outside results/: ``<ledger.key_dir>/<basin>``)."""
        return LedgerKeyFiles(self.cfg.path(self.cfg.ledger.key_dir) / self.cfg.basin)

    @property
    def rating_files(self) -> "RatingFiles":
        return RatingFiles(self.rating)

    def classification(self, year=None) -> Path:
        """``gep classify``: the model and accuracy of a year's land-cover classification."""
        return self.landcover_run(year or "imagery").root

    @staticmethod
    def layer_name(name: str) -> str:
        """The file name of an acquired raster layer (``landcover`` -> ``landcover.tif``)."""
        return f"{name}.tif"


    @property
    def static_dir(self) -> Path:
        return self.inputs / "static"

    def run_record(self, year, model: str) -> Path:
        """``gep_run.json`` of a model run: InVEST version, arguments and wall time."""
        return self.workspace(year, model) / self.RUN_RECORD

    def landcover_run(self, year) -> "LandcoverFiles":
        return LandcoverFiles(self.root / "landcover" / str(year))

    def dispatch_folders(self) -> list[DispatchFiles]:
        """Every year's dispatch folder that exists, in order (not the settled years: see
        ``gep.publish.dispatch_years``)."""
        root = self.root / "dispatch"
        return [DispatchFiles(d) for d in sorted(root.glob("*")) if d.is_dir()]


    @property
    def earthengine_cache(self) -> Path:
        """Downloaded Earth Engine tiles (when ``earthengine.cache_dir`` is not set)."""
        return self.root / "cache" / "earthengine"

    @property
    def certificate_files(self) -> "CertificateFiles":
        return CertificateFiles(self.certificates)

    @property
    def upload_files(self) -> "UploadFiles":
        return UploadFiles(self.portal_uploads)

    @property
    def party_files(self) -> list[Path]:
        """Everything ``gep acquire --parties`` writes."""
        return [self.party_file(f) for f in PARTY_FILES]

    @property
    def static_files(self) -> list[Path]:
        """Everything ``gep acquire --static`` writes."""
        return [self.static_file(f) for f in STATIC_FILES]

    def year_files(self, year) -> list[Path]:
        """Everything ``gep acquire --year`` writes for ``year`` (a wildcard pattern too)."""
        return [self.year_file(year, f) for f in YEAR_FILES]

    @property
    def reference_files(self) -> list[Path]:
        """The reference climate's layers (``gep reference-climate``)."""
        return [self.reference_file(f) for f in CLIMATE_FILES]


    @property
    def calibration(self) -> Path:
        """``gep calibrate``'s output folder (Snakemake's ``calibrate`` target)."""
        return self.root / "tuning" / "calibration"

    def log(self, *parts: str) -> Path:
        """A job's log: ``log("invest", "{year}", "{model}")`` is logs/invest/{year}/{model}.log."""
        *folders, name = parts
        return self.logs.joinpath(*folders, f"{name}.log")

    # inputs seen from a year's folder; records in the model workspaces
    #: what ``gep invest`` records in each model workspace (arguments, wall time, version)
    RUN_RECORD = "gep_run.json"
    #: what a reference-climate surrogate run records in its workspace
    REFERENCE_RECORD = "gep_reference.json"

    @staticmethod
    def input_layer(folder, name: str) -> Path:
        """Layer ``name`` of an input folder: a year's (``year_dir``), ``inputs/static`` or the
        reference climate's (``<folder>/<name>.tif``)."""
        return Path(folder) / Paths.layer_name(name)

    @staticmethod
    def inputs_party_file(year_folder, name: str) -> Path:
        """A basin file of ``PARTY_FILES`` seen from a year's input folder (they lie beside
        the year folders, in ``inputs/``)."""
        return Path(year_folder).parent / name

    # --- the public ledger site
    @property
    def ledger_site(self) -> SiteFiles:
        """The public ledger site (``ledger/site``) and the files in it."""
        return SiteFiles(self.ledger.site)

    # --- content-keyed DEM products of SDR and NDR
    @property
    def dem_products(self) -> Path:
        """DEM-only products (filled DEM, flow direction and accumulation, streams, slope, LS
        ...) shared by SDR and NDR of every year, one folder per content key:
        ``invest/dem/<key>/`` (see gep.models.dem_products)."""
        return self.root / "invest" / "dem"


# --- folders of inputs, land cover, monitoring demo, keys, rating and uploads
class LayerFiles(Folder):
    """A folder of acquired raster layers: ``inputs/<year>``, ``inputs/static``."""

    def layer(self, name: str) -> Path:
        """``landcover`` -> ``<folder>/landcover.tif``."""
        return Paths.input_layer(self.root, name)

class LandcoverFiles(Folder):
    """``gep landcover``: one year's classification, its accuracy and its work files."""

    model = _File("model.joblib")
    metrics = _File("metrics.json")
    confusion_matrix = _File("confusion_matrix.csv")
    samples = _File("samples.csv")
    imagery = _File("imagery.tif")
    training = _File("training.gpkg")
    reference_landcover = _File("reference_landcover.tif")
    landcover = _File("landcover.tif")  # gep classify --out-dir without --landcover-out
    png = _File("confusion_matrix.png")

class CertificateFiles(Folder):
    """``gep rating``: the certificate pages, one per enterprise and year, and their index."""

    index = _File("index.html")

    @staticmethod
    def certificate_name(year, enterprise_id: str) -> str:
        """The page of one certificate, relative to the folder."""
        return f"{year}/{enterprise_id}.html"

class UploadFiles(Folder):
    """The portal's uploads: patrol photos and fund-use evidence, in their own folders."""

    photos = _File("photos")
    evidence = _File("evidence")


class InputFiles(Folder):
    """``gep acquire``: a basin inputs folder (``results/<basin>/inputs`` or ``--inputs``)."""

    parties_gpkg = _File("parties.gpkg")
    parties_csv = _File("parties.csv")
    parties_tif = _File("parties.tif")
    basin_gpkg = _File("basin.gpkg")
    subwatersheds_gpkg = _File("subwatersheds.gpkg")
    redline_tif = _File("redline.tif")

    @property
    def parties_raster(self) -> Path:
        """The party raster (value = the party's index in parties.csv)."""
        return self.parties_tif

    @property
    def redline_raster(self) -> Path:
        return self.redline_tif

    def landcover_by_year(self) -> dict[int, Path]:
        """``{year: <year>/landcover.tif}`` of the years acquired."""
        return {int(f.parent.name): f for f in sorted(self.root.glob("*/landcover.tif"))
                if f.parent.name.isdigit()}


class MonitoringDemoFiles(Folder):
    """``gep monitor-demo``: synthetic sensor readings and the stations table."""

    readings = _File("readings.parquet")
    stations = _File("stations.csv")


class LedgerKeyFiles(Folder):
    """``gep ledger keygen``: the signer key (secret) and its verifier key (public)."""

    signer = _File("signer.key")
    verifier = _File("verifier.vkey")


class RatingFiles(Folder):
    """``gep rate``: the ratings table and one certificate page per enterprise and year."""

    ratings = _File("ratings.csv")
    certificates = _File("certificates")


# --- tuning: sweep, sensitivity and calibration outputs, the run cache's records
class SweepFiles(Folder):
    """``gep sweep``: the scenario table, its metadata and the main-effect plots."""

    table = _File("sweep.csv")
    meta = _File("sweep.json")
    plots = _File("plots")


class SensitivityFiles(Folder):
    """``gep sensitivity``: Sobol / Morris indices, their ranking, the samples, the tornado."""

    indices = _File("indices.csv")
    ranked = _File("ranked.csv")
    samples = _File("samples.csv")
    meta = _File("sensitivity.json")
    tornado = _File("tornado.csv")
    tornado_png = _File("tornado.png")


class CalibrationFiles(Folder):
    """``gep calibrate``: the fitted parameters, the fit per station and year, the profile."""

    summary = _File("calibration.json")
    fit = _File("fit.csv")
    profile = _File("profile.csv")
    plot = _File("calibration.png")


class TuningCacheFiles(Folder):
    """A tuning study's run cache. On a run workspace: InVEST's files, ``gep invest``'s run
    record and, for a run linked from the pipeline's workspace, the note saying so; the names
    of the executor's task files and of the cached zonal tables."""

    run_record = _File(Paths.RUN_RECORD)
    link_note = _File("gep_tuning.json")

    @staticmethod
    def task_name(year, model: str, key: str) -> str:
        """The task file an executor job runs (``gep tuning-run``)."""
        return f"{year}-{model}-{key}.json"

    @staticmethod
    def zonal_name(key: str) -> str:
        """A cached zonal table of the study, by content key."""
        return f"{key}.csv"


# kept reachable from Paths (the areas branch named them so)
Paths.InputFiles = InputFiles
Paths.LayerFiles = LayerFiles
Paths.LandcoverFiles = LandcoverFiles
Paths.CertificateFiles = CertificateFiles
Paths.UploadFiles = UploadFiles
