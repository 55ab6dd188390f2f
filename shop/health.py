"""Liveness (`/health`: the process answers, nothing else is touched) and readiness (`/ready`: the
database answers, its schema is at the newest migration, the queue's broker answers, and the
search engine, whose failure only degrades search)."""

from __future__ import annotations

import functools

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from flask_smorest import Blueprint

from shop.web import documented_errors, error_response

blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Liveness and readiness")


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ok"})


class ReadyChecksSchema(ma.Schema):
    database = ma.fields.String(required=True, metadata={"example": "ok"})
    migrations = ma.fields.String(required=True, metadata={"example": "ok"})
    broker = ma.fields.String(required=True, metadata={"example": "ok"})
    search = ma.fields.String(
        required=True, metadata={"description": "ok, degraded (answering from the database) or embedded"}
    )


class ReadySchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"example": "ready"})
    checks = ma.fields.Nested(ReadyChecksSchema, required=True)


@blp.route("/health", methods=["GET"])
@blp.response(200, HealthSchema)
def health():
    """The process is alive. Touches nothing else: a database outage must not get it restarted."""
    return {"status": "ok"}


@functools.cache
def migrations_head() -> str | None:
    from alembic.script import ScriptDirectory

    from shop.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def _failure(error: Exception) -> str:
    return f"failed: {type(error).__name__}"


def check_database() -> tuple[str, str]:
    """(database, migrations)"""
    factory = current_app.extensions["shop"]["sessionmaker"]
    try:
        with factory() as session:
            session.execute(sa.text("SELECT 1"))
            try:
                version = session.scalar(sa.text("SELECT version_num FROM alembic_version"))
            except sa.exc.DBAPIError:
                session.rollback()
                return "ok", "failed: not migrated"
            session.rollback()
    except Exception as error:
        return _failure(error), "unknown"
    head = migrations_head()
    return "ok", "ok" if version == head else f"failed: at {version}, head is {head}"


def check_broker() -> str:
    from shop.jobs import extension

    try:
        with extension().celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return _failure(error)
    return "ok"


def check_search() -> str:
    import search
    from search.backend import EngineUnavailable

    ext = search.extension()
    if ext.engine is None:
        return "embedded"
    try:
        ext.engine.indices_behind_alias()
    except (EngineUnavailable, Exception):
        return "degraded"
    return "ok"


@blp.route("/ready", methods=["GET"])
@blp.response(200, ReadySchema)
@documented_errors(503)
def ready():
    """Ready for traffic: 200 when the database, its migrations and the broker are fine (search may be
    degraded), else 503 `not_ready` with every check's result in `details.checks`."""
    database, migrations = check_database()
    checks = {"database": database, "migrations": migrations, "broker": check_broker(), "search": check_search()}
    failing = [name for name in ("database", "migrations", "broker") if checks[name] != "ok"]
    if failing:
        return error_response(
            503, "not_ready", f"Not ready: {', '.join(failing)}.", {"checks": checks, "failing": failing}
        )
    return {"status": "ready", "checks": checks}
