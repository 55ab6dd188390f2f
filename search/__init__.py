"""Product search: an engine backend (Elasticsearch or OpenSearch) and an embedded backend in the
database, behind one interface; a transactional outbox and a sync loop keep the engine true.

The rest of the application uses `search.service` and the `search.api` blueprint; nothing outside
this package imports `elasticsearch`.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, current_app, g, has_app_context, has_request_context

from search import outbox
from search.backend import Boost

log = logging.getLogger(__name__)


class CircuitBreaker:
    """After the engine fails, skip it for `seconds` (monotonic time) and answer from the database."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._open_until = 0.0

    def allows(self) -> bool:
        return time.monotonic() >= self._open_until

    def failed(self) -> None:
        self._open_until = time.monotonic() + self.seconds

    def succeeded(self) -> None:
        self._open_until = 0.0


class SearchExtension:
    """What one application needs for search: its engine backend (or None) and its settings."""

    def __init__(self, app: Flask):
        cfg = app.config
        self.config = cfg
        self.engine = None
        if cfg["SEARCH_BACKEND"] == "elasticsearch":
            if not cfg["ELASTICSEARCH_URL"]:
                raise RuntimeError("SEARCH_BACKEND=elasticsearch needs ELASTICSEARCH_URL")
            from search.elasticsearch_backend import ElasticsearchBackend, make_client

            client = make_client(
                cfg["ELASTICSEARCH_URL"],
                flavor=cfg["SEARCH_ENGINE_FLAVOR"],
                timeout=cfg["SEARCH_ENGINE_TIMEOUT"],
                retries=cfg["SEARCH_ENGINE_RETRIES"],
            )
            self.engine = ElasticsearchBackend(
                client,
                alias=cfg["SEARCH_INDEX_ALIAS"],
                analyzer=cfg["SEARCH_ANALYZER"],
                refresh=cfg["SEARCH_ENGINE_REFRESH"],
            )
        elif cfg["SEARCH_BACKEND"] != "embedded":
            raise RuntimeError(f"unknown SEARCH_BACKEND {cfg['SEARCH_BACKEND']!r}")
        self.breaker = CircuitBreaker(cfg["SEARCH_ENGINE_RETRY_SECONDS"])
        self.app = app
        from search.sync import BackgroundDrainer

        self.drainer = BackgroundDrainer(self.drain)

    @property
    def boosts(self) -> tuple[Boost, ...]:
        from search.boosts import boosts

        return boosts(self.config)

    def drain(self, **kwargs):
        from search.sync import drain

        return drain(
            self.app.extensions["shop"]["sessionmaker"],
            self.engine,
            batch=self.config["SEARCH_SYNC_BATCH"],
            backoff_max=self.config["SEARCH_SYNC_BACKOFF_MAX_SECONDS"],
            **kwargs,
        )


def extension(app: Flask | None = None) -> SearchExtension:
    return (app or current_app).extensions["search"]


def _mark_outbox_written() -> None:
    if not has_app_context():
        return
    if current_app.config["SEARCH_DRAIN_AFTER_COMMIT"] == "worker":
        from shop import jobs

        jobs.extension().send("search.sync", {})
    elif has_request_context():
        g.search_outbox_written = True


def init_app(app: Flask) -> None:
    outbox.install()  # also done by shop.sessions.make_sessionmaker, for sessions made outside an app
    outbox.after_commit_hook = _mark_outbox_written
    app.extensions["search"] = SearchExtension(app)

    @app.teardown_request
    def _drain_after_commit(_exc):
        if not g.pop("search_outbox_written", False):
            return
        ext = extension(app)
        mode = app.config["SEARCH_DRAIN_AFTER_COMMIT"]
        try:
            if mode == "thread":
                ext.drainer.kick()
            elif mode == "inline":
                ext.drain(max_batches=1)
        except Exception:  # never fail the request that already committed
            log.exception("search drain after commit failed")
