"""Bulk orders: their own aggregate and state machine.

draft → submitted → approved | rejected → paid → fulfilled → received (验收) → evaluated (评价) → completed;
draft, submitted and approved orders may be cancelled. Every move goes through BulkOrder.transition under
a row lock on the order and is recorded with who and when.

- Lines (hundreds, from the API or an imported file) go to delivery addresses, departments or pick-up
  counters; only SKUs of products certified and in force may be ordered. Prices come from the pricing
  engine with the suppliers' volume tiers (a SKU's lines count together).
- Approval commits the order's total against the budget of its fiscal year (one conditional UPDATE:
  parallel approvals never overspend) and reserves the goods at the supply location.
- Payment goes through the payments service: an offline transfer, confirmed by the organisation's
  finance role or an admin, or Stripe (one PaymentIntent per attempt, paid when Stripe's signed event
  or reconciliation proves it); then the budget commitment becomes spend and the reserved stock is sold.
  A voucher order's vouchers are issued at payment, which fulfils it.
- Cancelling an approved order releases its commitment and its reservation."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payments import payables
from payments import service as payments
from payments.models import Payment
from payments.registry import Payments
from shop.auth.actor import Actor
from shop.bookings import trips
from shop.catalog.models import Product, Sku
from shop.certification.query import product_in_force
from shop.errors import InvalidInput, NotFound
from shop.inventory import locations, reservations
from shop.inventory.models import Location, LocationKind, china_today
from shop.paging import paginate
from shop.procurement import access, budgets, imports, organisations
from shop.procurement.access import APPROVER, FINANCE, PURCHASER
from shop.procurement.errors import LinesRejected, NoLines, NotDraft, NotOrderable, OrderTooLarge
from shop.procurement.imports import LINE_COLUMNS, MAX_LINES
from shop.procurement.models import (
    BudgetEntryKind,
    BulkOrder,
    BulkOrderEvent,
    BulkOrderKind,
    BulkOrderLine,
    BulkOrderStatus,
)
from shop.promotions import quoting
from shop.statistics import facts as sales_facts

S = BulkOrderStatus
# A payment's amount is a 32-bit integer (and one Stripe charge is far smaller): larger purchases are split.
MAX_ORDER_TOTAL_FEN = 2**31 - 1
ORDER_FIELDS = ("title", "note", "supply_location_id", "voucher_expires_at")
SUPPLY_KINDS = (LocationKind.CENTRE, LocationKind.HALL)
PICKUP_KINDS = (LocationKind.HALL, LocationKind.COUNTER, LocationKind.ZONE)


@dataclass(frozen=True)
class ProcurementSettings:
    voucher_secret: str = ""
    # the gateways and payables, built once at start-up (shop.settings)
    payments: Payments = field(default_factory=Payments)


# --- reading -----------------------------------------------------------------------------------


def _can_supply(session: Session, actor: Actor, order: BulkOrder) -> bool:
    """Operators of the supply location see (and fulfil) the orders they supply once approved."""
    if order.supply_location_id is None or order.status in (S.DRAFT, S.SUBMITTED, S.REJECTED):
        return False
    location = session.get(Location, order.supply_location_id)
    return location is not None and locations.can_run(actor, location)


def _visible(session: Session, actor: Actor, order: BulkOrder | None) -> BulkOrder:
    if order is None or not (
        actor.is_admin or access.is_member(actor, order.organisation_id) or _can_supply(session, actor, order)
    ):
        raise NotFound("No such bulk order.")
    return order


def _lock(session: Session, order_id: int) -> BulkOrder:
    order = session.scalar(
        sa.select(BulkOrder).where(BulkOrder.id == order_id).with_for_update().execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound("No such bulk order.")
    return order


def _acting(session: Session, actor: Actor, order_id: int, *roles) -> BulkOrder:
    """Lock the order for a move by a member holding one of `roles` (404 outside, 403 without the role)."""
    order = _lock(session, order_id)
    try:
        access.require(actor, order.organisation_id, *roles)
    except NotFound:
        raise NotFound("No such bulk order.") from None
    return order


def get_bulk_order(session: Session, actor: Actor, order_id: int) -> BulkOrder:
    return _visible(session, actor, session.get(BulkOrder, order_id))


def list_bulk_orders(
    session: Session, actor: Actor, organisation_id: int, *, status: S | None, fiscal_year: int | None, page, size
):
    access.get_organisation(session, actor, organisation_id)
    stmt = sa.select(BulkOrder).where(BulkOrder.organisation_id == organisation_id)
    if status is not None:
        stmt = stmt.where(BulkOrder.status == status)
    if fiscal_year is not None:
        stmt = stmt.where(BulkOrder.fiscal_year == fiscal_year)
    return paginate(session, stmt, order_by=BulkOrder.id.desc(), page=page, size=size)


def list_supplied(session: Session, actor: Actor, *, status: S | None, page: int, size: int):
    """Hall operators: approved and later bulk orders supplied from their locations."""
    locations.require_operator(actor)
    stmt = (
        sa.select(BulkOrder)
        .join(Location, Location.id == BulkOrder.supply_location_id)
        .where(BulkOrder.status.not_in((S.DRAFT, S.SUBMITTED, S.REJECTED)))
    )
    clause = locations.scope_clause(actor)
    if clause is not None:
        stmt = stmt.where(clause)
    if status is not None:
        stmt = stmt.where(BulkOrder.status == status)
    return paginate(session, stmt, order_by=BulkOrder.id.desc(), page=page, size=size)


def list_lines(session: Session, actor: Actor, order_id: int, *, page: int, size: int):
    get_bulk_order(session, actor, order_id)
    stmt = sa.select(BulkOrderLine).where(BulkOrderLine.bulk_order_id == order_id)
    return paginate(session, stmt, order_by=[BulkOrderLine.row_number, BulkOrderLine.id], page=page, size=size)


def list_events(session: Session, actor: Actor, order_id: int, *, page: int, size: int):
    get_bulk_order(session, actor, order_id)
    stmt = sa.select(BulkOrderEvent).where(BulkOrderEvent.bulk_order_id == order_id)
    return paginate(session, stmt, order_by=BulkOrderEvent.id, page=page, size=size)


# --- drafting ----------------------------------------------------------------------------------


def _check_supply_location(session: Session, location_id: int | None) -> None:
    if location_id is None:
        return
    location = session.get(Location, location_id)
    if location is None or location.kind not in SUPPLY_KINDS or not location.is_active:
        raise InvalidInput(
            "The supply location must be an active hall or the centre.", fields={"supply_location_id": ["Not one."]}
        )


def create_bulk_order(session: Session, actor: Actor, organisation_id: int, *, data: dict, now: datetime) -> BulkOrder:
    organisation = access.get_organisation(session, actor, organisation_id, PURCHASER)
    organisations.require_verified(organisation)
    return _new_draft(session, organisation_id, data, created_by_id=actor.user_id, now=now)


def _new_draft(session: Session, organisation_id: int, data: dict, *, created_by_id: int | None, now: datetime):
    _check_supply_location(session, data.get("supply_location_id"))
    order = BulkOrder(
        organisation_id=organisation_id,
        kind=data["kind"],
        status=S.DRAFT,
        title=data["title"],
        note=data.get("note") or "",
        fiscal_year=data.get("fiscal_year") or china_today(now).year,
        supply_location_id=data.get("supply_location_id"),
        voucher_expires_at=data.get("voucher_expires_at"),
        created_by_id=created_by_id,
        created_at=now,
    )
    order.events.append(BulkOrderEvent(from_status=None, to_status=S.DRAFT, actor_id=created_by_id, at=now))
    session.add(order)
    session.flush()
    order.number = f"B{china_today(now):%Y%m%d}{order.id:06d}"
    session.flush()
    return order


def draft_for_organisation(
    session: Session,
    organisation_id: int,
    *,
    title: str,
    note: str,
    supply_location_id: int | None,
    rows: list[dict],
    created_by_id: int | None,
    now: datetime,
) -> BulkOrder:
    """A goods draft prepared for a verified organisation by someone outside it (the coordinator's
    absorption allocation): its members change, submit and approve it through the usual flow."""
    organisation = session.get(organisations.Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No such organisation.")
    organisations.require_verified(organisation)
    data = {"kind": BulkOrderKind.GOODS, "title": title, "note": note, "supply_location_id": supply_location_id}
    order = _new_draft(session, organisation_id, data, created_by_id=created_by_id, now=now)
    values = validate_lines(session, order, rows, now)
    session.execute(sa.insert(BulkOrderLine), [{**v, "bulk_order_id": order.id} for v in values])
    reprice(session, order, now)
    return order


def _draft(session: Session, actor: Actor, order_id: int) -> BulkOrder:
    order = _acting(session, actor, order_id, PURCHASER)
    if order.status != S.DRAFT:
        raise NotDraft("Only a draft can be changed.", status=order.status.value)
    return order


def update_bulk_order(session: Session, actor: Actor, order_id: int, *, data: dict, now: datetime) -> BulkOrder:
    order = _draft(session, actor, order_id)
    if "supply_location_id" in data:
        _check_supply_location(session, data["supply_location_id"])
    for key in ORDER_FIELDS:
        if key in data:
            setattr(order, key, data[key])
    session.flush()
    return order


def validate_lines(
    session: Session, order: BulkOrder, rows: list[dict], now: datetime, errors: list[dict] | None = None
) -> list[dict]:
    """Check typed rows ({"row": n, "sku_code", "quantity", ...}) against the catalog, the
    certifications in force and the locations; return line values or raise LinesRejected naming
    each bad row and column (with `errors` found before, e.g. cells of a file that were not numbers).
    A few queries for the whole file, whatever its length."""
    errors = list(errors or [])

    def bad(row: int, column: str, message: str) -> None:
        errors.append({"row": row, "column": column, "message": message})

    codes = {r["sku_code"] for r in rows if r.get("sku_code")}
    skus = {}
    if codes:
        for sku_id, code, active, in_force, price in session.execute(
            sa.select(Sku.id, Sku.code, Sku.is_active, product_in_force(Product.id, now), Sku.price_fen)
            .join(Product, Product.id == Sku.product_id)
            .where(Sku.code.in_(codes))
        ):
            skus[code] = (sku_id, active and bool(in_force), price)
    location_ids = {r["pickup_location_id"] for r in rows if r.get("pickup_location_id")}
    locations = {}
    if location_ids:
        for location_id, kind, active in session.execute(
            sa.select(Location.id, Location.kind, Location.is_active).where(Location.id.in_(location_ids))
        ):
            locations[location_id] = (kind, active)

    values = []
    for r in rows:
        n, code = r["row"], r.get("sku_code")
        sku_id = None
        value = r.get("voucher_value_fen")
        if code:
            if code not in skus:
                bad(n, "sku_code", f"Unknown SKU code {code!r}.")
            elif not skus[code][1]:
                bad(n, "sku_code", f"{code!r} is not certified and in force now.")
            else:
                sku_id = skus[code][0]
        if order.kind == BulkOrderKind.TRIP:
            pass  # the roster's rows are checked together below
        elif order.kind == BulkOrderKind.GOODS:
            if not code:
                bad(n, "sku_code", "Required.")
            if value is not None:
                bad(n, "voucher_value_fen", "Only voucher orders have value vouchers.")
            pickup, address = r.get("pickup_location_id"), r.get("delivery_address")
            if bool(pickup) == bool(address):
                bad(n, "pickup_location_id" if pickup else "delivery_address", "Give a pick-up location or an address.")
            elif pickup and (pickup not in locations or locations[pickup][0] not in PICKUP_KINDS):
                bad(n, "pickup_location_id", f"No hall, counter or zone {pickup}.")
            elif pickup and not locations[pickup][1]:
                bad(n, "pickup_location_id", f"Location {pickup} is not active.")
        else:
            if bool(code) == (value is not None):
                bad(
                    n,
                    "voucher_value_fen" if value is not None else "sku_code",
                    "A value or a gift box SKU, one of them.",
                )
            if r.get("pickup_location_id") or r.get("delivery_address"):
                bad(n, "delivery_address", "Vouchers are redeemed by their holders; no destination.")
        if order.kind != BulkOrderKind.TRIP and r.get("slot_id"):
            bad(n, "slot_id", "Only trips book slots.")
        values.append(
            {
                "row_number": n,
                "slot_id": r.get("slot_id") if order.kind == BulkOrderKind.TRIP else None,
                "sku_id": sku_id,
                "voucher_value_fen": value if order.kind == BulkOrderKind.VOUCHERS else None,
                "quantity": r["quantity"],
                "department": r.get("department"),
                "pickup_location_id": r.get("pickup_location_id"),
                "delivery_address": r.get("delivery_address"),
                "recipient": r.get("recipient"),
                "phone": r.get("phone"),
            }
        )
    if order.kind == BulkOrderKind.TRIP:
        typed = {(e["row"], e["column"]) for e in errors}  # cells that were not even of their type
        trips.check_rows(session, rows, {code: sku[0] for code, sku in skus.items()}, now, bad, typed)
    if errors:
        errors.sort(key=lambda e: (e["row"], LINE_COLUMNS.index(e["column"]) if e["column"] in LINE_COLUMNS else 99))
        raise LinesRejected(error_count=len(errors), errors=errors[:200])
    return values


def add_lines(
    session: Session, actor: Actor, order_id: int, *, rows: list[dict], now: datetime, errors: list[dict] | None = None
) -> BulkOrder:
    """Append lines to a draft, all or none. Rows are numbered after the order's last line unless
    they carry their own numbers (an imported file's rows)."""
    order = _draft(session, actor, order_id)
    if order.line_count + len(rows) > MAX_LINES:
        raise InvalidInput(f"A bulk order has at most {MAX_LINES} lines.", fields={"lines": ["Too many."]})
    offset = session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(BulkOrderLine.row_number), 0)).where(
            BulkOrderLine.bulk_order_id == order.id
        )
    )
    numbered = [{**r, "row": r.get("row") or offset + i + 1} for i, r in enumerate(rows)]
    values = validate_lines(session, order, numbered, now, errors)
    session.execute(sa.insert(BulkOrderLine), [{**v, "bulk_order_id": order.id} for v in values])
    reprice(session, order, now)
    return order


