"""Build the portal of a basin from its config: database (migrated), basin geometry, secret,
ledger hook, uploads folder; all found through ``gep.paths.Paths``."""
from __future__ import annotations

import os
from pathlib import Path

from gep.config import Config, load_config
from gep.paths import Paths
from gep.portal import db as dbm
from gep.portal.geo import BasinGeometry
from gep.portal.ledger_hook import NoLedger, SunshineLedger
from gep.portal.services import Portal, sync_parties
from gep.portal.settings import PortalSettings, load_settings


def settings_for(cfg: Config, overrides: dict | None = None) -> PortalSettings:
    return load_settings(cfg.path(cfg.portal.config), overrides)


def secret_path(cfg: Config) -> Path:
    return cfg.path(cfg.ledger.key_dir) / cfg.basin / "portal.secret"


def build_portal(cfg: Config, db_url: str | None = None,
                 settings: PortalSettings | None = None) -> Portal:
    from gep.portal.security import load_or_create_secret

    p = Paths(cfg)
    settings = settings or settings_for(cfg)
    url = db_url or dbm.default_sqlite_url(p.portal_db)
    engine = dbm.make_engine(url)
    dbm.upgrade(engine)
    # acquire writes inputs/parties.gpkg with a normalised party_id column for every source
    geometry = BasinGeometry.from_file(p.parties_gpkg, "party_id")
    ledger_db = p.ledger.db
    portal = Portal(settings=settings, factory=dbm.session_factory(engine), geometry=geometry,
                    secret=load_or_create_secret(secret_path(cfg)), uploads=p.portal_uploads,
                    sink=SunshineLedger(ledger_db) if cfg.ledger.enabled else NoLedger(),
                    ledger_db=ledger_db, performance_csv=p.monitoring.performance,
                    report_url="/committee-report", report_file=p.report.html,
                    engine=engine)
    sync_parties(portal)
    return portal


def operations_context(config_path: str | Path, cfg: Config, db_url: str | None = None,
                       strict: bool = True):
    """The daily-operations context served beside the portal (station uploads, the
    dashboard, the scheduler), or None when the basin has no monitoring. A server database
    (PostgreSQL) is shared: the operations tables are ``ops_*`` with their own migration
    history. SQLite keeps its own file, ``results/<basin>/operations/operations.db``.

    ``strict=False`` (plain ``gep serve``): a basin whose station service cannot start yet
    (no stations table, say) still gets its portal; the reason is logged as a warning."""
    if not cfg.monitoring.enabled:
        return None
    from gep.errors import GepError
    from gep.operations.service import load_context

    shared = db_url if db_url and not db_url.startswith("sqlite") else None
    try:
        return load_context(config_path, db_url=shared)
    except GepError as exc:
        if strict:
            raise
        import logging

        logging.getLogger(__name__).warning(
            "station uploads and the /operations dashboard are off: %s", exc)
        return None


def app_from_env():
    """Uvicorn factory for ``gep serve --workers N`` (each worker builds its own portal)."""
    from gep.portal.app import create_app

    cfg_path = os.environ["GEP_PORTAL_CONFIG"]
    cfg = load_config(cfg_path)
    url = os.environ.get("GEP_PORTAL_DB") or None
    return create_app(build_portal(cfg, url),
                      operations=operations_context(cfg_path, cfg, url, strict=False))
