"""Annual products for the compensation engine: ``section_quality.csv`` and the
responsibility lists (责任清单) in ``performance.csv``.

- section quality: for each assessment section (stations with role ``section``), year and
  mg/L indicator, the mean over the year's days of the section's sufficient daily means.
  Averaging days rather than readings keeps a month-long outage from tilting the year towards
  the other seasons.
- responsibility list of each upstream party (targets in ``responsibility``):
  ``water_quality_compliance_rate`` (days on which every assessed indicator at the party's
  outlet met the target class / days of the year in the monitoring period; a day without
  enough valid readings is not compliant), ``flow_compliance_rate`` (days with mean flow at
  or above the ecological minimum / days), ``redline_natural_cover_km2`` (natural land cover
  inside the party's ecological red-line zone, from the year's land cover, read block by
  block so memory stays flat whatever the raster size).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from gep.errors import ConfigError, InputDataError
from gep.tables import read_table
from gep.monitoring.daily import DailyResults, _num

PARTIES_COLUMNS = ("index", "party_id", "name", "name_zh", "role", "province")
PERFORMANCE_HEADER = ("year", "party_id", "target", "met", "value", "threshold", "unit")
QUALITY_HEADER = ("year", "section", "indicator", "concentration_mg_l")
BLOCK_ROWS = 512


def years_of(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[Y]").astype(int) + 1970


def section_quality_rows(res: DailyResults, settings, stations) -> list[list]:
    roles = dict(zip(stations["section"], stations["role"]))
    years = years_of(res.grid.days)
    rows = []
    for year in np.unique(years):
        in_year = years == year
        for sec in res.sections:
            if roles.get(sec) != "section":
                continue
            for name, ind in settings.indicators.items():
                if ind.unit != "mg/L" or (sec, name) not in res.section_mean:
                    continue
                m = res.section_mean[(sec, name)][in_year]
                m = m[~np.isnan(m)]
                if m.size:
                    rows.append([int(year), sec, name, _num(m.mean(), 6)])
    return rows


def read_parties_csv(path: str | Path) -> list[dict]:
    """``index,party_id,name,name_zh,role,province``; index is the value in parties.tif."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise InputDataError(src, "parties table does not exist",
                             "pass the parties.csv written beside parties.tif")
    out = []
    for row in read_table(path, ("index", "party_id", "role"), "parties table"):
        idx = row.integer("index", "an integer (the party's value in parties.tif)")
        out.append({"index": idx, "party_id": row["party_id"], "role": row["role"]})
    return out


