# Compensation: settle the agreement from the GEP increments and the section water quality.


rule allocate:
    input:
        unpack(allocate_inputs),
    output:
        transfers=report(
            str(P.compensation.transfers),
            caption="../report/transfers.rst",
            category="Compensation",
        ),
        statement=report(
            str(P.compensation.statement),
            caption="../report/statement.rst",
            category="Compensation",
        ),
        summary=str(P.compensation.summary),
    params:
        gep=GEP,
        out=lambda wc, output: os.path.dirname(output.statement),
        optional=lambda wc, input: " ".join(
            f"--{k} {shlex.quote(input[k])}"
            for k in ("performance", "incidents")
            if k in input.keys()
        ),
    threads: threads("allocate")
    priority: priority("allocate")
    resources:
        mem_mb=mem_mb("allocate"),
        runtime=runtime("allocate"),
    log:
        str(P.log("allocate")),
    conda:
        ENV
    shell:
        "{params.gep} allocate --agreement {input.agreement:q} --increments {input.increments:q}"
        " --attribution {input.attribution:q}"
        " --quality {input.quality:q} {params.optional} --out {params.out:q} > {log:q} 2>&1"
