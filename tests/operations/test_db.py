"""The operations tables: the Alembic history builds exactly the models' schema, in its own
version table, beside another context's tables and Alembic history in the same database."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from gep.operations import db


def test_migrations_match_the_models_and_share_a_database(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = db.make_engine(db_url)
    # another bounded context already lives there, with Alembic's default version table
    with engine.begin() as c:
        c.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        c.execute(text("INSERT INTO alembic_version VALUES ('portal_0001')"))
        c.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50))"))
    db.upgrade(engine)
    db.upgrade(engine)   # idempotent
    names = set(inspect(engine).get_table_names())
    ours = {t.name for t in db.Base.metadata.sorted_tables}
    assert ours <= names and all(n.startswith("ops_") for n in ours)
    assert {"users", "alembic_version", db.VERSION_TABLE} <= names
    with engine.connect() as c:
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() \
            == "portal_0001"
        head = c.execute(text(f"SELECT version_num FROM {db.VERSION_TABLE}")).scalar()
        mc = MigrationContext.configure(c, opts={
            "include_object": lambda o, n, t, r, ct: t != "table" or n.startswith("ops_")})
        diff = compare_metadata(mc, db.Base.metadata)
    assert head == "0002"
    assert diff == []
    engine.dispose()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_file_is_in_wal_mode_and_commits_to_disk(db_url):
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        # FULL (2): a committed upload survives a power cut before it is answered
        assert c.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    engine.dispose()
