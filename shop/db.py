"""Engine, session and the declarative base shared by every slice."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC on the way in and out, on PostgreSQL and on SQLite alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """An enum stored by its value in a VARCHAR with a CHECK constraint (no native PG enum)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda cls: [member.value for member in cls],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


def normalise_url(url: str) -> str:
    """Accept the usual postgres:// and postgresql:// forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=echo, connect_args={"timeout": 30})
        _sqlite_proper_transactions(engine)
    else:
        engine = sa.create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
    return engine


def _sqlite_proper_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not pysqlite, emit BEGIN so SAVEPOINTs and foreign keys behave."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A unit of work that will write may ask for the write lock up front with the execution
        # option sqlite_begin="IMMEDIATE": it then waits its turn (busy_timeout), where a deferred
        # transaction that read first fails at once with "database is locked" if another writes.
        mode = conn.get_execution_options().get("sqlite_begin")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def insert_ignore(session: Session, table, rows: list[dict], keys: list[str] | None = None) -> None:
    """INSERT the rows unless their key exists already (ON CONFLICT DO NOTHING): race-free on
    PostgreSQL and SQLite alike. `table` is a Table or a mapped class."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).values(rows).on_conflict_do_nothing(index_elements=keys))


def begin_writing(session: Session) -> None:
    """Start the session's transaction as one that will write: on SQLite it takes the write lock at
    once (BEGIN IMMEDIATE) and so waits for other writers; elsewhere nothing changes. Call it before
    the first read; once a transaction is open it does nothing."""
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


@contextmanager
def transaction(factory: sessionmaker[Session], *, write: bool = False) -> Iterator[Session]:
    """One unit of work outside a request (CLI, worker): commit on success, roll back on error.
    `write` queues for SQLite's write lock up front (see begin_writing)."""
    session = factory()
    if write:
        begin_writing(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utcnow_column_default() -> datetime:
    from shop import clock

    return clock.now()