def natural_cover(landcover: str | Path, parties_tif: str | Path, redline_tif: str | Path,
                  n_parties: int, codes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(natural km2, red-line zone km2) per party index 0..n_parties (0 = outside all).

    Reads the three rasters in strips of ``BLOCK_ROWS`` rows; they must share one grid.
    """
    import rasterio
    from rasterio.windows import Window

    natural = np.zeros(n_parties + 1)
    zone = np.zeros(n_parties + 1)
    with rasterio.open(landcover) as lc, rasterio.open(parties_tif) as pt, \
            rasterio.open(redline_tif) as rl:
        for other in (pt, rl):
            same = ((other.width, other.height) == (lc.width, lc.height)
                    and other.crs == lc.crs
                    and other.transform.almost_equals(lc.transform))
            if not same:
                raise InputDataError(str(other.name), f"not on the land-cover grid of "
                                     f"{landcover} (size {other.width}x{other.height} vs "
                                     f"{lc.width}x{lc.height}, or CRS/transform differ)",
                                     "write land cover, parties.tif and redline.tif on one "
                                     "grid")
        t = lc.transform
        px_km2 = abs(t.a * t.e - t.b * t.d) / 1e6
        codes_arr = np.asarray(codes)
        for r0 in range(0, lc.height, BLOCK_ROWS):
            w = Window(0, r0, lc.width, min(BLOCK_ROWS, lc.height - r0))
            p = pt.read(1, window=w).astype(np.int64)
            inside = (rl.read(1, window=w) == 1) & (p > 0)
            if p.max(initial=0) > n_parties:
                raise InputDataError(str(parties_tif), f"value {int(p.max())} but parties.csv "
                                     f"lists {n_parties} parties", "write parties.tif and "
                                     "parties.csv together")
            idx = p[inside]
            zone += np.bincount(idx, minlength=n_parties + 1)
            nat = np.isin(lc.read(1, window=w)[inside], codes_arr)
            natural += np.bincount(idx, weights=nat, minlength=n_parties + 1)
    return natural * px_km2, zone * px_km2


def performance_rows(res: DailyResults, settings, stations, parties: list[str],
                     redline: dict[int, dict[str, tuple[float, float]]] | None) -> list[list]:
    """Rows of performance.csv (``PERFORMANCE_HEADER``) for the given upstream parties."""
    grid = res.grid
    st = grid.series
    eco = settings.flow.ecological_min_m3s
    flow_ind = settings.flow.indicator
    years = years_of(grid.days)
    rows = []
    for party in parties:
        targets = settings.responsibility.targets(party)
        outlets = stations.loc[(stations["role"] == "outlet") & (stations["party_id"] == party)]
        if outlets.empty and (targets.water_quality_compliance_rate is not None
                              or targets.flow_compliance_rate is not None):
            raise InputDataError(stations.attrs.get("source", "stations"),
                                 f"party '{party}' has no outlet station",
                                 "add its outlet station (role outlet) to the stations file, "
                                 "or remove the party from responsibility.parties",
                                 field="party_id")
        mine = st["station"].isin(outlets["station"]).to_numpy()
        assessed = mine & np.array([
            (settings.indicators[i].standard is not None
             and settings.indicators[i].standard.assessed) for i in st["indicator"]])
        if assessed.any():
            wq_ok = (res.compliant[assessed] == 1).all(axis=0)
        else:
            wq_ok = np.zeros(grid.days.size, dtype=bool)
        flow_rows = np.flatnonzero(mine & (st["indicator"] == flow_ind).to_numpy())
        flow_ok = np.zeros(grid.days.size, dtype=bool)
        if targets.flow_compliance_rate is not None:
            missing_eco = [sec for sec in outlets["section"] if sec not in eco]
            if missing_eco:
                raise ConfigError(f"flow.ecological_min_m3s.{missing_eco[0]}",
                                  f"party '{party}' has a flow target but its outlet section "
                                  "has no ecological minimum flow", "add the section's "
                                  "ecological minimum (m3/s)", file=settings.source)
            if flow_rows.size:
                q = np.where(grid.sufficient[flow_rows], grid.mean[flow_rows], np.nan)
                q_eco = np.array([eco[sec] for sec in st["section"].iloc[flow_rows]])[:, None]
                with np.errstate(invalid="ignore"):
                    flow_ok = (q >= q_eco).all(axis=0)
        for year in np.unique(years):
            in_year = years == year
            n = int(in_year.sum())
            if targets.water_quality_compliance_rate is not None:
                rate = wq_ok[in_year].sum() / n
                rows.append(_row(year, party, "water_quality_compliance_rate", rate,
                                 targets.water_quality_compliance_rate, "share of days"))
            if targets.flow_compliance_rate is not None:
                rate = flow_ok[in_year].sum() / n
                rows.append(_row(year, party, "flow_compliance_rate", rate,
                                 targets.flow_compliance_rate, "share of days"))
            rt = targets.redline_natural_cover
            if rt is not None and redline is not None and int(year) in redline:
                nat_km2, zone_km2 = redline[int(year)].get(party, (0.0, 0.0))
                thr = rt.min_km2 if rt.min_km2 is not None else rt.min_share * zone_km2
                rows.append(_row(year, party, "redline_natural_cover_km2", nat_km2, thr, "km2"))
    return rows


def _row(year, party: str, target: str, value: float, threshold: float, unit: str) -> list:
    value, threshold = round(float(value), 6), round(float(threshold), 6)
    return [int(year), party, target, "true" if value >= threshold else "false",
            _num(value, 6), _num(threshold, 6), unit]
