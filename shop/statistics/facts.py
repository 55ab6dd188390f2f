"""Writing sales facts, each in the transaction of the sale it stands for, and rebuilding and checking
them from the sources (orders, stock movements, bulk orders, voucher redemptions).

What a fact is per channel:
- online: a shop order's line when the order completes, for what is not refunded by then; a refund
  after completion is a negative fact. Sum per order: the lines' totals less their refunds.
- hall / counter / zone: one fact per sale movement of a shelf sale (staffed, or a smart counter's
  session), valued at the SKU's price.
- bulk: a goods bulk order's lines, or a union trip's (net of members' refunds), when the organisation
  receives them (验收).
- voucher: what a redemption took, by SKU (a gift box, or goods taken at a counter); an online
  redemption of value with no goods is a fact without a product. A voucher paying a shop order is
  counted by that order, under the voucher's organisation.
- 832: imported (shop.statistics.platform832).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from payments.models import Refund
from shop.catalog.models import Product, Sku
from shop.certification.models import Certification
from shop.certification.query import in_force
from shop.db import insert_ignore
from shop.inventory.models import CHINA, Location, LocationKind, Movement, MovementKind
from shop.orders.models import Order, OrderLine
from shop.procurement.models import (
    BulkOrder,
    BulkOrderEvent,
    BulkOrderKind,
    BulkOrderLine,
    BulkOrderStatus,
    Organisation,
    OrgKind,
    Voucher,
    VoucherRedemption,
)
from shop.reference.models import District, Township
from shop.statistics.models import BuyerType, Channel, SalesFact

FACTS = SalesFact.__table__

BUYER_OF_ORG_KIND = {
    OrgKind.LABOUR_UNION: BuyerType.UNION,
    OrgKind.AGENCY: BuyerType.AGENCY,
    OrgKind.SCHOOL: BuyerType.SCHOOL,
    OrgKind.HOSPITAL: BuyerType.HOSPITAL,
    OrgKind.ENTERPRISE: BuyerType.ENTERPRISE,
}


def buyer_of(kind) -> BuyerType:
    """The buyer type of an organisation kind; a kind named like a buyer type (state-owned
    enterprise, social organisation) maps to it."""
    kind = OrgKind(kind)
    if kind in BUYER_OF_ORG_KIND:
        return BUYER_OF_ORG_KIND[kind]
    return BuyerType(kind.value) if kind.value in {b.value for b in BuyerType} else BuyerType.ENTERPRISE


CHANNEL_OF_LOCATION = {
    LocationKind.CENTRE: Channel.HALL,
    LocationKind.HALL: Channel.HALL,
    LocationKind.COUNTER: Channel.COUNTER,
    LocationKind.ZONE: Channel.ZONE,
}
# Bulk orders whose lines are sales when received: goods, and union trips (net of members' refunds).
SOLD_ON_RECEIPT = (BulkOrderKind.GOODS, BulkOrderKind.TRIP)
RECEIVED_OR_LATER = (BulkOrderStatus.RECEIVED, BulkOrderStatus.EVALUATED, BulkOrderStatus.COMPLETED)
# Stock that leaves as a voucher's goods is counted by the redemption, not as a shelf sale.
VOUCHER_REFERENCES = ("voucher:%", "redemption:%")


@dataclass(frozen=True)
class ProductDims:
    product_id: int
    supplier_id: int
    category_id: int
    origin_district_id: int
    origin_township_id: int | None
    deep_poverty: bool
    poverty_alleviated: bool


def _product_dims(session: Session, product_ids) -> dict[int, ProductDims]:
    ids = sorted({p for p in product_ids if p is not None})
    if not ids:
        return {}
    rows = session.execute(
        sa.select(
            Product.id,
            Product.supplier_id,
            Product.category_id,
            Product.origin_district_id,
            Product.origin_township_id,
            sa.func.coalesce(Township.deep_poverty, False),
            District.poverty_alleviated,
        )
        .join(District, District.id == Product.origin_district_id)
        .outerjoin(Township, Township.id == Product.origin_township_id)
        .where(Product.id.in_(ids))
    )
    return {row[0]: ProductDims(*row[:5], bool(row[5]), bool(row[6])) for row in rows}


def _certified_at(session: Session, product_ids, at: datetime) -> set[int]:
    ids = sorted({p for p in product_ids if p is not None})
    if not ids:
        return set()
    return set(
        session.scalars(sa.select(Certification.product_id).where(Certification.product_id.in_(ids), in_force(at)))
    )


def _sku_products(session: Session, sku_ids) -> dict[int, tuple[int, int]]:
    """sku id → (product id, price)."""
    ids = sorted(set(sku_ids))
    if not ids:
        return {}
    return {
        s: (p, price)
        for s, p, price in session.execute(sa.select(Sku.id, Sku.product_id, Sku.price_fen).where(Sku.id.in_(ids)))
    }


def _organisation(session: Session, organisation_id: int | None) -> tuple[int | None, BuyerType]:
    if organisation_id is None:
        return None, BuyerType.INDIVIDUAL
    kind = session.scalar(sa.select(Organisation.kind).where(Organisation.id == organisation_id))
    return organisation_id, buyer_of(kind)


@dataclass
class Sale:
    """One fact to be, before its product's dimensions are filled in."""

    source: str
    source_id: int
    key: str
    at: datetime
    channel: Channel
    quantity: int
    amount_fen: int
    product_id: int | None = None
    sku_id: int | None = None
    organisation_id: int | None = None
    buyer_type: BuyerType = BuyerType.INDIVIDUAL
    location_id: int | None = None


