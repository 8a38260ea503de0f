"""One error path in ``gep.cli.main``: user errors exit 2 with one line; anything else is an
internal error: one line saying so, the traceback in a log file, exit 1."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from gep import cli
from gep.errors import GepError
from gep.ledger.merkle import ProofError
from gep.ledger.note import NoteError

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.mark.parametrize("error", [NoteError, ProofError])
def test_ledger_errors_are_user_errors(error):
    assert issubclass(error, GepError) and issubclass(error, ValueError)


def _with_command(monkeypatch, func):
    real = cli.build_parser

    def build():
        parser = real()
        parser.set_defaults(func=None)
        for action in parser._subparsers._group_actions:
            action.choices["validate-config"].set_defaults(func=func)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


def test_internal_error_is_one_line_and_logged(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)

    def boom(args):
        raise KeyError("surprise")

    _with_command(monkeypatch, boom)
    assert cli.main(["validate-config"]) == 1
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert "internal error" in lines[0] and "KeyError" in lines[0] and "report" in lines[0]
    log = Path(re.search(r"Full traceback: (\S+\.log)", lines[0]).group(1))
    assert log.parent == tmp_path
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "surprise" in text
    assert "in boom" in text


def test_user_error_is_one_line_exit_2(monkeypatch, capsys):
    def bad(args):
        raise NoteError("checkpoint signature does not verify\nsecond line of detail")

    _with_command(monkeypatch, bad)
    assert cli.main(["validate-config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "second line of detail" in err and "Traceback" not in err


def test_no_traceback_from_a_real_process(tmp_path):
    """End to end: a config that is a folder, not a file."""
    (tmp_path / "c.yaml").mkdir()
    r = subprocess.run([sys.executable, "-m", "gep", "validate-config", "--config",
                        str(tmp_path / "c.yaml")], capture_output=True, text=True,
                       env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"})
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
