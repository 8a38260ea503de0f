"""A small harness for bad-input cases of the pipeline and ledger commands.

``run_bad(cmd, cwd, expect)`` runs ``python -m gep <cmd>`` in a fresh interpreter and checks the
contract of issue 14 for bad user input: exit code 2, exactly one line on stderr that names the
file and the key or field (``expect`` fragments), no traceback, and every file under ``cwd``
byte-identical before and after (nothing written, nothing half written).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file (and '<dir>' for every folder) under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        d = Path(dirpath)
        for name in dirnames:
            out[str((d / name).relative_to(root)) + "/"] = "<dir>"
        for name in filenames:
            f = d / name
            out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def gep(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("PYTHONWARNINGS", "default")
    return subprocess.run([sys.executable, "-m", "gep", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def run_bad(args: list[str], cwd: Path, expect: list[str]) -> str:
    """Run a bad-input case; return its one stderr line after checking the contract."""
    before = snapshot(cwd)
    r = gep(args, cwd)
    after = snapshot(cwd)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert len(lines) == 1, "expected one stderr line, got:\n" + r.stderr
    line = lines[0]
    for fragment in expect:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert "Fix:" in line, line
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"files changed by a refused command: {changed}"
    return line