def _rows(session: Session, sales: list[Sale]) -> list[dict]:
    dims = _product_dims(session, [s.product_id for s in sales])
    certified: dict[datetime, set[int]] = {}
    rows = []
    for sale in sales:
        d = dims.get(sale.product_id) if sale.product_id is not None else None
        if d is not None and sale.at not in certified:
            certified[sale.at] = _certified_at(session, [s.product_id for s in sales if s.at == sale.at], sale.at)
        day = sale.at.astimezone(CHINA).date()
        rows.append(
            {
                "source_key": sale.key,
                "occurred_at": sale.at,
                "day": day,
                "year": day.year,
                "quarter": (day.month - 1) // 3 + 1,
                "month": day.month,
                "channel": sale.channel.value,
                "buyer_type": sale.buyer_type.value,
                "organisation_id": sale.organisation_id,
                "location_id": sale.location_id,
                "product_id": sale.product_id,
                "sku_id": sale.sku_id,
                "supplier_id": d.supplier_id if d else None,
                "category_id": d.category_id if d else None,
                "origin_district_id": d.origin_district_id if d else None,
                "origin_township_id": d.origin_township_id if d else None,
                "deep_poverty": d.deep_poverty if d else False,
                "eligible": bool(d and d.poverty_alleviated and sale.product_id in certified[sale.at]),
                "quantity": sale.quantity,
                "amount_fen": sale.amount_fen,
                "external_supplier": None,
                "external_product": None,
                "created_at": sale.at,
            }
        )
    return rows


def _write(session: Session, sales: list[Sale]) -> int:
    sales = [s for s in sales if s.quantity or s.amount_fen]
    rows = _rows(session, sales)
    for start in range(0, len(rows), 500):
        insert_ignore(session, FACTS, rows[start : start + 500], ["source_key"])
    return len(rows)


# --- shop orders ------------------------------------------------------------------------------


def _order_funder(session: Session, order_id: int) -> int | None:
    """The organisation whose voucher paid the order, if one did."""
    return session.scalar(
        sa.select(Voucher.organisation_id)
        .join(VoucherRedemption, VoucherRedemption.voucher_id == Voucher.id)
        .where(VoucherRedemption.order_id == order_id, VoucherRedemption.amount_fen > 0)
        .limit(1)
    )


