# Load and validate the configuration through gep.config (the one source of truth), write the
# resolved config every stage reads, and define path helpers.
import os
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate

from gep.config import dump_resolved
from gep.config import validate as gep_validate
from gep.invest import model_params, table_inputs
from gep.paths import Paths, CLIMATE_FILES
from gep.io import write_text
from gep.publish import dispatch_years
from gep import resources
import yaml


validate(config, schema="../schemas/config.schema.json", set_default=False)

CONFIG_FILE = Path(workflow.configfiles[-1]).resolve()
# Snakemake's own YAML reader keeps the last of two equal keys without a word; gep's refuses.
from gep.io import read_yaml

read_yaml(CONFIG_FILE, "config file", "pass --configfile with an existing file")
CFG = gep_validate(dict(config), file=str(CONFIG_FILE), config_dir=CONFIG_FILE.parent)
P = Paths(CFG, Path(os.path.relpath(CFG.out)))
YEARS = [str(y) for y in CFG.years]
REFERENCE_YEARS = [str(y) for y in CFG.reference_years]
MODELS = CFG.models.enabled()
# Rules call `gep` from the PATH of the environment a job runs in (the active venv, or the
# conda environment of `--sdm conda`, or a container's), never this interpreter's own path.
# GEP_COMMAND overrides it (benchmarks/bench_rules.py wraps each command to measure it).
GEP = os.environ.get("GEP_COMMAND", "gep")
ENV = "../envs/gep.yaml"
# the checkout gep.post-deploy.sh installs into the conda environment of --sdm conda
os.environ.update(GEP_SOURCE=str(Path(workflow.basedir).resolve()))

# Every stage reads this resolved file, so `--config key=value` overrides reach them too.
# Written only when its content changes; it is not a rule input (a price change must not
# re-run InVEST: each rule's params carry what it depends on).
_resolved = yaml.safe_dump(dump_resolved(CFG), allow_unicode=True, sort_keys=True)
EFFECTIVE = P.effective_config
if not EFFECTIVE.exists() or EFFECTIVE.read_text(encoding="utf-8") != _resolved:
    write_text(EFFECTIVE, _resolved)


# threads, mem_mb and runtime per rule, scaled from the basin's pixels (gep.resources, measured
# by benchmarks/bench_rules.py)
PIXELS = resources.basin_pixels(CFG, P.parties_tif)


def mem_mb(rule):
    return resources.mem_mb(rule, PIXELS, len(YEARS))


def runtime(rule):
    return resources.runtime(rule, PIXELS, len(YEARS))


def threads(rule):
    return resources.threads(rule)


def priority(rule):
    """Longest chains first (gep.resources.PRIORITY)."""
    return resources.priority(rule)


def invest_mem_mb(wildcards, threads):
    """InVEST's workers each hold their own blocks: memory follows the job's threads."""
    return resources.mem_mb("invest", PIXELS, 1, threads)


COMPENSATION = CFG.compensation.agreement is not None
MONITORING = CFG.monitoring.enabled and COMPENSATION
LEDGER = CFG.ledger.enabled
PORTAL = CFG.portal.enabled
DISPATCH_YEARS = [str(y) for y in dispatch_years(CFG)] if MONITORING else []


def final_outputs():
    out = [P.gep_csv, P.increments_csv, P.attribution_csv, P.report.html, P.gep_gpkg]
    if COMPENSATION:
        out.append(P.compensation.statement)
    out += [P.dispatch(y).disbursements for y in DISPATCH_YEARS]
    if LEDGER:
        out += [P.ledger.checkpoint, P.ledger.site_index]
    if PORTAL:
        out.append(P.portal_db)
    return [str(x) for x in out]


def monitor_inputs(wildcards):
    m = CFG.monitoring
    if m.readings is not None:
        readings, stations = str(CFG.path(m.readings)), str(CFG.path(m.stations))
    elif CFG.source == "demo":
        readings = str(P.demo_readings)
        stations = str(P.demo_stations)
    else:
        raise ValueError(
            "monitoring.readings: no readings for a non-demo basin. Fix: set "
            "monitoring.readings and monitoring.stations, or monitoring.enabled: false"
        )
    return {
        "readings": readings,
        "stations": stations,
        "config": str(CFG.path(m.config)),
        "parties": str(P.parties_tif),
        "parties_csv": str(P.parties_csv),
        "redline": str(P.redline_tif),
        "landcover": [str(P.year_file(y, "landcover")) for y in YEARS],
    }


