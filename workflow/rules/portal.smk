# The citizen portal's demo database: accounts, river chiefs, patrols, reports and fund use,
# seeded through the portal's own rules (gep portal seed). Fund use is checked against what
# the sunshine ledger shows each party received, so the seed first appends this run's
# disbursements to the ledger (idempotent: publish later finds them already there).
# Serve it with: gep serve --config config/config.yaml (see docs/portal.md).


rule portal_seed:
    input:
        parties=str(P.parties_gpkg),
        receipts=[str(P.dispatch(y).ledger_transfers) for y in DISPATCH_YEARS],
        # the agreement's filing is the ledger's first entry: the seed appends after it, so
        # the ledger's order (and root) does not depend on how jobs are scheduled
        filing=[str(P.filings_csv)] if FILING else [],
    output:
        db=str(P.portal_db),
    params:
        gep=GEP,
        config=str(EFFECTIVE),
    log:
        str(P.log("portal_seed")),
    threads: threads("portal_seed")
    priority: priority("portal_seed")
    resources:
        mem_mb=mem_mb("portal_seed"),
        runtime=runtime("portal_seed"),
    conda:
        ENV
    shell:
        "{params.gep} portal seed --config {params.config:q} --append-receipts > {log:q} 2>&1"
