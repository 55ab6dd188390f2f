"""提货券: pickup vouchers an organisation buys for its members.

Codes: 16 characters of Crockford base32 (80 bits) from HMAC-SHA256(server secret, random nonce).
The database keeps the nonce, the SHA-256 of the code and a four-character prefix for people; a
copy of the database without the secret redeems nothing, while the server can show the organisation
its codes again. The QR payload is the code behind a fixed scheme.

Redemption, online by whoever holds the code or at a counter by its operator, is one conditional
UPDATE on the voucher (remaining value, status, expiry): two redemptions of one code at once cannot
both take the same value. Value vouchers may be redeemed in parts; a gift box is redeemed whole and
its unit leaves the stock of the location that hands it over or ships it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payments.errors import RefundExceedsPayment
from shop.auth.actor import Actor
from shop.catalog.models import Sku
from shop.errors import InvalidInput, NotFound
from shop.inventory import locations, movements
from shop.paging import paginate
from shop.procurement import access, budgets
from shop.procurement.errors import VoucherNotRedeemable
from shop.procurement.models import (
    BudgetEntryKind,
    BulkOrder,
    BulkOrderLine,
    Organisation,
    RedemptionChannel,
    Voucher,
    VoucherRedemption,
    VoucherStatus,
)
from shop.statistics import facts as sales_facts

VOUCHERS = Voucher.__table__
QR_SCHEME = "cqxf-voucher:1:"
_B32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")  # RFC 4648 → Crockford
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def derive_code(secret: str, nonce: str) -> str:
    if not secret:
        raise RuntimeError("VOUCHER_CODE_SECRET is not set: voucher codes would be guessable.")
    digest = hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).digest()[:10]
    return base64.b32encode(digest).decode().translate(_B32)


def normalise_code(raw: str) -> str:
    code = raw.strip()
    if code.startswith(QR_SCHEME):
        code = code[len(QR_SCHEME) :]
    return re.sub(r"[\s-]", "", code).upper().translate(_CONFUSABLE)


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def display_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def qr_payload(code: str) -> str:
    return QR_SCHEME + code


def issue_for(session: Session, order: BulkOrder, *, settings, now: datetime) -> int:
    """Create the vouchers a paid voucher order bought; returns how many."""
    rows = []
    for line in session.scalars(
        sa.select(BulkOrderLine).where(BulkOrderLine.bulk_order_id == order.id).order_by(BulkOrderLine.row_number)
    ):
        for _ in range(line.quantity):
            nonce = secrets.token_hex(16)
            code = derive_code(settings.voucher_secret, nonce)
            rows.append(
                {
                    "organisation_id": order.organisation_id,
                    "bulk_order_id": order.id,
                    "line_id": line.id,
                    "gift_sku_id": line.sku_id,
                    # what the organisation paid for one voucher (a gift box at its tier price)
                    "value_fen": line.total_fen // line.quantity,
                    "remaining_fen": line.total_fen // line.quantity,
                    "status": VoucherStatus.ACTIVE.value,
                    "code_sha256": code_hash(code),
                    "code_prefix": code[:4],
                    "nonce": nonce,
                    "holder": line.recipient,
                    "department": line.department,
                    "expires_at": order.voucher_expires_at,
                    "created_at": now,
                }
            )
    if rows:
        session.execute(sa.insert(Voucher), rows)
    return len(rows)


def with_code(voucher: Voucher, secret: str) -> dict:
    """The voucher as its organisation sees it: code and QR payload included."""
    code = derive_code(secret, voucher.nonce)
    return {"voucher": voucher, "code": display_code(code), "qr_payload": qr_payload(code)}


def list_vouchers(
    session: Session,
    actor: Actor,
    *,
    organisation_id: int | None = None,
    bulk_order_id: int | None = None,
    status: VoucherStatus | None,
    secret: str,
    now: datetime,
    page: int,
    size: int,
) -> tuple[list[dict], int]:
    """Members of the organisation: its vouchers with their codes and QR payloads, derived with the
    code secret (to hand out)."""
    if bulk_order_id is not None:
        order = session.get(BulkOrder, bulk_order_id)
        if order is None or not (actor.is_admin or access.is_member(actor, order.organisation_id)):
            raise NotFound("No such bulk order.")
        organisation_id = order.organisation_id
    access.get_organisation(session, actor, organisation_id)
    expire_due(session, now, organisation_id=organisation_id)
    stmt = sa.select(Voucher).where(Voucher.organisation_id == organisation_id)
    if bulk_order_id is not None:
        stmt = stmt.where(Voucher.bulk_order_id == bulk_order_id)
    if status is not None:
        stmt = stmt.where(Voucher.status == status)
    items, total = paginate(session, stmt, order_by=Voucher.id, page=page, size=size)
    return [with_code(voucher, secret) for voucher in items], total


def find(session: Session, raw_code: str) -> Voucher:
    voucher = session.scalar(sa.select(Voucher).where(Voucher.code_sha256 == code_hash(normalise_code(raw_code))))
    if voucher is None:
        raise NotFound("No such voucher.")
    return voucher


def check(session: Session, raw_code: str, now: datetime) -> Voucher:
    """What a code is worth now (for the holder, or the operator who scanned it)."""
    voucher = find(session, raw_code)
    expire_due(session, now, voucher_ids=[voucher.id])
    session.refresh(voucher)
    return voucher


def _take(session: Session, voucher: Voucher, amount: int, now: datetime) -> int:
    """Take `amount` off the voucher in one conditional UPDATE (active, not expired, enough left; a
    gift box whole): of two takers at once only one can have the same value. Returns what is left,
    or raises VoucherNotRedeemable saying what the voucher holds."""
    conditions = [
        VOUCHERS.c.id == voucher.id,
        VOUCHERS.c.status == VoucherStatus.ACTIVE.value,
        VOUCHERS.c.expires_at > now,
        VOUCHERS.c.remaining_fen >= amount,
    ]
    if voucher.gift_sku_id is not None:
        conditions.append(VOUCHERS.c.remaining_fen == VOUCHERS.c.value_fen)
    remaining = session.execute(
        VOUCHERS.update()
        .where(*conditions)
        .values(
            remaining_fen=VOUCHERS.c.remaining_fen - amount,
            status=sa.case(
                (VOUCHERS.c.remaining_fen - amount == 0, VoucherStatus.REDEEMED.value),
                else_=VoucherStatus.ACTIVE.value,
            ),
        )
        .returning(VOUCHERS.c.remaining_fen)
    ).scalar()
    if remaining is None:
        session.refresh(voucher)
        raise VoucherNotRedeemable(
            status=voucher.status.value,
            remaining_fen=voucher.remaining_fen,
            expires_at=voucher.expires_at.isoformat(),
            requested_fen=amount,
        )
    return remaining


def redeem(
    session: Session,
    actor: Actor,
    *,
    raw_code: str,
    channel: RedemptionChannel,
    amount_fen: int | None,
    location_id: int | None,
    delivery_address: str | None,
    reference: str | None,
    now: datetime,
    lines: list[dict] | None = None,
) -> VoucherRedemption:
    """At a counter a value voucher is redeemed for goods: the SKUs taken (`lines`) leave the
    location's stock and their price is the value taken."""
    if channel == RedemptionChannel.COUNTER:
        if location_id is None:
            raise InvalidInput("The counter that redeems.", fields={"location_id": ["Required."]})
        locations.get_location(session, actor, location_id)  # operators of that location only
    voucher = find(session, raw_code)
    expire_due(session, now, voucher_ids=[voucher.id])
    if voucher.gift_sku_id is not None:
        if channel == RedemptionChannel.ONLINE and not (location_id and delivery_address):
            raise InvalidInput(
                "A gift box redeemed online is shipped: give the hall and the address.",
                fields={"location_id": ["Required."], "delivery_address": ["Required."]},
            )
        amount = voucher.value_fen  # whole, once
        taken = {voucher.gift_sku_id: 1}
    elif channel == RedemptionChannel.COUNTER:
        if not lines:
            raise InvalidInput("The goods taken at the counter.", fields={"lines": ["Required."]})
        taken = {}
        for line in lines:
            taken[line["sku_id"]] = taken.get(line["sku_id"], 0) + line["quantity"]
        amount = _priced(session, taken)
    else:
        taken = {}
        if not amount_fen:
            raise InvalidInput("How much of the value to redeem.", fields={"amount_fen": ["Required."]})
        amount = amount_fen
    remaining = _take(session, voucher, amount, now)
    session.expire(voucher)
    redemption = VoucherRedemption(
        voucher_id=voucher.id,
        channel=channel,
        amount_fen=amount,
        remaining_after_fen=remaining,
        location_id=location_id,
        delivery_address=delivery_address,
        reference=reference,
        actor_id=actor.user_id,
        at=now,
    )
    session.add(redemption)
    session.flush()
    if taken:
        movements.sell(
            session,
            location_id,
            [{"sku_id": sku_id, "quantity": quantity} for sku_id, quantity in sorted(taken.items())],
            now=now,
            actor_id=actor.user_id,
            reference=f"redemption:{redemption.id}",
            counts_as_sale=False,
        )
    sales_facts.record_redemption(session, redemption, taken)
    return redemption


