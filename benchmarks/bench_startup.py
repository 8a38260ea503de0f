"""Start-up cost of the ``gep`` command (issue 17: lazy imports).

    .venv/bin/python benchmarks/bench_startup.py [--repeat 5]

Prints, best of ``--repeat`` runs: the wall time of ``gep --help`` and of a few sub-commands'
``--help`` (a fresh interpreter each, bytecode cached), the time ``build_parser()`` takes
inside the process, the time to read the demo basin config (what every stage command pays
first), and whether building the parser imported any heavy library.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ["numpy", "pandas", "rasterio", "natcap", "fastapi", "sqlalchemy", "weasyprint",
         "snakemake", "pydantic", "geopandas", "matplotlib"]
IN_PROCESS = r"""
import json, sys, time
t = time.perf_counter()
from gep.cli import build_parser
build_parser()
parser = time.perf_counter() - t
heavy = [m for m in json.loads(sys.argv[1]) if m in sys.modules]
t = time.perf_counter()
from gep.config import load_config
load_config(sys.argv[2])
print(json.dumps({"parser": parser, "heavy": heavy, "config": time.perf_counter() - t}))
"""


def best(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with bytecode cached
    gep = [sys.executable, "-m", "gep"]
    subprocess.run([*gep, "--help"], check=True, capture_output=True, cwd=REPO)  # warm caches
    print(f"python -c pass               {best([sys.executable, '-c', 'pass'], a.repeat):6.3f} s")
    for sub in ([], ["allocate"], ["monitor"], ["serve"], ["sweep"], ["ledger", "verify"]):
        label = " ".join(["gep", *sub, "--help"])
        print(f"{label:<28} {best([*gep, *sub, '--help'], a.repeat):6.3f} s")
    runs = [json.loads(subprocess.run(
        [sys.executable, "-c", IN_PROCESS, json.dumps(HEAVY), "config/config.yaml"],
        check=True, capture_output=True, text=True, cwd=REPO).stdout) for _ in range(a.repeat)]
    print(f"build_parser() in process    {min(r['parser'] for r in runs):6.3f} s")
    print(f"load_config(demo) after it   {min(r['config'] for r in runs):6.3f} s")
    print(f"heavy modules after build_parser(): {runs[0]['heavy'] or 'none'}")


if __name__ == "__main__":
    main()
