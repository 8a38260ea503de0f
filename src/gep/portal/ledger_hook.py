"""The hook from portal events to the sunshine ledger (transactional outbox).

A change that the public ledger must show (an accepted patrol, a points award, a report's
outcome, a fund-use entry) calls ``record_event`` in the same database transaction; after the
commit ``flush`` appends every pending event to the ledger through ``gep.ledger.api`` and marks
it appended. A crash between the two leaves the event pending, and the next flush (any later
request, or ``gep portal flush-ledger``) appends it; the ledger's digests are keyed by content,
so an event appended twice is recorded once.

An event is the canonical JSON of a small record with pseudonymous ids only (no names, phones,
contacts or photos); the ledger stores its SHA-256, size and a one-line summary, and the portal
serves the JSON itself at ``/ledger/<event>/<ref>.json`` so anyone can re-hash it.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gep.ledger.records import canonical_bytes
from gep.portal.models import LedgerOutbox, utcnow

log = logging.getLogger("gep.portal")


class LedgerSink(Protocol):
    def append(self, docs: Sequence[tuple[bytes, str, str]]) -> list[int]:
        """Append (content, name, covers) documents; return their ledger indices."""


class SunshineLedger:
    """The basin's ledger database (``results/<basin>/ledger/ledger.db``)."""

    def __init__(self, db: str | os.PathLike):
        self.db = Path(db)

    def append(self, docs):
        from gep.ledger import api

        summary = api.append_record_digests(self.db, docs, kind="portal_event")
        return [r.index for r in summary.results]


class NoLedger:
    def append(self, docs):
        return [-1 for _ in docs]


def document_name(event: str, ref: str) -> str:
    return f"portal/{event}/{ref}.json"


def record_event(db: Session, event: str, ref: str, payload: dict, covers: str) -> LedgerOutbox:
    body = canonical_bytes({"event": event, "ref": ref, **payload}).decode("utf-8")
    row = LedgerOutbox(event=event, ref=ref, payload=body, covers=covers)
    db.add(row)
    return row


def flush(factory: sessionmaker[Session], sink: LedgerSink, limit: int = 500,
          on_error: Callable[[Exception], None] | None = None) -> int:
    """Append pending events to the ledger; returns how many were appended."""
    done = 0
    while True:
        with factory() as db:
            rows = db.scalars(select(LedgerOutbox).where(LedgerOutbox.appended_at.is_(None))
                              .order_by(LedgerOutbox.id).limit(limit)
                              .with_for_update(skip_locked=True)).all()
            if not rows:
                db.rollback()
                return done
            docs = [(r.payload.encode("utf-8"), document_name(r.event, r.ref), r.covers)
                    for r in rows]
            try:
                indices = sink.append(docs)
            except Exception as exc:  # the ledger is busy or broken: keep events pending
                db.rollback()
                log.warning("ledger append failed, events stay pending: %s", exc)
                if on_error:
                    on_error(exc)
                return done
            now = utcnow()
            for r, i in zip(rows, indices):
                r.appended_at = now
                r.ledger_index = i if i is not None and i >= 0 else None
            db.commit()
            done += len(rows)
            if len(rows) < limit:
                return done