def publish_inputs(wildcards):
    files = [str(P.gep_csv), str(P.increments_csv), str(P.attribution_csv),
             str(P.report.html)]
    files.append(str(P.parties_csv))
    if COMPENSATION:
        files.append(str(P.compensation.transfers))
    if MONITORING:
        files += [str(P.monitoring.readings_qc), str(P.monitoring.daily_index)]
    for y in DISPATCH_YEARS:
        files += [str(P.dispatch(y).ledger_transfers), str(P.dispatch(y).alerts)]
    return files + committee_report_inputs()


def allocate_inputs(wildcards):
    c = CFG.compensation
    inputs = {
        "agreement": str(CFG.path(c.agreement)),
        "increments": str(P.increments_csv),
        "attribution": str(P.attribution_csv),
    }
    if MONITORING:
        inputs["quality"] = str(P.monitoring.section_quality)
        inputs["performance"] = str(P.monitoring.performance)
    else:
        if c.quality is None:
            raise ValueError(
                "compensation.quality: needed when monitoring is disabled. Fix: point it at "
                "a section_quality.csv (year,section,indicator,concentration_mg_l)"
            )
        inputs["quality"] = str(CFG.path(c.quality))
        if c.performance is not None:
            inputs["performance"] = str(CFG.path(c.performance))
    if c.incidents is not None:
        inputs["incidents"] = str(CFG.path(c.incidents))
    return inputs


def invest_inputs(wc):
    files = [str(f) for f in P.year_files(wc.year)]
    files += [str(P.basin_gpkg), str(P.subwatersheds_gpkg)]
    return files + table_inputs(CFG, wc.model)


def report_inputs(wildcards):
    files = [str(P.gep_csv), str(P.increments_csv), str(P.attribution_csv),
             str(P.parties_gpkg)]
    files += [str(P.workspace(y, m)) for y in YEARS for m in MODELS]
    return files + report_extra_inputs()


def report_extra_inputs():
    """Outputs of later stages shown in the report (compensation, monitoring, ledger)."""
    files = []
    if COMPENSATION:
        files += [str(P.compensation.statement), str(P.compensation.summary)]
    if MONITORING:
        files += [str(P.monitoring.daily_index), str(P.monitoring.performance)]
    files += [str(f) for y in DISPATCH_YEARS
              for f in (P.dispatch(y).disbursements, P.dispatch(y).alerts)]
    if MONITORING and COMPENSATION and CFG.committee.enabled:
        files.append(str(P.downstream_csv))
    if PORTAL:
        files.append(str(P.portal_db))
    return files + committee_report_inputs()


# Enterprise star rating and the committee's cycle (rating.smk, committee.smk).
RATING = CFG.rating.enabled


def declarations_file():
    if CFG.rating.declarations is not None:
        return str(CFG.path(CFG.rating.declarations))
    return str(P.demo_declarations)


COMMITTEE = CFG.committee.enabled and MONITORING
FILING = CFG.committee.filing is not None and COMPENSATION and LEDGER
PAPER_EXT = ["html", "json"] + (["pdf"] if CFG.committee.pdf else [])


def committee_outputs():
    """Added to rule all."""
    out = [str(P.ratings_csv)] if RATING else []
    if COMMITTEE:
        out += [str(P.committee_index), str(P.execution_csv)]
    if FILING:
        out.append(str(P.filings_csv))
    return out


def committee_report_inputs():
    """What the report and the ledger read from this stage: the ratings, the execution rate and
    the filing. Not the papers: nothing reads them, so rendering their PDFs (the longest part
    of the demo's end) runs beside the report and the ledger instead of before them."""
    out = [str(P.ratings_csv)] if RATING else []
    if COMMITTEE:
        out.append(str(P.execution_csv))
    if FILING:
        out.append(str(P.filings_csv))
    return out


def year_papers(year):
    """The 17 papers of a year; ``"{year}"`` gives the rule's output patterns."""
    from gep.committee import periods_of_year

    labels = [per.label[4:] for per in periods_of_year(2000)]  # "-01".."-Q4", ""
    return [str(P.committee_paper(f"{year}{lab}", ext)) for lab in labels for ext in PAPER_EXT]


def gis_inputs(wildcards):
    """The GeoPackage's inputs: GEP, its attribution and the responsibility lists."""
    files = {"gep": str(P.gep_csv), "parties": str(P.parties_gpkg)}
    if MONITORING:
        files["performance"] = str(P.monitoring.performance)
    files["attribution"] = str(P.attribution_csv)
    return files
