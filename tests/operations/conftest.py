"""Fixtures: a basin config copy with the demo stations, a database per test on SQLite and on
a throwaway PostgreSQL cluster, and a test client of the standalone operations app."""
from __future__ import annotations

import csv
import importlib.util
import itertools
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gep_tests_pg", TESTS / "pg.py")
pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pg)

YEAR = 2023
UPSTREAM = ("shanyuan", "linxi", "yunling")
# entitlements of year YEAR - 1, paid out day by day in YEAR (as the dispatch rule does)
FUNDING = {"shanyuan": {"central": "365000.00", "xiahe": "100000.37"},
           "linxi": {"central": "219000.00", "nanzhou": "55555.55"},
           "yunling": {"central": "146000.01", "xiahe": "36500.00"}}
_counter = itertools.count()


@pytest.fixture(scope="session")
def demo_year(tmp_path_factory):
    """The demo network's readings of YEAR (Parquet) and its stations table."""
    from gep.monitoring.demo import generate

    tmp = tmp_path_factory.mktemp("demo")
    return generate([YEAR], tmp / "readings.parquet", tmp / "stations.csv", seed=11)


@pytest.fixture(scope="session")
def pg_url():
    with pg.pg_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ops.db'}"
    base = request.getfixturevalue("pg_url")
    return pg.create_database(base, f"ops_{next(_counter)}")


def write_transfers(path: Path, funding=FUNDING, year: int = YEAR - 1) -> Path:
    from gep.monitoring.dispatch import TRANSFER_HEADER

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TRANSFER_HEADER)
        for party, payers in funding.items():
            for i, (payer, amount) in enumerate(payers.items()):
                w.writerow([f"{party}-{payer}", year, "base" if i == 0 else "reward", payer,
                            party, amount, "test entitlement"])
    return path


@pytest.fixture
def basin(tmp_path, config_copy, demo_year):
    """A copy of config/ using the demo stations, with transfers.csv in place."""
    from gep.config import load_config
    from gep.paths import Paths

    cfg_path = config_copy(tmp_path, monitoring={"stations": str(demo_year["stations"])})
    paths = Paths(load_config(cfg_path))
    write_transfers(paths.compensation / "transfers.csv")
    return cfg_path


@pytest.fixture
def ctx(basin, db_url):
    from gep.operations.service import load_context

    c = load_context(basin, db_url=db_url)
    yield c
    c.close()


@pytest.fixture
def client(ctx):
    from fastapi.testclient import TestClient

    from gep.operations.api import create_app

    with TestClient(create_app(ctx)) as c:
        yield c
