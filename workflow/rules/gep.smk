# GEP: per-party zonal sums of the model outputs, valuation at constant and current prices,
# and year-on-year increments.


rule zonal:
    input:
        workspaces=expand(str(P.workspace("{{year}}", "{model}")), model=MODELS),
        parties=str(P.parties_tif),
        table=str(P.parties_csv),
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
    priority: priority("zonal")
    resources:
        mem_mb=mem_mb("zonal"),
        runtime=runtime("zonal"),
    log:
        str(P.log("zonal", "{year}")),
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
    priority: priority("value")
    resources:
        mem_mb=mem_mb("value"),
        runtime=runtime("value"),
    log:
        str(P.log("value")),
    conda:
        ENV
    shell:
        "{params.gep} value --config {params.config:q} > {log:q} 2>&1"


# Attribution: each year's land cover valued under one reference climate (the mean climate of
# attribution.reference_years), so every GEP change splits into land use and climate.


rule reference_climate:
    input:
        [str(P.year_file(y, f)) for y in REFERENCE_YEARS for f in CLIMATE_FILES],
    output:
        [str(f) for f in P.reference_files],
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        years=REFERENCE_YEARS,
    log:
        str(P.log("reference_climate")),
    threads: threads("reference_climate")
    priority: priority("reference_climate")
    resources:
        mem_mb=mem_mb("reference_climate"),
        runtime=runtime("reference_climate"),
    conda:
        ENV
    shell:
        "{params.gep} reference-climate --config {params.config:q} > {log:q} 2>&1"


rule reference:
    input:
        workspaces=expand(str(P.workspace("{{year}}", "{model}")), model=MODELS),
        climate=[str(f) for f in P.reference_files],
        parties=str(P.parties_tif),
        table=str(P.parties_csv),
        zonal=str(P.zonal("{year}")),     # the rows of the models whose actual run is reused
    output:
        str(P.zonal_reference("{year}")),
    wildcard_constraints:
        year=r"\d{4}",
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        models=lambda wc: {m: model_params(CFG, m) for m in MODELS},
    log:
        str(P.log("reference", "{year}")),
    threads: threads("reference")
    priority: priority("reference")
    resources:
        mem_mb=mem_mb("reference"),
        runtime=runtime("reference"),
    conda:
        ENV
    shell:
        "{params.gep} reference --config {params.config:q} --year {wildcards.year} > {log:q} 2>&1"


rule attribute:
    input:
        gep=str(P.gep_csv),
        reference=expand(str(P.zonal_reference("{year}")), year=YEARS),
        prices=str(CFG.path(CFG.valuation.prices)),
        runoff=str(CFG.path(CFG.valuation.runoff_coefficients)),
    output:
        reference=str(P.gep_reference_csv),
        attribution=report(
            str(P.attribution_csv),
            caption="../report/attribution.rst",
            category="GEP",
        ),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    log:
        str(P.log("attribute")),
    threads: threads("attribute")
    priority: priority("attribute")
    resources:
        mem_mb=mem_mb("attribute"),
        runtime=runtime("attribute"),
    conda:
        ENV
    shell:
        "{params.gep} attribute --config {params.config:q} > {log:q} 2>&1"
