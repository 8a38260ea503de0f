"""Synthetic sensor network of the demo basin: hourly readings with realistic seasonality and
injected faults, deterministic from a seed.

Stations: the provincial ``boundary`` section and one outlet per demo party (upstream
``shanyuan``, ``linxi``, ``yunling``; downstream ``xiahe``, ``nanzhou``). Indicators: the
permanganate index, ammonia nitrogen, total phosphorus, total nitrogen, dissolved oxygen, pH,
turbidity and flow.

The signal, per station and year:

- flow: a seasonal base (the plum-rain peak in May-July, low in winter) plus storm
  hydrographs (random rain events routed through two linear reservoirs), scaled to the
  station's mean flow;
- concentrations: base level x year factor x seasonal factor x a power of Q / Q_mean
  (phosphorus and turbidity rise with runoff, ammonia is diluted) x AR(1) noise, rescaled so
  the annual mean equals base x year factor; dissolved oxygen follows saturation at the water
  temperature with a day-night cycle; pH a small day-night cycle.
- year factors make the boundary's annual means follow the compensation stand-in
  (``config/demo/section_quality_standin.csv``), so 2023 misses the Xin'an-style bet (P > 1).

Faults injected in every year (positions drawn from the seed): isolated spikes, a stuck
sensor (one series frozen for four days), gaps (a 60-hour outage at one station, scattered
missing hours, empty values), a four-day pollution episode at Linxi's outlet that reaches the
boundary diluted, and a low-flow week at every station (below the ecological minimum).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gep.io import atomic_path, write_csv

TIMEZONE = "Asia/Shanghai"
INDICATORS = ("codmn", "nh3n", "tp", "tn", "do", "ph", "turbidity", "flow")
UNITS = {"codmn": "mg/L", "nh3n": "mg/L", "tp": "mg/L", "tn": "mg/L", "do": "mg/L",
         "ph": "pH", "turbidity": "NTU", "flow": "m3/s"}
# station -> party, section, role, UTM 50N easting/northing inside the default demo grid,
# mean flow (m3/s), base codmn, nh3n, tp, tn (mg/L)
STATIONS = {
    "boundary": ("", "boundary", "section", 704500, 3301500, 230, 2.0, 0.12, 0.025, 1.10),
    "shanyuan_outlet": ("shanyuan", "shanyuan_outlet", "outlet", 702000, 3307500, 100,
                        1.6, 0.08, 0.018, 0.90),
    "linxi_outlet": ("linxi", "linxi_outlet", "outlet", 706500, 3306000, 60,
                     2.4, 0.15, 0.035, 1.30),
    "yunling_outlet": ("yunling", "yunling_outlet", "outlet", 701500, 3303500, 40,
                       2.0, 0.12, 0.028, 1.10),
    "xiahe_outlet": ("xiahe", "xiahe_outlet", "outlet", 705500, 3301200, 260,
                     3.0, 0.30, 0.060, 1.60),
    "nanzhou_outlet": ("nanzhou", "nanzhou_outlet", "outlet", 707500, 3301100, 270,
                       3.2, 0.35, 0.070, 1.70),
}
ECO_MIN = {"boundary": 30, "shanyuan_outlet": 12, "linxi_outlet": 7, "yunling_outlet": 5,
           "xiahe_outlet": 35, "nanzhou_outlet": 36}
# concentration level of each year relative to the base (upstream and boundary), matching
# the compensation stand-in section_quality (2023 is the bad year: P > 1)
YEAR_FACTORS = {2020: 1.0, 2021: 0.955, 2022: 1.065, 2023: 1.26, 2024: 1.015}
# spike sizes per indicator (well beyond the spike test's fail threshold)
SPIKES = {"codmn": 8.0, "nh3n": 2.5, "tp": 0.6, "tn": 5.0, "do": -4.0, "ph": 2.0,
          "turbidity": 600.0}
# the pollution episode at Linxi's outlet: added at the peak
EPISODE = {"codmn": 5.0, "nh3n": 1.6, "tp": 0.3, "tn": 1.5, "do": -3.5, "turbidity": 20.0}
# Shanyuan's analyser reports total phosphorus in ug/L (converted on ingestion)
UG_L_SERIES = ("shanyuan_outlet", "tp")


def stations_table() -> pd.DataFrame:
    from pyproj import Transformer

    tr = Transformer.from_crs("EPSG:32650", "EPSG:4326", always_xy=True)
    rows = []
    for name, (party, section, role, x, y, *_rest) in STATIONS.items():
        lon, lat = tr.transform(x, y)
        rows.append([name, party, section, role, round(lon, 6), round(lat, 6)])
    return pd.DataFrame(rows, columns=["station", "party_id", "section", "role", "lon", "lat"])


def generate(years: list[int], out_readings: Path, out_stations: Path,
             seed: int = 20240601) -> dict[str, Path]:
    """Write the demo readings (Parquet, long form) and stations table (CSV)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    years = sorted({int(y) for y in years})
    if not years:
        raise ValueError("generate: no years given")
    parts = [_year(seed, y) for y in years]
    df = pd.concat(parts, ignore_index=True)
    df = df.sort_values(["timestamp", "station", "indicator"], kind="stable", ignore_index=True)
    table = pa.table({
        "timestamp": pa.array(df["timestamp"].to_numpy(), pa.timestamp("ns", tz="UTC"))
        .cast(pa.timestamp("s", tz=TIMEZONE)),
        "station": pa.array(df["station"]).dictionary_encode(),
        "indicator": pa.array(df["indicator"]).dictionary_encode(),
        "value": pa.array(df["value"].to_numpy(), pa.float64(),
                          mask=np.isnan(df["value"].to_numpy())),
        "unit": pa.array(df["unit"]).dictionary_encode(),
    })
    with atomic_path(out_readings) as tmp:
        pq.write_table(table, tmp)
    st = stations_table()
    write_csv(out_stations, list(st.columns), st.itertuples(index=False))
    return {"readings": Path(out_readings), "stations": Path(out_stations)}


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    from scipy.signal import lfilter

    e = rng.normal(0.0, sd * np.sqrt(1 - phi * phi), n)
    return lfilter([1.0], [1.0, -phi], e)


