"""Threads, memory and run time of each workflow rule, scaled from the basin's pixel count.

The workflow's rules declare ``threads`` and ``resources: mem_mb, runtime`` from these
functions (workflow/rules/common.smk), so a cluster executor (Slurm) requests what a job of
this basin needs instead of the cluster's defaults. The figures are measured, not guessed:
``benchmarks/bench_rules.py`` runs the whole demo DAG at two basin sizes, one job at a time,
and records each job's peak resident memory and wall time; :data:`MEASURED` holds the linear
fit per million pixels it printed (docs/scaling.md has the table). The requests add a margin
(:data:`MEMORY_MARGIN`, :data:`RUNTIME_MARGIN`) for machines slower than the one measured and
for basins whose land cover is less regular than the demo's.
"""
from __future__ import annotations

import math
from pathlib import Path

from gep.config import Config

#: rule -> (peak MB at 0 pixels, MB per million pixels, CPU seconds at 0 pixels, CPU seconds
#: per million pixels) of one job; fitted by benchmarks/bench_rules.py --sizes 200 1000
#: --years 2020 2021 2022 (the rules that read every year are scaled by the years, PER_YEARS).
MEASURED: dict[str, tuple[float, float, float, float]] = {
    "acquire_parties": (238, 75, 1.0, 0.3),
    "acquire_static": (195, 82, 0.9, 0.5),
    "acquire_year": (199, 80, 0.9, 0.7),
    "agreement_file": (53, 0, 0.3, 0.0),
    "allocate": (35, 0, 0.2, 0.0),
    "attribute": (141, 0, 0.6, 0.0),
    "committee_index": (52, 0, 0.3, 0.0),
    # one job per year (Snakemake spreads the years over the cores), one WeasyPrint font
    # configuration per process (gep.pdf.font_config): bench_demo.py on a quiet machine, with
    # the CJK fonts and HarfBuzz's subsetter (make fonts-deps), saw 14.4 CPU s and a peak of
    # 311 MB for the five demo years in one process, 3.3 CPU s for one year alone; the time
    # keeps the older figure of 10 s per 3 years as its margin
    "committee_year": (400, 10, 10.0, 0.3),
    "dispatch": (43, 0, 0.4, 0.0),
    "downstream": (142, 0, 0.7, 0.0),
    "execution": (160, 0, 0.7, 0.0),
    "gis": (187, 0, 0.7, 0.0),
    "invest": (447, 132, 5.1, 2.7),
    "monitor": (334, 0, 2.8, 0.0),
    "monitor_demo_data": (405, 0, 2.2, 0.0),
    "portal_seed": (287, 2, 4.4, 0.2),
    "publish": (76, 0, 0.7, 0.1),
    "rate": (51, 0, 0.3, 0.0),
    "rating_demo_declarations": (65, 0, 0.3, 0.0),
    "reference": (179, 55, 0.7, 0.4),
    "reference_climate": (101, 53, 0.5, 0.5),
    "report": (474, 1, 6.0, 0.8),
    "value": (141, 0, 0.6, 0.0),
    "zonal": (177, 55, 0.7, 0.2),
    # not in the demo DAG, so not measured by bench_rules.py: estimated from invest's figures
    # (twice its memory per pixel, ten of its runs' time; the fit reads every year's rasters
    # and runs InVEST at the fitted values)
    "calibrate": (447, 264, 51.0, 27.0),
}
#: years of the run the measurements had; rules below read every year of the run
MEASURED_YEARS = 3
PER_YEARS = frozenset({"value", "allocate", "monitor", "monitor_demo_data", "report", "publish",
                       "calibrate", "reference_climate", "attribute", "downstream", "execution"})
