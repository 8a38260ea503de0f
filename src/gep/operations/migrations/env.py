"""Alembic environment of the operations tables only (version table
``alembic_version_operations``), so they share a database with the portal's without clashing.

Run through :func:`gep.operations.db.upgrade`, which passes the engine in
``config.attributes["engine"]``.
"""
from __future__ import annotations

from alembic import context

from gep.operations.db import VERSION_TABLE, Base, make_engine

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):
    """Autogenerate looks at this context's tables only (prefix ``ops_``)."""
    if type_ == "table":
        return name.startswith("ops_")
    return True


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          version_table=VERSION_TABLE, include_object=include_object,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
