"""The pricing engine: one pure function from (lines, offers, buyer's points, instant) to a quote.

Nothing here touches the database or Flask; the service loads the terms and calls `price`.

Stacking rule (also in the README):
1. Lines of products not in force are flagged and not priced.
2. A rush-sale line is priced by its campaign (points, plus cash if any) and takes no other discount.
   Volume tiers (organisation purchases): a SKU whose lines together reach a tier's minimum quantity
   is priced at that tier's unit price, the best one reached; the difference is the line's first
   adjustment ("volume"), before any promotion.
3. Promotions run in priority order (higher first, then by id). Each one's base is the eligible lines'
   amounts after the promotions before it. A non-exclusive promotion stacks with the others; an
   exclusive one applies only to lines no earlier promotion discounted, and once it has applied no
   later promotion touches those lines.
4. A coupon applies after every promotion, to its eligible lines, if their amount reaches its minimum
   spend.
5. Points are redeemed last, on what is left to pay in cash, up to the configured share of it.
6. An order-level discount (threshold, coupon, points) is shared among its lines in proportion to their
   amounts by largest remainder, so each line is rounded once and the lines add up to the total.
   Percentages are rounded half-up once per line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class PromotionKind(enum.StrEnum):
    THRESHOLD_DISCOUNT = "threshold_discount"  # 满减: tiers, or "each full X, Y off" with a cap
    THRESHOLD_GIFT = "threshold_gift"  # 满赠
    PERCENT_DISCOUNT = "percent_discount"
    FIXED_DISCOUNT = "fixed_discount"  # an amount off each unit


class CouponKind(enum.StrEnum):
    FIXED = "fixed"
    PERCENT = "percent"


@dataclass(frozen=True)
class Scope:
    """Which lines an offer covers; an empty scope covers every line."""

    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    supplier_ids: frozenset[int] = frozenset()
    district_ids: frozenset[int] = frozenset()

    def covers(self, line: Line) -> bool:
        checks = []
        if self.product_ids:
            checks.append(line.product_id in self.product_ids)
        if self.category_ids:
            checks.append(any(f"/{c}/" in line.category_path for c in self.category_ids))
        if self.supplier_ids:
            checks.append(line.supplier_id in self.supplier_ids)
        if self.district_ids:
            checks.append(line.district_id in self.district_ids)
        return all(checks)


@dataclass(frozen=True)
class RushTerms:
    id: int
    sku_id: int
    points_price: int
    cash_price_fen: int
    remaining: int  # units left in the campaign
    buyer_remaining: int  # units this buyer may still buy
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Line:
    key: str  # stable identity (the cart line), used to break ties deterministically
    sku_id: int
    product_id: int
    supplier_id: int
    district_id: int
    category_path: str
    unit_price_fen: int
    quantity: int
    in_force: bool = True
    slot_unavailable: bool = False  # a service line whose slot cannot be booked now
    rush: RushTerms | None = None
    volume_tiers: tuple[tuple[int, int], ...] = ()  # (min_quantity, unit_price_fen), supplier-defined


@dataclass(frozen=True)
class Promotion:
    id: int
    name: str
    kind: PromotionKind
    starts_at: datetime
    ends_at: datetime
    priority: int = 0
    exclusive: bool = False
    scope: Scope = Scope()
    tiers: tuple[tuple[int, int], ...] = ()  # (threshold_fen, off_fen)
    every_fen: int = 0  # repeating: each full `every_fen`, `off_fen` off, at most `cap_fen`
    off_fen: int = 0  # also the per-unit amount of a fixed discount
    cap_fen: int = 0
    percent_bp: int = 0  # basis points: 1500 = 15 % off
    threshold_fen: int = 0  # gift threshold
    gift_sku_id: int | None = None
    gift_quantity: int = 1
    gift_available: bool = True


@dataclass(frozen=True)
class Coupon:
    id: int
    code: str
    kind: CouponKind
    value: int  # fen for FIXED, basis points for PERCENT
    min_spend_fen: int
    starts_at: datetime
    ends_at: datetime
    scope: Scope = Scope()
    usable: bool = True  # total and per-buyer uses left
    unusable_reason: str = ""


@dataclass(frozen=True)
class PointsTerms:
    balance: int
    requested: int = 0
    point_value_fen: int = 1  # 100 points = ¥1
    max_share_bp: int = 5000  # points may pay at most half of the cash


@dataclass
class Adjustment:
    source: str  # "promotion", "coupon", "points"
    source_id: int | None
    label: str
    amount_fen: int  # positive: taken off the line


@dataclass
class QuotedLine:
    key: str
    sku_id: int
    quantity: int
    unit_price_fen: int
    subtotal_fen: int
    adjustments: list[Adjustment] = field(default_factory=list)
    total_fen: int = 0
    points_cost: int = 0  # rush-sale points price × quantity
    rush_sale_id: int | None = None
    problem: str | None = None  # "not_in_force", "rush_sale_closed", "rush_sale_sold_out", ...

    @property
    def discount_fen(self) -> int:
        """Promotions and coupons; redeemed points are a payment, shown apart (as on the order)."""
        return sum(a.amount_fen for a in self.adjustments if a.source != "points")

    @property
    def points_value_fen(self) -> int:
        """The line's share of the redeemed points' value."""
        return sum(a.amount_fen for a in self.adjustments if a.source == "points")


@dataclass
class GiftLine:
    promotion_id: int
    sku_id: int
    quantity: int
    label: str


@dataclass
class Quote:
    lines: list[QuotedLine]
    gifts: list[GiftLine]
    subtotal_fen: int
    discount_fen: int
    points_redeemed: int
    points_redeemed_value_fen: int
    points_cost: int  # rush-sale points
    total_fen: int
    coupon_code: str | None
    coupon_problem: str | None
    applied_promotions: list[int]

    @property
    def problems(self) -> list[str]:
        return [line.problem for line in self.lines if line.problem]

    @property
    def points_total(self) -> int:
        return self.points_redeemed + self.points_cost


def round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def allocate(total: int, weights: dict[str, int]) -> dict[str, int]:
    """Share `total` among keys in proportion to `weights` (largest remainder, ties by key)."""
    whole = sum(weights.values())
    if total <= 0 or whole <= 0:
        return dict.fromkeys(weights, 0)
    total = min(total, whole)
    shares = {k: total * w // whole for k, w in weights.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda k: (-(total * weights[k] % whole), k))
    for k in by_remainder[:left]:
        shares[k] += 1
    return shares


def _active(starts_at: datetime, ends_at: datetime, now: datetime) -> bool:
    return starts_at <= now < ends_at


def _threshold_off(promo: Promotion, base: int) -> int:
    if promo.every_fen > 0:
        off = (base // promo.every_fen) * promo.off_fen
        return min(off, promo.cap_fen) if promo.cap_fen else off
    reached = [off for threshold, off in promo.tiers if base >= threshold]
    return max(reached, default=0)


def price(
    lines: list[Line],
    promotions: list[Promotion],
    now: datetime,
    coupon: Coupon | None = None,
    points: PointsTerms | None = None,
) -> Quote:
    quoted: dict[str, QuotedLine] = {}
    current: dict[str, int] = {}  # what each regular line costs so far
    regular: dict[str, Line] = {}
    for line in sorted(lines, key=lambda item: item.key):
        q = QuotedLine(line.key, line.sku_id, line.quantity, line.unit_price_fen, line.unit_price_fen * line.quantity)
        quoted[line.key] = q
        if not line.in_force or line.slot_unavailable:
            q.problem, q.subtotal_fen = ("not_in_force" if not line.in_force else "slot_not_bookable"), 0
        elif line.rush is not None:
            _price_rush(q, line, now)
        else:
            regular[line.key] = line
            current[line.key] = q.subtotal_fen

    _apply_volume_tiers(regular, current, quoted)

    touched: set[str] = set()  # lines some promotion discounted
    closed: set[str] = set()  # lines an exclusive promotion took
    gifts: list[GiftLine] = []
    applied: list[int] = []
    for promo in sorted(promotions, key=lambda p: (-p.priority, p.id)):
        if not _active(promo.starts_at, promo.ends_at, now):
            continue
        keys = [k for k, line in regular.items() if k not in closed and promo.scope.covers(line)]
        if promo.exclusive:
            keys = [k for k in keys if k not in touched]
        if not keys:
            continue
        offs = _promotion_offs(promo, {k: current[k] for k in keys}, {k: regular[k].quantity for k in keys})
        gift = promo.kind == PromotionKind.THRESHOLD_GIFT and _gift_reached(promo, sum(current[k] for k in keys))
        if not any(offs.values()) and not gift:
            continue
        applied.append(promo.id)
        if gift:
            gifts.append(GiftLine(promo.id, promo.gift_sku_id, promo.gift_quantity, promo.name))
        for k, off in offs.items():
            if off:
                quoted[k].adjustments.append(Adjustment("promotion", promo.id, promo.name, off))
                current[k] -= off
                touched.add(k)
        if promo.exclusive:
            closed.update(keys)

    coupon_problem = None
    if coupon is not None:
        coupon_problem = _apply_coupon(coupon, regular, current, quoted, now)

    redeemed = 0
    if points is not None and points.requested > 0:
        redeemed = _redeem_points(points, current, quoted, sum(q.points_cost for q in quoted.values()))

    for k, q in quoted.items():
        if k in current:
            q.total_fen = current[k]
    ordered = [quoted[line.key] for line in lines]
    return Quote(
        lines=ordered,
        gifts=gifts,
        subtotal_fen=sum(q.subtotal_fen for q in ordered),
        discount_fen=sum(a.amount_fen for q in ordered for a in q.adjustments if a.source != "points"),
        points_redeemed=redeemed,
        points_redeemed_value_fen=redeemed * (points.point_value_fen if points else 0),
        points_cost=sum(q.points_cost for q in ordered),
        total_fen=sum(q.total_fen for q in ordered),
        coupon_code=coupon.code if coupon else None,
        coupon_problem=coupon_problem,
        applied_promotions=applied,
    )


def volume_unit_price(tiers: tuple[tuple[int, int], ...], quantity: int, list_price_fen: int) -> tuple[int, int]:
    """(unit price, minimum quantity of the tier used) for `quantity` units: the lowest price among
    the tiers reached, never above the list price; (list price, 0) when no tier is reached."""
    best = (list_price_fen, 0)
    for min_quantity, unit_price_fen in tiers:
        if quantity >= min_quantity and unit_price_fen < best[0]:
            best = (unit_price_fen, min_quantity)
    return best


def _apply_volume_tiers(regular: dict[str, Line], current: dict[str, int], quoted: dict[str, QuotedLine]) -> None:
    """Lines of one SKU count together towards its tiers (an order split across departments buys
    the volume of its whole)."""
    per_sku: dict[int, int] = {}
    for line in regular.values():
        if line.volume_tiers:
            per_sku[line.sku_id] = per_sku.get(line.sku_id, 0) + line.quantity
    if not per_sku:
        return
    for key, line in regular.items():
        if not line.volume_tiers:
            continue
        unit, min_quantity = volume_unit_price(line.volume_tiers, per_sku[line.sku_id], line.unit_price_fen)
        off = (line.unit_price_fen - unit) * line.quantity
        if off > 0:
            quoted[key].adjustments.append(Adjustment("volume", None, f"≥{min_quantity} units at {unit} fen", off))
            current[key] -= off


def _price_rush(q: QuotedLine, line: Line, now: datetime) -> None:
    rush = line.rush
    assert rush is not None
    q.rush_sale_id = rush.id
    q.unit_price_fen = rush.cash_price_fen
    q.subtotal_fen = q.total_fen = rush.cash_price_fen * line.quantity
    q.points_cost = rush.points_price * line.quantity
    if not _active(rush.starts_at, rush.ends_at, now):
        q.problem = "rush_sale_closed"
    elif line.quantity > rush.remaining:
        q.problem = "rush_sale_sold_out"
    elif line.quantity > rush.buyer_remaining:
        q.problem = "rush_sale_buyer_limit"


def _promotion_offs(promo: Promotion, amounts: dict[str, int], quantities: dict[str, int]) -> dict[str, int]:
    if promo.kind == PromotionKind.PERCENT_DISCOUNT:
        return {k: min(a, round_half_up(a * promo.percent_bp, 10_000)) for k, a in amounts.items()}
    if promo.kind == PromotionKind.FIXED_DISCOUNT:
        return {k: min(a, promo.off_fen * quantities[k]) for k, a in amounts.items()}
    if promo.kind == PromotionKind.THRESHOLD_DISCOUNT:
        return allocate(_threshold_off(promo, sum(amounts.values())), amounts)
    return dict.fromkeys(amounts, 0)


def _gift_reached(promo: Promotion, base: int) -> bool:
    return promo.gift_sku_id is not None and promo.gift_available and base >= promo.threshold_fen > 0


def _apply_coupon(coupon: Coupon, regular, current, quoted, now) -> str | None:
    if not coupon.usable:
        return coupon.unusable_reason or "coupon_used_up"
    if not _active(coupon.starts_at, coupon.ends_at, now):
        return "coupon_not_valid_now"
    keys = [k for k, line in regular.items() if coupon.scope.covers(line)]
    base = sum(current[k] for k in keys)
    if not keys or base < coupon.min_spend_fen:
        return "coupon_minimum_not_reached"
    off = coupon.value if coupon.kind == CouponKind.FIXED else round_half_up(base * coupon.value, 10_000)
    shares = allocate(min(off, base), {k: current[k] for k in keys})
    for k, share in shares.items():
        if share:
            quoted[k].adjustments.append(Adjustment("coupon", coupon.id, coupon.code, share))
            current[k] -= share
    return None


def _redeem_points(points: PointsTerms, current: dict[str, int], quoted: dict[str, QuotedLine], held: int) -> int:
    """Redeem up to `points.requested`, within the balance left after rush-sale points and within the
    allowed share of the cash still to pay. Rush-sale lines are not in `current`: they take no points."""
    cash = sum(current.values())
    cap_value = cash * points.max_share_bp // 10_000
    usable = min(points.requested, max(points.balance - held, 0), cap_value // points.point_value_fen)
    if usable <= 0:
        return 0
    shares = allocate(usable * points.point_value_fen, dict(current))
    for k, share in shares.items():
        if share:
            quoted[k].adjustments.append(Adjustment("points", None, f"{usable} points", share))
            current[k] -= share
    return usable
