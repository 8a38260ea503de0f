# GIS: GEP per party as a GeoPackage (one layer per year, the responsibility lists) with its
# QGIS style, for people who open results in QGIS.


rule gis:
    input:
        unpack(gis_inputs),
    output:
        gpkg=str(P.gep_gpkg),
        qml=str(P.gep_qml),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    log:
        str(P.log("gis")),
    threads: threads("gis")
    priority: priority("gis")
    resources:
        mem_mb=mem_mb("gis"),
        runtime=runtime("gis"),
    conda:
        ENV
    shell:
        "{params.gep} gis --config {params.config:q} > {log:q} 2>&1"
