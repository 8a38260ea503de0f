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
        [str(P.party_file(f)) for f in PARTY_FILES],
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        source=CFG.source,
        settings=lambda wc: CFG.model_dump(
            mode="json", include={"demo", "grid", "parties", "redline"}
        ),
    threads: threads("acquire_parties")
    resources:
        mem_mb=mem_mb("acquire_parties"),
        runtime=runtime("acquire_parties"),
    log:
        str(P.logs / "acquire" / "parties.log"),
    conda:
        ENV
    shell:
        "{params.gep} acquire --config {params.config:q} --parties > {log:q} 2>&1"


rule acquire_static:
    input:
        str(P.party_file("parties.gpkg")),
    output:
        [str(P.static_file(f)) for f in STATIC_FILES],
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        source=CFG.source,
        settings=lambda wc: CFG.model_dump(
            mode="json", include={"demo", "grid", "layers", "roads", "earthengine"}
        ),
    threads: threads("acquire_static")
    resources:
        mem_mb=mem_mb("acquire_static"),
        runtime=runtime("acquire_static"),
    log:
        str(P.logs / "acquire" / "static.log"),
    conda:
        ENV
    shell:
        "{params.gep} acquire --config {params.config:q} --static > {log:q} 2>&1"


rule acquire_year:
    input:
        [str(P.static_file(f)) for f in STATIC_FILES],
        str(P.party_file("parties.gpkg")),
    output:
        [str(P.year_dir("{year}") / f"{f}.tif") for f in YEAR_FILES],
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
    resources:
        mem_mb=mem_mb("acquire_year"),
        runtime=runtime("acquire_year"),
    log:
        str(P.logs / "acquire" / "{year}.log"),
    conda:
        ENV
    shell:
        "{params.gep} acquire --config {params.config:q} --year {wildcards.year}"
        " > {log:q} 2>&1"
