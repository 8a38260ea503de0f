"""Builders of tiny synthetic sensor networks for the monitoring tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config" / "monitoring.yaml"
TZ = "Asia/Shanghai"

STATIONS = pd.DataFrame([
    ["bnd", "", "boundary", "section", 118.9, 29.8],
    ["up_out", "up_a", "up_a_outlet", "outlet", 118.7, 29.9],
], columns=["station", "party_id", "section", "role", "lon", "lat"])


def hourly(day: str, hours: int = 24) -> pd.DatetimeIndex:
    return pd.date_range(f"{day} 00:00", periods=hours, freq="h", tz=TZ)


def wiggle(mean: float, delta: float, n: int) -> np.ndarray:
    """Values alternating mean - delta, mean + delta: mean exact, no flat line, no spike."""
    return mean + delta * np.where(np.arange(n) % 2 == 0, -1.0, 1.0)


# typical clean levels (mean, wiggle) per indicator
CLEAN = {"codmn": (2.0, 0.05), "nh3n": (0.10, 0.01), "tp": (0.03, 0.002), "tn": (1.0, 0.02),
         "do": (8.0, 0.1), "ph": (7.5, 0.05), "turbidity": (5.0, 0.2), "flow": (50.0, 1.0)}


def day_frame(station: str, day: str, levels: dict | None = None,
              hours: int = 24) -> pd.DataFrame:
    """Hourly readings of every indicator at ``station`` on ``day``."""
    from gep.monitoring.demo import UNITS

    levels = {**CLEAN, **(levels or {})}
    t = hourly(day, hours)
    parts = []
    for ind, (m, d) in levels.items():
        parts.append(pd.DataFrame({"timestamp": t, "station": station, "indicator": ind,
                                   "value": wiggle(m, d, len(t)), "unit": UNITS[ind]}))
    return pd.concat(parts, ignore_index=True)


def write_readings(df: pd.DataFrame, path: Path) -> Path:
    """CSV with ISO 8601 timestamps (with offset) or Parquet, by suffix."""
    df = df.copy()
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        if pd.api.types.is_datetime64_any_dtype(df["timestamp"]):
            df["timestamp"] = df["timestamp"].map(lambda t: t.isoformat())
        df.to_csv(path, index=False)
    return path
