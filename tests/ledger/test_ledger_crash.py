"""Crash safety: a child process appending transfers is killed with SIGKILL at random points.

To keep 200 runs cheap, one helper process imports only ``gep.ledger`` (which loads no numpy,
pandas or rasterio) and forks a fresh child per run, like a fork server: each child is a real
process that opens the ledger, appends batches of new transfers mixed with retries of earlier
ones, and logs each committed batch to a file (the kernel keeps what was written, whatever
happens to the process). The test kills the child with SIGKILL after a random delay (sometimes
while it is still opening the database) and then checks that:

* the database opens, passes SQLite's integrity check and ``verify`` (every hash and balance);
* every batch the child logged as committed is there;
* every batch of the run is wholly present or wholly absent, present batches form a prefix,
  and at most the one batch in flight is present without having been logged;
* no transfer id occurs twice, and retries of earlier transfers added nothing.

Runs are grouped 20 to a database, so each file survives 20 kills while ``verify`` stays fast.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from gep.ledger.audit import verify_ledger
from gep.ledger.store import Ledger

RUNS = int(os.environ.get("GEP_LEDGER_CRASH_RUNS", "200"))
RUNS_PER_DB = 20

HELPER = r"""
import os, random, sys
from gep.ledger import Ledger, Item
from gep.ledger.records import transfer_record

assert not {"numpy", "pandas", "rasterio"} & set(sys.modules), "gep.ledger imports too much"


def child(db, log, run, seed, prev):
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    say = lambda s: os.write(fd, (s + "\n").encode())
    rng = random.Random(seed)
    lg = Ledger(db)
    say("ready")
    k = 0
    while True:
        size = rng.randint(1, 6)
        items = []
        for j in range(size):
            row = {"transfer_id": f"r{run}-b{k}-{j}", "year": str(2020 + j % 5),
                   "clause": "c", "from_account": "zhejiang",
                   "to_account": ["anhui", "shanyuan"][j % 2],
                   "amount_cny": f"{rng.randint(1, 10**6)}.{rng.randint(0, 99):02d}",
                   "explanation": "crash test"}
            items.append(Item(transfer_record(row, "settlement")))
        if rng.random() < 0.5 and prev != "-":  # a retry of an earlier transfer: 'exists'
            items.append(Item(transfer_record(
                {"transfer_id": f"r{run - 1}-b0-0", "year": "2020", "clause": "c",
                 "from_account": "zhejiang", "to_account": "anhui", "amount_cny": prev,
                 "explanation": "crash test"}, "settlement")))
        lg.append(items)
        say(f"committed {k} {size}")
        k += 1


pid = None
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "run":
        pid = os.fork()
        if pid == 0:
            try:
                child(cmd[1], cmd[2], int(cmd[3]), int(cmd[4]), cmd[5])
            finally:
                os._exit(3)
        print(f"pid {pid}", flush=True)
    elif cmd[0] == "reap":
        _, status = os.waitpid(pid, 0)
        print(f"status {status}", flush=True)
"""


def _plan_sizes(seed: int, batches: int) -> list[int]:
    """Replay the child's random choices to know the size of each of its batches."""
    rng = random.Random(seed)
    sizes = []
    for _ in range(batches):
        size = rng.randint(1, 6)
        for _ in range(size):
            rng.randint(1, 10**6)
            rng.randint(0, 99)
        sizes.append(size)
        rng.random()
    return sizes


def _wait_ready(log, what="ready", timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if log.exists() and what in log.read_text():
            return
        time.sleep(0.0005)
    raise AssertionError(f"child never logged {what!r}")


@pytest.mark.slow
def test_sigkill_during_appends(tmp_path):
    master = random.Random(20240611)
    helper = subprocess.Popen([sys.executable, "-c", HELPER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    total_ids = 0
    unlogged_commits = 0
    try:
        for run in range(RUNS):
            db = tmp_path / f"crash{run // RUNS_PER_DB}.db"
            if run % RUNS_PER_DB == 0:
                seen: dict[str, dict] = {}
                prev_amount = "-"
            log = tmp_path / f"run{run}.log"
            seed = master.randrange(1 << 30)
            helper.stdin.write(f"run {db} {log} {run} {seed} {prev_amount}\n")
            helper.stdin.flush()
            pid = int(helper.stdout.readline().split()[1])
            if run % 10 == 0:  # kill while the child may still be opening (or creating) the db
                time.sleep(master.uniform(0, 0.004))
            else:
                # Odd runs first wait for a commit, so that a loaded machine (where a child
                # may not reach its first commit within the random delay) still kills
                # children in the middle of later appends, not only while they start.
                _wait_ready(log, "committed" if run % 2 else "ready")
                time.sleep(master.uniform(0, 0.015))
            os.kill(pid, signal.SIGKILL)
            helper.stdin.write("reap\n")
            helper.stdin.flush()
            status = int(helper.stdout.readline().split()[1])
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
            lines = log.read_text().splitlines() if log.exists() else []
            logged = [ln.split() for ln in lines if ln.startswith("committed")]

            with Ledger(db, create=True) as lg:
                assert lg.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                report = verify_ledger(lg)
                assert report.ok, f"run {run}: {report.summary()}"
                new = [json.loads(raw) for _, raw in lg.entries(len(seen))]
                assert lg.size == len(seen) + len(new)
            batches: dict[int, set[int]] = {}
            for rec in new:
                tid = rec["transfer_id"]
                assert tid not in seen, f"run {run}: {tid} written twice"
                seen[tid] = rec
                r, b, j = tid.split("-")
                assert r == f"r{run}", f"run {run}: a retry of {tid} was appended again"
                batches.setdefault(int(b[1:]), set()).add(int(j))
            present = sorted(batches)
            assert present == list(range(len(present))), f"run {run}: batches {present}"
            sizes = _plan_sizes(seed, len(present))
            for b in present:
                assert batches[b] == set(range(sizes[b])), f"run {run}: batch {b} is partial"
            for _, k, size in logged:
                assert len(batches.get(int(k), ())) == int(size), f"run {run}: lost batch {k}"
            assert len(present) - len(logged) in (0, 1)
            unlogged_commits += len(present) - len(logged)
            total_ids += len(new)
            first = seen.get(f"r{run}-b0-0")
            prev_amount = first["amount_cny"] if first else "-"
    finally:
        helper.kill()
        helper.wait()
    assert total_ids >= RUNS // 2  # the children did real work (every odd run commits)
    print(f"{RUNS} kills, {total_ids} transfers, {unlogged_commits} killed between commit "
          "and log")
