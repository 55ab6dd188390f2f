"""Organisations and what they buy with: budgets (a ledger and cached balances), pledges, bulk orders
(their own state machine), pickup vouchers and invoices."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.db import Base, enum_column, utcnow_column_default
from shop.transitions import StateMachine


class OrgKind(enum.StrEnum):
    LABOUR_UNION = "labour_union"  # 工会
    AGENCY = "agency"  # 机关事业单位
    SCHOOL = "school"
    HOSPITAL = "hospital"
    ENTERPRISE = "enterprise"
    STATE_OWNED_ENTERPRISE = "state_owned_enterprise"  # 国有企业


class Organisation(Base):
    __tablename__ = "organisations"
    __table_args__ = (
        sa.CheckConstraint("headcount >= 0", name="headcount_non_negative"),
        sa.CheckConstraint("per_capita_cap_fen >= 0", name="per_capita_cap_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "org_kind"))
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("districts.id"), index=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)  # its unified social credit code
    headcount: Mapped[int]
    # The yearly ceiling of assistance purchases per member (e.g. ¥500 = 50000 fen).
    per_capita_cap_fen: Mapped[int] = mapped_column(default=50_000)
    # Whether the unredeemed value of expired pickup vouchers goes back to the budget.
    return_unredeemed_vouchers: Mapped[bool] = mapped_column(default=True)
    # Separation of duties (shop.procurement.access): who submits does not approve, who approves does
    # not pay, nobody grants themselves roles. Only an admin relaxes it (a one-person organisation).
    separation_of_duties: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    contact_name: Mapped[str] = mapped_column(sa.String(100))
    contact_phone: Mapped[str] = mapped_column(sa.String(20))
    # Invoice profile (发票抬头): title and tax number, address, bank.
    invoice_title: Mapped[str | None] = mapped_column(sa.String(200))
    invoice_tax_number: Mapped[str | None] = mapped_column(sa.String(18))
    invoice_address: Mapped[str | None] = mapped_column(sa.String(300))
    invoice_phone: Mapped[str | None] = mapped_column(sa.String(20))
    invoice_bank: Mapped[str | None] = mapped_column(sa.String(100))
    invoice_bank_account: Mapped[str | None] = mapped_column(sa.String(40))
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class Budget(Base):
    """A union-fund budget for assistance purchases in one fiscal year. The four amounts are caches of
    the ledger (BudgetEntry); only `shop.procurement.budgets.post` changes them."""

    __tablename__ = "budgets"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "fiscal_year"),
        sa.CheckConstraint("available_fen >= 0", name="available_non_negative"),
        sa.CheckConstraint("committed_fen >= 0", name="committed_non_negative"),
        sa.CheckConstraint("spent_fen >= 0", name="spent_non_negative"),
        sa.CheckConstraint("amount_fen = available_fen + committed_fen + spent_fen", name="amounts_add_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    fiscal_year: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # allocated in total
    available_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    committed_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # approved, not yet paid
    spent_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class BudgetEntryKind(enum.StrEnum):
    ALLOCATE = "allocate"  # money put in (or taken out) of the budget: amount and available
    COMMIT = "commit"  # a bulk order approved: available → committed
    SPEND = "spend"  # its payment confirmed: committed → spent
    RELEASE = "release"  # an approved order cancelled: committed → available
    RETURN = "return"  # unredeemed voucher value at expiry: spent → available


class BudgetEntry(Base):
    """Append-only budget ledger: each entry moves money between the budget's three pots."""

    __tablename__ = "budget_entries"
    __table_args__ = (
        sa.CheckConstraint("amount_delta = available_delta + committed_delta + spent_delta", name="deltas_add_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(sa.ForeignKey("budgets.id"), index=True)
    kind: Mapped[BudgetEntryKind] = mapped_column(enum_column(BudgetEntryKind, "budget_entry_kind"))
    amount_delta: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    available_delta: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    committed_delta: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    spent_delta: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    available_after: Mapped[int] = mapped_column(sa.BigInteger)
    bulk_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bulk_orders.id"), index=True)
    voucher_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vouchers.id"))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class Pledge(Base):
    """预留份额: an agency's yearly pledge of assistance purchases."""

    __tablename__ = "pledges"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "fiscal_year"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("share_bp >= 0 AND share_bp <= 10000", name="share_within_whole"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    fiscal_year: Mapped[int]
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    canteen_food_budget_fen: Mapped[int] = mapped_column(sa.BigInteger)
    share_bp: Mapped[int]  # the pledge as a share of the canteen food budget, basis points
    contact_name: Mapped[str] = mapped_column(sa.String(100))
    contact_phone: Mapped[str] = mapped_column(sa.String(20))
    filed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filed_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    revisions: Mapped[list[PledgeRevision]] = relationship(order_by="PledgeRevision.id", cascade="all, delete-orphan")


class PledgeRevision(Base):
    """Every filing and change of a pledge; a lower amount carries its written reason."""

    __tablename__ = "pledge_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(sa.ForeignKey("pledges.id", ondelete="CASCADE"), index=True)
    previous_amount_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    share_bp: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(1000), default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]


class BulkOrderKind(enum.StrEnum):
    GOODS = "goods"  # lines of SKUs, delivered or picked up
    VOUCHERS = "vouchers"  # pickup vouchers (提货券) for members
    TRIP = "trip"  # 职工疗休养: service slots for a roster of members (shop.bookings.trips)


class BulkOrderStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    FULFILLED = "fulfilled"
    RECEIVED = "received"  # 验收: the organisation accepted the delivery
    EVALUATED = "evaluated"  # 评价
    COMPLETED = "completed"
    CANCELLED = "cancelled"


B = BulkOrderStatus
BULK_ORDER_TRANSITIONS: dict[BulkOrderStatus, set[BulkOrderStatus]] = {
    B.DRAFT: {B.SUBMITTED, B.CANCELLED},
    B.SUBMITTED: {B.APPROVED, B.REJECTED, B.CANCELLED},
    B.APPROVED: {B.PAID, B.CANCELLED},
    B.REJECTED: set(),
    B.PAID: {B.FULFILLED},
    B.FULFILLED: {B.RECEIVED},
    B.RECEIVED: {B.EVALUATED},
    B.EVALUATED: {B.COMPLETED},
    B.COMPLETED: set(),
    B.CANCELLED: set(),
}
# A purchase counts toward a pledge once received, paid and evaluated.
COUNTS_FOR_PLEDGE = (B.EVALUATED, B.COMPLETED)
# Money has moved: these count as purchases in reports.
PURCHASED = (B.PAID, B.FULFILLED, B.RECEIVED, B.EVALUATED, B.COMPLETED)


class BulkOrder(StateMachine, Base):
    __tablename__ = "bulk_orders"
    __table_args__ = (
        sa.CheckConstraint("total_fen >= 0", name="total_non_negative"),
        sa.CheckConstraint("paid_fen >= 0 AND paid_fen <= total_fen", name="paid_within_total"),
        sa.CheckConstraint("invoiced_fen >= 0 AND invoiced_fen <= paid_fen", name="invoiced_within_paid"),
        sa.CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
        sa.Index("ix_bulk_orders_organisation_id_status", "organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(24), unique=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    kind: Mapped[BulkOrderKind] = mapped_column(enum_column(BulkOrderKind, "bulk_order_kind"))
    status: Mapped[BulkOrderStatus] = mapped_column(enum_column(BulkOrderStatus, "bulk_order_status"))
    title: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    fiscal_year: Mapped[int]
    # The hall or centre whose stock is reserved for the goods; destinations are per line.
    supply_location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"), index=True)
    voucher_expires_at: Mapped[datetime | None]
    line_count: Mapped[int] = mapped_column(default=0)
    subtotal_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    discount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    invoiced_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    budget_id: Mapped[int | None] = mapped_column(sa.ForeignKey("budgets.id"))
    rating: Mapped[int | None]
    evaluation: Mapped[str | None] = mapped_column(sa.String(2000))
    acceptance_note: Mapped[str | None] = mapped_column(sa.String(2000))
    rejection_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)
    submitted_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

    events: Mapped[list[BulkOrderEvent]] = relationship(order_by="BulkOrderEvent.id", cascade="all, delete-orphan")

    @property
    def reservation_reference(self) -> str:
        return f"bulk:{self.id}"

    TRANSITIONS = BULK_ORDER_TRANSITIONS
    ENTITY = "bulk order"

    def record_transition(self, source, target, *, actor_id: int | None, at: datetime, reason: str) -> None:
        self.events.append(
            BulkOrderEvent(from_status=source, to_status=target, actor_id=actor_id, at=at, note=reason[:500])
        )


class BulkOrderLine(Base):
    """One line: a SKU (or, in a voucher order, a value voucher or a gift-box voucher) and where it goes."""

    __tablename__ = "bulk_order_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("sku_id IS NOT NULL OR voucher_value_fen IS NOT NULL", name="sku_or_value"),
        sa.Index("ix_bulk_order_lines_bulk_order_id_row_number", "bulk_order_id", "row_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bulk_order_id: Mapped[int] = mapped_column(sa.ForeignKey("bulk_orders.id", ondelete="CASCADE"))
    row_number: Mapped[int]  # position in the order (the row of its import file)
    sku_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skus.id"))
    voucher_value_fen: Mapped[int | None]  # a value voucher's face value
    quantity: Mapped[int]
    department: Mapped[str | None] = mapped_column(sa.String(100))
    pickup_location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"))
    delivery_address: Mapped[str | None] = mapped_column(sa.String(300))
    recipient: Mapped[str | None] = mapped_column(sa.String(100))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    slot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking_slots.id"))  # a trip member's slot
    refunded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)  # a trip member cancelled
    cancelled_at: Mapped[datetime | None]
    unit_price_fen: Mapped[int] = mapped_column(default=0)
    subtotal_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    discount_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class BulkOrderEvent(Base):
    __tablename__ = "bulk_order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    bulk_order_id: Mapped[int] = mapped_column(sa.ForeignKey("bulk_orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[BulkOrderStatus | None] = mapped_column(enum_column(BulkOrderStatus, "bulk_event_from"))
    to_status: Mapped[BulkOrderStatus] = mapped_column(enum_column(BulkOrderStatus, "bulk_event_to"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(sa.String(500), default="")


class VoucherStatus(enum.StrEnum):
    ACTIVE = "active"
    REDEEMED = "redeemed"  # nothing left
    EXPIRED = "expired"


class Voucher(Base):
    """提货券: a value or a named gift box. Only a hash of the code is stored, with a short prefix for
    people to tell vouchers apart; the code is derived from a server secret and a random nonce, so a
    copy of the database alone redeems nothing."""

    __tablename__ = "vouchers"
    __table_args__ = (
        sa.CheckConstraint("remaining_fen >= 0 AND remaining_fen <= value_fen", name="remaining_within_value"),
        sa.CheckConstraint("value_fen > 0", name="value_positive"),
        sa.Index("ix_vouchers_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    bulk_order_id: Mapped[int] = mapped_column(sa.ForeignKey("bulk_orders.id"), index=True)
    line_id: Mapped[int] = mapped_column(sa.ForeignKey("bulk_order_lines.id"))
    gift_sku_id: Mapped[int | None] = mapped_column(sa.ForeignKey("skus.id"))  # None: a value voucher
    value_fen: Mapped[int]  # face value; a gift box's price when bought
    remaining_fen: Mapped[int]
    status: Mapped[VoucherStatus] = mapped_column(enum_column(VoucherStatus, "voucher_status"))
    code_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    code_prefix: Mapped[str] = mapped_column(sa.String(8))
    nonce: Mapped[str] = mapped_column(sa.String(32))
    holder: Mapped[str | None] = mapped_column(sa.String(100))  # the member it is meant for
    department: Mapped[str | None] = mapped_column(sa.String(100))
    expires_at: Mapped[datetime]
    returned_fen: Mapped[int] = mapped_column(default=0)  # went back to the budget at expiry
    created_at: Mapped[datetime] = mapped_column(default=utcnow_column_default)


class RedemptionChannel(enum.StrEnum):
    ONLINE = "online"
    COUNTER = "counter"


class VoucherRedemption(Base):
    """The voucher's ledger: value taken (positive), or value given back by the refund of a shop order
    the voucher paid (negative, with that order)."""

    __tablename__ = "voucher_redemptions"
    __table_args__ = (sa.CheckConstraint("amount_fen <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    voucher_id: Mapped[int] = mapped_column(sa.ForeignKey("vouchers.id"), index=True)
    channel: Mapped[RedemptionChannel] = mapped_column(enum_column(RedemptionChannel, "redemption_channel"))
    amount_fen: Mapped[int]
    order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orders.id"), index=True)  # a shop order it paid
    remaining_after_fen: Mapped[int]
    location_id: Mapped[int | None] = mapped_column(sa.ForeignKey("locations.id"))
    delivery_address: Mapped[str | None] = mapped_column(sa.String(300))
    reference: Mapped[str | None] = mapped_column(sa.String(100))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime]


class Invoice(Base):
    """发票 issued for a bulk order, with the organisation's title and tax number as issued."""

    __tablename__ = "invoices"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bulk_order_id: Mapped[int] = mapped_column(sa.ForeignKey("bulk_orders.id"), index=True)
    number: Mapped[str] = mapped_column(sa.String(40), unique=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    title: Mapped[str] = mapped_column(sa.String(200))
    tax_number: Mapped[str] = mapped_column(sa.String(18))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    bank: Mapped[str | None] = mapped_column(sa.String(100))
    bank_account: Mapped[str | None] = mapped_column(sa.String(40))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime]
