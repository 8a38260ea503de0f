"""Portal fixtures: a tiny two-party basin (no pipeline run needed), a sunshine ledger with
known receipts, a throwaway PostgreSQL cluster, and API clients on SQLite and PostgreSQL.

The basin: two 10 km x 10 km squares in UTM 50N (EPSG:32650, the demo grid), ``west``
(x 700-710 km) and ``east`` (x 710-720 km), y 3290-3300 km, so lengths along a north-south line
are known independently of the code (UTM scale factor here is within 0.1 % of 1).
"""
from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest

from .helpers import Api, build, write_basin

_spec = importlib.util.spec_from_file_location(
    "gep_tests_pg", Path(__file__).resolve().parents[1] / "pg.py")
pg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pg)
_databases = itertools.count()


@pytest.fixture(scope="session")
def basin_config(tmp_path_factory, config_copy) -> Path:
    return write_basin(tmp_path_factory.mktemp("portal-basin"), config_copy)


# ----------------------------------------------------------------------------- PostgreSQL

@pytest.fixture(scope="session")
def pg_cluster():
    """The throwaway PostgreSQL cluster of tests/pg.py (fails under CI if not installed)."""
    with pg.pg_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portal.db'}"
    return pg.create_database(request.getfixturevalue("pg_cluster"),
                              f"portal_{next(_databases)}")


# ----------------------------------------------------------------------------- app + client

@pytest.fixture
def make_api(basin_config, db_url):
    from fastapi.testclient import TestClient

    from gep.portal.app import create_app

    made = []

    def factory(**overrides) -> Api:
        portal = build(basin_config, db_url, **overrides)
        client = TestClient(create_app(portal))
        client.__enter__()
        made.append((client, portal))
        return Api(client, portal)

    yield factory
    for client, portal in made:
        client.__exit__(None, None, None)
        portal.engine.dispose()


@pytest.fixture
def api(make_api) -> Api:
    return make_api()


