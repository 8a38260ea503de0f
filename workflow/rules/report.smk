# The committee report: results/<basin>/report/index.html (self-contained, zh + en), the same
# report as report.pdf, and its tables as tables.xlsx.


rule report:
    input:
        report_inputs,
    output:
        html=report(
            str(P.report.html),
            caption="../report/committee_report.rst",
            category="Report",
        ),
        pdf=str(P.report_pdf),
        xlsx=str(P.report_xlsx),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        titles=lambda wc: CFG.report.model_dump(mode="json"),
    threads: threads("report")
    priority: priority("report")
    resources:
        mem_mb=mem_mb("report"),
        runtime=runtime("report"),
    log:
        str(P.log("report")),
    conda:
        ENV
    shell:
        "{params.gep} report --config {params.config:q} > {log:q} 2>&1"
