"""Publish a run to the sunshine ledger: transfers, disbursements, alerts and data digests,
then a signed checkpoint and the public site.

Appends are idempotent (transfer ids, content-keyed digests and alerts), so re-running the
pipeline adds only what is new; the log only ever grows. Every file is named by
:class:`gep.paths.Paths`; the years come from the settlement schedule
(:mod:`gep.compensation.schedule`, which honours the agreement's ``end_year``).
"""
from __future__ import annotations

from pathlib import Path

from gep.compensation.schedule import dispatch_years, settled_years
from gep.config import Config
from gep.paths import Paths

__all__ = ["dispatch_years", "publish", "settled_years"]  # the years: re-exported


def publish(cfg: Config, paths: Paths | None = None) -> dict[str, Path]:
    from gep import ledger

    p = paths or Paths(cfg)
    out = p.ledger
    out.mkdir(parents=True, exist_ok=True)
    db = out.db
    if db.exists():
        # Never append on top of an altered log: a re-submitted transfer would then be compared
        # with (and the user told to match) the tampered value.
        from gep.ledger.api import require_verified

        require_verified(db, "append to it")
    signer = p.ledger_keys.signer
    if not signer.exists():
        ledger.keygen(cfg.ledger.origin, p.ledger_keys.root)
    _append_gep(db, cfg, p)
    _append_compensation(db, cfg, p)
    _append_committee(db, cfg, p)
    ledger.write_checkpoint(db, signer, cfg.ledger.origin, out.checkpoint,
                            vkey_out=out.verifier_key)
    portal_url = None
    if cfg.portal.enabled:
        from gep.portal.settings import load_settings

        portal_url = load_settings(cfg.path(cfg.portal.config)).public_url
    site = ledger.build_site(db, out.checkpoint, out.verifier_key, out.site,
                             parties=p.parties_csv,
                             title=f"{cfg.basin} sunshine ledger 阳光账本",
                             portal_url=portal_url)
    return {"db": db, "checkpoint": out.checkpoint, "vkey": out.verifier_key, "site": site}


def _years(cfg: Config) -> str:
    return f"{cfg.years[0]}-{cfg.years[-1]}"


def _append_gep(db: Path, cfg: Config, p: Paths) -> None:
    """Digests of the GEP tables and of the split of their changes (the reward's basis)."""
    from gep import ledger

    ledger.append_digests(db, [p.gep_csv, p.increments_csv], "gep_table",
                          f"GEP by party and its increments, basin {cfg.basin}, {_years(cfg)}")
    if p.attribution_csv.exists():
        ledger.append_digests(db, [p.attribution_csv, p.gep_reference_csv], "gep_table",
                              f"GEP changes split into land use and climate (the reward's "
                              f"basis), basin {cfg.basin}, {_years(cfg)}")


def _append_compensation(db: Path, cfg: Config, p: Paths) -> None:
    """The agreement and its settlement, the monitoring data, each dispatch year's
    disbursements and alerts."""
    from gep import ledger

    if cfg.compensation.agreement is not None and p.compensation.transfers.exists():
        ledger.append_digests(db, [cfg.path(cfg.compensation.agreement)], "data_batch",
                              f"compensation agreement of basin {cfg.basin}")
        ledger.append_transfers_csv(db, p.compensation.transfers, kind="settlement")
    mon = p.monitoring
    if mon.readings_qc.exists():
        # (not the ".name.XXXX.csv" temporaries a killed writer may leave behind)
        csvs = sorted(f for f in mon.glob("*.csv") if not f.name.startswith("."))
        ledger.append_digests(db, csvs + [mon.readings_qc],
                              "data_batch", f"water-quality monitoring of basin {cfg.basin}, "
                              f"{_years(cfg)}: QC'd readings, daily index, annual products")
    for y in dispatch_years(cfg):
        d = p.dispatch(y)
        if d.ledger_transfers.exists():
            ledger.append_transfers_csv(db, d.ledger_transfers, kind="disbursement")
        if d.alerts.exists():
            ledger.append_alerts_csv(db, d.alerts)


def _append_committee(db: Path, cfg: Config, p: Paths) -> None:
    """Star ratings, the execution rate and the committee report."""
    from gep import ledger

    if p.ratings_csv.exists():
        ledger.append_digests(db, [p.ratings_csv], "data_batch",
                              f"enterprise eco star ratings (生态反哺星级认证) of basin "
                              f"{cfg.basin}, {_years(cfg)}")
    if p.execution_csv.exists():
        ledger.append_digests(db, [p.execution_csv, p.obligations_csv], "data_batch",
                              f"agreement execution rate of basin {cfg.basin}, {_years(cfg)}")
    if p.report.html.exists():
        ledger.append_digest(db, p.report.html, "report", f"committee report of basin "
                             f"{cfg.basin}, {_years(cfg)}")