def _priced(session: Session, taken: dict[int, int]) -> int:
    """The value of the goods at their SKUs' prices."""
    prices = dict(session.execute(sa.select(Sku.id, Sku.price_fen).where(Sku.id.in_(sorted(taken)))).all())
    unknown = sorted(set(taken) - set(prices))
    if unknown:
        raise InvalidInput("No such SKU.", fields={"lines": [f"Unknown SKU {s}." for s in unknown]})
    return sum(prices[sku_id] * quantity for sku_id, quantity in taken.items())


# --- paying a shop order with a value voucher --------------------------------------------------------


def pay_order(
    session: Session, *, raw_code: str, order_id: int, amount_fen: int, actor_id: int, now: datetime
) -> VoucherRedemption:
    """Take a shop order's whole total off a value voucher, online, by whoever holds the code (as any
    online redemption): 409 `voucher_not_redeemable` with the remaining value if it does not cover it."""
    voucher = find(session, raw_code)
    expire_due(session, now, voucher_ids=[voucher.id])
    if voucher.gift_sku_id is not None:
        session.refresh(voucher)
        raise VoucherNotRedeemable(
            "A gift-box voucher is redeemed for its gift box, not for an order.",
            status=voucher.status.value,
            gift_sku_id=voucher.gift_sku_id,
            requested_fen=amount_fen,
        )
    remaining = _take(session, voucher, amount_fen, now)
    session.expire(voucher)
    redemption = VoucherRedemption(
        voucher_id=voucher.id,
        channel=RedemptionChannel.ONLINE,
        amount_fen=amount_fen,
        remaining_after_fen=remaining,
        order_id=order_id,
        reference=f"order {order_id}",
        actor_id=actor_id,
        at=now,
    )
    session.add(redemption)
    session.flush()
    return redemption


