"""The Celery application: one task that runs any registered job, and the beat schedule.

Delivery is at least once: a message is acknowledged after its job ends (acks_late), and handed to
another worker if the one running it dies, so every job is idempotent. A failing job is retried
with exponential back-off, then recorded in the dead-letter table."""

from __future__ import annotations

from pathlib import Path

from celery import Celery
from flask import Flask

from shop.jobs import TASK, registry, runner


def transport_options(cfg: dict) -> dict:
    url = cfg["JOBS_BROKER_URL"]
    if url.startswith("filesystem"):
        folder = Path(cfg["JOBS_QUEUE_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "control").mkdir(exist_ok=True)
        return {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder / "control"),
        }
    if url.startswith(("redis", "rediss")):
        timeout = cfg["JOBS_VISIBILITY_TIMEOUT"]
        # look for messages of dead workers about as often as they can become due
        return {
            "visibility_timeout": timeout,
            "unacked_restore_interval": min(10, timeout),
            "unacked_restore_throttle": 1,
        }
    return {}


def beat_schedule(cfg: dict) -> dict:
    return {
        name: {
            "task": TASK,
            "schedule": float(seconds),
            "args": (name, {}),
            "kwargs": {"scheduled_every": seconds},
            # a tick nobody ran within its period is superseded by the next one
            "options": {"queue": cfg["JOBS_QUEUE"], "expires": float(seconds)},
        }
        for name, seconds in registry.periods(cfg).items()
    }


def backoff(cfg: dict, retries: int) -> float:
    return min(cfg["JOBS_RETRY_BACKOFF_SECONDS"] * 2**retries, cfg["JOBS_RETRY_BACKOFF_MAX_SECONDS"])


def make_celery(app: Flask) -> Celery:
    cfg = app.config
    celery = Celery("shop", broker=cfg["JOBS_BROKER_URL"], set_as_current=False)
    celery.conf.update(
        task_default_queue=cfg["JOBS_QUEUE"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        broker_transport_options=transport_options(cfg),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        beat_schedule=beat_schedule(cfg),
    )

    @celery.task(name=TASK, bind=True, max_retries=None)
    def run_job(self, name, kwargs=None, scheduled_every=None, period=None, request_id=None):
        if scheduled_every and period is None:
            period = runner.current_period(scheduled_every)
        try:
            return runner.run(app, name, kwargs, period=period, request_id=request_id)
        except runner.UnknownJob:
            raise
        except Exception as error:
            job = registry.JOBS[name]
            limit = cfg["JOBS_MAX_RETRIES"] if job.max_retries is None else job.max_retries
            if self.request.retries >= limit:
                runner.dead_letter(app, name, kwargs, error, self.request.retries + 1, request_id)
                return "dead"
            raise self.retry(
                args=(name, kwargs),
                kwargs={"period": period, "request_id": request_id},
                countdown=backoff(cfg, self.request.retries),
                exc=error,
            ) from error

    celery.flask_app = app
    return celery
