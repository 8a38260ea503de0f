"""Hypothesis state machine: append / retry / conflicting retry / digest / checkpoint / reopen.

A plain-Python model (a list of canonical entries, a dict of transfers, balances in Decimal)
runs beside the real ledger; after every step the ledger must agree with the model: same size,
the RFC 6962 root computed by the independent oracle, same balances, every checkpoint's root is
the oracle's root at its size, and ``verify`` passes.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from gep.ledger import api, merkle
from gep.ledger.audit import verify_ledger
from gep.ledger.note import Checkpoint, load_verifiers, open_checkpoint
from gep.ledger.records import digest_record, transfer_record
from gep.ledger.store import Item, Ledger, TransferConflictError

from .ledger_helpers import canonical, mth

ACCOUNTS = ["zhejiang", "anhui", "shanyuan", "linxi", "xiahe"]
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1e9"), places=2)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


class LedgerMachine(RuleBasedStateMachine):
    transfers = Bundle("transfers")

    @initialize()
    def setup(self):
        self.dir = Path(tempfile.mkdtemp(prefix="gep-ledger-sm-"))
        self.db = self.dir / "l.db"
        self.skey, self.vkey = api.keygen("gep.example/sm", self.dir / "keys")
        self.verifiers = load_verifiers([self.vkey])
        self.lg = Ledger(self.db)
        self.entries: list[bytes] = []
        self.records: dict[str, dict] = {}
        self.balance: dict[str, list[Decimal]] = {}
        self.checkpoints: list[tuple[int, bytes]] = []
        self.next_id = 0

    def teardown(self):
        if hasattr(self, "lg"):
            self.lg.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def _row(self, tid, amount, frm, to, clause, explanation, year):
        return {"transfer_id": tid, "year": str(year), "clause": clause, "from_account": frm,
                "to_account": to, "amount_cny": str(amount), "explanation": explanation}

    @rule(target=transfers, n=st.integers(1, 4), data=st.data())
    def append_batch(self, n, data):
        rows = []
        for _ in range(n):
            frm, to = data.draw(st.lists(st.sampled_from(ACCOUNTS), min_size=2, max_size=2,
                                         unique=True))
            rows.append(self._row(f"T{self.next_id}", data.draw(amounts), frm, to,
                                  data.draw(texts), data.draw(texts),
                                  data.draw(st.integers(2020, 2024))))
            self.next_id += 1
        kind = data.draw(st.sampled_from(["settlement", "disbursement"]))
        recs = [transfer_record(r, kind) for r in rows]
        results = self.lg.append([Item(r) for r in recs])
        assert [r.status for r in results] == ["appended"] * n
        assert [r.index for r in results] == list(range(len(self.entries),
                                                        len(self.entries) + n))
        for rec in recs:
            self.entries.append(canonical(rec))
            self.records[rec["transfer_id"]] = rec
            amt = Decimal(rec["amount_cny"])
            frm, to = f"{rec['kind']}:{rec['from_account']}", f"{rec['kind']}:{rec['to_account']}"
            self.balance.setdefault(frm, [Decimal(0), Decimal(0)])[0] += amt
            self.balance.setdefault(to, [Decimal(0), Decimal(0)])[1] += amt
        return recs[0]["transfer_id"]

    @rule(tid=transfers)
    def retry_same(self, tid):
        rec = self.records[tid]
        [res] = self.lg.append([Item(dict(rec))])
        assert res.status == "exists"
        assert self.entries[res.index] == canonical(rec)

    @rule(tid=transfers, field=st.sampled_from(["amount_cny", "year", "clause", "to_account",
                                                "explanation", "kind"]))
    def conflicting_retry(self, tid, field):
        rec = dict(self.records[tid])
        if field == "amount_cny":
            rec[field] = f"{Decimal(rec[field]) + Decimal('0.01'):.2f}"
        elif field == "year":
            rec[field] = rec[field] + 1
        elif field == "to_account":
            rec[field] = next(a for a in ACCOUNTS if a not in (rec["to_account"],
                                                               rec["from_account"]))
        elif field == "kind":
            rec[field] = "disbursement" if rec[field] == "settlement" else "settlement"
        else:
            rec[field] = rec[field] + "!"
        before = (self.lg.size, self.lg.root())
        with pytest.raises(TransferConflictError) as exc:
            self.lg.append([Item(rec)])
        assert exc.value.field == field
        assert (self.lg.size, self.lg.root()) == before

    @rule(content=st.binary(max_size=8), covers=st.sampled_from(["day 1", "day 2"]))
    def append_digest(self, content, covers):
        rec = digest_record(hashlib.sha256(content).hexdigest(), len(content), "batch.csv",
                            "data_batch", covers)
        [res] = self.lg.append([Item(rec)])
        if canonical(rec) in self.entries:
            assert res.status == "exists"
            assert self.entries[res.index] == canonical(rec)
        else:
            assert res.status == "appended"
            self.entries.append(canonical(rec))

    @rule()
    def checkpoint(self):
        cp = api.write_checkpoint(self.db, self.skey, "gep.example/sm", self.dir / "checkpoint")
        assert cp == Checkpoint("gep.example/sm", len(self.entries), mth(self.entries))
        note = (self.dir / "checkpoint").read_text(encoding="utf-8")
        assert open_checkpoint(note, self.verifiers)[0] == cp
        self.checkpoints.append((cp.size, cp.root))

    @rule()
    def reopen(self):
        self.lg.close()
        self.lg = Ledger(self.db, create=False)

    @rule(data=st.data())
    def prove(self, data):
        if not self.entries:
            return
        n = len(self.entries)
        i = data.draw(st.integers(0, n - 1))
        merkle.verify_inclusion(i, n, merkle.leaf_hash(self.entries[i]),
                                self.lg.inclusion_proof(i), mth(self.entries))
        m = data.draw(st.integers(0, n))
        merkle.verify_consistency(m, n, mth(self.entries[:m]), mth(self.entries),
                                  self.lg.consistency_proof(m))

    @invariant()
    def agrees_with_model(self):
        if not hasattr(self, "lg"):
            return
        assert self.lg.size == len(self.entries)
        assert [raw for _, raw in self.lg.entries()] == self.entries
        assert self.lg.root() == mth(self.entries)
        got = {a: [Decimal(d).scaleb(-2), Decimal(c).scaleb(-2)]
               for a, (d, c) in self.lg.balances().items()}
        assert got == self.balance
        stored = [(s, r) for _, s, r, _, _ in self.lg.checkpoints()]
        assert sorted(set(stored)) == sorted(set(self.checkpoints))
        for size, root in stored:
            assert root == mth(self.entries[:size])
        report = verify_ledger(self.lg, verifiers=self.verifiers)
        assert report.ok, report.summary()


LedgerMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=15,
                                           deadline=None)
TestLedgerMachine = LedgerMachine.TestCase
