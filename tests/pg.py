"""A throwaway PostgreSQL cluster for tests (Debian's ``postgresql`` package).

``with pg_cluster() as url:`` runs ``initdb`` in a temporary folder (as the ``postgres`` user
through ``runuser`` when the tests run as root, since PostgreSQL refuses root), starts it with
``pg_ctl`` on a free port of 127.0.0.1, creates a database and yields its SQLAlchemy URL; it
stops the cluster with ``pg_ctl stop -m fast`` and removes the folder at exit.

``require_binaries()`` skips the test when the binaries are absent, except in CI
(``CI=true``), where their absence fails: ``make test`` installs them (target
``db-deps``).
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def require_binaries() -> Path:
    import pytest

    b = bin_dir()
    if b is None:
        msg = ("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
               "(install Debian's postgresql: make db-deps)")
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return b


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_db_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextlib.contextmanager
def pg_cluster(dbname: str = "gep_test"):
    b = require_binaries()
    tmp = Path(tempfile.mkdtemp(prefix="gep-pg-"))
    data = tmp / "data"
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    os.chmod(tmp, 0o700)
    port = _free_port()
    run = dict(check=True, capture_output=True, text=True, cwd=tmp)
    subprocess.run(_as_db_user([str(b / "initdb"), "-D", str(data), "-U", "postgres",
                                "--auth=trust", "-E", "UTF8", "--no-sync"]), **run)
    opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={tmp} "
            "-c fsync=off -c max_connections=200")
    try:
        subprocess.run(_as_db_user([str(b / "pg_ctl"), "-D", str(data), "-o", opts, "-w",
                                    "-l", str(tmp / "log"), "start"]), **run)
        subprocess.run(_as_db_user([str(b / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                                    "-U", "postgres", dbname]), **run)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{dbname}"
    finally:
        subprocess.run(_as_db_user([str(b / "pg_ctl"), "-D", str(data), "stop", "-m",
                                    "fast"]), capture_output=True, cwd=tmp)
        shutil.rmtree(tmp, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """A second empty database in the same cluster (one per test that needs a fresh one)."""
    import psycopg

    base = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name
