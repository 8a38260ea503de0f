# The committee report: results/<basin>/report/index.html (self-contained, zh + en).


def report_inputs(wildcards):
    files = [str(P.gep_csv), str(P.increments_csv), str(P.party_file("parties.gpkg"))]
    files += [str(P.workspace(y, m)) for y in YEARS for m in MODELS]
    return files + report_extra_inputs()


def report_extra_inputs():
    """Outputs of later stages shown in the report (compensation, monitoring, ledger)."""
    return []


rule report:
    input:
        report_inputs,
    output:
        report(
            str(P.report / "index.html"),
            caption="../report/committee_report.rst",
            category="Report",
        ),
    params:
        titles=lambda wc: CFG.report.model_dump(mode="json"),
    log:
        str(P.logs / "report.log"),
    conda:
        ENV
    shell:
        "{GEP} report --config {EFFECTIVE} > {log} 2>&1"
