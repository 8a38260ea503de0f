"""Issue 16: ``gep.paths`` is the only module that names a result file; InVEST's own output
names live in the model adapters (``gep/models/<id>.py``). Every other module of ``src/gep``
must ask ``Paths``, a ``Folder`` or ``gep.models.get(id).output(...)`` for a file's name.

The test parses each module and looks at its string constants (f-string constant parts
included) that hold no space — a sentence such as "add it to parties.csv" is documentation,
a bare ``"parties.csv"`` names the file.
"""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import gep
import gep.models
import gep.paths as paths

SRC = Path(gep.__file__).resolve().parent


def result_names() -> set[str]:
    """Every file name ``gep.paths`` and the model adapters own (names with an extension:
    folder names such as ``site`` or ``data`` are ordinary words)."""
    names: set[str] = set()
    for _, cls in inspect.getmembers(paths, inspect.isclass):
        if issubclass(cls, paths.Folder) and cls is not paths.Folder:
            names.update(cls.NAMES.values())
    names |= {paths.Paths.RUN_RECORD, paths.Paths.REFERENCE_RECORD}
    names |= {paths.Paths.layer_name(n) for n in paths.YEAR_FILES + paths.STATIC_FILES}
    names |= set(paths.PARTY_FILES)
    for adapter in gep.models.ADAPTERS.values():
        for name in adapter.outputs.values():
            names |= {name, name.rsplit("/", 1)[-1]}
    return {n for n in names if "." in n.rsplit("/", 1)[-1]}


def checked_modules() -> list[Path]:
    skip = {SRC / "paths.py"}
    return [f for f in sorted(SRC.rglob("*.py"))
            if f not in skip and "models" not in f.relative_to(SRC).parts[:1]
            and "migrations" not in f.relative_to(SRC).parts]


def named_results(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, string) of each constant that is a result name or a path ending in one."""
    hits = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            s = node.value
            if " " in s or not s:
                continue
            if s in names or any(s.endswith("/" + n) for n in names):
                hits.append((node.lineno, s))
    return sorted(hits)


def test_the_names_are_collected():
    names = result_names()
    # one of each source: a stage folder, the run record, a layer, a party file, an adapter
    for expected in ("transfers.csv", "gep_run.json", "landcover.tif", "parties.csv",
                     "wyield.tif", "quality_c.tif"):
        assert expected in names


def test_the_check_finds_a_result_name():
    names = result_names()
    src = ('x = "parties.csv"\ny = f"{root}/transfers.csv"\n'
           'z = "add it to parties.csv"\nw = "output/per_pixel/wyield.tif"\n')
    assert named_results(src, names) == [(1, "parties.csv"), (2, "/transfers.csv"),
                                         (4, "output/per_pixel/wyield.tif")]


def test_no_result_name_outside_paths_and_the_adapters():
    names = result_names()
    found = [f"{f.relative_to(SRC.parent)}:{line}: {s!r}"
             for f in checked_modules()
             for line, s in named_results(f.read_text(encoding="utf-8"), names)]
    assert not found, ("result file names outside gep/paths.py and gep/models/ (ask Paths, a "
                       "Folder or gep.models.get(id).output):\n" + "\n".join(found))
