"""Prometheus metrics. Under gunicorn (and next to it, the worker) the processes share
PROMETHEUS_MULTIPROC_DIR, so one scrape of /metrics adds up every process; the database-derived
gauges (outbox lag, dead letters, open alerts, last success of each periodic job) are read at
scrape time, so they are right however many hosts run workers."""

from __future__ import annotations

import os
from datetime import datetime

import sqlalchemy as sa
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

HTTP_LATENCY = Histogram(
    "shop_http_request_duration_seconds",
    "HTTP requests by route template and status, with their latency.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOB_RUNS = Counter("shop_job_runs_total", "Job runs by outcome (ok, failed, skipped, dead).", ["job", "outcome"])
JOB_DURATION = Histogram(
    "shop_job_duration_seconds",
    "How long job runs take.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
)
JOBS_ENQUEUED = Counter("shop_jobs_enqueued_total", "Jobs sent to the queue (or failed to be).", ["job", "outcome"])
WEBHOOK_EVENTS = Counter("shop_webhook_events_total", "Webhook events by gateway and outcome.", ["gateway", "outcome"])
LEDGER_CHECKS = Counter(
    "shop_ledger_checks_total", "Balance-versus-ledger checks by ledger and result.", ["ledger", "result"]
)
LEDGER_DRIFT = Gauge(
    "shop_ledger_drift_rows",
    "Balances that differ from their ledger at the last check.",
    ["ledger"],
    multiprocess_mode="mostrecent",
)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class DatabaseCollector:
    """Gauges read from the database at scrape time."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        try:
            families = list(self._collect())
        except Exception:  # a scrape during a database outage still answers, and says so
            families = []
        yield GaugeMetricFamily("shop_database_up", "1 when the scrape could read the database.", int(bool(families)))
        yield from families

    def _collect(self):
        from search.models import SearchOutbox, SearchSyncState
        from shop import clock
        from shop.jobs.models import Alert, DeadLetter, JobLease

        factory = self.app.extensions["shop"]["sessionmaker"]
        now = clock.now()
        with factory() as session:
            pending, oldest = session.execute(sa.select(sa.func.count(), sa.func.min(SearchOutbox.created_at))).one()
            if isinstance(oldest, str):  # SQLite hands back text from an aggregate
                oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
            elif oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=now.tzinfo)
            failures = session.scalar(sa.select(SearchSyncState.failures).where(SearchSyncState.name == "engine"))
            dead = session.scalar(
                sa.select(sa.func.count()).select_from(DeadLetter).where(DeadLetter.retried_at.is_(None))
            )
            alerts = session.execute(
                sa.select(Alert.kind, sa.func.count()).where(Alert.resolved_at.is_(None)).group_by(Alert.kind)
            ).all()
            leases = session.execute(sa.select(JobLease.name, JobLease.last_success_at)).all()
            session.rollback()
        yield GaugeMetricFamily("shop_search_outbox_pending", "Outbox rows not yet applied to the engine.", pending)
        yield GaugeMetricFamily(
            "shop_search_outbox_lag_seconds",
            "Age of the oldest outbox row not yet applied (0 when empty).",
            max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )
        ext = self.app.extensions.get("search")
        failing = bool(failures)
        degraded = ext is not None and ext.engine is not None and (failing or not ext.breaker.allows())
        yield GaugeMetricFamily(
            "shop_search_degraded", "1 while the search engine fails and the database answers instead.", int(degraded)
        )
        yield GaugeMetricFamily("shop_job_dead_letters", "Dead-lettered jobs not yet retried.", dead or 0)
        family = GaugeMetricFamily("shop_open_alerts", "Open operational alerts by kind.", labels=["kind"])
        for kind, count in alerts:
            family.add_metric([kind], count)
        yield family
        family = GaugeMetricFamily(
            "shop_job_last_success_timestamp_seconds", "When each periodic job last succeeded.", labels=["job"]
        )
        for name, at in leases:
            if at is not None:
                family.add_metric([name], at.timestamp())
        yield family


def render(app) -> tuple[bytes, str]:
    if multiprocess():
        from prometheus_client import multiprocess as mp

        registry = CollectorRegistry()
        mp.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY as registry
    scrape = CollectorRegistry()
    scrape.register(DatabaseCollector(app))
    return generate_latest(registry) + generate_latest(scrape), CONTENT_TYPE_LATEST
