"""`flask i18n extract`: bring each catalogue's message ids up to date with the code."""

from __future__ import annotations

import click
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from flask.cli import with_appcontext

from shop.i18n.catalog import LOCALES_DIR, po_path


@click.group("i18n", help="Message catalogues of the error messages.")
def i18n_cli():
    pass


@i18n_cli.command("extract")
@with_appcontext
def extract():
    """Add the messages the code has and the catalogues lack (untranslated), drop those it no longer has."""
    from shop.i18n.messages import all_messages

    found = all_messages()
    for directory in sorted(p for p in LOCALES_DIR.iterdir() if p.is_dir()):
        missing = update_catalogue(directory.name, found)
        click.echo(f"{directory.name}: {len(found)} messages, {missing} without a translation")


def update_catalogue(locale: str, found: dict[str, str]) -> int:
    path = po_path(locale)
    with path.open("rb") as handle:
        old = read_po(handle)
    new = Catalog(
        locale=locale,
        project="assistance-shop",
        version="1",
        header_comment=old.header_comment,
        creation_date=old.creation_date,
        revision_date=old.revision_date,
        fuzzy=False,
    )
    for msgid, where in found.items():
        known = old.get(msgid)
        new.add(msgid, known.string if known else "", auto_comments=[where.split(":", 1)[0]])
    with path.open("wb") as handle:
        write_po(handle, new, width=0, no_location=True, sort_output=True, omit_header=False)
    return sum(1 for message in new if message.id and not message.string)
