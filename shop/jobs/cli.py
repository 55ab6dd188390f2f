"""`flask jobs list|run|dead|retry`: the registry, one-off runs, the dead-letter list."""

from __future__ import annotations

import json

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from shop import clock
from shop.db import transaction


@click.group("jobs", help="The worker's jobs: list, run one now, see and retry dead letters.")
def jobs_cli():
    pass


@jobs_cli.command("list")
@with_appcontext
def list_jobs():
    """Every registered job with its period (after JOBS_SCHEDULE)."""
    from shop.jobs.registry import JOBS, periods

    scheduled = periods(current_app.config)
    for name, job in sorted(JOBS.items()):
        every = f"every {scheduled[name]} s" if name in scheduled else "on demand"
        click.echo(f"{name:<24} {every:<16} {job.description}")


@jobs_cli.command("run")
@click.argument("name")
@click.option("--arg", "args", multiple=True, help="key=JSON value, e.g. order_ids=[1,2]")
@click.option("--enqueue", is_flag=True, help="Send it to the worker instead of running it here.")
@with_appcontext
def run_job(name, args, enqueue):
    """Run one job now, in this process (what the worker would do), or send it to the worker."""
    from shop import jobs
    from shop.jobs import runner

    kwargs = {}
    for item in args:
        key, _, value = item.partition("=")
        kwargs[key] = json.loads(value)
    if enqueue:
        jobs.enqueue(name, **kwargs)
        click.echo(f"sent {name}")
        return
    try:
        result = runner.run(current_app._get_current_object(), name, kwargs)
    except runner.UnknownJob as error:
        raise click.ClickException(f"no job named {name}") from error
    click.echo(f"{name}: {json.dumps(result, default=str)}")


@jobs_cli.command("dead")
@click.option("--all", "show_all", is_flag=True, help="Include the ones retried already.")
@with_appcontext
def dead(show_all):
    """Jobs that failed every retry, newest first."""
    from shop.jobs.models import DeadLetter

    with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
        stmt = sa.select(DeadLetter).order_by(DeadLetter.id.desc())
        if not show_all:
            stmt = stmt.where(DeadLetter.retried_at.is_(None))
        rows = session.scalars(stmt).all()
    for row in rows:
        retried = f" retried {row.retried_at:%Y-%m-%d %H:%M}" if row.retried_at else ""
        click.echo(
            f"#{row.id} {row.failed_at:%Y-%m-%d %H:%M:%S} {row.job} {json.dumps(row.kwargs)} "
            f"after {row.attempts} attempts{retried}: {row.error}"
        )
    if not rows:
        click.echo("no dead letters")


@jobs_cli.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "retry_all", is_flag=True, help="Every dead letter not yet retried.")
@with_appcontext
def retry(ids, retry_all):
    """Send dead-lettered jobs to the worker again (each is marked retried; a new failure makes a new row)."""
    from shop import jobs
    from shop.jobs.models import DeadLetter

    if not ids and not retry_all:
        raise click.UsageError("name dead-letter ids, or --all")
    with transaction(current_app.extensions["shop"]["sessionmaker"], write=True) as session:
        stmt = sa.select(DeadLetter).where(DeadLetter.retried_at.is_(None))
        if not retry_all:
            stmt = stmt.where(DeadLetter.id.in_(ids))
        rows = session.scalars(stmt.order_by(DeadLetter.id).with_for_update()).all()
        for row in rows:
            row.retried_at = clock.now()
            jobs.enqueue_after_commit(session, row.job, **row.kwargs)
        sent = [row.id for row in rows]
    click.echo(f"sent again: {', '.join(f'#{i}' for i in sent) or 'nothing'}")
