"""The rule files name results through gep.paths.Paths only (issue 16)."""
from __future__ import annotations

import re

from gep.config import load_config
from gep.paths import Paths

#: a quoted file name of a result: what Paths alone may spell out
RESULT_NAME = re.compile(r"""["'][^"'\n]*\.(csv|json|tif|gpkg|qml|html|parquet|pdf|xlsx|db|log|"""
                         r"""vkey|zip)["']""")


def test_no_result_file_name_in_the_rule_files(repo):
    files = [repo / "Snakefile", *sorted((repo / "workflow" / "rules").glob("*.smk"))]
    assert len(files) > 10
    found = []
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            for m in RESULT_NAME.finditer(code):
                # the workflow's own files (schema, report captions), not results
                if not m.group(0)[1:].startswith(("../", "workflow/")):
                    found.append(f"{f.name}:{n}: {m.group(0)}")
    assert not found, found


def test_paths_names_the_rules_logs_and_inputs(config_factory):
    cfg = load_config(config_factory(demo={"rows": 64, "cols": 64}, years=[2020]))
    p = Paths(cfg)
    assert p.log("invest", "{year}", "{model}") == p.root / "logs/invest/{year}/{model}.log"
    assert p.log("value") == p.root / "logs" / "value.log"
    assert p.parties_tif == p.inputs / "parties.tif"
    assert p.year_files(2020)[0] == p.inputs / "2020" / "landcover.tif"
    assert len(set(p.year_files(2020))) == len(p.year_files(2020))
    assert all(f.parent == p.inputs / "static" for f in p.static_files)
    assert p.demo_readings.parent == p.demo_stations.parent == p.monitoring.root / "demo"


#: a placeholder of a shell command naming a path: input, output, log or a path parameter
PATH_PLACEHOLDER = re.compile(r"\{(input|output|log|params\.(config|out|\w*dir\w*))(\.\w+)?"
                              r"(:q)?\}")


def test_every_path_in_a_shell_command_is_quoted(repo):
    """A basin folder may hold spaces or Chinese characters: every path a rule's shell command
    passes is quoted with Snakemake's ``:q``."""
    unquoted, seen = [], 0
    for f in sorted((repo / "workflow" / "rules").glob("*.smk")):
        text = f.read_text(encoding="utf-8")
        for block in re.findall(r"shell:\n((?:\s+\".*\"\n?)+)", text):
            for m in PATH_PLACEHOLDER.finditer(block):
                seen += 1
                if not m.group(4):
                    unquoted.append(f"{f.name}: {m.group(0)}")
    assert seen > 20  # the pattern does see the commands
    assert not unquoted, unquoted
