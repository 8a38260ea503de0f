"""Ledger benchmark: appends per second (batched and one per transaction) and full verification.

Targets from issue 5: at least 5,000 appends/s batched, and a full ``verify`` (every leaf hash,
every tree node, every record, every balance, checkpoints) of 1,000,000 entries under 30 s.

    python benchmarks/bench_ledger.py                 # 1,000,000 entries for the verify run
    python benchmarks/bench_ledger.py --entries 100000 --dir /tmp/bench

The database lives in a temporary directory (``--dir`` to choose one on the disk you care
about: ``synchronous=FULL`` makes every commit wait for the disk).
"""
from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from gep.ledger.api import keygen, write_checkpoint
from gep.ledger.note import load_verifiers
from gep.ledger.records import transfer_record
from gep.ledger.store import Item, Ledger
from gep.ledger.audit import verify_ledger

ACCOUNTS = ["zhejiang", "anhui", "shanyuan", "linxi", "yunling", "xiahe", "nanzhou", "escrow"]


def transfers(start: int, count: int, tag: str) -> list[Item]:
    out = []
    for i in range(start, start + count):
        frm = ACCOUNTS[i % len(ACCOUNTS)]
        to = ACCOUNTS[(i * 7 + 3) % len(ACCOUNTS)]
        if to == frm:
            to = ACCOUNTS[(i + 1) % len(ACCOUNTS)]
        row = {"transfer_id": f"{tag}-{i:08d}", "year": str(2020 + i % 5),
               "clause": "daily disbursement", "from_account": frm, "to_account": to,
               "amount_cny": f"{1 + i % 100000}.{i % 100:02d}",
               "explanation": f"第 {i} 笔日常拨付 daily disbursement {i}"}
        out.append(Item(transfer_record(row, "disbursement")))
    return out


def bench_batched(db: Path, n: int, batch: int) -> float:
    items = transfers(0, n, "B")
    with Ledger(db) as lg:
        t = time.perf_counter()
        for k in range(0, n, batch):
            lg.append(items[k:k + batch])
        return n / (time.perf_counter() - t)


def bench_single(db: Path, n: int) -> float:
    items = transfers(0, n, "S")
    with Ledger(db) as lg:
        t = time.perf_counter()
        for it in items:
            lg.append([it])
        return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=1_000_000, help="size of the verify run")
    ap.add_argument("--batched", type=int, default=50_000, help="transfers for the batched run")
    ap.add_argument("--batch-size", type=int, default=1_000)
    ap.add_argument("--single", type=int, default=1_000, help="transfers, one per commit")
    ap.add_argument("--dir", help="directory for the databases (default: a temp dir)")
    a = ap.parse_args()
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="gep-bench-ledger-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"databases in {work}")

    rate = bench_batched(work / "batched.db", a.batched, a.batch_size)
    print(f"appends, batched ({a.batch_size}/transaction): {rate:,.0f} /s "
          f"({a.batched:,} transfers)  target >= 5,000 /s")
    rate = bench_single(work / "single.db", a.single)
    print(f"appends, one per transaction (fsync each):  {rate:,.0f} /s ({a.single:,} transfers)")

    db = work / "verify.db"
    t = time.perf_counter()
    with Ledger(db) as lg:
        have = lg.size
        chunk = 20_000
        for k in range(have, a.entries, chunk):
            lg.append(transfers(k, min(chunk, a.entries - k), "V"))
    build = time.perf_counter() - t
    print(f"built {a.entries:,} entries in {build:.1f} s ({(a.entries - have) / build:,.0f} /s)"
          if a.entries > have else f"reusing {have:,} entries")
    skey, vkey = keygen("bench.example/ledger", work / "keys", force=True)
    t = time.perf_counter()
    write_checkpoint(db, skey, "bench.example/ledger", work / "checkpoint")
    print(f"checkpoint (includes a full verify): {time.perf_counter() - t:.1f} s")
    with Ledger(db, create=False) as lg:
        t = time.perf_counter()
        report = verify_ledger(lg, (work / "checkpoint").read_text(), load_verifiers([vkey]))
        elapsed = time.perf_counter() - t
        assert report.ok, report.summary()
        t = time.perf_counter()
        for i in range(0, report.size, max(1, report.size // 1000)):
            lg.inclusion_proof(i)
        proofs = (time.perf_counter() - t) / len(range(0, report.size,
                                                       max(1, report.size // 1000)))
    print(f"full verify of {report.size:,} entries: {elapsed:.1f} s  target < 30 s")
    print(f"inclusion proof from the store: {proofs * 1000:.2f} ms each")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database size {db.stat().st_size / 1e6:,.0f} MB; peak memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
