"""The database session of the current request: committed once if the response succeeds."""

from __future__ import annotations

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from shop.db import begin_writing


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["shop"]["sessionmaker"]()
    return g.db_session


WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def init_app(app: Flask) -> None:
    @app.before_request
    def _writers_queue():
        # A request that may write takes SQLite's write lock before its first read, so parallel
        # writers wait their turn instead of failing with "database is locked".
        if request.method in WRITING_METHODS:
            begin_writing(get_session())

    @app.after_request
    def _commit_or_roll_back(response):
        session = g.pop("db_session", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                else:
                    session.rollback()
            finally:
                session.close()
        return response

    @app.teardown_appcontext
    def _close(_exc):
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()