def _window(n: int, start: int, ramp: int, plateau: int) -> np.ndarray:
    """0..1 smooth bump: sin^2 ramp up, plateau, sin^2 ramp down."""
    w = np.zeros(n)
    t = np.arange(n) - start
    up = (t >= 0) & (t < ramp)
    w[up] = np.sin(0.5 * np.pi * t[up] / ramp) ** 2
    flat = (t >= ramp) & (t < ramp + plateau)
    w[flat] = 1.0
    down = (t >= ramp + plateau) & (t < 2 * ramp + plateau)
    w[down] = np.cos(0.5 * np.pi * (t[down] - ramp - plateau) / ramp) ** 2
    return w


@dataclass
class _BasinYear:
    """What every station of a year shares: the hours, the season, the weather and when the
    basin-wide faults happen."""

    n: int
    utc: np.ndarray
    doy: np.ndarray
    hour: np.ndarray
    year_factor: float
    wet: np.ndarray
    impulses: np.ndarray
    do_sat: np.ndarray
    outage_station: str
    outage_start: int
    stuck_station: str
    stuck_ind: str
    stuck_start: int
    low_w: np.ndarray
    epi_w: np.ndarray
    epi_w_boundary: np.ndarray


def _basin_year(seed: int, year: int) -> _BasinYear:
    local = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", tz=TIMEZONE,
                          inclusive="left")
    n = local.size
    doy = np.asarray(local.dayofyear, dtype=float) + np.asarray(local.hour) / 24.0
    days = n // 24
    ev = np.random.default_rng([seed, year, 999])  # basin-wide events
    # basin-wide weather: rain events, more in the wet season
    wet = 0.5 * (1 + np.cos(2 * np.pi * (doy - 160) / 365.0))
    rate = (0.004 + 0.02 * wet)  # events per hour
    impulses = (ev.random(n) < rate) * ev.exponential(1.0, n)
    temp = 18.0 - 10.0 * np.cos(2 * np.pi * (doy - 20) / 365.0)
    do_sat = 14.62 - 0.3898 * temp + 0.006969 * temp**2 - 0.00005897 * temp**3
    # fault timing, shared by the basin
    low_start = int(ev.integers(250, 285)) * 24
    epi_start = int(ev.integers(182, 230)) * 24
    st_names = list(STATIONS)
    outage_station = st_names[int(ev.integers(1, len(st_names)))]
    outage_start = int(ev.integers(20, days - 20)) * 24 + int(ev.integers(0, 24))
    stuck_station = ["shanyuan_outlet", "linxi_outlet", "yunling_outlet"][int(ev.integers(0, 3))]
    stuck_ind = ["do", "ph", "nh3n", "codmn"][int(ev.integers(0, 4))]
    stuck_start = int(ev.integers(20, days - 30)) * 24 + 6
    return _BasinYear(
        n=n, utc=local.tz_convert("UTC").tz_localize(None).asi8, doy=doy,
        hour=np.asarray(local.hour, dtype=float), year_factor=YEAR_FACTORS.get(year, 1.0),
        wet=wet, impulses=impulses, do_sat=do_sat, outage_station=outage_station,
        outage_start=outage_start, stuck_station=stuck_station, stuck_ind=stuck_ind,
        stuck_start=stuck_start, low_w=_window(n, low_start, 24, 7 * 24),
        epi_w=_window(n, epi_start, 12, 60), epi_w_boundary=_window(n, epi_start + 12, 18, 54))


