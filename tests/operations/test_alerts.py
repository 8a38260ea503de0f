"""Alerts reach a local SMTP server (aiosmtpd) and a local webhook receiver (http.server) on
loopback; a receiver that is down is retried with exponential back-off, logged as failed, and
reached by a later delivery round once it is up."""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml
from sqlalchemy import select

from gep.operations import db
from gep.operations.alerts import deliver_pending
from gep.operations.daily import run_daily
from gep.operations.service import load_context

from .conftest import UPSTREAM, YEAR
from .replay import FAR_FUTURE


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd API
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    c = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    c.start()
    yield c, inbox
    c.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Receiver:
    def __init__(self, port=0):
        got = self.got = []

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers["Content-Length"])
                got.append((self.headers["Content-Type"], json.loads(self.rfile.read(n))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _ops_yaml(path, smtp_port, hooks, attempts=3):
    path.write_text(yaml.safe_dump({"alerts": {
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "sender": "gep@station.test",
                 "to": ["duty@basin.test"]},
        "webhooks": [{"url": u} for u in hooks],
        "attempts": attempts, "backoff_seconds": 0.5, "timeout_seconds": 2}}))
    return path


def test_alerts_are_mailed_and_posted(basin, tmp_path, smtp):
    controller, inbox = smtp
    rx = _Receiver()
    try:
        ops = _ops_yaml(tmp_path / "operations.yaml", controller.port,
                        [f"http://127.0.0.1:{rx.port}/hook"])
        ctx = load_context(basin, db_url=f"sqlite:///{tmp_path / 'a.db'}",
                           operations_path=ops)
        out = run_daily(ctx, dt.date(YEAR, 5, 1), now=FAR_FUTURE)   # no data: 3 alerts
        assert out.deliveries == {"sent": 6, "failed": 0}
        assert len(inbox.messages) == 3
        rcpt, raw = inbox.messages[0]
        assert rcpt == ["duty@basin.test"]
        msg = message_from_bytes(raw)
        subject = str(make_header(decode_header(msg["Subject"])))
        assert "2023-05-01" in subject and "no_data" in subject
        assert {g[1]["alert"]["party_id"] for g in rx.got} == set(UPSTREAM)
        assert all(g[0] == "application/json" for g in rx.got)
        first = rx.got[0][1]["alert"]
        assert first["day_withheld_cny"] == next(
            r[4] for r in out.disbursements if r[1] == first["party_id"])
        with ctx.Session() as s:
            rows = s.execute(select(db.Delivery)).scalars().all()
        assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
        ctx.close()
    finally:
        rx.close()


def test_a_receiver_that_is_down_is_retried_with_back_off(basin, tmp_path, smtp):
    controller, _ = smtp
    port = _free_port()   # nothing listens there
    ops = _ops_yaml(tmp_path / "operations.yaml", controller.port,
                    [f"http://127.0.0.1:{port}/hook"], attempts=3)
    ctx = load_context(basin, db_url=f"sqlite:///{tmp_path / 'b.db'}", operations_path=ops)
    run_daily(ctx, dt.date(YEAR, 5, 1), now=FAR_FUTURE, deliver=False)
    waits = []
    counts = deliver_pending(ctx, sleep=waits.append)
    assert counts == {"sent": 3, "failed": 3}
    assert waits == [0.5, 1.0] * 3            # back-off doubles between the 3 tries
    with ctx.Session() as s:
        hooks = s.execute(select(db.Delivery).where(db.Delivery.channel == "webhook")
                          ).scalars().all()
    assert all(h.status == "failed" and h.attempts == 3 for h in hooks)
    assert all("Connect" in h.last_error for h in hooks)
    # the receiver comes up: the next round delivers what failed, and only that
    rx = _Receiver(port)
    try:
        assert deliver_pending(ctx, sleep=waits.append) == {"sent": 3, "failed": 0}
        assert len(rx.got) == 3
        with ctx.Session() as s:
            hooks = s.execute(select(db.Delivery).where(db.Delivery.channel == "webhook")
                              ).scalars().all()
        assert all(h.status == "sent" and h.attempts == 4 for h in hooks)
    finally:
        rx.close()
        ctx.close()


def test_operations_settings_errors_name_the_key(basin, tmp_path):
    from gep.errors import ConfigError

    bad = tmp_path / "operations.yaml"
    bad.write_text(yaml.safe_dump({"alerts": {"smtp": {"to": ["not-an-address"]}}}))
    with pytest.raises(ConfigError, match=r"alerts\.smtp\.to.*not an e-mail address"):
        load_context(basin, db_url=f"sqlite:///{tmp_path / 'c.db'}", operations_path=bad)
    bad.write_text(yaml.safe_dump({"alerts": {"webhooks": [{"url": "ftp://x"}]}}))
    with pytest.raises(ConfigError, match="not an http"):
        load_context(basin, db_url=f"sqlite:///{tmp_path / 'c.db'}", operations_path=bad)
