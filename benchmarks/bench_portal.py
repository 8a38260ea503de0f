"""Portal benchmark: patrol submissions per second and p95 latency against a real ``gep serve``
process over loopback, on SQLite and (when PostgreSQL is installed) on a throwaway cluster.

Targets from issue 11, on 2 cores: at least 200 accepted submissions per second with p95 at
most 100 ms, on each database.

    python benchmarks/bench_portal.py                      # 2000 submissions, 16 at a time
    python benchmarks/bench_portal.py -n 5000 -c 64 --workers 2 --db sqlite

The client (asyncio + httpx) runs on the same machine and takes part of the CPU; the figures
are for the whole machine as it is. Each submission carries its own Idempotency-Key and a
track of 3 positions with one finding, like a phone would send.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.portal.helpers: the fixture basin; tests/pg.py

from tests.conftest import make_config  # noqa: E402
from tests.portal.helpers import (  # noqa: E402
    build,
    free_port,
    patrol_body,
    wait_port,
    write_basin,
)


def prepare(basin_config: Path, url: str, chiefs: int) -> list[str]:
    from gep.portal import services as svc
    from gep.portal.schemas import ApplicationIn

    portal = build(basin_config, url)
    tokens = []
    with portal.factory() as db:
        boss = svc.create_user(portal, db, "boss", "password-123", "committee")
        actor = svc.Principal(boss.id, "boss", "committee", None, boss.pseudonym, "bench")
        for i in range(chiefs):
            c = svc.apply_chief(portal, db, ApplicationIn(
                name=f"Chief {i}", phone="13800001111", party_id="west",
                username=f"bench{i:03d}", password="password-123"))
            svc.decide_chief(db, actor, c.id, True)
            tokens.append(portal.tokens.issue(c.user_id, "chief"))
        db.commit()
    portal.engine.dispose()
    return tokens


async def load(base: str, tokens: list[str], n: int, conc: int, tag: str) -> tuple:
    import httpx

    bodies = [patrol_body(km=1 + (i % 30) / 10, x=701_000.0 + 37 * (i % 200), findings=1)
              for i in range(64)]
    lat: list[float] = []
    ok = 0
    sem = asyncio.Semaphore(conc)
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        async def one(i: int):
            nonlocal ok
            async with sem:
                t0 = time.perf_counter()
                r = await client.post("/api/v1/patrols", json=bodies[i % len(bodies)], headers={
                    "Authorization": f"Bearer {tokens[i % len(tokens)]}",
                    "Idempotency-Key": f"{tag}-{i}"})
                lat.append(time.perf_counter() - t0)
                if r.status_code == 201:
                    ok += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
    lat.sort()
    return ok, wall, lat


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children that were waited for (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU of the server and its worker processes (uvicorn --workers spawns children)."""
    total = cpu_seconds(pid)
    for child in Path("/proc").iterdir():
        if child.name.isdigit():
            try:
                stat = (child / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                total += cpu_seconds(int(child.name))
    return total


def run(name: str, basin_config: Path, url: str, args) -> None:
    tokens = prepare(basin_config, url, args.chiefs)
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "gep", "serve", "--config",
                                 str(basin_config), "--db", url, "--port", str(port),
                                 "--workers", str(args.workers)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_port(port)
            base = f"http://127.0.0.1:{port}"
            asyncio.run(load(base, tokens, 200, args.concurrency, "warm"))
            cpu0, client0 = tree_cpu(proc.pid), time.process_time()
            ok, wall, lat = asyncio.run(load(base, tokens, args.n, args.concurrency, "run"))
            server_cpu = tree_cpu(proc.pid) - cpu0
            client_cpu = time.process_time() - client0
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    p95 = lat[int(0.95 * (len(lat) - 1))] * 1000
    print(f"{name:10s} {args.n} submissions, {args.concurrency} concurrent, "
          f"{args.workers} worker(s): {ok} accepted, {ok / wall:7.1f} accepted/s, "
          f"p50 {statistics.median(lat) * 1000:6.1f} ms, p95 {p95:6.1f} ms")
    # Independent of other load on the machine: the CPU the server spent per submission
    # (its database server's CPU not included for PostgreSQL), and what one core sustains.
    per = server_cpu / max(ok, 1)
    print(f"{'':10s} server CPU {per * 1000:.2f} ms per submission (= {1 / per:.0f} per "
          f"second per core); client CPU {client_cpu / max(ok, 1) * 1000:.2f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="submissions to time")
    ap.add_argument("-c", "--concurrency", type=int, default=16,
                    help="submissions in flight (latency >= concurrency / throughput)")
    ap.add_argument("--chiefs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    os.environ.setdefault("MPLBACKEND", "Agg")
    print(f"bench_portal on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="gep-bench-portal-") as tmp:
        tmp = Path(tmp)
        if args.db in ("sqlite", "both"):
            cfg = write_basin(tmp / "sqlite", make_config)
            run("sqlite", cfg, f"sqlite:///{tmp / 'bench.db'}", args)
        if args.db in ("postgresql", "both"):
            from tests import pg  # the tests' throwaway cluster

            if pg.bin_dir() is None:
                print("postgresql: not installed (apt-get install postgresql); skipped")
            else:
                with pg.pg_cluster("gep_bench") as url:
                    cfg = write_basin(tmp / "pg", make_config)
                    run("postgresql", cfg, url, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
