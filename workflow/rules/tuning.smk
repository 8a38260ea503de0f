# Scientists' tools, run on demand (not part of `all`):
#   snakemake --cores 2 calibrate     # fit Z to observed runoff (config/tuning.yaml)
# Sweeps and sensitivity studies: `gep sweep` and `gep sensitivity` (docs/tuning.md).


rule calibrate:
    input:
        config=str(CONFIG_FILE),
        inputs=expand(str(P.year_file("{year}", "landcover")), year=YEARS),
    output:
        directory(str(P.calibration)),
    params:
        gep=GEP,
    threads: threads("calibrate")
    priority: priority("calibrate")
    resources:
        mem_mb=mem_mb("calibrate"),
        runtime=runtime("calibrate"),
    log:
        str(P.log("calibrate")),
    conda:
        ENV
    shell:
        "{params.gep} calibrate --config {input.config:q} --quiet > {log:q} 2>&1"
