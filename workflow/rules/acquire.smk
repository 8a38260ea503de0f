# Acquire: demo | local | earthengine -> results/<basin>/inputs/ (one aligned stack).


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
    log:
        str(P.logs / "acquire" / "parties.log"),
    conda:
        ENV
    shell:
        "{params.gep:q} -m gep acquire --config {params.config:q} --parties > {log:q} 2>&1"


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
    log:
        str(P.logs / "acquire" / "static.log"),
    conda:
        ENV
    shell:
        "{params.gep:q} -m gep acquire --config {params.config:q} --static > {log:q} 2>&1"


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
    log:
        str(P.logs / "acquire" / "{year}.log"),
    conda:
        ENV
    shell:
        "{params.gep:q} -m gep acquire --config {params.config:q} --year {wildcards.year}"
        " > {log:q} 2>&1"
