"""`flask search sync|reindex|check`."""

from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from search import extension, maintenance
from search.sync import pending_count
from shop.db import transaction


@click.group("search", help="The search index: sync the outbox, rebuild, check for drift.")
def search_cli():
    pass


def _factory():
    return current_app.extensions["shop"]["sessionmaker"]


@search_cli.command("sync")
@click.option("--once", is_flag=True, help="Drain what is there and stop (else loop forever).")
@click.option("--force", is_flag=True, help="Ignore the back-off after failures.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks at an empty outbox.")
@with_appcontext
def sync(once, force, poll):
    """Apply the outbox to the engine, in order, retrying with back-off while it is down."""
    ext = extension()
    while True:
        report = ext.drain(force=force)
        if report.rebuilt:
            click.echo(f"alias {ext.engine.alias} was missing (the engine lost its index): rebuilt as {report.rebuilt}")
        if report.applied or report.error or once:
            state = report.error or report.skipped or "ok"
            click.echo(f"applied {report.applied}, remaining {report.remaining}: {state}")
        if once:
            sys.exit(1 if report.error else 0)
        force = False
        time.sleep(poll if not (report.error or report.skipped) else max(poll, 1.0))


@search_cli.command("reindex")
@click.option(
    "--backend",
    type=click.Choice(["engine", "embedded", "all"]),
    default="all",
    show_default=True,
    help="engine: a new versioned index behind the alias; embedded: the database's own index.",
)
@click.option("--keep-old", is_flag=True, help="Keep the engine's previous index after the swap.")
@with_appcontext
def reindex(backend, keep_old):
    """Rebuild from the database while searches keep being served, then swap atomically."""
    ext = extension()
    factory = _factory()
    if backend in ("embedded", "all"):
        with transaction(factory) as session:
            total = maintenance.count_indexable(session)
            with click.progressbar(length=total, label="embedded index") as bar:
                maintenance.reindex_embedded(session, bar.update)
        click.echo(f"embedded index rebuilt: {total} documents")
    if backend in ("engine", "all"):
        if ext.engine is None:
            if backend == "engine":
                raise click.ClickException("no engine configured (set ELASTICSEARCH_URL)")
            return
        with transaction(factory) as session:
            total = maintenance.count_indexable(session)
        with click.progressbar(length=total, label="engine index") as bar:
            name, total = maintenance.reindex_engine(factory, ext.engine, bar.update, keep_old=keep_old)
        click.echo(f"alias {ext.engine.alias} now on {name}: {total} documents")


@search_cli.command("check")
@click.option("--backend", type=click.Choice(["engine", "embedded", "all"]), default="all", show_default=True)
@with_appcontext
def check(backend):
    """List the products whose indexed document differs from the database (exit 1 if any)."""
    from search.embedded_backend import EmbeddedBackend

    ext = extension()
    drifted = False
    engine_wanted = backend in ("engine", "all") and ext.engine is not None
    if engine_wanted and maintenance.rebuild_if_alias_missing(_factory(), ext.engine, lambda _n: None):
        click.echo(f"engine: alias {ext.engine.alias} was missing (the engine lost its index): rebuilt")
    with transaction(_factory()) as session:
        targets = []
        if backend in ("embedded", "all"):
            targets.append(("embedded", EmbeddedBackend(session)))
        if backend in ("engine", "all") and ext.engine is not None:
            targets.append(("engine", ext.engine))
        for label, target in targets:
            drift = maintenance.check(session, target)
            drifted = drifted or bool(drift)
            click.echo(f"{label}: {len(drift)} drifted")
            for item in drift:
                click.echo(f"  {item}")
        click.echo(f"outbox: {pending_count(session)} pending")
    sys.exit(1 if drifted else 0)