def _order_sales(session: Session, order: Order, lines, at: datetime, *, refunded_after: dict[int, tuple[int, int]]):
    organisation_id, buyer = _organisation(session, _order_funder(session, order.id))
    sales = []
    for line in lines:
        later_qty, later_fen = refunded_after.get(line.id, (0, 0))
        sales.append(
            Sale(
                "order",
                order.id,
                f"order:{order.id}:{line.id}",
                at,
                Channel.ONLINE,
                line.quantity - line.refunded_quantity + later_qty,
                line.total_fen - line.refunded_fen + later_fen,
                line.product_id,
                line.sku_id,
                organisation_id,
                buyer,
                order.location_id,
            )
        )
    return sales


def record_order_completed(session: Session, order: Order) -> None:
    """The order's lines as they stand at completion."""
    session.flush()
    _write(session, _order_sales(session, order, order.lines, order.completed_at, refunded_after={}))


def _refund_sales(session: Session, order: Order, refund: Refund) -> list[Sale]:
    organisation_id, buyer = _organisation(session, _order_funder(session, order.id))
    by_id = {line.id: line for line in order.lines}
    return [
        Sale(
            "order",
            order.id,
            f"refund:{refund.id}:{item['line_id']}",
            refund.created_at,
            Channel.ONLINE,
            -item["quantity"],
            -item["amount_fen"],
            by_id[item["line_id"]].product_id,
            by_id[item["line_id"]].sku_id,
            organisation_id,
            buyer,
            order.location_id,
        )
        for item in refund.lines
    ]


def record_order_refund(session: Session, order: Order, refund: Refund) -> None:
    """A refund of a completed order takes back what the completion counted; before completion a
    refund only lowers what the completion will count."""
    if order.completed_at is not None and order.completed_at <= refund.created_at:
        _write(session, _refund_sales(session, order, refund))


# --- shelf sales (halls, counters, zones) -----------------------------------------------------


def _shelf_sales(session: Session, movements: list[Movement]) -> list[Sale]:
    kinds = dict(
        session.execute(
            sa.select(Location.id, Location.kind).where(Location.id.in_({m.location_id for m in movements}))
        ).all()
    )
    skus = _sku_products(session, [m.sku_id for m in movements])
    return [
        Sale(
            "movement",
            m.id,
            f"movement:{m.id}",
            m.created_at,
            CHANNEL_OF_LOCATION[LocationKind(kinds[m.location_id])],
            -m.on_hand_delta,
            -m.on_hand_delta * skus[m.sku_id][1],
            skus[m.sku_id][0],
            m.sku_id,
            location_id=m.location_id,
        )
        for m in movements
    ]


