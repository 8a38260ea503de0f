# Enterprise eco star rating (生态反哺星级认证): declarations -> ratings.csv + certificates.

rule rating_demo_declarations:
    input:
        str(P.parties_csv),
    output:
        str(P.demo_declarations),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        settings=lambda wc: CFG.model_dump(mode="json", include={"rating", "years", "demo"}),
    log:
        str(P.log("rating_demo_declarations")),
    threads: threads("rating_demo_declarations")
    priority: priority("rating_demo_declarations")
    resources:
        mem_mb=mem_mb("rating_demo_declarations"),
        runtime=runtime("rating_demo_declarations"),
    conda:
        ENV
    shell:
        "{params.gep} rate-demo --config {params.config:q} --out {output:q} > {log:q} 2>&1"


rule rate:
    input:
        declarations=declarations_file(),
        rules=str(CFG.path(CFG.rating.rules)),
        parties=str(P.parties_csv),
    output:
        ratings=report(
            str(P.ratings_csv),
            caption="../report/ratings.rst",
            category="Committee",
        ),
        certificates=directory(str(P.certificates)),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        out=lambda wc, output: os.path.dirname(output.ratings),
    log:
        str(P.log("rate")),
    threads: threads("rate")
    priority: priority("rate")
    resources:
        mem_mb=mem_mb("rate"),
        runtime=runtime("rate"),
    conda:
        ENV
    shell:
        "{params.gep} rate --config {params.config:q} --declarations {input.declarations:q}"
        " --rules {input.rules:q} --parties {input.parties:q} --out {params.out:q} > {log:q} 2>&1"