def import_lines(session: Session, actor: Actor, order_id: int, *, filename: str, data: bytes, now: datetime):
    """Append the lines of a CSV or XLSX file to a draft: every row or none."""
    _draft(session, actor, order_id)
    rows, errors = imports.parse(filename, data)
    return add_lines(session, actor, order_id, rows=rows, now=now, errors=errors)


def remove_line(session: Session, actor: Actor, order_id: int, line_id: int, *, now: datetime) -> BulkOrder:
    order = _draft(session, actor, order_id)
    deleted = session.execute(
        sa.delete(BulkOrderLine).where(BulkOrderLine.id == line_id, BulkOrderLine.bulk_order_id == order.id)
    ).rowcount
    if not deleted:
        raise NotFound("No such line.")
    reprice(session, order, now)
    return order


def reprice(session: Session, order: BulkOrder, now: datetime) -> list[int]:
    """Price every line now (list price less volume tiers; a value voucher at its face value) and
    store the result on the lines and the order. Returns the rows that can no longer be ordered."""
    lines = session.execute(
        sa.select(
            BulkOrderLine.id,
            BulkOrderLine.row_number,
            BulkOrderLine.sku_id,
            BulkOrderLine.quantity,
            BulkOrderLine.voucher_value_fen,
            BulkOrderLine.slot_id,
        ).where(BulkOrderLine.bulk_order_id == order.id)
    ).all()
    items = [
        quoting.Item(key=str(line_id), sku_id=sku, quantity=q, slot_id=slot)
        for line_id, _, sku, q, _, slot in lines
        if sku
    ]
    quoted = {}
    if items:
        quoted = {int(q.key): q for q in quoting.organisation_quote(session, items, now).lines}
    updates, problems = [], []
    for line_id, row, sku, quantity, value, _slot in lines:
        if sku is None:
            unit, subtotal = value, value * quantity
            total = subtotal
            updates.append(
                {"id": line_id, "unit_price_fen": unit, "subtotal_fen": subtotal, "discount_fen": 0, "total_fen": total}
            )
            continue
        q = quoted[line_id]
        if q.problem:
            problems.append(row)
        updates.append(
            {
                "id": line_id,
                "unit_price_fen": q.unit_price_fen,
                "subtotal_fen": q.subtotal_fen,
                "discount_fen": q.discount_fen,
                "total_fen": q.total_fen,
            }
        )
    if updates:
        session.execute(sa.update(BulkOrderLine), updates)
    order.line_count = len(lines)
    order.subtotal_fen = sum(u["subtotal_fen"] for u in updates)
    order.discount_fen = sum(u["discount_fen"] for u in updates)
    order.total_fen = sum(u["total_fen"] for u in updates)
    session.flush()
    return sorted(problems)


