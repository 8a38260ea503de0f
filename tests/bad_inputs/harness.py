"""The bad-input catalogue's harness: run a real ``gep`` command as a user does and check that
it refuses the input cleanly.

A clean refusal (issue 14): exit code 2; stderr is exactly one non-empty line that names the
file and the field or key; no Python traceback anywhere; and the output folder is
byte-identical before and after (every file under it hashed), so nothing was half written.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def gep(args: list[str], cwd: str | Path | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m gep ARGS`` in a subprocess, with this checkout's ``src`` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "src")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("MPLBACKEND", "Agg")
    env["PYTHONWARNINGS"] = "ignore"   # a library's DeprecationWarning is not the error line
    return subprocess.run([sys.executable, "-m", "gep", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def tree_digest(folder: str | Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``folder`` (dirs as 'dir'); {} if absent."""
    folder = Path(folder)
    if not folder.exists():
        return {}
    if folder.is_file():
        return {".": hashlib.sha256(folder.read_bytes()).hexdigest()}
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@dataclass
class Case:
    """One bad input: the command, the folder it must leave alone, what its message names."""

    argv: list[str]
    out: Path
    names: list[str]              # substrings the one error line must contain (file, field)
    cwd: Path | None = None
    extra: list[str] = field(default_factory=list)   # further substrings (the problem)


def assert_refused(case: Case) -> str:
    """Run ``case`` and assert a clean refusal; returns the error line."""
    before = tree_digest(case.out)
    res = gep(case.argv, cwd=case.cwd)
    after = tree_digest(case.out)
    both = res.stdout + res.stderr
    assert "Traceback" not in both, both
    assert res.returncode == 2, f"exit {res.returncode}; stderr: {res.stderr!r}"
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"not one line: {res.stderr!r}"
    line = lines[0]
    for s in [*case.names, *case.extra]:
        assert s in line, f"{s!r} not in {line!r}"
    assert "Fix:" in line, line
    assert after == before, f"output folder {case.out} changed"
    return line
