# The sunshine ledger: append this run's transfers, disbursements, alerts and digests (the
# appends are idempotent, so a re-run only adds what is new), sign a checkpoint and build the
# public site. ledger.db is not a declared output: Snakemake must never delete the log.


rule publish:
    input:
        publish_inputs,
    output:
        checkpoint=str(P.ledger / "checkpoint"),
        vkey=str(P.ledger / "verifier.vkey"),
        site=str(P.ledger / "site" / "index.html"),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
        origin=CFG.ledger.origin,
    log:
        str(P.logs / "publish.log"),
    conda:
        ENV
    shell:
        "{params.gep:q} -m gep publish --config {params.config:q} > {log:q} 2>&1"
