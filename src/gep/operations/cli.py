"""``gep station add-key|revoke-key``, ``gep daily`` and ``gep operations serve|deliver``
(see docs/operations.md)."""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import threading

from gep.cli_common import add_config, help_action
from gep.errors import InputDataError

log = logging.getLogger("gep.operations")


def _common(p: argparse.ArgumentParser) -> None:
    add_config(p)
    p.add_argument("--db", metavar="URL", help="database URL (default: operations.yaml's "
                   "database, else sqlite results/<basin>/operations/operations.db); "
                   "postgresql://user@host/db works too")
    p.add_argument("--operations", metavar="FILE", help="operations settings (default: "
                   "operations.yaml beside --config; defaults if absent)")


def register(subparsers) -> None:
    st = subparsers.add_parser("station", help="manage station gateways' API keys",
                               description="Keys authenticate a station's uploads "
                               "(Authorization: Bearer <key>). Only their hash is stored.")
    ss = st.add_subparsers(dest="station_command", metavar="ACTION")
    a = ss.add_parser("add-key", help="print a new key for a station (shown once)")
    _common(a)
    a.add_argument("--station", required=True)
    a.set_defaults(func=_add_key)
    r = ss.add_parser("revoke-key", help="revoke a station's keys")
    _common(r)
    r.add_argument("--station", required=True)
    r.add_argument("--prefix", help="revoke only the key starting with this (first 10 "
                   "characters); default: all the station's keys")
    r.set_defaults(func=_revoke_key)
    st.set_defaults(func=help_action(st))

    d = subparsers.add_parser(
        "daily", help="run one day: QA/QC, index, pay/reduce/pause, alerts, ledger",
        description="QA/QC the day's uploaded readings, compute the day's index per section, "
                    "pay, reduce or pause each upstream party's share of the day and withhold "
                    "into escrow, append the rows to dispatch/<year>/disbursements.csv and "
                    "alerts.csv and to the ledger, and send the alerts. Idempotent per date; a "
                    "date already run with other inputs is refused.")
    _common(d)
    d.add_argument("--date", metavar="YYYY-MM-DD", help="local date to run (default: "
                   "yesterday in the basin's time zone)")
    d.add_argument("--entitlement-year", type=int, metavar="YEAR",
                   help="engine year whose payments are dispatched (default: the date's year "
                        "- 1, as the dispatch rule)")
    d.add_argument("--out", metavar="DIR", help="dispatch root (default results/<basin>/"
                   "dispatch); the day is appended to DIR/<year>/")
    d.add_argument("--replace-batch", action="store_true",
                   help="the year's folder was written by `gep dispatch`: set its files aside "
                        "(batch-*.csv) and start the year's daily files")
    d.add_argument("--no-deliver", action="store_true", help="write alerts, send them later")
    d.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes for the QA/QC tests (default 1)")
    d.set_defaults(func=_daily)

    o = subparsers.add_parser("operations", help="the station service: serve, deliver alerts")
    os_ = o.add_subparsers(dest="operations_command", metavar="ACTION")
    s = os_.add_parser("serve", help="serve the upload API and dashboard (uvicorn)")
    _common(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8018)
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="server processes (default 1; 2 on a 2-core machine)")
    s.add_argument("--scheduler", action="store_true",
                   help="also run `gep daily` for yesterday after run_at (local time)")
    s.set_defaults(func=_serve)
    m = os_.add_parser("migrate", help="create or upgrade the operations tables")
    _common(m)
    m.set_defaults(func=_migrate)
    dl = os_.add_parser("deliver", help="retry alert deliveries that are pending or failed")
    _common(dl)
    dl.set_defaults(func=_deliver)
    o.set_defaults(func=help_action(o))


def _ctx(args, **kw):
    from gep.operations.service import load_context

    return load_context(args.config, db_url=args.db, operations_path=args.operations, **kw)


def _add_key(args) -> int:
    from gep.operations.service import add_key

    ctx = _ctx(args)
    try:
        key = add_key(ctx, args.station)
    finally:
        ctx.close()
    print(key)
    print(f"# the key of station {args.station}: shown once, store it in the gateway "
          "(only its hash is kept)")
    return 0


