# The committee's cycle: downstream responsibility lists, the agreement execution rate, every
# monthly agenda, quarterly bulletin and annual assessment (HTML + PDF, one job per year) and
# the agreement's filing in the sunshine ledger.


rule downstream:
    input:
        transfers=str(P.compensation.transfers),
        dispatch=[str(P.dispatch(y).ledger_transfers) for y in DISPATCH_YEARS],
        declarations=[declarations_file()] if RATING else [],
        parties=str(P.parties_csv),
        config=str(CFG.path(CFG.monitoring.config)),
    output:
        str(P.downstream_csv),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    log:
        str(P.log("downstream")),
    threads: threads("downstream")
    priority: priority("downstream")
    resources:
        mem_mb=mem_mb("downstream"),
        runtime=runtime("downstream"),
    conda:
        ENV
    shell:
        "{params.gep} downstream --config {params.config:q} > {log:q} 2>&1"


rule execution:
    input:
        transfers=str(P.compensation.transfers),
        dispatch=[str(P.dispatch(y).ledger_transfers) for y in DISPATCH_YEARS],
        performance=str(P.monitoring.performance),
        downstream=str(P.downstream_csv),
        compliance=str(P.monitoring.daily_compliance),
        daily=str(P.monitoring.daily_index),
    output:
        execution=report(
            str(P.execution_csv),
            caption="../report/execution.rst",
            category="Committee",
        ),
        obligations=str(P.obligations_csv),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        settings=lambda wc: CFG.committee.model_dump(mode="json"),
    log:
        str(P.log("execution")),
    threads: threads("execution")
    priority: priority("execution")
    resources:
        mem_mb=mem_mb("execution"),
        runtime=runtime("execution"),
    conda:
        ENV
    shell:
        "{params.gep} execution --config {params.config:q} > {log:q} 2>&1"


rule committee_year:
    input:
        execution=str(P.execution_csv),
        obligations=str(P.obligations_csv),
        ratings=[str(P.ratings_csv)] if RATING else [],
        gep=str(P.gep_csv),
        dispatch=[str(f) for y in DISPATCH_YEARS for d in [P.dispatch(y)]
                  for f in (d.disbursements, d.alerts, d.settlement)],
    output:
        year_papers("{year}"),
    wildcard_constraints:
        year=r"\d{4}",
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    log:
        str(P.log("committee", "{year}")),
    threads: threads("committee_year")
    priority: priority("committee_year")
    resources:
        mem_mb=mem_mb("committee_year"),
        runtime=runtime("committee_year"),
    conda:
        ENV
    shell:
        "{params.gep} bulletin --config {params.config:q} --year {wildcards.year} > {log:q} 2>&1"


rule committee_index:
    input:
        [p for y in YEARS for p in year_papers(y)],
        [str(P.filings_csv)] if FILING else [],
    output:
        str(P.committee_index),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    log:
        str(P.log("committee", "index")),
    threads: threads("committee_index")
    priority: priority("committee_index")
    resources:
        mem_mb=mem_mb("committee_index"),
        runtime=runtime("committee_index"),
    conda:
        ENV
    shell:
        "{params.gep} bulletin --config {params.config:q} --index > {log:q} 2>&1"


rule agreement_file:
    input:
        str(CFG.path(CFG.compensation.agreement)) if COMPENSATION else [],
    output:
        str(P.filings_csv),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        filing=lambda wc: CFG.committee.model_dump(mode="json", include={"filing"}),
    log:
        str(P.log("agreement_file")),
    threads: threads("agreement_file")
    priority: priority("agreement_file")
    resources:
        mem_mb=mem_mb("agreement_file"),
        runtime=runtime("agreement_file"),
    conda:
        ENV
    shell:
        "{params.gep} agreement file --config {params.config:q} > {log:q} 2>&1"