def give_back(session: Session, *, order_id: int, amount_fen: int, actor_id: int, now: datetime) -> VoucherRedemption:
    """A refund of a shop order a voucher paid: the value goes back to the voucher while it is in
    force. Past its expiry it is handled as expiry handles unredeemed value: back to the budget of the
    order that bought the voucher where the organisation says so (`return_unredeemed_vouchers`), else
    it lapses with the voucher. Recorded as a negative row of the voucher's ledger, with the order."""
    paid = session.scalar(
        sa.select(VoucherRedemption)
        .where(VoucherRedemption.order_id == order_id, VoucherRedemption.amount_fen > 0)
        .order_by(VoucherRedemption.id)
    )
    if paid is None:
        raise NotFound("No voucher paid this order.")
    voucher_id = paid.voucher_id
    given = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(-VoucherRedemption.amount_fen), 0)).where(
            VoucherRedemption.order_id == order_id, VoucherRedemption.amount_fen < 0
        )
    )
    if given + amount_fen > paid.amount_fen:
        raise RefundExceedsPayment("More than the voucher paid.", voucher_id=voucher_id)
    expire_due(session, now, voucher_ids=[voucher_id])
    in_force = session.execute(
        VOUCHERS.update()
        .where(
            VOUCHERS.c.id == voucher_id,
            VOUCHERS.c.status.in_([VoucherStatus.ACTIVE.value, VoucherStatus.REDEEMED.value]),
            VOUCHERS.c.expires_at > now,
        )
        .values(remaining_fen=VOUCHERS.c.remaining_fen + amount_fen, status=VoucherStatus.ACTIVE.value)
        .returning(VOUCHERS.c.remaining_fen)
    ).scalar()
    remaining, note = in_force, f"refund of order {order_id}"
    if in_force is None:  # expired (or redeemed and past its date): the expiry rule
        row = session.execute(
            VOUCHERS.update()
            .where(VOUCHERS.c.id == voucher_id)
            .values(remaining_fen=VOUCHERS.c.remaining_fen + amount_fen, status=VoucherStatus.EXPIRED.value)
            .returning(VOUCHERS.c.remaining_fen, VOUCHERS.c.organisation_id, VOUCHERS.c.bulk_order_id)
        ).one()
        remaining, org_id, bulk_order_id = row
        returns = session.scalar(sa.select(Organisation.return_unredeemed_vouchers).where(Organisation.id == org_id))
        if returns:
            bought = session.get(BulkOrder, bulk_order_id)
            budgets.post(
                session,
                bought.budget_id,
                BudgetEntryKind.RETURN,
                amount_fen,
                bulk_order_id=bulk_order_id,
                voucher_id=voucher_id,
                note=f"refund of order {order_id} after the voucher expired",
            )
            session.execute(
                VOUCHERS.update()
                .where(VOUCHERS.c.id == voucher_id)
                .values(returned_fen=VOUCHERS.c.returned_fen + amount_fen)
            )
            note += "; voucher expired: value back to the budget"
        else:
            note += "; voucher expired: value lapsed"
    back = VoucherRedemption(
        voucher_id=voucher_id,
        channel=RedemptionChannel.ONLINE,
        amount_fen=-amount_fen,
        remaining_after_fen=remaining,
        order_id=order_id,
        reference=note[:100],
        actor_id=actor_id,
        at=now,
    )
    session.add(back)
    session.flush()
    cached = session.get(Voucher, voucher_id)
    if cached is not None:
        session.expire(cached)
    return back


