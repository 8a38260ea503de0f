# Compensation: settle the agreement from the GEP increments and the section water quality.


rule allocate:
    input:
        unpack(allocate_inputs),
    output:
        transfers=report(
            str(P.compensation / "transfers.csv"),
            caption="../report/transfers.rst",
            category="Compensation",
        ),
        statement=report(
            str(P.compensation / "statement.csv"),
            caption="../report/statement.rst",
            category="Compensation",
        ),
        summary=str(P.compensation / "summary.json"),
    params:
        gep=GEP,
        out=lambda wc, output: os.path.dirname(output.statement),
        optional=lambda wc, input: " ".join(
            f"--{k} {input[k]}" for k in ("performance", "incidents") if k in input.keys()
        ),
    log:
        str(P.logs / "allocate.log"),
    conda:
        ENV
    shell:
        "{params.gep} allocate --agreement {input.agreement} --increments {input.increments}"
        " --attribution {input.attribution}"
        " --quality {input.quality} {params.optional} --out {params.out} > {log} 2>&1"