# --- the life of a bulk order ------------------------------------------------------------------


def submit(session: Session, actor: Actor, order_id: int, *, now: datetime) -> BulkOrder:
    """The purchaser sends the draft for approval, priced now."""
    order = _draft(session, actor, order_id)
    organisations.require_verified(session.get(organisations.Organisation, order.organisation_id))
    if order.line_count == 0:
        raise NoLines("A bulk order needs lines.")
    if order.kind == BulkOrderKind.GOODS and order.supply_location_id is None:
        raise InvalidInput("Choose the hall that supplies the goods.", fields={"supply_location_id": ["Required."]})
    if order.kind == BulkOrderKind.VOUCHERS and (order.voucher_expires_at is None or order.voucher_expires_at <= now):
        raise InvalidInput("Vouchers need an expiry in the future.", fields={"voucher_expires_at": ["Required."]})
    problems = reprice(session, order, now)
    if problems:
        raise NotOrderable(rows=problems[:200])
    if order.total_fen > MAX_ORDER_TOTAL_FEN:
        raise OrderTooLarge(
            "The order is larger than one payment can be; split it.",
            total_fen=order.total_fen,
            max_fen=MAX_ORDER_TOTAL_FEN,
        )
    order.transition(S.SUBMITTED, actor_id=actor.user_id, at=now)
    order.submitted_at = now
    session.flush()
    return order


