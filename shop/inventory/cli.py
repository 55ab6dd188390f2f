"""`flask inventory check`: rebuild every stock balance from the ledger and report any difference."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from shop.db import transaction
from shop.inventory.ledger import check_balances


@click.group("inventory", help="Stock of the halls, counters and zones.")
def inventory_cli():
    pass


@inventory_cli.command("check")
@with_appcontext
def check():
    """Exit 1 if any cached balance differs from what the movements ledger adds up to."""
    with transaction(current_app.extensions["shop"]["sessionmaker"]) as session:
        drifts = check_balances(session)
    for drift in drifts:
        click.echo(f"DRIFT {drift}")
    if drifts:
        raise click.ClickException(f"{len(drifts)} balance(s) differ from the ledger")
    click.echo("every balance agrees with the ledger")
