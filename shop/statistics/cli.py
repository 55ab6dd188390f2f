"""`flask statistics backfill`, `check`, `rollups` and `feed`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from shop.db import transaction


@click.group("statistics", help="Sales facts.")
def statistics_cli():
    pass


@statistics_cli.command("backfill")
@with_appcontext
def backfill():
    """Write the facts of past sales that have none (idempotent)."""
    from shop.statistics import facts

    with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
        written = facts.backfill(session)
    click.echo("facts written: " + (", ".join(f"{k} {v}" for k, v in sorted(written.items())) or "none"))


@statistics_cli.command("check")
@with_appcontext
def check():
    """Compare the facts with orders, stock movements, bulk orders and redemptions, and the rollups with
    the facts; exit 1 on a difference."""
    from shop.statistics import facts, rollups

    with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
        differences = facts.check(session)
        drifts = rollups.check(session)
    for d in differences:
        click.echo(
            f"{d.source} {d.source_id}: expected {d.expected_quantity} units {d.expected_fen} fen, "
            f"facts {d.facts_quantity} units {d.facts_fen} fen"
        )
    for r in drifts:
        click.echo(f"rollup {r.rollup} {r.key}: off the facts by {r.quantity} units {r.amount_fen} fen {r.facts} facts")
    if differences or drifts:
        raise SystemExit(1)
    click.echo("facts agree with their sources, rollups with the facts")


@statistics_cli.command("rollups")
@click.option("--rebuild", is_flag=True, help="Empty the rollups and fold every fact again.")
@with_appcontext
def rollups_command(rebuild):
    """Fold the facts written since the last run into the rollups (what the worker does every minute)."""
    from shop import clock
    from shop.statistics import rollups

    factory = current_app.extensions["shop"]["sessionmaker"]
    outcome = rollups.rebuild(factory, clock.now()) if rebuild else rollups.refresh(factory, clock.now())
    click.echo(", ".join(f"{k} {v}" for k, v in outcome.items()))


@statistics_cli.command("feed")
@with_appcontext
def feed_hub():
    """Batch new facts for the national hub and deliver the batches that are due."""
    from shop import clock
    from shop.statistics import feed

    hub = feed.settings_from(current_app.config)
    if hub is None:
        click.echo("STATISTICS_HUB_URL is not set: nothing fed")
        return
    outcome = feed.run(current_app.extensions["shop"]["sessionmaker"], hub, clock.now())
    click.echo(", ".join(f"{k} {v}" for k, v in outcome.items()))