def _revoke_key(args) -> int:
    from gep.operations.service import revoke_keys

    ctx = _ctx(args)
    try:
        n = revoke_keys(ctx, args.station, args.prefix)
    finally:
        ctx.close()
    print(f"revoked {n} key(s) of station {args.station}")
    return 0


def yesterday(tz: str, now: dt.datetime | None = None) -> dt.date:
    import zoneinfo

    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(zoneinfo.ZoneInfo(tz)).date() - dt.timedelta(days=1)


def _daily(args) -> int:
    from gep.operations.daily import run_daily

    ctx = _ctx(args, dispatch_root=args.out)
    try:
        if args.date:
            try:
                d = dt.date.fromisoformat(args.date)
            except ValueError:
                raise InputDataError("<command line>", f"--date '{args.date}' is not a date",
                                     "write YYYY-MM-DD", field="--date") from None
        else:
            d = yesterday(ctx.monitoring.timezone)
        out = run_daily(ctx, d, entitlement_year=args.entitlement_year,
                        allow_batch=args.replace_batch, deliver=not args.no_deliver,
                        workers=args.workers)
    finally:
        ctx.close()
    if out.status == "unchanged":
        print(f"{d}: already run with the same inputs; nothing to do")
        return 0
    for r in out.disbursements:
        print(f"{r[0]} {r[1]}: scheduled {r[2]}, paid {r[3]}, withheld {r[4]}"
              + (f" ({r[6]})" if r[6] else ""))
    print(f"{len(out.alerts)} alert(s); appended to {out.out_dir}")
    if out.deliveries:
        print(f"deliveries: {out.deliveries['sent']} sent, {out.deliveries['failed']} failed")
    return 0


def _migrate(args) -> int:
    ctx = _ctx(args)
    ctx.close()
    print("operations tables are at the newest revision")
    return 0


def _deliver(args) -> int:
    from gep.operations.alerts import deliver_pending

    ctx = _ctx(args)
    try:
        c = deliver_pending(ctx)
    finally:
        ctx.close()
    print(f"{c['sent']} sent, {c['failed']} failed")
    return 0


def start_scheduler(ctx, stop: threading.Event | None = None,
                    poll_seconds: float = 60.0) -> threading.Thread:
    """A daemon thread running the daily run of yesterday once local time passes
    ``run_at``; mount it next to the router in ``gep serve --scheduler``."""
    from gep.operations import db
    from gep.operations.daily import run_daily

    stop = stop or threading.Event()
    run_at = dt.time.fromisoformat(ctx.ops.run_at)

    def loop():
        import zoneinfo

        tz = zoneinfo.ZoneInfo(ctx.monitoring.timezone)
        while not stop.is_set():
            local = dt.datetime.now(dt.UTC).astimezone(tz)
            d = local.date() - dt.timedelta(days=1)
            if local.time() >= run_at:
                with ctx.Session() as s:
                    done = s.get(db.DailyRun, d)
                if done is None or done.status != "done":
                    try:
                        out = run_daily(ctx, d)
                        log.info("daily run %s: %s", d, out.status)
                    except Exception:  # noqa: BLE001 - logged; retried next poll
                        log.exception("daily run %s failed", d)
            stop.wait(poll_seconds)

    t = threading.Thread(target=loop, name="gep-daily-scheduler", daemon=True)
    t.start()
    return t


def _serve(args) -> int:
    import os

    import uvicorn

    from gep.operations.api import ENV, create_app

    ctx = _ctx(args)   # validates the settings and migrates the database once
    if args.scheduler:
        start_scheduler(ctx)
    if args.workers > 1:
        os.environ.update({k: str(v) for k, v in zip(ENV, (args.config, ctx.db_url,
                                                            args.operations or "")) if v})
        uvicorn.run("gep.operations.api:app_from_env", factory=True, host=args.host,
                    port=args.port, workers=args.workers, timeout_keep_alive=30,
                    log_level="info")
    else:
        uvicorn.run(create_app(ctx), host=args.host, port=args.port, timeout_keep_alive=30,
                    log_level="info")
    return 0
