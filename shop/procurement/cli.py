"""`flask procurement expire-vouchers` and `flask procurement check`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from shop.db import transaction


@click.group("procurement", help="Organisations' budgets and vouchers.")
def procurement_cli():
    pass


@procurement_cli.command("expire-vouchers")
@with_appcontext
def expire_vouchers():
    """Expire vouchers past their date; unredeemed value goes back to budgets where configured."""
    from shop import clock
    from shop.procurement import vouchers

    total = 0
    while True:  # in batches, each its own transaction
        with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
            expired = vouchers.expire_due(session, clock.now(), limit=500)
        total += expired
        if expired < 500:
            break
    click.echo(f"expired {total} vouchers")


@procurement_cli.command("check")
@with_appcontext
def check_budgets():
    """Rebuild every budget from its ledger; exit 1 and list the budgets that differ."""
    from shop.procurement import budgets

    with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
        drift = budgets.check(session)
    for d in drift:
        click.echo(f"budget {d.budget_id} {d.pot}: cached {d.cached}, ledger {d.ledger}")
    if drift:
        raise SystemExit(1)
    click.echo("budgets agree with their ledger")