def list_redemptions(session: Session, actor: Actor, voucher_id: int, *, page: int, size: int):
    voucher = session.get(Voucher, voucher_id)
    if voucher is None or not (actor.is_admin or access.is_member(actor, voucher.organisation_id)):
        raise NotFound("No such voucher.")
    stmt = sa.select(VoucherRedemption).where(VoucherRedemption.voucher_id == voucher_id)
    return paginate(session, stmt, order_by=VoucherRedemption.id, page=page, size=size)


def expire_due(
    session: Session,
    now: datetime,
    *,
    organisation_id: int | None = None,
    voucher_ids: list[int] | None = None,
    limit: int = 1000,
) -> int:
    """Expire active vouchers past their date; where the organisation says so, their unredeemed value
    goes back to the budget of the order that bought them. Safe to run anywhere, any number of times
    at once: each voucher moves by one conditional UPDATE, only the first wins."""
    session.flush()
    stmt = sa.select(Voucher.id).where(Voucher.status == VoucherStatus.ACTIVE, Voucher.expires_at <= now)
    if organisation_id is not None:
        stmt = stmt.where(Voucher.organisation_id == organisation_id)
    if voucher_ids is not None:
        stmt = stmt.where(Voucher.id.in_(voucher_ids))
    expired = 0
    for voucher_id in session.scalars(stmt.order_by(Voucher.id).limit(limit)).all():
        row = session.execute(
            VOUCHERS.update()
            .where(VOUCHERS.c.id == voucher_id, VOUCHERS.c.status == VoucherStatus.ACTIVE.value)
            .values(status=VoucherStatus.EXPIRED.value)
            .returning(VOUCHERS.c.remaining_fen, VOUCHERS.c.organisation_id, VOUCHERS.c.bulk_order_id)
        ).first()
        if row is None:
            continue
        expired += 1
        remaining, org_id, order_id = row
        returns = session.scalar(sa.select(Organisation.return_unredeemed_vouchers).where(Organisation.id == org_id))
        if remaining and returns:
            order = session.get(BulkOrder, order_id)
            budgets.post(
                session,
                order.budget_id,
                BudgetEntryKind.RETURN,
                remaining,
                bulk_order_id=order_id,
                voucher_id=voucher_id,
                note="unredeemed at expiry",
            )
            session.execute(VOUCHERS.update().where(VOUCHERS.c.id == voucher_id).values(returned_fen=remaining))
    if expired:
        session.expire_all()
    session.flush()
    return expired