def _flow(b: _BasinYear, name: str, q_mean: float, rng: np.random.Generator) -> np.ndarray:
    """Seasonal base flow plus routed storm runoff, dipping below the ecological minimum in
    the low-flow week."""
    from scipy.signal import lfilter

    tau = 18.0 if q_mean > 150 else 10.0
    a = np.exp(-1.0 / tau)
    storm = lfilter([1 - a], [1, -a], lfilter([1 - a], [1, -a], b.impulses))
    storm = storm / storm.mean()
    # base flow 35 %, seasonal 35 %, storm runoff 30 % of the mean
    q = q_mean * (0.35 + 0.35 * b.wet / b.wet.mean() + 0.30 * storm)
    q = q * (1 - b.low_w) + 0.7 * ECO_MIN[name] * b.low_w
    return q * (1 + _ar1(rng, b.n, 0.98, 0.02))


def _water_quality(b: _BasinYear, base, f: float, rq: np.ndarray,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Concentrations (annual mean base x year factor), dissolved oxygen, pH, turbidity."""
    n, doy, hour = b.n, b.doy, b.hour
    vals: dict[str, np.ndarray] = {}
    codmn, nh3n, tp, tn = (x * f for x in base)
    season_summer = 1 + 0.15 * np.sin(2 * np.pi * (doy - 105) / 365.0)
    season_winter = 1 + 0.25 * np.cos(2 * np.pi * (doy - 15) / 365.0)
    shapes = {
        "codmn": (codmn, season_summer * rq**0.15, 0.05),
        "nh3n": (nh3n, season_winter * rq**-0.2, 0.07),
        "tp": (tp, rq**0.35, 0.06),
        "tn": (tn, (1 + 0.1 * np.cos(2 * np.pi * (doy - 15) / 365.0)) * rq**0.05, 0.04),
    }
    for ind, (level, shape, sd) in shapes.items():
        x = shape * (1 + _ar1(rng, n, 0.95, sd))
        vals[ind] = level * x / x.mean()
    vals["do"] = b.do_sat * 0.95 + 0.5 * np.sin(2 * np.pi * (hour - 9) / 24) \
        + _ar1(rng, n, 0.9, 0.1)
    vals["ph"] = 7.4 + 0.15 * np.sin(2 * np.pi * (hour - 9) / 24) \
        + 0.1 * np.sin(2 * np.pi * (doy - 105) / 365.0) + _ar1(rng, n, 0.9, 0.03)
    vals["turbidity"] = np.maximum(0.5, 4.0 * rq**1.3 * (1 + _ar1(rng, n, 0.9, 0.08)))
    return vals


def _inject_faults(b: _BasinYear, name: str, q_mean: float, vals: dict[str, np.ndarray],
                   rng: np.random.Generator) -> None:
    """The pollution episode, the stuck sensor and the spikes."""
    # pollution episode at Linxi's outlet; diluted at the boundary
    if name in ("linxi_outlet", "boundary"):
        w = b.epi_w if name == "linxi_outlet" else \
            b.epi_w_boundary * STATIONS["linxi_outlet"][5] / q_mean
        for ind, add in EPISODE.items():
            vals[ind] = vals[ind] + add * w
    # stuck sensor: frozen at its last value for four days
    if name == b.stuck_station:
        s = b.stuck_start
        vals[b.stuck_ind][s:s + 96] = vals[b.stuck_ind][s]
    # spikes
    for _ in range(6):
        ind = INDICATORS[int(rng.integers(0, 7))]
        i = int(rng.integers(2, b.n - 2))
        vals[ind][i] += SPIKES[ind]


def _station_frames(b: _BasinYear, name: str, vals: dict[str, np.ndarray],
                    rng: np.random.Generator) -> list[pd.DataFrame]:
    """Rounded readings in long form with empty values, missing hours and the outage."""
    frames = []
    for ind in INDICATORS:
        v = np.round(vals[ind], 4 if ind in ("nh3n", "tp") else 3)
        blank = rng.random(b.n) < 0.001  # empty values
        v[blank] = np.nan
        keep = rng.random(b.n) >= 0.002  # scattered missing hours
        if name == b.outage_station:
            keep[b.outage_start:b.outage_start + 60] = False
        unit = UNITS[ind]
        if (name, ind) == UG_L_SERIES:
            v, unit = np.round(v * 1000.0, 2), "ug/L"
        frames.append(pd.DataFrame({"timestamp": b.utc[keep], "station": name,
                                    "indicator": ind, "value": v[keep], "unit": unit}))
    return frames


def _year(seed: int, year: int) -> pd.DataFrame:
    b = _basin_year(seed, year)
    frames = []
    for k, (name, (party, _section, role, _x, _y, q_mean, *base)) in enumerate(STATIONS.items()):
        rng = np.random.default_rng([seed, year, k])
        f = b.year_factor if role == "section" or party in ("shanyuan", "linxi", "yunling") \
            else 1.0
        q = _flow(b, name, q_mean, rng)
        vals = {"flow": q, **_water_quality(b, base, f, q / q_mean, rng)}
        _inject_faults(b, name, q_mean, vals, rng)
        frames += _station_frames(b, name, vals, rng)
    return pd.concat(frames, ignore_index=True)