def record_shelf_sale(session: Session, location_id: int, moves, *, now: datetime) -> None:
    """The sale movements just written at `location_id` (the caller holds the stock rows of their
    SKUs locked, so the newest sale movements of those SKUs there are these), as facts in one
    INSERT … SELECT: a sale at a smart counter stays a handful of statements."""
    if not moves:
        return
    day = now.astimezone(CHINA).date()
    location_kind = sa.select(Location.kind).where(Location.id == location_id).scalar_subquery()
    channel = sa.case(
        *((location_kind == kind.value, channel.value) for kind, channel in CHANNEL_OF_LOCATION.items()),
        else_=Channel.HALL.value,
    )
    certified = sa.exists().where(Certification.product_id == Product.id, in_force(now))
    mine = (
        sa.select(Movement.id)
        .where(
            Movement.location_id == location_id,
            Movement.kind == MovementKind.SALE,
            Movement.reservation_id.is_(None),
            Movement.created_at == now,
            Movement.sku_id.in_(sorted({m.sku_id for m in moves})),
        )
        .order_by(Movement.id.desc())
        .limit(len(moves))
        .subquery()
    )
    columns = {
        "source_key": sa.literal("movement:") + sa.cast(Movement.id, sa.String),
        "occurred_at": Movement.created_at,
        "day": sa.literal(day, sa.Date),
        "year": sa.literal(day.year),
        "quarter": sa.literal((day.month - 1) // 3 + 1),
        "month": sa.literal(day.month),
        "channel": channel,
        "buyer_type": sa.literal(BuyerType.INDIVIDUAL.value),
        "location_id": Movement.location_id,
        "product_id": Product.id,
        "sku_id": Movement.sku_id,
        "supplier_id": Product.supplier_id,
        "category_id": Product.category_id,
        "origin_district_id": Product.origin_district_id,
        "origin_township_id": Product.origin_township_id,
        "deep_poverty": sa.func.coalesce(Township.deep_poverty, sa.false()),
        "eligible": sa.and_(District.poverty_alleviated, certified),
        "quantity": -Movement.on_hand_delta,
        "amount_fen": -Movement.on_hand_delta * Sku.price_fen,
        "created_at": Movement.created_at,
    }
    select = (
        sa.select(*columns.values())
        .select_from(Movement)
        .join(mine, mine.c.id == Movement.id)
        .join(Sku, Sku.id == Movement.sku_id)
        .join(Product, Product.id == Sku.product_id)
        .join(District, District.id == Product.origin_district_id)
        .outerjoin(Township, Township.id == Product.origin_township_id)
    )
    session.execute(sa.insert(FACTS).from_select(list(columns), select))


# --- bulk orders ------------------------------------------------------------------------------


def _bulk_sales(session: Session, order: BulkOrder, at: datetime) -> list[Sale]:
    if order.kind not in SOLD_ON_RECEIPT:
        return []  # vouchers count when redeemed
    organisation_id, buyer = _organisation(session, order.organisation_id)
    lines = list(session.scalars(sa.select(BulkOrderLine).where(BulkOrderLine.bulk_order_id == order.id)))
    skus = _sku_products(session, [line.sku_id for line in lines if line.sku_id])
    return [
        Sale(
            "bulk",
            order.id,
            f"bulk:{order.id}:{line.id}",
            at,
            Channel.BULK,
            0 if line.cancelled_at else line.quantity,  # a trip member who cancelled
            line.total_fen - line.refunded_fen,
            skus[line.sku_id][0] if line.sku_id else None,
            line.sku_id,
            organisation_id,
            buyer,
            line.pickup_location_id or order.supply_location_id,
        )
        for line in lines
    ]


def record_bulk_received(session: Session, order: BulkOrder, *, now: datetime) -> None:
    _write(session, _bulk_sales(session, order, now))


# --- voucher redemptions ----------------------------------------------------------------------


def split_amount(amount: int, weights: list[int]) -> list[int]:
    """`amount` in parts proportional to `weights`, cumulative floors: the parts add up exactly."""
    whole = sum(weights) or 1
    parts, done, acc = [], 0, 0
    for weight in weights:
        acc += weight
        part = amount * acc // whole - done
        parts.append(part)
        done += part
    return parts


def _redemption_sales(session: Session, redemption: VoucherRedemption, taken: dict[int, int]) -> list[Sale]:
    """`taken`: sku id → units handed over for the redemption."""
    if redemption.order_id is not None or redemption.amount_fen <= 0:
        return []  # paid a shop order (counted by the order) or gave value back
    voucher = session.get(Voucher, redemption.voucher_id)
    organisation_id, buyer = _organisation(session, voucher.organisation_id)
    if not taken:
        return [
            Sale(
                "redemption",
                redemption.id,
                f"redemption:{redemption.id}",
                redemption.at,
                Channel.VOUCHER,
                0,
                redemption.amount_fen,
                organisation_id=organisation_id,
                buyer_type=buyer,
                location_id=redemption.location_id,
            )
        ]
    skus = _sku_products(session, taken)
    ordered = sorted(taken.items())
    parts = split_amount(redemption.amount_fen, [skus[s][1] * q for s, q in ordered])
    return [
        Sale(
            "redemption",
            redemption.id,
            f"redemption:{redemption.id}:{sku_id}",
            redemption.at,
            Channel.VOUCHER,
            quantity,
            part,
            skus[sku_id][0],
            sku_id,
            organisation_id,
            buyer,
            redemption.location_id,
        )
        for (sku_id, quantity), part in zip(ordered, parts, strict=True)
    ]


def record_redemption(session: Session, redemption: VoucherRedemption, taken: dict[int, int]) -> None:
    _write(session, _redemption_sales(session, redemption, taken))


# --- backfill and check -----------------------------------------------------------------------


def _shelf_movements(session: Session):
    return (
        sa.select(Movement)
        .where(Movement.kind == MovementKind.SALE, Movement.reservation_id.is_(None))
        .where(
            sa.or_(
                Movement.reference.is_(None), sa.not_(sa.or_(*(Movement.reference.like(p) for p in VOUCHER_REFERENCES)))
            )
        )
    )


def _redemption_taken(session: Session, redemption: VoucherRedemption, gift_sku_id: int | None) -> dict[int, int]:
    taken: dict[int, int] = defaultdict(int)
    for sku_id, delta in session.execute(
        sa.select(Movement.sku_id, Movement.on_hand_delta).where(
            Movement.kind == MovementKind.SALE, Movement.reference == f"redemption:{redemption.id}"
        )
    ):
        taken[sku_id] -= delta
    if not taken and gift_sku_id is not None:
        taken[gift_sku_id] = 1
    return dict(taken)


def backfill(session: Session) -> dict[str, int]:
    """Write the facts of every sale in the sources that has none yet; returns how many per source.
    Shelf sales are valued at today's SKU price (the ledger keeps no price)."""
    existing = set(session.scalars(sa.select(SalesFact.source_key)))
    written = defaultdict(int)

    def write(source: str, sales: list[Sale]) -> None:
        fresh = [s for s in sales if s.key not in existing]
        written[source] += _write(session, fresh)
        existing.update(s.key for s in fresh)

    for order in session.scalars(sa.select(Order).where(Order.completed_at.is_not(None)).order_by(Order.id)):
        refunds = list(
            session.scalars(
                sa.select(Refund)
                .where(Refund.order_id == order.id, Refund.created_at >= order.completed_at)
                .order_by(Refund.id)
            )
        )
        after: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for refund in refunds:
            for item in refund.lines:
                q, f = after[item["line_id"]]
                after[item["line_id"]] = (q + item["quantity"], f + item["amount_fen"])
        write("order", _order_sales(session, order, order.lines, order.completed_at, refunded_after=after))
        for refund in refunds:
            write("order", _refund_sales(session, order, refund))
    movements = list(session.scalars(_shelf_movements(session).order_by(Movement.id)))
    for start in range(0, len(movements), 1000):
        write("movement", _shelf_sales(session, movements[start : start + 1000]))
    for order in session.scalars(
        sa.select(BulkOrder).where(BulkOrder.status.in_(RECEIVED_OR_LATER)).order_by(BulkOrder.id)
    ):
        received_at = session.scalar(
            sa.select(sa.func.min(BulkOrderEvent.at)).where(
                BulkOrderEvent.bulk_order_id == order.id, BulkOrderEvent.to_status == BulkOrderStatus.RECEIVED
            )
        )
        write("bulk", _bulk_sales(session, order, received_at or order.paid_at or order.created_at))
    for redemption, gift_sku_id in session.execute(
        sa.select(VoucherRedemption, Voucher.gift_sku_id)
        .join(Voucher, Voucher.id == VoucherRedemption.voucher_id)
        .where(VoucherRedemption.order_id.is_(None), VoucherRedemption.amount_fen > 0)
        .order_by(VoucherRedemption.id)
    ):
        write("redemption", _redemption_sales(session, redemption, _redemption_taken(session, redemption, gift_sku_id)))
    session.flush()
    return {source: n for source, n in written.items() if n}


@dataclass(frozen=True)
class Difference:
    source: str
    source_id: int
    expected_quantity: int
    expected_fen: int
    facts_quantity: int
    facts_fen: int


def check(session: Session) -> list[Difference]:
    """Compare the facts with their sources: per completed order, the lines' totals less refunds; per
    shelf sale movement, its units; per received goods bulk order, its lines; per redemption of
    goods or value, its amount. Facts standing for nothing are differences too."""
    expected: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for order_id, quantity, amount in session.execute(
        sa.select(
            OrderLine.order_id,
            sa.func.sum(OrderLine.quantity - OrderLine.refunded_quantity),
            sa.func.sum(OrderLine.total_fen - OrderLine.refunded_fen),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.completed_at.is_not(None))
        .group_by(OrderLine.order_id)
    ):
        expected[("order", order_id)] = [int(quantity), int(amount)]
    for movement_id, delta in session.execute(
        _shelf_movements(session).with_only_columns(Movement.id, Movement.on_hand_delta)
    ):
        expected[("movement", movement_id)] = [-delta, None]
    for order_id, quantity, amount in session.execute(
        sa.select(
            BulkOrderLine.bulk_order_id,
            sa.func.sum(sa.case((BulkOrderLine.cancelled_at.is_(None), BulkOrderLine.quantity), else_=0)),
            sa.func.sum(BulkOrderLine.total_fen - BulkOrderLine.refunded_fen),
        )
        .join(BulkOrder, BulkOrder.id == BulkOrderLine.bulk_order_id)
        .where(BulkOrder.status.in_(RECEIVED_OR_LATER), BulkOrder.kind.in_(SOLD_ON_RECEIPT))
        .group_by(BulkOrderLine.bulk_order_id)
    ):
        expected[("bulk", order_id)] = [int(quantity), int(amount)]
    for redemption_id, amount in session.execute(
        sa.select(VoucherRedemption.id, VoucherRedemption.amount_fen).where(
            VoucherRedemption.order_id.is_(None), VoucherRedemption.amount_fen > 0
        )
    ):
        expected[("redemption", redemption_id)] = [None, amount]
    facts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    refund_orders = {}
    for key, quantity, amount in session.execute(
        sa.select(SalesFact.source_key, SalesFact.quantity, SalesFact.amount_fen).where(
            SalesFact.channel != Channel.PLATFORM_832
        )
    ):
        kind, ident = key.split(":")[:2]
        if kind == "refund":
            refund_orders.setdefault(int(ident), None)
        facts[(kind, int(ident))][0] += quantity
        facts[(kind, int(ident))][1] += amount
    # Refund facts are keyed by the refund: fold them into their order.
    if refund_orders:
        for refund_id, order_id in session.execute(
            sa.select(Refund.id, Refund.order_id).where(Refund.id.in_(list(refund_orders)))
        ):
            q, f = facts.pop(("refund", refund_id))
            facts[("order", order_id)][0] += q
            facts[("order", order_id)][1] += f
    differences = []
    for key in sorted(set(expected) | set(facts), key=lambda k: (k[0], k[1])):
        want_q, want_f = expected.get(key, [0, 0])
        got_q, got_f = facts.get(key, [0, 0])
        if (want_q is not None and want_q != got_q) or (want_f is not None and want_f != got_f):
            differences.append(
                Difference(
                    key[0],
                    key[1],
                    want_q if want_q is not None else got_q,
                    want_f if want_f is not None else got_f,
                    got_q,
                    got_f,
                )
            )
    return differences
