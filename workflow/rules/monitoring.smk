# Monitoring: sensor readings -> QA/QC -> daily index and annual products -> the engine;
# then the daily dispatch: year t's settlement is paid out day by day during t + 1.


rule monitor_demo_data:
    output:
        readings=str(P.demo_readings),
        stations=str(P.demo_stations),
    params:
        gep=GEP,
        years=" ".join(YEARS),
        seed=CFG.demo.seed,
    threads: threads("monitor_demo_data")
    priority: priority("monitor_demo_data")
    resources:
        mem_mb=mem_mb("monitor_demo_data"),
        runtime=runtime("monitor_demo_data"),
    log:
        str(P.log("monitor_demo_data")),
    conda:
        ENV
    shell:
        "{params.gep} monitor-demo --years {params.years} --readings {output.readings:q}"
        " --stations {output.stations:q} --seed {params.seed} > {log:q} 2>&1"


rule monitor:
    input:
        unpack(monitor_inputs),
    output:
        qc=str(P.monitoring.readings_qc),
        daily=report(
            str(P.monitoring.daily_index),
            caption="../report/daily_index.rst",
            category="Monitoring",
        ),
        quality=str(P.monitoring.section_quality),
        anomalies=str(P.monitoring.anomalies),
        compliance=str(P.monitoring.daily_compliance),
        performance=report(
            str(P.monitoring.performance),
            caption="../report/performance.rst",
            category="Monitoring",
        ),
    params:
        gep=GEP,
        out=lambda wc, output: os.path.dirname(output.qc),
        inputs=lambda wc, input: os.path.dirname(input.parties),
    threads: threads("monitor")
    priority: priority("monitor")
    resources:
        mem_mb=mem_mb("monitor"),
        runtime=runtime("monitor"),
    log:
        str(P.log("monitor")),
    conda:
        ENV
    shell:
        "{params.gep} monitor --readings {input.readings:q}"
        " --stations {input.stations:q}"
        " --config {input.config:q} --inputs {params.inputs:q} --workers {threads}"
        " --out {params.out:q} > {log:q} 2>&1"


rule dispatch:
    input:
        transfers=str(P.compensation.transfers),
        daily=str(P.monitoring.daily_index),
        anomalies=str(P.monitoring.anomalies),
        quality=str(P.monitoring.section_quality),
        agreement=str(CFG.path(CFG.compensation.agreement)) if COMPENSATION else [],
        config=str(CFG.path(CFG.monitoring.config)),
    output:
        disbursements=str(P.dispatch("{year}").disbursements),
        alerts=str(P.dispatch("{year}").alerts),
        ledger=str(P.dispatch("{year}").ledger_transfers),
        settlement=str(P.dispatch("{year}").settlement),
    params:
        gep=GEP,
        out=lambda wc, output: os.path.dirname(output.disbursements),
        entitlement_year=lambda wc: int(wc.year) - 1,
    wildcard_constraints:
        year=r"\d{4}",
    threads: threads("dispatch")
    priority: priority("dispatch")
    resources:
        mem_mb=mem_mb("dispatch"),
        runtime=runtime("dispatch"),
    log:
        str(P.log("dispatch", "{year}")),
    conda:
        ENV
    shell:
        "{params.gep} dispatch --transfers {input.transfers:q}"
        " --daily-index {input.daily:q}"
        " --anomalies {input.anomalies:q} --agreement {input.agreement:q}"
        " --quality {input.quality:q} --year {wildcards.year}"
        " --entitlement-year {params.entitlement_year} --config {input.config:q}"
        " --out {params.out:q} > {log:q} 2>&1"
