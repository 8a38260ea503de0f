"""Issue 16 in the report, committee, operations, portal, rating, GIS, checks, acquire,
sources and land-cover code: errors are GepErrors, result files are named by ``Paths`` only,
and no function runs past 60 lines."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import gep.paths as paths_module
from gep.errors import GepError

SRC = Path(paths_module.__file__).resolve().parent
AREAS = ["report", "committee", "operations", "portal", "rating", "sources"]
FILES = ["gis/__init__.py", "checks.py", "acquire.py", "landcover.py"]


def area_files() -> list[Path]:
    """This branch's modules: stage packages without their cli.py and Alembic migrations."""
    out = [f for d in AREAS for f in (SRC / d).rglob("*.py")
           if f.name != "cli.py" and "migrations" not in f.parts]
    return sorted(out) + [SRC / f for f in FILES]


# ----------------------------------------------------------------------------- errors

def test_portal_errors_are_gep_errors_and_keep_their_builtin_type():
    from gep.portal.geo import TrackError, parse_linestring
    from gep.portal.services import PortalError
    from gep.portal.uploads import UploadError, store

    with pytest.raises(GepError, match="LineString") as e:
        parse_linestring({"type": "Point", "coordinates": [115.0, 28.0]})
    assert isinstance(e.value, TrackError) and isinstance(e.value, ValueError)

    with pytest.raises(GepError, match="checked by content") as e:
        store(b"GIF89a not a photo", "x.gif", Path("/nonexistent-never-written"), 1 << 20)
    assert isinstance(e.value, UploadError) and isinstance(e.value, ValueError)

    err = PortalError(409, "already seeded")
    assert isinstance(err, GepError)
    assert (err.status, err.message, str(err)) == (409, "already seeded", "already seeded")


# ----------------------------------------------------------------------------- Paths

def test_party_files_of_paths_are_the_party_files_acquire_lists():
    assert sorted(paths_module.Paths.InputFiles.NAMES.values()) == \
        sorted(paths_module.PARTY_FILES)


def test_acquire_writes_every_input_where_paths_reads_it(tiny_config):
    from gep.acquire import acquire_parties, acquire_static, acquire_year
    from gep.config import load_config

    cfg = load_config(tiny_config)
    p = paths_module.Paths(cfg)
    parties = acquire_parties(cfg)
    assert set(parties) == set(paths_module.Paths.InputFiles.NAMES)
    for key, path in parties.items():
        assert Path(path) == p.input_files.file(key) and Path(path).is_file()
    assert (p.parties_gpkg, p.parties_csv, p.parties_tif) == (
        parties["parties_gpkg"], parties["parties_csv"], parties["parties_tif"])
    for name, path in acquire_static(cfg).items():
        assert Path(path) == p.static_file(name) and Path(path).is_file()
    year = cfg.years[0]
    written = acquire_year(cfg, year)
    assert {"landcover", "precipitation", "threat_road", "dem"} <= set(written)
    for name, path in written.items():
        assert Path(path) == p.year_file(year, name) and Path(path).is_file()


def test_dispatch_folders_lists_existing_year_folders_in_order(tiny_config):
    from gep.config import load_config

    p = paths_module.Paths(load_config(tiny_config))
    assert p.dispatch_folders() == []
    for y in (2021, 2019, 2020):
        p.dispatch(y).mkdir(parents=True)
    (p.root / "dispatch" / "notes.txt").write_text("not a year")
    years = p.dispatch_folders()
    assert [Path(d).name for d in years] == ["2019", "2020", "2021"]
    assert years[0].alerts == p.dispatch(2019).alerts
    assert years[0].file("daily_runs") == p.dispatch(2019).root / "daily_runs.csv"


def _result_names() -> set[str]:
    names = set(paths_module.PARTY_FILES)
    folders = [c for c in vars(paths_module).values()
               if inspect.isclass(c) and issubclass(c, paths_module.Folder)]
    folders += [c for c in vars(paths_module.Paths).values()
                if inspect.isclass(c) and issubclass(c, paths_module.Folder)]
    for folder in folders:
        names |= {n for n in folder.NAMES.values() if "." in n}
    return names | {"gep_run.json", "stations.csv"}


def _code_strings(tree: ast.AST):
    """String constants of a module that are not docstrings, with their line."""
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docs:
            yield node.lineno, node.value


def test_result_file_names_come_from_paths_only():
    """A literal naming a result file (``"transfers.csv"``, ``x / "alerts.csv"``,
    ``f"{d}/metrics.json"``) belongs in gep/paths.py; messages may mention them."""
    names = _result_names()
    assert {"transfers.csv", "parties.gpkg", "metrics.json", "daily_runs.csv"} <= names
    found = []
    for f in area_files():
        for line, s in _code_strings(ast.parse(f.read_text(encoding="utf-8"))):
            if " " in s:
                continue  # a message or a fix text naming a file for the reader
            if s in names or any(s.endswith("/" + n) for n in names):
                found.append(f"{f.relative_to(SRC)}:{line}: {s!r}")
    assert not found, "\n".join(found)


# ----------------------------------------------------------------------------- shape

def test_no_function_over_60_lines():
    long = []
    for f in area_files():
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long.append(f"{f.relative_to(SRC)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "\n".join(long)


def test_report_build_is_importable_from_the_package():
    import gep.report
    import gep.report.build

    assert gep.report.build_report is gep.report.build.build_report
    assert gep.report.service_label("water_yield") == gep.report.build.service_label(
        "water_yield")
