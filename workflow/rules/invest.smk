# InVEST: one job per model and year, each in its own workspace
# results/<basin>/invest/<year>/<model_id>/ (InVEST's own output layout). The rule's params are
# that model's parameters only, so changing one model's parameter re-runs that model alone and
# changing a price or the report re-runs no model. The job's threads become InVEST's n_workers.


rule invest:
    input:
        invest_inputs,
    output:
        directory(str(P.workspace("{year}", "{model}"))),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        model=lambda wc: model_params(CFG, wc.model),
        # InVEST's HTML report (models.invest_reports; `gep invest` reads the key itself):
        # turning it on or off re-runs the models
        reports=CFG.models.invest_reports,
    wildcard_constraints:
        year=r"\d{4}",
        model="|".join(MODELS),
    threads: threads("invest")
    priority: priority("invest")
    resources:
        mem_mb=invest_mem_mb,
        runtime=runtime("invest"),
    log:
        str(P.log("invest", "{year}", "{model}")),
    conda:
        ENV
    shell:
        "{params.gep} invest --config {params.config:q} --model {wildcards.model}"
        " --year {wildcards.year} --workers {threads} > {log:q} 2>&1"
