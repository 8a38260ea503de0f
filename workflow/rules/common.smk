# Load and validate the configuration through gep.config (the one source of truth), write the
# resolved config every stage reads, and define path helpers.
import os
import sys
from pathlib import Path

from snakemake.utils import validate

from gep.config import dump_resolved
from gep.config import validate as gep_validate
from gep.invest import model_params, table_inputs
from gep.paths import Paths, PARTY_FILES, STATIC_FILES, YEAR_FILES
from gep.io import write_text
from gep.publish import dispatch_years
import yaml


validate(config, schema="../schemas/config.schema.json", set_default=False)

CONFIG_FILE = Path(workflow.configfiles[-1]).resolve()
CFG = gep_validate(dict(config), file=str(CONFIG_FILE), config_dir=CONFIG_FILE.parent)
P = Paths(CFG, Path(os.path.relpath(CFG.out)))
YEARS = [str(y) for y in CFG.years]
MODELS = CFG.models.enabled()
GEP = f"{sys.executable} -m gep"
ENV = "../envs/gep.yaml"

# Every stage reads this resolved file, so `--config key=value` overrides reach them too.
# Written only when its content changes; it is not a rule input (a price change must not
# re-run InVEST: each rule's params carry what it depends on).
_resolved = yaml.safe_dump(dump_resolved(CFG), allow_unicode=True, sort_keys=True)
EFFECTIVE = P.effective_config
if not EFFECTIVE.exists() or EFFECTIVE.read_text(encoding="utf-8") != _resolved:
    write_text(EFFECTIVE, _resolved)


COMPENSATION = CFG.compensation.agreement is not None
MONITORING = CFG.monitoring.enabled and COMPENSATION
LEDGER = CFG.ledger.enabled
PORTAL = CFG.portal.enabled
DISPATCH_YEARS = [str(y) for y in dispatch_years(CFG)] if MONITORING else []


def final_outputs():
    out = [P.gep_csv, P.increments_csv, P.report / "index.html"]
    if COMPENSATION:
        out.append(P.compensation / "statement.csv")
    out += [P.dispatch(y) / "disbursements.csv" for y in DISPATCH_YEARS]
    if LEDGER:
        out += [P.ledger / "checkpoint", P.ledger / "site" / "index.html"]
    if PORTAL:
        out.append(P.portal_db)
    return [str(x) for x in out]


def monitor_inputs(wildcards):
    m = CFG.monitoring
    if m.readings is not None:
        readings, stations = str(CFG.path(m.readings)), str(CFG.path(m.stations))
    elif CFG.source == "demo":
        readings = str(P.monitoring / "demo" / "readings.parquet")
        stations = str(P.monitoring / "demo" / "stations.csv")
    else:
        raise ValueError(
            "monitoring.readings: no readings for a non-demo basin. Fix: set "
            "monitoring.readings and monitoring.stations, or monitoring.enabled: false"
        )
    return {
        "readings": readings,
        "stations": stations,
        "config": str(CFG.path(m.config)),
        "parties": str(P.party_file("parties.tif")),
        "parties_csv": str(P.party_file("parties.csv")),
        "redline": str(P.party_file("redline.tif")),
        "landcover": [str(P.year_file(y, "landcover")) for y in YEARS],
    }


def publish_inputs(wildcards):
    files = [str(P.gep_csv), str(P.increments_csv), str(P.report / "index.html")]
    files.append(str(P.party_file("parties.csv")))
    if COMPENSATION:
        files.append(str(P.compensation / "transfers.csv"))
    if MONITORING:
        files += [str(P.monitoring / f) for f in ("readings_qc.parquet", "daily_index.csv")]
    for y in DISPATCH_YEARS:
        files += [str(P.dispatch(y) / f) for f in ("ledger_transfers.csv", "alerts.csv")]
    return files


def allocate_inputs(wildcards):
    c = CFG.compensation
    inputs = {
        "agreement": str(CFG.path(c.agreement)),
        "increments": str(P.gep_csv.parent / "increments.csv"),
    }
    if MONITORING:
        inputs["quality"] = str(P.monitoring / "section_quality.csv")
        inputs["performance"] = str(P.monitoring / "performance.csv")
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
    files = [str(P.year_dir(wc.year) / f"{f}.tif") for f in YEAR_FILES]
    files += [str(P.party_file(f)) for f in ("basin.gpkg", "subwatersheds.gpkg")]
    return files + table_inputs(CFG, wc.model)


def report_inputs(wildcards):
    files = [str(P.gep_csv), str(P.increments_csv), str(P.party_file("parties.gpkg"))]
    files += [str(P.workspace(y, m)) for y in YEARS for m in MODELS]
    return files + report_extra_inputs()


def report_extra_inputs():
    """Outputs of later stages shown in the report (compensation, monitoring, ledger)."""
    files = []
    if COMPENSATION:
        files += [str(P.compensation / f) for f in ("statement.csv", "summary.json")]
    if MONITORING:
        files += [str(P.monitoring / f) for f in ("daily_index.csv", "performance.csv")]
    files += [str(P.dispatch(y) / f) for y in DISPATCH_YEARS
              for f in ("disbursements.csv", "alerts.csv")]
    if PORTAL:
        files.append(str(P.portal_db))
    return files
