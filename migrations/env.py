from __future__ import annotations

from alembic import context

from shop import models_registry  # noqa: F401  (imports every model so the metadata is complete)
from shop.config import from_env
from shop.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    return config.attributes.get("database_url") or from_env()["DATABASE_URL"]


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(database_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


# Objects a migration makes per dialect with explicit SQL and the models do not describe: the
# SQLite FTS5 table of the embedded search (and its shadow tables), the PostgreSQL text index.
UNMODELLED = ("search_fts", "ix_search_documents_terms", "ts_terms")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (reflected and compare_to is None and name and name.startswith(UNMODELLED))


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
