"""Alert delivery: e-mail (SMTP, ``smtplib``) and webhook (JSON POST, ``httpx``), retried
with exponential back-off, each attempt's outcome kept in ``ops_alert_deliveries``.

A delivery that still fails after ``alerts.attempts`` tries is marked ``failed`` with its last
error; the next daily run (or ``gep operations deliver``) tries failed ones again, so an alert
reaches a receiver that was down for a while. Nothing here raises: the day's money decision
never waits for a mail server.
"""
from __future__ import annotations

import json
import os
import smtplib
import time
from email.message import EmailMessage

from sqlalchemy import select

from gep.operations import db
from gep.operations.settings import AlertSettings

ALERT_FIELDS = ("date", "party_id", "cause", "section", "station", "indicator", "value",
                "limit", "unit", "n_valid", "day_withheld_cny", "message")


def recipients(cfg: AlertSettings) -> list[tuple[str, str]]:
    out = []
    if cfg.smtp is not None:
        out += [("email", a) for a in cfg.smtp.to]
    out += [("webhook", w.url) for w in cfg.webhooks]
    return out


def payload(alert: db.Alert) -> dict:
    d = {f: getattr(alert, f) for f in ALERT_FIELDS}
    d["date"] = alert.date.isoformat()
    return {"type": "gep.alert", "id": alert.id, "alert": d}


def _subject(alert: db.Alert) -> str:
    return (f"[gep] {alert.date} {alert.party_id}: {alert.cause} — payment paused "
            f"({alert.day_withheld_cny} CNY withheld) / 当日补偿暂停")


def _body(alert: db.Alert) -> str:
    lines = [f"{f}: {getattr(alert, f)}" for f in ALERT_FIELDS]
    return ("An anomaly paused the day's payment; the money is withheld into escrow.\n"
            "监测异常，当日补偿资金暂停拨付并转入托管账户。\n\n" + "\n".join(lines) + "\n")


def send_email(cfg: AlertSettings, to: str, alert: db.Alert) -> None:
    smtp = cfg.smtp
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, to, _subject(alert)
    msg.set_content(_body(alert))
    with smtplib.SMTP(smtp.host, smtp.port, timeout=cfg.timeout_seconds) as s:
        if smtp.starttls:
            s.starttls()
        if smtp.username:
            s.login(smtp.username, os.environ.get(smtp.password_env or "", ""))
        s.send_message(msg)


def send_webhook(cfg: AlertSettings, url: str, alert: db.Alert) -> None:
    import httpx

    r = httpx.post(url, content=json.dumps(payload(alert), ensure_ascii=False).encode(),
                   headers={"Content-Type": "application/json"},
                   timeout=cfg.timeout_seconds)
    if r.status_code >= 300:
        raise RuntimeError(f"HTTP {r.status_code} from the webhook")


def deliver_one(cfg: AlertSettings, delivery: db.Delivery, alert: db.Alert,
                sleep=time.sleep) -> None:
    """Try up to ``cfg.attempts`` times, waiting backoff, 2*backoff, ... between tries."""
    send = send_email if delivery.channel == "email" else send_webhook
    for k in range(cfg.attempts):
        if k:
            sleep(cfg.backoff_seconds * 2 ** (k - 1))
        delivery.attempts += 1
        try:
            send(cfg, delivery.recipient, alert)
        except Exception as exc:  # noqa: BLE001 - any failure is logged, never raised
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            delivery.status = "failed"
        else:
            delivery.status, delivery.last_error = "sent", ""
            break
        finally:
            delivery.updated_at = db.utcnow()


def deliver_pending(ctx, sleep=time.sleep) -> dict[str, int]:
    """Deliver every pending or failed delivery; returns counts by final status."""
    cfg = ctx.ops.alerts
    counts = {"sent": 0, "failed": 0}
    with ctx.Session() as s:
        todo = s.execute(select(db.Delivery, db.Alert).join(
            db.Alert, db.Alert.id == db.Delivery.alert_id).where(
            db.Delivery.status != "sent").order_by(db.Delivery.id)).all()
    for delivery, alert in todo:
        deliver_one(cfg, delivery, alert, sleep=sleep)
        with ctx.Session.begin() as s:
            s.merge(delivery)
        counts[delivery.status] += 1
    return counts
