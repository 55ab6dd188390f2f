"""发票: invoices issued for a bulk order to the organisation's invoice profile, never for more than
was paid (one conditional UPDATE on the order's invoiced amount)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.errors import NotFound
from shop.paging import paginate
from shop.procurement import access
from shop.procurement.errors import InvoiceExceedsPaid, InvoiceNumberTaken, InvoiceProfileMissing
from shop.procurement.models import BulkOrder, Invoice, Organisation

ORDERS = BulkOrder.__table__


def issue_invoice(
    session: Session, actor: Actor, order_id: int, *, number: str, amount_fen: int, now: datetime
) -> Invoice:
    """Admins record an invoice issued for a paid bulk order."""
    actor.require(Role.ADMIN)
    order = session.get(BulkOrder, order_id)
    if order is None:
        raise NotFound("No such bulk order.")
    organisation = session.get(Organisation, order.organisation_id)
    if not (organisation.invoice_title and organisation.invoice_tax_number):
        raise InvoiceProfileMissing("The organisation has no invoice title and tax number yet.")
    invoiced = session.execute(
        ORDERS.update()
        .where(ORDERS.c.id == order.id, ORDERS.c.invoiced_fen + amount_fen <= ORDERS.c.paid_fen)
        .values(invoiced_fen=ORDERS.c.invoiced_fen + amount_fen)
        .returning(ORDERS.c.invoiced_fen)
    ).scalar()
    if invoiced is None:
        session.refresh(order)
        raise InvoiceExceedsPaid(
            "Invoices cannot exceed what was paid.",
            paid_fen=order.paid_fen,
            invoiced_fen=order.invoiced_fen,
        )
    invoice = Invoice(
        bulk_order_id=order.id,
        number=number,
        amount_fen=amount_fen,
        title=organisation.invoice_title,
        tax_number=organisation.invoice_tax_number,
        address=organisation.invoice_address,
        phone=organisation.invoice_phone,
        bank=organisation.invoice_bank,
        bank_account=organisation.invoice_bank_account,
        issued_by_id=actor.user_id,
        issued_at=now,
    )
    try:
        with session.begin_nested():
            session.add(invoice)
            session.flush()
    except IntegrityError:
        raise InvoiceNumberTaken("An invoice with this number exists.") from None
    session.expire(order)
    return invoice


def list_invoices(session: Session, actor: Actor, order_id: int, *, page: int, size: int):
    order = session.get(BulkOrder, order_id)
    if order is None or not (actor.is_admin or access.is_member(actor, order.organisation_id)):
        raise NotFound("No such bulk order.")
    stmt = sa.select(Invoice).where(Invoice.bulk_order_id == order_id)
    return paginate(session, stmt, order_by=Invoice.id, page=page, size=size)
