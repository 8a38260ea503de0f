"""``gep serve`` and ``gep portal create-admin|create-user|seed|migrate|flush-ledger``."""
from __future__ import annotations

import argparse
import os
import sys

from gep.cli_common import add_config, basin, help_action
from gep.errors import InputDataError


def _common(p: argparse.ArgumentParser, db: bool = True) -> None:
    add_config(p)
    if db:
        p.add_argument("--db", help="database URL (default: SQLite at "
                       "results/<basin>/portal/portal.db); e.g. "
                       "postgresql://user:pass@127.0.0.1:5432/portal")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="run the citizen portal web service (river chiefs, reports, fund use)",
        description="Serve the portal: pages and the JSON API (/api/v1, /openapi.json). "
                    "See docs/portal.md.")
    _common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--proxy-headers", action="store_true",
                   help="trust X-Forwarded-For from --forwarded-allow-ips (behind a proxy)")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    p.add_argument("--timeout-keep-alive", type=int, default=30,
                   help="seconds an idle keep-alive connection stays open (default 30; keep "
                        "it above the reverse proxy's upstream keepalive timeout)")
    p.add_argument("--scheduler", action="store_true",
                   help="also run `gep daily` for yesterday after local midnight "
                        "(operations.yaml run_at; see docs/operations.md)")
    p.set_defaults(func=_serve)

    portal = subparsers.add_parser("portal", help="portal administration (accounts, demo "
                                   "data, migrations, ledger hook)")
    sub = portal.add_subparsers(dest="portal_command", metavar="ACTION")
    portal.set_defaults(func=help_action(portal))

    q = sub.add_parser("create-admin", help="create a committee account")
    _common(q)
    q.add_argument("--username", required=True)
    q.add_argument("--password-file", help="read the password from this file (default: "
                   "standard input)")
    q.set_defaults(func=_create_admin)

    q = sub.add_parser("create-user", help="create a committee or party officer account")
    _common(q)
    q.add_argument("--username", required=True)
    q.add_argument("--role", choices=("committee", "officer"), required=True)
    q.add_argument("--party", help="party_id of an officer")
    q.add_argument("--password-file")
    q.set_defaults(func=_create_user)

    q = sub.add_parser("seed", help="fill a new portal database with deterministic demo data")
    _common(q)
    q.add_argument("--append-receipts", action="store_true",
                   help="first append this run's dispatch disbursements to the ledger "
                        "(idempotent), so fund use can be checked against them")
    q.set_defaults(func=_seed)

    q = sub.add_parser("migrate", help="bring the database schema up to date (Alembic)")
    _common(q)
    q.set_defaults(func=_migrate)

    q = sub.add_parser("flush-ledger", help="append pending portal events to the ledger")
    _common(q)
    q.set_defaults(func=_flush)


def _portal(a):
    from gep.config import load_config
    from gep.portal.factory import build_portal

    return build_portal(load_config(a.config), a.db)


def _read_password(a) -> str:
    if a.password_file:
        try:
            with open(a.password_file, encoding="utf-8") as fh:
                pw = fh.readline().rstrip("\r\n")
        except OSError as exc:
            raise InputDataError(a.password_file, f"cannot read ({exc.strerror})",
                                 field="password-file", fix="pass a readable file") from None
        src = a.password_file
    else:
        pw = sys.stdin.readline().rstrip("\r\n")
        src = "<stdin>"
    if len(pw) < 8:
        raise InputDataError(src, "password shorter than 8 characters", field="password",
                             fix="give a password of at least 8 characters on one line")
    return pw


def _create(a, role: str, party: str | None) -> int:
    from gep.portal import services as svc

    pw = _read_password(a)
    portal = _portal(a)
    with portal.factory() as db:
        try:
            user = svc.create_user(portal, db, a.username, pw, role, party)
        except svc.PortalError as exc:
            raise InputDataError("<command line>", exc.message, field="username",
                                 fix="choose another username or party") from None
        db.commit()
        print(f"created {role} account {user.username!r} (id {user.id})")
    return 0


def _create_admin(a) -> int:
    return _create(a, "committee", None)


def _create_user(a) -> int:
    return _create(a, a.role, a.party)


def _append_receipts(a) -> None:
    from gep.compensation.schedule import dispatch_years
    from gep.ledger import api

    cfg, p = basin(a)
    if not cfg.ledger.enabled:
        return
    for y in dispatch_years(cfg):
        f = p.dispatch(y).ledger_transfers
        if f.exists():
            print(f"ledger receipts {y}: "
                  f"{api.append_transfers_csv(p.ledger.db, f, 'disbursement')}")


def _seed(a) -> int:
    from gep.portal import seed as seedmod
    from gep.portal import services as svc

    if a.append_receipts:
        _append_receipts(a)
    portal = _portal(a)
    try:
        counts = seedmod.seed(portal)
    except svc.PortalError as exc:
        if exc.status == 409:
            raise InputDataError(a.db or "portal.db", exc.message, field="db",
                                 fix="remove the database or pass --db with a new one"
                                 ) from None
        raise InputDataError(a.config, f"demo data refused: {exc.message}", field="portal",
                             fix="check the basin's inputs/parties.gpkg") from None
    finally:
        portal.engine.dispose()
    print(f"seeded demo portal: {counts}; accounts 'committee', 'officer_<party>', "
          f"'chief01'..'chief10', password '{seedmod.DEMO_PASSWORD}' (demo only)")
    return 0


def _migrate(a) -> int:
    from gep.portal import db as dbm

    portal = _portal(a)
    print(f"schema at revision {dbm.current_revision(portal.engine)}")
    return 0


def _flush(a) -> int:
    print(f"appended {_portal(a).flush_ledger()} pending event(s) to the ledger")
    return 0


def _serve(a) -> int:
    import uvicorn

    from gep.config import load_config

    cfg_path = os.path.abspath(a.config)
    load_config(cfg_path)  # fail fast with a one-line error
    os.environ["GEP_PORTAL_CONFIG"] = cfg_path
    if a.db:
        os.environ["GEP_PORTAL_DB"] = a.db
    else:
        os.environ.pop("GEP_PORTAL_DB", None)
    if a.workers == 1:
        _portal(a)  # migrate once and report config problems before binding the port
    if a.scheduler:
        from gep.operations.cli import start_scheduler
        from gep.portal.factory import operations_context

        ctx = operations_context(cfg_path, load_config(cfg_path), a.db)
        if ctx is None:
            raise InputDataError(a.config, "monitoring is disabled, so there is no daily run "
                                 "to schedule", field="monitoring.enabled",
                                 fix="enable monitoring or drop --scheduler")
        start_scheduler(ctx)  # a thread of this (supervising) process, whatever --workers
    uvicorn.run("gep.portal.factory:app_from_env", factory=True, host=a.host, port=a.port,
                workers=a.workers, proxy_headers=a.proxy_headers,
                forwarded_allow_ips=a.forwarded_allow_ips, log_level="info",
                timeout_keep_alive=a.timeout_keep_alive,
                access_log=False)
    return 0
