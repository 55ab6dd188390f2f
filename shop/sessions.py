"""The application's session factory, with the search outbox and the catalog version listening: any
caller of the services (a request, a command, a worker, a script without create_app) writes outbox
rows and bumps the catalog version in its own transaction.
It sits above shop.db and search.outbox (the outbox knows the models, which need shop.db first)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from search import outbox
from shop.catalog import version as catalog_version


def make_sessionmaker(bind) -> sessionmaker[Session]:
    outbox.install()
    catalog_version.install()
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)