#: rule -> threads it uses (InVEST passes them on as ``n_workers``; monitor's QA/QC workers)
THREADS = {"invest": 1, "monitor": 2, "calibrate": 2}
#: rule -> its scheduling priority: the CPU seconds (quiet machine, 300 x 300 demo, measured by
#: benchmarks/bench_demo.py) of the longest chain of jobs from the rule's job to the end of the
#: run, the job's own included. Snakemake starts the ready job with the highest priority first,
#: so the longest chains start first and neither core waits at the end for a chain started late
#: (acquisition -> InVEST -> zonal/reference -> value -> attribute -> allocate -> dispatch ->
#: portal seed -> report -> publish); side branches (ratings, the filing, the committee's
#: papers, the GeoPackage) fill the gaps. Priorities only order ready jobs: they decrease along
#: every edge of the rule graph (tests/pipeline/test_resources.py checks it).
#: The agreement's filing goes first of all (46): it is the ledger's first entry, and the portal
#: seed and publish, which append after it, wait for it.
PRIORITY = {
    "acquire_parties": 44, "acquire_static": 42, "acquire_year": 41, "invest": 39,
    "monitor_demo_data": 36, "monitor": 32, "reference_climate": 30, "zonal": 29,
    "reference": 28, "value": 28, "attribute": 27, "allocate": 25, "dispatch": 24,
    "portal_seed": 23, "rating_demo_declarations": 18, "downstream": 17, "execution": 15,
    "rate": 15, "agreement_file": 46, "report": 14, "committee_year": 11, "publish": 2,
    "gis": 2, "committee_index": 1, "calibrate": 0,
}
MEMORY_MARGIN = 1.5
RUNTIME_MARGIN = 3.0
MIN_MEM_MB = 512
MIN_RUNTIME_MIN = 5


def basin_pixels(cfg: Config, parties_raster: str | Path | None = None) -> int:
    """Pixels of the basin grid: the parties raster's size once it exists, else the demo's
    rows x cols, else the parties' bounding box (in the grid's CRS) over the pixel area."""
    if parties_raster is not None and Path(parties_raster).is_file():
        import rasterio

        with rasterio.open(parties_raster) as ds:
            return int(ds.width) * int(ds.height)
    if cfg.source == "demo" or cfg.parties is None:
        return int(cfg.demo.rows) * int(cfg.demo.cols)
    import pyogrio
    from pyproj import CRS, Transformer

    info = pyogrio.read_info(cfg.path(cfg.parties.path), layer=cfg.parties.layer)
    x0, y0, x1, y1 = info["total_bounds"]
    if info.get("crs"):
        tr = Transformer.from_crs(CRS.from_user_input(info["crs"]),
                                  CRS.from_user_input(cfg.grid.crs), always_xy=True)
        x0, y0, x1, y1 = tr.transform_bounds(x0, y0, x1, y1)
    size = cfg.grid.pixel_size
    return max(1, math.ceil((x1 - x0) / size) * math.ceil((y1 - y0) / size))


def threads(rule: str) -> int:
    return THREADS.get(rule, 1)


def priority(rule: str) -> int:
    """Snakemake ``priority`` of ``rule``'s jobs (:data:`PRIORITY`; 0 when not listed)."""
    return PRIORITY.get(rule, 0)


def _scale(rule: str, years: int) -> float:
    return max(1.0, years / MEASURED_YEARS) if rule in PER_YEARS else 1.0


def mem_mb(rule: str, pixels: int, years: int = 1, n_threads: int | None = None) -> int:
    """Memory to request for one job of ``rule`` (MB, rounded up to 256 MB). Several InVEST
    workers (``n_threads`` > 1) each hold their own blocks: the per-pixel part scales."""
    base, per_mpx, _, _ = MEASURED[rule]
    n = max(1, n_threads if n_threads is not None else threads(rule))
    need = base + per_mpx * pixels / 1e6 * _scale(rule, years) * (n if rule == "invest" else 1)
    return max(MIN_MEM_MB, 256 * math.ceil(MEMORY_MARGIN * need / 256))


def runtime(rule: str, pixels: int, years: int = 1) -> int:
    """Wall time to request for one job of ``rule`` (whole minutes, one core)."""
    _, _, base, per_mpx = MEASURED[rule]
    secs = (base + per_mpx * pixels / 1e6) * _scale(rule, years)
    return max(MIN_RUNTIME_MIN, math.ceil(RUNTIME_MARGIN * secs / 60))


def invest_workers(n_threads: int) -> int:
    """InVEST's ``n_workers`` for a job given ``n_threads`` cores: -1 (InVEST's tasks run in
    the job's own process, no worker pool) for one core, else one worker per core."""
    return -1 if n_threads <= 1 else int(n_threads)
