# Acquire: demo | local | earthengine -> results/<basin>/inputs/ (one aligned stack).
# Earth Engine needs the network and the user's credentials: then these jobs run on the
# machine that runs Snakemake, never as cluster jobs (compute nodes are often offline).


if CFG.source == "earthengine":

    localrules:
        acquire_parties,
        acquire_static,
        acquire_year,



rule acquire_parties:
    output:
        [str(f) for f in P.party_files],
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        source=CFG.source,
        settings=lambda wc: CFG.model_dump(
            mode="json", include={"demo", "grid", "parties", "redline"}
        ),
    threads: threads("acquire_parties")
    priority: priority("acquire_parties")
    resources:
        mem_mb=mem_mb("acquire_parties"),
        runtime=runtime("acquire_parties"),
    log:
        str(P.log("acquire", "parties")),
    conda:
        ENV
    shell:
        "{params.gep} acquire --config {params.config:q} --parties > {log:q} 2>&1"


rule acquire_static:
    input:
        str(P.parties_gpkg),
    output:
        [str(f) for f in P.static_files],
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        source=CFG.source,
        settings=lambda wc: CFG.model_dump(
            mode="json", include={"demo", "grid", "layers", "roads", "earthengine"}
        ),
    threads: threads("acquire_static")
    priority: priority("acquire_static")
    resources:
        mem_mb=mem_mb("acquire_static"),
        runtime=runtime("acquire_static"),
    log:
        str(P.log("acquire", "static")),
    conda:
        ENV
    shell:
        "{params.gep} acquire --config {params.config:q} --static > {log:q} 2>&1"


rule acquire_year:
    input:
        [str(f) for f in P.static_files],
        str(P.parties_gpkg),
    output:
        [str(f) for f in P.year_files("{year}")],
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        source=CFG.source,
        settings=lambda wc: CFG.model_dump(
            mode="json",
            include={"demo", "grid", "layers", "landcover_legend", "earthengine", "classification"},
        ),
    wildcard_constraints:
        year=r"\d{4}",
    threads: threads("acquire_year")
    priority: priority("acquire_year")
    resources:
        mem_mb=mem_mb("acquire_year"),
        runtime=runtime("acquire_year"),
    log:
        str(P.log("acquire", "{year}")),
    conda:
        ENV
    shell:
        "{params.gep} acquire --config {params.config:q} --year {wildcards.year}"
        " > {log:q} 2>&1"
