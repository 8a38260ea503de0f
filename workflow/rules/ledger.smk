# The sunshine ledger: append this run's transfers, disbursements, alerts and digests (the
# appends are idempotent, so a re-run only adds what is new), sign a checkpoint and build the
# public site. ledger.db is not a declared output: Snakemake must never delete the log.
# It signs with the basin's key, which stays on the machine that runs Snakemake: never a
# cluster job.


localrules:
    publish,


rule publish:
    input:
        publish_inputs,
    output:
        checkpoint=str(P.ledger.checkpoint),
        vkey=str(P.ledger.verifier_key),
        site=str(P.ledger.site_index),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        origin=CFG.ledger.origin,
    threads: threads("publish")
    priority: priority("publish")
    resources:
        mem_mb=mem_mb("publish"),
        runtime=runtime("publish"),
    log:
        str(P.log("publish")),
    conda:
        ENV
    shell:
        "{params.gep} publish --config {params.config:q} > {log:q} 2>&1"