def _reservation_lines(session: Session, order: BulkOrder) -> list[dict]:
    per_sku: dict[int, int] = defaultdict(int)
    for sku_id, quantity in session.execute(
        sa.select(BulkOrderLine.sku_id, BulkOrderLine.quantity).where(BulkOrderLine.bulk_order_id == order.id)
    ):
        per_sku[sku_id] += quantity
    return [{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in sorted(per_sku.items())]


def approve(session: Session, actor: Actor, order_id: int, *, note: str, now: datetime) -> BulkOrder:
    """The approver approves: the total is committed against the fiscal year's budget (refused when
    it does not fit) and the goods are reserved at the supply location."""
    order = _acting(session, actor, order_id, APPROVER)
    if order.status == S.SUBMITTED:
        access.require_not_submitter(session, actor, order)
    order.transition(S.APPROVED, actor_id=actor.user_id, at=now, reason=note)
    budget = budgets.budget_for(session, order.organisation_id, order.fiscal_year)
    if order.total_fen:
        budgets.post(
            session,
            budget.id,
            BudgetEntryKind.COMMIT,
            order.total_fen,
            bulk_order_id=order.id,
            note=f"approved {order.number}",
            actor_id=actor.user_id,
        )
    order.budget_id = budget.id
    order.approved_at = now
    if order.kind == BulkOrderKind.GOODS:
        reservations.reserve_stock(
            session,
            location_id=order.supply_location_id,
            reference=order.reservation_reference,
            lines=_reservation_lines(session, order),
            now=now,
        )
    elif order.kind == BulkOrderKind.TRIP:
        trips.take_capacity(session, order, actor_id=actor.user_id, now=now)
    session.flush()
    return order


def reject(session: Session, actor: Actor, order_id: int, *, reason: str, now: datetime) -> BulkOrder:
    order = _acting(session, actor, order_id, APPROVER)
    order.transition(S.REJECTED, actor_id=actor.user_id, at=now, reason=reason)
    order.rejection_reason = reason
    session.flush()
    return order


def cancel(
    session: Session,
    actor: Actor,
    order_id: int,
    *,
    reason: str,
    now: datetime,
    settings: ProcurementSettings | None = None,
) -> BulkOrder:
    """Purchasers cancel drafts and submitted orders; an approved, unpaid order is the approver's to
    cancel, and its budget commitment and reservation are released. An open Stripe attempt is closed
    at Stripe first (409 `payment_in_progress` if it is completing)."""
    order = _lock(session, order_id)
    roles = (APPROVER,) if order.status == S.APPROVED else (PURCHASER, APPROVER)
    try:
        access.require(actor, order.organisation_id, *roles)
    except NotFound:
        raise NotFound("No such bulk order.") from None
    was_approved = order.status == S.APPROVED
    if was_approved:
        settings = settings or ProcurementSettings()
        payables.close_attempts(session, BulkPayable(order, settings), payments=settings.payments, now=now)
    order.transition(S.CANCELLED, actor_id=actor.user_id, at=now, reason=reason)
    if was_approved:
        if order.total_fen:
            budgets.post(
                session,
                order.budget_id,
                BudgetEntryKind.RELEASE,
                order.total_fen,
                bulk_order_id=order.id,
                note=f"cancelled {order.number}",
                actor_id=actor.user_id,
            )
        if order.kind == BulkOrderKind.GOODS:
            reservations.release_reservation(session, reference=order.reservation_reference, now=now)
        elif order.kind == BulkOrderKind.TRIP:
            trips.release(session, order, actor_id=actor.user_id, now=now)
        payments.cancel_pending(session, bulk_order_id=order.id, now=now)
    session.flush()
    return order


# --- payment -----------------------------------------------------------------------------------

BULK_GATEWAYS = ("offline", "stripe")


def start_payment(
    session: Session,
    actor: Actor,
    order_id: int,
    *,
    gateway_name: str,
    now: datetime,
    settings: ProcurementSettings | None = None,
) -> Payment:
    """Finance starts paying the approved order's total (as the server computed it) through the
    payments flow (payments.payables.start): a bank transfer (pending until confirmed) or Stripe."""
    settings = settings or ProcurementSettings()
    order = _acting(session, actor, order_id, FINANCE)
    if order.status == S.APPROVED:
        access.require_not_approver(session, actor, order)
    return payables.start(
        session,
        BulkPayable(order, settings),
        payments=settings.payments,
        gateway_name=gateway_name,
        allowed=BULK_GATEWAYS,
        actor_id=actor.user_id,
        payer_id=actor.user_id,
        now=now,
    )


@dataclass
class BulkPayable(payables.RowPayable):
    """A bulk order as what a payment attempt pays (payments.intents.Payable); its row is locked."""

    order: BulkOrder
    settings: ProcurementSettings
    kind = "bulk"
    column = "bulk_order_id"

    @property
    def row(self) -> BulkOrder:
        return self.order

    def awaits_payment(self) -> bool:
        return self.order.status == S.APPROVED

    def past_due(self, now: datetime) -> bool:
        return False  # an approved order waits for its money until someone cancels it

    def mark_paid(self, session: Session, payment: Payment, *, actor_id: int | None, now: datetime) -> None:
        mark_paid(session, self.order, actor_id=actor_id, settings=self.settings, now=now)

    def take_outside_refund(
        self, session: Session, payment: Payment, amount_fen: int, now: datetime
    ) -> payables.OutsideRefund:
        """Recorded against the payment; bulk orders have no refund flow here, so the budget and the
        goods stay as they are."""
        return payables.OutsideRefund(amount_fen, note=" (budget unchanged)")

    def after_news(self, session: Session, now: datetime) -> None:
        return None


def payable(session: Session, order_id: int, settings: ProcurementSettings) -> BulkPayable:
    """The bulk order, locked, as what its payment attempts pay."""
    return BulkPayable(_lock(session, order_id), settings)


def list_payments(session: Session, actor: Actor, order_id: int, *, page: int, size: int):
    get_bulk_order(session, actor, order_id)
    stmt = sa.select(Payment).where(Payment.bulk_order_id == order_id)
    return paginate(session, stmt, order_by=Payment.id, page=page, size=size)


def confirm_payment(
    session: Session,
    actor: Actor,
    order_id: int,
    payment_id: int,
    *,
    reference: str,
    settings: ProcurementSettings,
    now: datetime,
) -> Payment:
    """The organisation's finance (or an admin) records the bank transfer: the order is paid."""
    order = _acting(session, actor, order_id, FINANCE)
    if order.status == S.APPROVED:
        access.require_not_approver(session, actor, order)
    return payables.confirm_offline(
        session,
        BulkPayable(order, settings),
        session.get(Payment, payment_id),
        payments=settings.payments,
        reference=reference,
        actor_id=actor.user_id,
        now=now,
    )


def mark_paid(
    session: Session, order: BulkOrder, *, actor_id: int | None, settings: ProcurementSettings, now: datetime
) -> None:
    """What a succeeded payment means for a bulk order (the order row locked by the caller); also the
    entry point for gateways that confirm asynchronously."""
    order.transition(S.PAID, actor_id=actor_id, at=now)
    order.paid_fen, order.paid_at = order.total_fen, now
    if order.total_fen:
        budgets.post(
            session,
            order.budget_id,
            BudgetEntryKind.SPEND,
            order.total_fen,
            bulk_order_id=order.id,
            note=f"paid {order.number}",
            actor_id=actor_id,
        )
    if order.kind == BulkOrderKind.GOODS:
        reservations.commit_reservation(session, reference=order.reservation_reference, now=now)
    elif order.kind == BulkOrderKind.TRIP:
        trips.confirm(session, order, actor_id=actor_id, now=now)  # each member gets a booking code
    else:
        from shop.procurement import vouchers

        issued = vouchers.issue_for(session, order, settings=settings, now=now)
        order.transition(S.FULFILLED, actor_id=actor_id, at=now, reason=f"{issued} vouchers issued")
    session.flush()


# --- after payment -----------------------------------------------------------------------------


def fulfil(session: Session, actor: Actor, order_id: int, *, note: str, now: datetime) -> BulkOrder:
    """Operators of the supply location (or admins): every line has been delivered or handed over."""
    order = _lock(session, order_id)
    if not (actor.is_admin or _can_supply(session, actor, order)):
        raise NotFound("No such bulk order.")
    order.transition(S.FULFILLED, actor_id=actor.user_id, at=now, reason=note)
    session.flush()
    return order


def receive(session: Session, actor: Actor, order_id: int, *, note: str, now: datetime) -> BulkOrder:
    """验收: the organisation accepts what arrived."""
    order = _acting(session, actor, order_id, PURCHASER, APPROVER)
    order.transition(S.RECEIVED, actor_id=actor.user_id, at=now, reason=note)
    order.acceptance_note = note
    session.flush()
    sales_facts.record_bulk_received(session, order, now=now)
    return order


def evaluate(session: Session, actor: Actor, order_id: int, *, rating: int, comment: str, now: datetime) -> BulkOrder:
    """评价: the organisation rates the purchase."""
    order = _acting(session, actor, order_id, PURCHASER, APPROVER)
    order.transition(S.EVALUATED, actor_id=actor.user_id, at=now, reason=f"rating {rating}")
    order.rating, order.evaluation = rating, comment
    session.flush()
    return order


def complete(session: Session, actor: Actor, order_id: int, *, now: datetime) -> BulkOrder:
    order = _acting(session, actor, order_id, APPROVER, FINANCE)
    order.transition(S.COMPLETED, actor_id=actor.user_id, at=now)
    order.completed_at = now
    session.flush()
    return order
