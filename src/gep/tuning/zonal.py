"""Zonal sums of a study's runs, cached by the keys of the runs they read
(``tuning/cache/zonal/<year>/<key>.csv``), and the replacement of one variable's rows (by a
surrogate's or the reference climate's)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from gep.paths import TuningCacheFiles
from gep.tuning.digests import file_digest, module_digest
from gep.tuning.errors import TuningError
from gep.tuning.params import digest


def zonal_task(year: int, inputs_dir: str, parties_tif: str, parties_csv: str,
               workspaces: dict[str, str], out: str) -> str:
    from gep.zonal import zonal_year

    return str(zonal_year(year, Path(inputs_dir), Path(parties_tif), Path(parties_csv),
                          {m: Path(w) for m, w in workspaces.items()}, Path(out)))


def parties_digest(paths) -> dict[str, str]:
    return {"tif": file_digest(paths.parties_tif),
            "csv": file_digest(paths.parties_csv)}


def run_keys(assign: dict, year: int, models) -> tuple[tuple[str, str], ...]:
    """The (model, run key) pairs a scenario's zonal table of ``year`` reads."""
    return tuple(sorted((m, assign[(m, year)][0]) for m in models))


def start_zonal(study, plan, pool) -> Callable[[], dict[tuple, Path]]:
    """Start the zonal tables missing from the cache; the returned function waits and gives
    (year, run keys) -> table path."""
    p, models = study.paths, study.cfg.models.enabled()
    parties, code = parties_digest(p), module_digest("gep.zonal")
    need: dict[tuple, tuple[int, dict[str, str], Path]] = {}
    for a in plan.assign:
        for year in study.cfg.years:
            keys = run_keys(a, year, models)
            if (year, keys) in need:
                continue
            zkey = digest({"year": year, "runs": keys, "parties": parties, "code": code})[:20]
            ws = {m: str(study.workspace(plan.runs[k])) for m, k in keys}
            table = study.cache / "zonal" / str(year) / TuningCacheFiles.zonal_name(zkey)
            need[(year, keys)] = (year, ws, table)
    todo = [(y, str(p.year_dir(y)), str(p.parties_tif),
             str(p.parties_csv), ws, str(out))
            for y, ws, out in need.values() if not out.exists()]
    wait = pool.submit(zonal_task, todo)
    study.stats["zonal_tables"] += len(todo)
    paths = {k: v[2] for k, v in need.items()}

    def finish() -> dict[tuple, Path]:
        wait()
        return paths
    return finish


def replace_variable(z: pd.DataFrame, rows: pd.DataFrame, variable: str) -> pd.DataFrame:
    """Zonal table ``z`` with ``variable``'s quantity and nodata counts taken from ``rows``
    (matched on party and land cover)."""
    mask = (z["variable"] == variable).to_numpy()
    keys = pd.MultiIndex.from_frame(z.loc[mask, ["party_id", "lucode"]])
    r = rows.set_index(["party_id", "lucode"]).reindex(keys)
    if r["quantity"].isna().any() or len(rows) != int(mask.sum()):
        raise TuningError(f"surrogate rows for {variable} do not match the zonal bins")
    out = z.copy()
    out.loc[mask, "quantity"] = r["quantity"].to_numpy()
    out.loc[mask, "nodata_pixels"] = r["nodata_pixels"].to_numpy()
    return out
