"""CPU seconds of the GEP part outside InVEST at basin scale (issue 17): `gep acquire --static`,
`gep acquire --year`, `gep zonal`, and the COG codec on the year's layers.

    nice -n 10 .venv/bin/python benchmarks/bench_acquire_zonal.py --basin /tmp/p4k \\
        [--year 2021] [--repeat 2] [--src OTHER_TREE/src]

``--basin`` is a folder holding ``config/config.yaml`` and a finished run of it (the year's
InVEST workspaces are needed by `gep zonal`). The config, the inputs and the few workspace
rasters `gep zonal` reads are copied to a scratch folder (the basin is not modified); each
command then runs ``--repeat`` times as its own process and the CPU seconds (user + system,
``RUSAGE_CHILDREN``) of every run are printed, with the wall time. ``--src`` runs another
checkout's gep (e.g. ``git archive main src | tar -x -C /tmp/base``) for a before/after
comparison on the same data. The codec section writes the year's layers as gep's COGs with
DEFLATE and with ZSTD levels 1 and 3 (in this process) and prints write and read CPU and size.
CPU seconds are what to compare on a shared machine; wall times follow its load.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def scratch_copy(basin: Path, year: int, tmp: Path) -> Path:
    """Config, inputs and the rasters `gep zonal` reads from the year's workspaces."""
    from gep import models
    from gep.config import load_config
    from gep.paths import Paths

    shutil.copytree(basin / "config", tmp / "config")
    cfg_file = tmp / "config" / "config.yaml"
    cfg = load_config(cfg_file)
    src, dst = Paths(load_config(basin / "config" / "config.yaml")), Paths(cfg)
    shutil.copytree(src.inputs, dst.inputs)
    for v in models.variables():
        if v.model is None or v.model not in cfg.models.enabled():
            continue
        for rel in filter(None, (v.path, v.path2)):
            f = dst.workspace(year, v.model) / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.workspace(year, v.model) / rel, f)
    return cfg_file


def run(label: str, argv: list[str], env: dict, repeat: int) -> None:
    for i in range(repeat):
        c0, t0 = children_cpu(), time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"{label:24s} run {i + 1}: {children_cpu() - c0:6.2f} CPU s "
              f"({time.perf_counter() - t0:6.2f} s wall)", flush=True)


def codec(year_dir: Path) -> None:
    import numpy as np
    import rasterio

    from gep.sources import base

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    arrays = []
    for name in ("landcover", "precipitation", "reference_et", "erosivity", "threat_built"):
        with rasterio.open(year_dir / f"{name}.tif") as ds:
            arrays.append((name, ds.read(1), ds.nodata))
    grid = base.Grid.from_raster(year_dir / "landcover.tif")
    saved = base.COG_OPTIONS
    with tempfile.TemporaryDirectory(prefix="gep-codec-") as d:
        for comp, level in (("DEFLATE", 6), ("ZSTD", 1), ("ZSTD", 3)):
            base.COG_OPTIONS = dict(saved, COMPRESS=comp, LEVEL=level)
            write = read = size = 0.0
            for name, a, nodata in arrays:
                path = Path(d) / f"{name}.tif"
                c = cpu()
                base.write_raster(path, a, grid, nodata)
                write += cpu() - c
                size += path.stat().st_size
                c = cpu()
                with rasterio.open(path) as ds:
                    for w in base.iter_windows(grid):
                        ds.read(1, window=w)
                read += cpu() - c
                with rasterio.open(path) as ds:
                    assert np.array_equal(ds.read(1), a), f"{comp}: {name} not lossless"
            print(f"{comp:7s} level {level}: write {write:5.2f} CPU s, read {read:5.2f} CPU s, "
                  f"{size / 1e6:6.1f} MB ({len(arrays)} layers)", flush=True)
    base.COG_OPTIONS = saved


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--basin", type=Path, required=True)
    ap.add_argument("--year", type=int, default=None, help="default: the config's last year")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--src", type=Path, default=REPO / "src", help="the gep tree to run")
    ap.add_argument("--no-codec", action="store_true")
    a = ap.parse_args()
    from gep.config import load_config

    year = a.year or load_config(a.basin / "config" / "config.yaml").years[-1]
    env = dict(os.environ, PYTHONPATH=str(a.src.resolve()))
    print(f"gep from {a.src}, basin {a.basin}, year {year}, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="gep-acqzonal-") as d:
        cfg = scratch_copy(a.basin, year, Path(d))
        gep = [sys.executable, "-m", "gep"]
        run("acquire --static", [*gep, "acquire", "--config", str(cfg), "--static", "-q"], env,
            a.repeat)
        run(f"acquire --year {year}", [*gep, "acquire", "--config", str(cfg), "--year",
                                       str(year), "-q"], env, a.repeat)
        run(f"zonal --year {year}", [*gep, "zonal", "--config", str(cfg), "--year", str(year),
                                     "-q"], env, a.repeat)
        if not a.no_codec:
            from gep.config import load_config as lc
            from gep.paths import Paths

            codec(Paths(lc(cfg)).year_dir(year))
    print(f"load at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
