"""Daily operations at the issue-18 scale: 100 stations x 20 indicators, hourly (48,000
readings a day), against a real uvicorn on loopback, on SQLite and on PostgreSQL.

Prints, per database:
- burst: every station posts one hour's batch (20 readings) at the same instant; latency
  p50 / p95 / max over several hours, and the readings stored (no loss);
- backlog: a whole day from every station (2,400 batches) posted as fast as the server
  takes them; seconds;
- daily: ``run_daily`` for that day (QA/QC with look-back, index, dispatch, ledger); seconds.

Targets (issue 18): p95 <= 200 ms, backlog <= 60 s, daily <= 10 s on 2 cores. The load
average is printed with each figure: the machine may be shared.

The load generator shares the machine with the server: by default it sends pre-encoded
requests over raw sockets (~0.2 ms of CPU each); ``--client httpx`` is the first, costlier one.

    python benchmarks/bench_operations.py [--db sqlite postgresql] [--hours 6]
        [--workers 2] [--server-workers N] [--client raw|httpx]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
N_STATIONS, N_IND = 100, 20
DAY = dt.date(2023, 6, 10)
TZ = "Asia/Shanghai"
EXTRA = 12  # indicators added to the shipped 8


def build_basin(tmp: Path) -> Path:
    """A config copy with 100 stations and 20 indicators; transfers for the year before."""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import make_config  # tests/conftest.py

    cfg = make_config(tmp, monitoring={"stations": str(tmp / "stations.csv")})
    mon = yaml.safe_load((tmp / "config" / "monitoring.yaml").read_text())
    base = list(mon["indicators"])
    for k in range(EXTRA):
        src = mon["indicators"][base[k % 4]]
        mon["indicators"][f"x{k:02d}"] = {**src, "name": f"x{k:02d}", "name_zh": f"x{k:02d}"}
    (tmp / "config" / "monitoring.yaml").write_text(yaml.safe_dump(mon, allow_unicode=True))
    rows = ["station,party_id,section,role,lon,lat"]
    named = [("shanyuan_outlet", "shanyuan", "outlet"), ("linxi_outlet", "linxi", "outlet"),
             ("yunling_outlet", "yunling", "outlet"), ("xiahe_outlet", "xiahe", "outlet"),
             ("nanzhou_outlet", "nanzhou", "outlet"), ("boundary", "", "section")]
    for i in range(N_STATIONS):
        if i < len(named):
            sec, party, role = named[i]
        else:
            sec, party, role = f"sec{i:03d}", "", "section"
        rows.append(f"s{i:03d},{party},{sec},{role},118.{i:03d},29.5")
    (tmp / "stations.csv").write_text("\n".join(rows) + "\n")
    from gep.config import load_config
    from gep.paths import Paths

    p = Paths(load_config(cfg))
    p.compensation.mkdir(parents=True, exist_ok=True)
    (p.compensation / "transfers.csv").write_text(
        "transfer_id,year,clause,from_account,to_account,amount_cny,explanation\n"
        "a,2022,base,central,shanyuan,365000.00,x\nb,2022,base,central,linxi,219000.00,x\n"
        "c,2022,base,central,yunling,146000.01,x\n")
    return cfg


def indicators(cfg: Path) -> list[tuple[str, str]]:
    mon = yaml.safe_load((cfg.parent / "monitoring.yaml").read_text())
    return [(k, v["unit"]) for k, v in mon["indicators"].items()]


LEVEL = {"mg/L": 2.0, "pH": 7.5, "NTU": 5.0, "m3/s": 80.0}


def batch(station: str, day: dt.date, hour: int, inds, rng) -> dict:
    t = dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.timezone(dt.timedelta(
        hours=8))).isoformat()
    return {"batch_id": f"{station}-{day}-{hour:02d}", "readings": [
        {"timestamp": t, "indicator": i, "unit": u,
         "value": round(LEVEL.get(u, 1.0) * (1 + 0.05 * rng.standard_normal()), 4)}
        for i, u in inds]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(cfg: Path, url: str, port: int, workers: int) -> subprocess.Popen:
    """``gep operations serve`` in its own process(es), as a station runs it."""
    proc = subprocess.Popen([sys.executable, "-m", "gep", "operations", "serve", "--config",
                             str(cfg), "--db", url, "--port", str(port), "--workers",
                             str(workers)], env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/operations", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def request_bytes(port: int, station: str, body: dict, key: str) -> bytes:
    """One upload as the bytes a gateway sends (HTTP/1.1, its own connection)."""
    data = json.dumps(body).encode()
    return (f"POST /api/v1/stations/{station}/readings HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data


async def post_raw(port, jobs, keys, concurrency):
    """The load generator: each upload on a new connection, as a gateway posting each hour
    does; the requests are encoded beforehand and the answers only read up to their status,
    so that the client (on the same 2 cores here, on 100 gateways in reality) takes as little
    CPU as it can."""
    payloads = [(s, request_bytes(port, s, b, keys[s])) for s, b in jobs]
    lat, codes, retries = [], [], []
    sem = asyncio.Semaphore(concurrency)

    async def one(payload):
        async with sem:
            t0 = time.perf_counter()
            for attempt in range(5):   # a gateway re-sends on a dropped connection
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(payload)
                    answer = await reader.read()
                    writer.close()
                    status = int(answer.split(b" ", 2)[1])
                    break
                except (OSError, IndexError, ValueError):
                    retries.append(1)
                    await asyncio.sleep(0.1 * 2 ** attempt)
            else:
                codes.append(0)
                return
            lat.append(time.perf_counter() - t0)
            codes.append(201 if status in (200, 201) else status)
    await asyncio.gather(*(one(p) for _s, p in payloads))
    return lat, codes, len(retries)


async def post_httpx(port, jobs, keys, concurrency):
    """The load generator of the first measurements (httpx; ~2-3 ms of client CPU per
    request, on the cores the server needs)."""
    import httpx

    lat, codes, retries = [], [], []
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                 timeout=120) as c:
        async def one(station, body):
            async with sem:
                t0 = time.perf_counter()
                for attempt in range(5):   # a gateway re-sends on a dropped connection
                    try:
                        r = await c.post(f"/api/v1/stations/{station}/readings", json=body,
                                         headers={"Authorization": f"Bearer {keys[station]}"})
                        break
                    except httpx.TransportError:
                        retries.append(1)
                        await asyncio.sleep(0.1 * 2 ** attempt)
                else:
                    codes.append(0)
                    return
                lat.append(time.perf_counter() - t0)
                codes.append(201 if r.status_code in (200, 201) else r.status_code)
        await asyncio.gather(*(one(s, b) for s, b in jobs))
    return lat, codes, len(retries)


CLIENTS = {"raw": post_raw, "httpx": post_httpx}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants so far (Linux /proc): the
    server's work, whatever else the machine is doing."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                f = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(d.name)] = (int(f[1]), (int(f[11]) + int(f[12])) / tick)
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo += [c for c, (ppid, _) in stats.items() if ppid == p and c not in tree]
    return sum(stats[p][1] for p in tree if p in stats)


def load() -> str:
    return "load %.1f %.1f %.1f" % os.getloadavg()


def count(ctx) -> int:
    from sqlalchemy import func, select

    from gep.operations import db

    with ctx.Session() as s:
        return s.execute(select(func.count()).select_from(db.Reading)).scalar()


def uploads(kind, ctx, proc, port, stations, inds, keys, rng, hours, L, client, n_proc):
    """The burst (``hours`` hours, all stations at once) and the backlog (the rest of the
    day); prints latency, loss and the server's CPU."""
    post_all = CLIENTS[client]
    lat_all, bad, n_retry = [], 0, 0
    cpu0, client0 = cpu_seconds(proc.pid), time.process_time()
    for h in range(hours):
        jobs = [(s, batch(s, DAY, h, inds, rng)) for s in stations]
        lat, codes, rt = asyncio.run(post_all(port, jobs, keys, concurrency=N_STATIONS))
        lat_all += lat
        n_retry += rt
        bad += sum(c != 201 for c in codes)
    stored = count(ctx) - L * N_STATIONS * N_IND * 24
    cpu_burst = cpu_seconds(proc.pid) - cpu0
    client_ms = (time.process_time() - client0) * 1000 / max(len(lat_all), 1)
    lat_ms = np.array(lat_all) * 1000
    print(f"[{kind}] burst: {len(lat_all)} batches of {N_IND} readings, "
          f"{N_STATIONS} at once: p50 {np.percentile(lat_ms, 50):.0f} ms, p95 "
          f"{np.percentile(lat_ms, 95):.0f} ms, max {lat_ms.max():.0f} ms; re-sent "
          f"{n_retry}, refused {bad}; stored {stored} of {hours * N_STATIONS * N_IND}; "
          f"server CPU {cpu_burst * 1000 / len(lat_all):.1f} ms per batch, client "
          f"({client}) {client_ms:.1f} ms; {n_proc} server process(es) ({load()})",
          flush=True)
    # backlog: the rest of the day from every station at once
    jobs = [(s, batch(s, DAY, h, inds, rng)) for h in range(hours, 24) for s in stations]
    t0, cpu0 = time.perf_counter(), cpu_seconds(proc.pid)
    lat, codes, rt = asyncio.run(post_all(port, jobs, keys, concurrency=N_STATIONS))
    took = time.perf_counter() - t0
    cpu = cpu_seconds(proc.pid) - cpu0
    day_rows = count(ctx) - L * N_STATIONS * N_IND * 24
    scale = 24 / (24 - hours)
    print(f"[{kind}] backlog: {len(jobs)} batches ({len(jobs) * N_IND} readings) in "
          f"{took:.1f} s -> a full day ~{took * scale:.1f} s; re-sent {rt}, refused "
          f"{sum(c != 201 for c in codes)}; day holds {day_rows} of "
          f"{24 * N_STATIONS * N_IND}; server CPU {cpu * scale:.1f} s for a full day "
          f"({load()})", flush=True)


