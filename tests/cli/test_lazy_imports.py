"""``gep --help`` and every sub-command's start-up load no heavy library (issue 17).

A real property, not a timing: building the parser, and asking any sub-command for its help,
must leave numpy, pandas, rasterio, InVEST, the web and database stacks, WeasyPrint,
Snakemake and pydantic out of ``sys.modules``; they are imported inside the commands.
"""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "rasterio", "natcap", "fastapi", "starlette", "uvicorn",
         "sqlalchemy", "alembic", "weasyprint", "snakemake", "pydantic", "geopandas",
         "shapely", "pyproj", "pyogrio", "osgeo", "scipy", "sklearn", "matplotlib", "jinja2",
         "pyarrow", "ioos_qc", "SALib", "yaml", "cryptography")

PROBE = r"""
import contextlib, io, json, sys
from gep.cli import build_parser

heavy = json.loads(sys.argv[1])
parser = build_parser()
loaded = {"build_parser": sorted(m for m in heavy if m in sys.modules)}


def commands(p, prefix=()):
    for a in p._actions:
        if a.__class__.__name__ == "_SubParsersAction":
            for name, child in a.choices.items():
                yield (*prefix, name)
                yield from commands(child, (*prefix, name))


for cmd in commands(parser):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        parser.parse_args([*cmd, "--help"])
    loaded[" ".join(cmd)] = sorted(m for m in heavy if m in sys.modules)
print(json.dumps(loaded))
"""


def _probe() -> dict[str, list[str]]:
    r = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY)], capture_output=True,
                       text=True, check=True)
    return json.loads(r.stdout)


def test_building_the_parser_imports_no_heavy_library():
    loaded = _probe()
    assert loaded["build_parser"] == []
    # every sub-command was asked for its help, and none pulled a heavy library in either
    assert {"run", "allocate", "monitor", "dispatch", "ledger append", "serve", "gis",
            "portal seed", "operations serve", "sweep", "rate", "bulletin"} <= set(loaded)
    assert {k: v for k, v in loaded.items() if v} == {}


def test_the_probe_sees_a_heavy_import():
    """The probe itself works: a module that imports pydantic shows up."""
    r = subprocess.run([sys.executable, "-c", "import sys, gep.config; "
                        "print('pydantic' in sys.modules)"], capture_output=True, text=True,
                       check=True)
    assert r.stdout.strip() == "True"
