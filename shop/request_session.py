"""The database session of the current request: committed once if the response succeeds."""

from __future__ import annotations

import functools

from flask import Flask, current_app, g
from sqlalchemy.orm import Session


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["shop"]["sessionmaker"]()
    return g.db_session


def begin_writing() -> Session:
    """The request's session, for a request that will write: on SQLite its transaction takes the
    write lock at its start (before the first read), so concurrent writers queue instead of failing.
    Call it before anything reads; later it changes nothing."""
    session = get_session()
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    return session


def writing(view):
    """Decorate a view that writes (outside any decorator that reads, such as the log-in check)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        begin_writing()
        return view(*args, **kwargs)

    return wrapper


def init_app(app: Flask) -> None:
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