def run(kind: str, hours: int, pg_url: str | None, workers: int, client: str = "raw",
        server_workers: int | None = None) -> None:
    from gep.operations.daily import lookback_days, run_daily
    from gep.operations.service import accept_batch, add_key, load_context

    tmp = Path(tempfile.mkdtemp(prefix="gep-bench-ops-"))
    try:
        cfg = build_basin(tmp)
        url = f"sqlite:///{tmp / 'ops.db'}" if kind == "sqlite" else pg_url
        ctx = load_context(cfg, db_url=url)
        inds = indicators(cfg)
        assert len(inds) == N_IND
        stations = list(ctx.stations["station"])
        keys = {s: add_key(ctx, s) for s in stations}
        rng = np.random.default_rng(1)
        # look-back days for the QA/QC window, loaded in-process (not timed)
        L = lookback_days(ctx.monitoring)
        for k in range(L, 0, -1):
            d = DAY - dt.timedelta(days=k)
            for s in stations:
                rows = [r for h in range(24) for r in batch(s, d, h, inds, rng)["readings"]]
                res = accept_batch(ctx, s, f"{s}-{d}", rows)
                assert res.status == 201, res.body
        port = free_port()
        proc = serve(cfg, url, port, server_workers or workers)
        try:
            uploads(kind, ctx, proc, port, stations, inds, keys, rng, hours, L, client,
                    server_workers or workers)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        now = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
        for d, engine in ((DAY, ctx.monitoring.qc_engine), (DAY - dt.timedelta(days=1),
                                                             "vectorized")):
            ctx.monitoring = ctx.monitoring.model_copy(update={"qc_engine": engine})
            t0, c0 = time.perf_counter(), time.process_time()
            out = run_daily(ctx, d, now=now, deliver=False, workers=workers)
            took, cpu = time.perf_counter() - t0, time.process_time() - c0
            print(f"[{kind}] daily: {d} with {out.n_readings} readings in its window "
                  f"({L} look-back days), qc_engine {engine}, {workers} QA/QC process(es), "
                  f"{len(out.alerts)} alerts: {took:.1f} s (CPU of this process {cpu:.1f} s; "
                  f"{load()})", flush=True)
        ctx.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", nargs="+", default=["sqlite", "postgresql"],
                    choices=["sqlite", "postgresql"])
    ap.add_argument("--hours", type=int, default=6, help="hours posted as bursts")
    ap.add_argument("--workers", type=int, default=2,
                    help="server processes and QA/QC processes (default 2)")
    ap.add_argument("--server-workers", type=int, default=None,
                    help="server processes, if not --workers")
    ap.add_argument("--client", choices=sorted(CLIENTS), default="raw",
                    help="load generator: raw (default; least client CPU) or httpx")
    args = ap.parse_args()
    print(f"{os.cpu_count()} CPUs; {load()}")
    for kind in args.db:
        if kind == "postgresql":
            sys.path.insert(0, str(REPO / "tests"))
            import pg

            if pg.bin_dir() is None:
                print("[postgresql] skipped: no PostgreSQL binaries (make db-deps)")
                continue
            with pg.pg_cluster("gep_bench") as url:
                run(kind, args.hours, url, args.workers, args.client, args.server_workers)
        else:
            run(kind, args.hours, None, args.workers, args.client, args.server_workers)


if __name__ == "__main__":
    main()
