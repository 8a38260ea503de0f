# GEP: per-party zonal sums of the model outputs, valuation at constant and current prices,
# and year-on-year increments.


rule zonal:
    input:
        workspaces=expand(str(P.workspace("{{year}}", "{model}")), model=MODELS),
        parties=str(P.party_file("parties.tif")),
        table=str(P.party_file("parties.csv")),
        landcover=str(P.year_file("{year}", "landcover")),
        precipitation=str(P.year_file("{year}", "precipitation")),
    output:
        str(P.zonal("{year}")),
    wildcard_constraints:
        year=r"\d{4}",
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    threads: threads("zonal")
    resources:
        mem_mb=mem_mb("zonal"),
        runtime=runtime("zonal"),
    log:
        str(P.logs / "zonal" / "{year}.log"),
    conda:
        ENV
    shell:
        "{params.gep} zonal --config {params.config:q} --year {wildcards.year} > {log:q} 2>&1"


rule value:
    input:
        zonal=expand(str(P.zonal("{year}")), year=YEARS),
        prices=str(CFG.path(CFG.valuation.prices)),
        runoff=str(CFG.path(CFG.valuation.runoff_coefficients)),
    output:
        gep=report(
            str(P.gep_csv),
            caption="../report/gep_by_party.rst",
            category="GEP",
        ),
        increments=report(
            str(P.increments_csv),
            caption="../report/increments.rst",
            category="GEP",
        ),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    threads: threads("value")
    resources:
        mem_mb=mem_mb("value"),
        runtime=runtime("value"),
    log:
        str(P.logs / "value.log"),
    conda:
        ENV
    shell:
        "{params.gep} value --config {params.config:q} > {log:q} 2>&1"
