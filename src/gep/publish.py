"""Publish a run to the sunshine ledger: transfers, disbursements, alerts and data digests,
then a signed checkpoint and the public site.

Appends are idempotent (transfer ids, content-keyed digests and alerts), so re-running the
pipeline adds only what is new; the log only ever grows.
"""
from __future__ import annotations

from pathlib import Path

from gep.config import Config
from gep.paths import Paths


def settled_years(cfg: Config) -> list[int]:
    """Years the compensation engine settles (after the agreement's base year)."""
    if cfg.compensation.agreement is None:
        return []
    from gep.compensation import load_agreement

    base = load_agreement(cfg.path(cfg.compensation.agreement)).base_year
    return [y for y in cfg.years if y > base]


def dispatch_years(cfg: Config) -> list[int]:
    """Years whose days pay out the previous year's settlement.

    Year t is settled once its P index is known, at the end of t; its entitlements are then
    paid day by day during t + 1, paced by that year's daily index, and the escrow of t + 1
    is released or forfeited on P of t + 1 (see docs/monitoring.md). So dispatch needs
    sensor data for t + 1.
    """
    settled = set(settled_years(cfg))
    return [y for y in cfg.years if y - 1 in settled]


def publish(cfg: Config, paths: Paths | None = None) -> dict[str, Path]:
    from gep import ledger

    p = paths or Paths(cfg)
    out = p.ledger
    out.mkdir(parents=True, exist_ok=True)
    db = out / "ledger.db"
    if db.exists():
        # Never append on top of an altered log: a re-submitted transfer would then be compared
        # with (and the user told to match) the tampered value.
        from gep.ledger.api import require_verified

        require_verified(db, "append to it")
    key_dir = cfg.path(cfg.ledger.key_dir) / cfg.basin
    signer = key_dir / "signer.key"
    if not signer.exists():
        ledger.keygen(cfg.ledger.origin, key_dir)
    years = f"{cfg.years[0]}-{cfg.years[-1]}"
    ledger.append_digests(db, [p.gep_csv, p.increments_csv], "gep_table",
                          f"GEP by party and its increments, basin {cfg.basin}, {years}")
    if p.attribution_csv.exists():
        ledger.append_digests(db, [p.attribution_csv, p.gep_reference_csv], "gep_table",
                              f"GEP changes split into land use and climate (the reward's "
                              f"basis), basin {cfg.basin}, {years}")
    if cfg.compensation.agreement is not None and (p.compensation / "transfers.csv").exists():
        ledger.append_digests(db, [cfg.path(cfg.compensation.agreement)], "data_batch",
                              f"compensation agreement of basin {cfg.basin}")
        ledger.append_transfers_csv(db, p.compensation / "transfers.csv", kind="settlement")
    mon = p.monitoring
    if (mon / "readings_qc.parquet").exists():
        # (not the ".name.XXXX.csv" temporaries a killed writer may leave behind)
        csvs = sorted(f for f in mon.glob("*.csv") if not f.name.startswith("."))
        ledger.append_digests(db, csvs + [mon / "readings_qc.parquet"],
                              "data_batch", f"water-quality monitoring of basin {cfg.basin}, "
                              f"{years}: QC'd readings, daily index, annual products")
    for y in dispatch_years(cfg):
        d = p.dispatch(y)
        if (d / "ledger_transfers.csv").exists():
            ledger.append_transfers_csv(db, d / "ledger_transfers.csv", kind="disbursement")
        if (d / "alerts.csv").exists():
            ledger.append_alerts_csv(db, d / "alerts.csv")
    if p.ratings_csv.exists():
        ledger.append_digests(db, [p.ratings_csv], "data_batch",
                              f"enterprise eco star ratings (生态反哺星级认证) of basin "
                              f"{cfg.basin}, {years}")
    if p.execution_csv.exists():
        ledger.append_digests(db, [p.execution_csv, p.obligations_csv], "data_batch",
                              f"agreement execution rate of basin {cfg.basin}, {years}")
    report = p.report / "index.html"
    if report.exists():
        ledger.append_digest(db, report, "report", f"committee report of basin {cfg.basin}, "
                             f"{years}")
    checkpoint, vkey = out / "checkpoint", out / "verifier.vkey"
    ledger.write_checkpoint(db, signer, cfg.ledger.origin, checkpoint, vkey_out=vkey)
    portal_url = None
    if cfg.portal.enabled:
        from gep.portal.settings import load_settings

        portal_url = load_settings(cfg.path(cfg.portal.config)).public_url
    site = ledger.build_site(db, checkpoint, vkey, out / "site",
                             parties=p.party_file("parties.csv"),
                             title=f"{cfg.basin} sunshine ledger 阳光账本",
                             portal_url=portal_url)
    return {"db": db, "checkpoint": checkpoint, "vkey": vkey, "site": site}
