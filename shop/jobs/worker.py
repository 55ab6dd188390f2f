"""What `celery -A shop.jobs.worker worker|beat` loads: the application and its Celery app.

Settings come from the environment like the web server's (DATABASE_URL, JOBS_BROKER_URL, ...).
WORKER_METRICS_PORT, when set, serves this process's metrics for a worker on a host of its own."""

from __future__ import annotations

import os

from celery.signals import worker_ready

from shop import create_app
from shop.jobs import extension

flask_app = create_app()
celery = extension(flask_app).celery


@worker_ready.connect
def _serve_metrics(**_kwargs):
    port = os.environ.get("WORKER_METRICS_PORT")
    if port:
        from prometheus_client import start_http_server

        start_http_server(int(port), addr=os.environ.get("WORKER_METRICS_ADDR", "127.0.0.1"))
