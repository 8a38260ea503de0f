"""Replay of a readings file through the upload API and ``gep daily``, and the batch answer
(``gep monitor`` + ``gep dispatch``) on the same readings, for the equivalence tests and the
benchmark."""
from __future__ import annotations

import csv
import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pandas as pd

from gep.monitoring.dispatch import ALERT_HEADER, DISBURSEMENT_HEADER, TRANSFER_HEADER

TZ = "Asia/Shanghai"
FAR_FUTURE = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def load(readings: Path, first: dt.date | None = None, last: dt.date | None = None):
    """The readings of local days first..last, with their local date."""
    df = pd.read_parquet(readings)
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    if df["timestamp"].dt.tz is None:
        df["timestamp"] = df["timestamp"].dt.tz_localize(TZ)
    df["timestamp"] = df["timestamp"].dt.tz_convert(TZ)
    df["day"] = df["timestamp"].dt.date
    if first is not None:
        df = df[(df["day"] >= first) & (df["day"] <= last)]
    for c in ("station", "indicator", "unit"):
        df[c] = df[c].astype(str)
    return df.reset_index(drop=True)


def payloads(df: pd.DataFrame, day: dt.date):
    """One batch per station for ``day``: (station, body)."""
    part = df[df["day"] == day]
    for station, g in part.groupby("station", sort=True):
        rows = [{"timestamp": t.isoformat(), "indicator": i,
                 "value": None if (v is None or math.isnan(v)) else float(v), "unit": u}
                for t, i, v, u in zip(g["timestamp"], g["indicator"], g["value"], g["unit"])]
        yield station, {"batch_id": f"{station}-{day.isoformat()}", "readings": rows}


def replay(ctx, client, df: pd.DataFrame, keys: dict[str, str]) -> list[dt.date]:
    """Upload day by day; run the daily run of each day once the next day is in."""
    from gep.operations.daily import run_daily

    days = sorted(df["day"].unique())
    for k, day in enumerate(days):
        for station, body in payloads(df, day):
            r = client.post(f"/api/v1/stations/{station}/readings", json=body,
                            headers={"Authorization": f"Bearer {keys[station]}"})
            assert r.status_code == 201, r.text
        if k:
            run_daily(ctx, days[k - 1], now=FAR_FUTURE, deliver=False)
    run_daily(ctx, days[-1], now=FAR_FUTURE, deliver=False)
    return days


def batch(df: pd.DataFrame, stations: Path, config: Path, agreement: Path, transfers: Path,
          tmp: Path, year: int) -> dict[str, Path]:
    """``gep monitor`` on exactly the replayed readings, then ``gep dispatch`` of ``year``."""
    from gep.monitoring.dispatch import dispatch
    from gep.monitoring.pipeline import monitor

    tmp.mkdir(parents=True, exist_ok=True)
    src = tmp / "readings.parquet"
    df[["timestamp", "station", "indicator", "value", "unit"]].to_parquet(src, index=False)
    mon = monitor(src, stations, config, tmp / "monitoring")
    out = dispatch(transfers, mon["daily_index"], agreement, mon["section_quality"], year,
                   tmp / "dispatch", config, entitlement_year=year - 1)
    return {**mon, **out}


def rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


MONEY = {"scheduled_cny", "paid_cny", "withheld_cny", "day_withheld_cny", "amount_cny"}


def keyed(path: Path, days: set[str], header, key) -> dict:
    """Rows of ``days`` keyed by ``key``; money fields as Decimal, the rest as text."""
    out = {}
    for r in rows(path):
        date = r["date"] if "date" in r else r["explanation"][:10]
        if date not in days:
            continue
        assert list(r) == list(header)
        k = key(r)
        assert k not in out, f"row {k} twice"
        out[k] = {c: Decimal(v) if c in MONEY else v for c, v in r.items()}
    return out


def compare(daily_dir: Path, batch_dir: Path, days: list[dt.date]) -> dict[str, int]:
    """Assert the daily files equal the batch files on ``days``; returns row counts."""
    ds = {d.isoformat() for d in days}
    counts = {}
    for name, header, key in (
            ("disbursements.csv", DISBURSEMENT_HEADER, lambda r: (r["date"], r["party_id"])),
            ("ledger_transfers.csv", TRANSFER_HEADER, lambda r: r["transfer_id"]),
            ("alerts.csv", ALERT_HEADER, lambda r: tuple(r.values()))):
        a = keyed(daily_dir / name, ds, header, key)
        b = keyed(batch_dir / name, ds, header, key)
        assert a.keys() == b.keys(), f"{name}: rows differ: " \
            f"{sorted(set(a) ^ set(b))[:5]}"
        for k in a:
            assert a[k] == b[k], f"{name} {k}: daily {a[k]} != batch {b[k]}"
        counts[name] = len(a)
    return counts


def escrow(path: Path, days: set[str]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for r in rows(path):
        if r["date"] in days:
            out[r["party_id"]] = out.get(r["party_id"], Decimal(0)) + Decimal(r["withheld_cny"])
    return out
