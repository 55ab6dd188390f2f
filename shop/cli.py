"""Command-line entry points: `flask db ...`, `flask demo load`, `flask openapi write`."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from shop import migrate
from shop.config import ROOT
from shop.db import transaction


@click.group("db", help="Database schema migrations.")
def db_cli():
    pass


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision):
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision", default="base")
@with_appcontext
def db_downgrade(revision):
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"database at {revision}")


@db_cli.command("check")
@with_appcontext
def db_check():
    migrate.check(current_app.config["DATABASE_URL"])
    click.echo("models and migrations agree")


@click.group("demo", help="Demo data.")
def demo_cli():
    pass


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has products already.")
@with_appcontext
def demo_load(if_empty):
    from shop import demo

    with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
        if if_empty and demo.has_data(session):
            click.echo("database has data; demo not loaded")
            return
        summary = demo.load(session)
    click.echo("demo data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))


@demo_cli.command("scale")
@click.option(
    "--fraction",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Every count times this (0.001 for a quick try).",
)
@click.option("--products", type=click.IntRange(min=1), help="Products (default 300,000 × fraction).")
@click.option("--suppliers", type=click.IntRange(min=1), help="Suppliers (default 20,000 × fraction).")
@click.option("--halls", type=click.IntRange(min=1), help="Halls (default 100 × fraction).")
@click.option("--counters", type=click.IntRange(min=1), help="Counters (default 10,000 × fraction).")
@click.option("--buyers", type=click.IntRange(min=1), help="Buyers (default 50,000 × fraction).")
@click.option("--orders", type=click.IntRange(min=1), help="Shop orders (default 1,000,000 × fraction).")
@click.option("--counter-sales", type=click.IntRange(min=1), help="Counter sale lines (default 1,000,000 × fraction).")
@click.option("--seed", type=int, default=832, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has products already.")
@click.option("--check-keys", is_flag=True, help="PostgreSQL: keep the foreign-key checks on while filling (slower).")
@with_appcontext
def demo_scale(fraction, seed, if_empty, check_keys, **counts):
    """Fill the database at the platform's scale (COPY on PostgreSQL), rebuild the search index and
    the statistics rollups, ANALYZE."""
    import dataclasses

    from shop import clock
    from shop.demo import scale

    engine = current_app.extensions["shop"]["engine"]
    with engine.connect() as conn:
        if scale.is_filled(conn):
            if if_empty:
                click.echo("database has products; scale data not loaded")
                return
            raise click.ClickException("the database has products already: fill an empty one")
    size = scale.Scale(seed=seed).times(fraction)
    size = dataclasses.replace(size, **{k: v for k, v in counts.items() if v is not None})
    summary = scale.run(engine, size, clock.now(), log=lambda m: click.echo(m, err=True), check_keys=check_keys)
    click.echo("scale data loaded: " + ", ".join(f"{k} {v}" for k, v in summary.items()))


@click.group("points", help="The points ledger.")
def points_cli():
    pass


@points_cli.command("check")
@with_appcontext
def points_check():
    """Rebuild every points balance from the ledger; exit 1 and list the accounts that differ."""
    from shop.points import service

    with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
        drift = service.check(session)
    for d in drift:
        click.echo(f"user {d.user_id}: cached {d.cached}, ledger {d.ledger}")
    if drift:
        raise SystemExit(1)
    click.echo("points balances agree with the ledger")


@points_cli.command("expire")
@with_appcontext
def points_expire():
    """Expire points earned more than POINTS_EXPIRE_DAYS ago and not spent since (the worker does it daily)."""
    from shop.jobs import runner

    expired = runner.run(current_app._get_current_object(), "points.expire")
    click.echo(f"points expired for {expired} buyers")


@click.group("orders", help="Orders.")
def orders_cli():
    pass


@orders_cli.command("expire")
@with_appcontext
def orders_expire():
    """Cancel unpaid orders past their time, releasing stock, coupons and points."""
    from shop import clock
    from shop.orders import service

    total = 0
    while True:  # in batches, each its own transaction
        with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
            expired = service.expire_due(session, clock.now(), limit=200)
        total += expired
        if expired < 200:
            break
    click.echo(f"expired {total} unpaid orders")


@click.group("payments", help="Payments at outside gateways.")
def payments_cli():
    pass


@payments_cli.command("reconcile")
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(min=0),
    default=None,
    help="Minutes an attempt must have been pending (default PAYMENTS_RECONCILE_AFTER_MINUTES).",
)
@click.option("--limit", type=click.IntRange(min=1), default=500, show_default=True)
@with_appcontext
def payments_reconcile(older_than, limit):
    """Ask Stripe about attempts still pending after a while (a webhook may have been lost) and about
    attempts closed here but open at Stripe; apply what it says, each attempt in its own transaction.
    Exit 1 if Stripe could not be asked about some (run it again later: it is safe to repeat)."""
    from datetime import timedelta

    from payments import payables
    from shop import clock
    from shop.settings import current as current_settings

    cfg = current_app.config
    minutes = cfg["PAYMENTS_RECONCILE_AFTER_MINUTES"] if older_than is None else older_than
    outcomes, failures = payables.reconcile_pending(
        current_app.extensions["shop"]["sessionmaker"],
        payments=current_settings().payments,
        pending_before=clock.now() - timedelta(minutes=minutes),
        limit=limit,
        clock=clock,
    )
    for payment_id, error in failures:
        click.echo(f"payment {payment_id}: {error.code}: {error.message}", err=True)
    done = sum(outcomes.values())
    summary = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items())) or "nothing to do"
    click.echo(f"reconciled {done} of {done + len(failures)} payments: {summary}")
    if failures:
        raise SystemExit(1)


@click.group("openapi", help="The OpenAPI document.")
def openapi_cli():
    pass


@openapi_cli.command("write")
@click.option("--path", default=str(ROOT / "openapi.json"), show_default=True)
@with_appcontext
def openapi_write(path):
    with open(path, "w", encoding="utf-8") as out:
        out.write(render_openapi() + "\n")
    click.echo(f"wrote {path}")


def render_openapi() -> str:
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False)


def main():
    from shop import create_app

    FlaskGroup(create_app=create_app)()
