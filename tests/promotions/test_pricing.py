"""The pricing engine: worked examples of each rule, and properties that hold for any cart."""

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shop.promotions.pricing import (
    Coupon,
    CouponKind,
    Line,
    PointsTerms,
    Promotion,
    PromotionKind,
    RushTerms,
    Scope,
    allocate,
    price,
)

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
OPEN = {"starts_at": NOW - timedelta(days=1), "ends_at": NOW + timedelta(days=1)}


def line(key, price_fen, qty=1, **kw):
    defaults = {"sku_id": 1, "product_id": 1, "supplier_id": 1, "district_id": 500236, "category_path": "/1/"}
    return Line(key=key, unit_price_fen=price_fen, quantity=qty, **{**defaults, **kw})


def tiers(*pairs, **kw):
    return Promotion(
        id=kw.pop("id", 1), name="满减", kind=PromotionKind.THRESHOLD_DISCOUNT, tiers=pairs, **{**OPEN, **kw}
    )


def test_threshold_tiers_pick_the_highest_reached():
    promo = tiers((9900, 1000), (19900, 3000))
    assert price([line("a", 9800)], [promo], NOW).total_fen == 9800
    assert price([line("a", 9900)], [promo], NOW).total_fen == 8900
    assert price([line("a", 10000, 2)], [promo], NOW).total_fen == 17000


def test_repeating_threshold_with_cap():
    promo = Promotion(
        id=1,
        name="每满100减10",
        kind=PromotionKind.THRESHOLD_DISCOUNT,
        every_fen=10000,
        off_fen=1000,
        cap_fen=2500,
        **OPEN,
    )
    assert price([line("a", 19999)], [promo], NOW).discount_fen == 1000
    assert price([line("a", 20000)], [promo], NOW).discount_fen == 2000
    assert price([line("a", 90000)], [promo], NOW).discount_fen == 2500


def test_threshold_discount_is_shared_in_proportion_and_adds_up():
    quote = price([line("a", 6000), line("b", 3000), line("c", 1000)], [tiers((9900, 1000))], NOW)
    assert [q.discount_fen for q in quote.lines] == [600, 300, 100]
    odd = price([line("a", 3333), line("b", 3333), line("c", 3334)], [tiers((9900, 1000))], NOW)
    assert sum(q.discount_fen for q in odd.lines) == 1000
    assert sum(q.total_fen for q in odd.lines) == odd.total_fen == 9000


def test_percent_rounds_half_up_once_per_line():
    promo = Promotion(id=1, name="85折", kind=PromotionKind.PERCENT_DISCOUNT, percent_bp=1500, **OPEN)
    quote = price([line("a", 333), line("b", 10)], [promo], NOW)
    assert [q.discount_fen for q in quote.lines] == [50, 2]  # 49.95 -> 50, 1.5 -> 2


def test_scoped_fixed_discount_per_unit():
    promo = Promotion(
        id=1,
        name="脐橙立减",
        kind=PromotionKind.FIXED_DISCOUNT,
        off_fen=200,
        scope=Scope(product_ids=frozenset({7})),
        **OPEN,
    )
    quote = price([line("a", 1000, 3, product_id=7), line("b", 1000, 1, product_id=8)], [promo], NOW)
    assert [q.discount_fen for q in quote.lines] == [600, 0]
    explained = quote.lines[0].adjustments[0]
    assert (explained.source, explained.source_id, explained.label) == ("promotion", 1, "脐橙立减")


def test_category_scope_covers_subcategories():
    promo = Promotion(
        id=1,
        name="水果",
        kind=PromotionKind.PERCENT_DISCOUNT,
        percent_bp=1000,
        scope=Scope(category_ids=frozenset({3})),
        **OPEN,
    )
    quote = price([line("a", 1000, category_path="/3/9/"), line("b", 1000, category_path="/4/")], [promo], NOW)
    assert [q.discount_fen for q in quote.lines] == [100, 0]


def test_exclusive_promotion_blocks_lower_priority_ones_on_its_lines():
    exclusive = Promotion(
        id=1, name="独享", kind=PromotionKind.PERCENT_DISCOUNT, percent_bp=2000, priority=10, exclusive=True, **OPEN
    )
    stacking = tiers((100, 50), id=2)
    quote = price([line("a", 1000)], [stacking, exclusive], NOW)
    assert quote.applied_promotions == [1]
    assert quote.total_fen == 800
    # a higher-priority stacking promotion first means the exclusive one stays out
    quote = price([line("a", 1000)], [tiers((100, 50), id=3, priority=20), exclusive], NOW)
    assert quote.applied_promotions == [3] and quote.total_fen == 950


def test_non_exclusive_promotions_stack_in_priority_order():
    percent = Promotion(id=1, name="9折", kind=PromotionKind.PERCENT_DISCOUNT, percent_bp=1000, priority=5, **OPEN)
    quote = price([line("a", 10000)], [tiers((9000, 1000), id=2), percent], NOW)
    # 10000 -> 9000 after 10 %, which still reaches the 90-yuan tier -> 8000
    assert quote.total_fen == 8000 and quote.applied_promotions == [1, 2]


def test_gift_added_at_zero_while_it_lasts():
    gift = Promotion(
        id=5,
        name="满199赠",
        kind=PromotionKind.THRESHOLD_GIFT,
        threshold_fen=19900,
        gift_sku_id=42,
        gift_quantity=2,
        **OPEN,
    )
    quote = price([line("a", 20000)], [gift], NOW)
    assert [(g.sku_id, g.quantity) for g in quote.gifts] == [(42, 2)] and quote.total_fen == 20000
    assert price([line("a", 19800)], [gift], NOW).gifts == []
    gone = Promotion(**{**gift.__dict__, "gift_available": False})
    assert price([line("a", 20000)], [gone], NOW).gifts == []


def test_inactive_promotions_do_nothing():
    later = tiers((1, 1), starts_at=NOW + timedelta(hours=1), ends_at=NOW + timedelta(days=1))
    assert price([line("a", 1000)], [later], NOW).discount_fen == 0


def test_coupon_after_promotions_with_minimum_spend():
    coupon = Coupon(id=1, code="FRESH20", kind=CouponKind.FIXED, value=2000, min_spend_fen=9000, **OPEN)
    quote = price([line("a", 10000)], [tiers((9900, 1000))], NOW, coupon=coupon)
    assert quote.total_fen == 7000 and quote.coupon_problem is None
    # after the 10-yuan promotion 9000 is left: exactly the minimum
    short = price([line("a", 9800)], [tiers((9700, 1000))], NOW, coupon=coupon)
    assert short.coupon_problem == "coupon_minimum_not_reached" and short.total_fen == 8800
    used_up = Coupon(**{**coupon.__dict__, "usable": False, "unusable_reason": "coupon_used_up"})
    assert price([line("a", 10000)], [], NOW, coupon=used_up).coupon_problem == "coupon_used_up"


def test_points_pay_at_most_the_configured_share():
    points = PointsTerms(balance=100_000, requested=100_000, point_value_fen=1, max_share_bp=5000)
    quote = price([line("a", 1000)], [], NOW, points=points)
    assert quote.points_redeemed == 500 and quote.total_fen == 500
    poor = price([line("a", 1000)], [], NOW, points=PointsTerms(balance=30, requested=500))
    assert poor.points_redeemed == 30 and poor.total_fen == 970


def test_rush_sale_line_priced_in_points_and_cash_and_takes_no_other_discount():
    rush = RushTerms(id=9, sku_id=1, points_price=500, cash_price_fen=990, remaining=10, buyer_remaining=2, **OPEN)
    quote = price([line("r", 3000, 2, rush=rush), line("a", 10000)], [tiers((100, 1000))], NOW)
    r, a = quote.lines
    assert (r.total_fen, r.points_cost, r.adjustments, r.problem) == (1980, 1000, [], None)
    assert a.total_fen == 9000 and quote.points_cost == 1000
    assert price([line("r", 3000, 3, rush=rush)], [], NOW).lines[0].problem == "rush_sale_buyer_limit"
    sold = RushTerms(**{**rush.__dict__, "remaining": 1})
    assert price([line("r", 3000, 2, rush=sold)], [], NOW).lines[0].problem == "rush_sale_sold_out"


def test_lines_not_in_force_are_flagged_not_priced():
    quote = price([line("a", 1000, in_force=False), line("b", 500)], [], NOW)
    assert quote.lines[0].problem == "not_in_force" and quote.total_fen == 500


def test_allocate_is_exact_and_bounded():
    assert allocate(10, {"a": 10, "b": 10, "c": 10}) == {"a": 4, "b": 3, "c": 3}
    assert allocate(10, {"a": 1, "b": 1, "c": 1}) == {"a": 1, "b": 1, "c": 1}
    assert allocate(50, {"a": 10, "b": 20}) == {"a": 10, "b": 20}  # never more than the weights


# --- properties ------------------------------------------------------------------------------

lines_strategy = st.lists(
    st.builds(
        lambda price_fen, qty, product, category: (price_fen, qty, product, category),
        st.integers(1, 50_000),
        st.integers(1, 20),
        st.integers(1, 4),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=12,
)

promotions_strategy = st.lists(
    st.one_of(
        st.builds(
            lambda t1, o1, t2, o2, pr, ex: tiers((t1, o1), (t1 + t2, o1 + o2), id=0, priority=pr, exclusive=ex),
            st.integers(0, 100_000),
            st.integers(0, 20_000),
            st.integers(0, 100_000),
            st.integers(0, 20_000),
            st.integers(0, 3),
            st.booleans(),
        ),
        st.builds(
            lambda every, off, cap, pr: Promotion(
                id=0,
                name="r",
                kind=PromotionKind.THRESHOLD_DISCOUNT,
                every_fen=every,
                off_fen=off,
                cap_fen=cap,
                priority=pr,
                **OPEN,
            ),
            st.integers(1, 50_000),
            st.integers(0, 60_000),
            st.integers(0, 100_000),
            st.integers(0, 3),
        ),
        st.builds(
            lambda bp, product, ex: Promotion(
                id=0,
                name="p",
                kind=PromotionKind.PERCENT_DISCOUNT,
                percent_bp=bp,
                scope=Scope(product_ids=frozenset({product})),
                exclusive=ex,
                **OPEN,
            ),
            st.integers(0, 10_000),
            st.integers(1, 4),
            st.booleans(),
        ),
        st.builds(
            lambda off, category: Promotion(
                id=0,
                name="f",
                kind=PromotionKind.FIXED_DISCOUNT,
                off_fen=off,
                scope=Scope(category_ids=frozenset({category})),
                **OPEN,
            ),
            st.integers(0, 60_000),
            st.integers(1, 3),
        ),
    ),
    max_size=4,
)


def _build(raw_lines, raw_promos):
    lines = [
        line(f"k{i}", p, q, product_id=prod, category_path=f"/{cat}/") for i, (p, q, prod, cat) in enumerate(raw_lines)
    ]
    promos = [Promotion(**{**p.__dict__, "id": i + 1}) for i, p in enumerate(raw_promos)]
    return lines, promos


@settings(max_examples=300, deadline=None)
@given(lines_strategy, promotions_strategy, st.integers(0, 30_000), st.integers(0, 200_000), st.integers(0, 10_000))
def test_pricing_properties(raw_lines, raw_promos, coupon_value, points_requested, share_bp):
    lines, promos = _build(raw_lines, raw_promos)
    coupon = Coupon(id=1, code="C", kind=CouponKind.FIXED, value=coupon_value, min_spend_fen=0, **OPEN)
    points = PointsTerms(balance=points_requested, requested=points_requested, max_share_bp=share_bp)
    quote = price(lines, promos, NOW, coupon=coupon, points=points)

    # totals never negative, and no line below zero
    assert quote.total_fen >= 0 and all(q.total_fen >= 0 for q in quote.lines)
    # discounts never exceed what they discount
    for q in quote.lines:
        assert 0 <= q.discount_fen <= q.subtotal_fen
        assert all(a.amount_fen > 0 for a in q.adjustments)
    # the lines add up to the total exactly, and the total is subtotal minus every adjustment
    assert sum(q.total_fen for q in quote.lines) == quote.total_fen
    assert quote.subtotal_fen - quote.discount_fen - quote.points_redeemed_value_fen == quote.total_fen
    # points within balance and share
    assert quote.points_redeemed <= points_requested

    # line order does not change anything but the order of the lines
    shuffled = lines[:]
    random.Random(len(lines)).shuffle(shuffled)
    again = price(shuffled, promos, NOW, coupon=coupon, points=points)
    assert again.total_fen == quote.total_fen
    assert {q.key: q.total_fen for q in again.lines} == {q.key: q.total_fen for q in quote.lines}


# --- volume tiers (organisation purchases) ----------------------------------------------------------

TIERS = ((10, 900), (50, 800))


def test_volume_tier_prices_a_skus_lines_together():
    quote = price([line("a", 1000, 6, volume_tiers=TIERS), line("b", 1000, 6, volume_tiers=TIERS)], [], NOW)
    assert quote.total_fen == 12 * 900 and quote.discount_fen == 1200
    assert [a.source for a in quote.lines[0].adjustments] == ["volume"]
    assert price([line("a", 1000, 9, volume_tiers=TIERS)], [], NOW).total_fen == 9000
    assert price([line("a", 1000, 50, volume_tiers=TIERS)], [], NOW).total_fen == 40_000


def test_volume_tier_comes_before_promotions():
    promo = Promotion(id=1, name="9折", kind=PromotionKind.PERCENT_DISCOUNT, percent_bp=1000, **OPEN)
    quote = price([line("a", 1000, 10, volume_tiers=TIERS)], [promo], NOW)
    assert quote.total_fen == 9000 - 900


tier_strategy = st.lists(st.tuples(st.integers(2, 200), st.integers(1, 20_000)), max_size=4).map(
    lambda pairs: tuple(sorted(dict(pairs).items()))
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 20_000), st.integers(1, 120), st.integers(1, 3)), min_size=1, max_size=6),
    tier_strategy,
)
def test_volume_tier_properties(raw_lines, tiers):
    # each SKU keeps one list price, as in the catalog
    prices = {sku: p for p, _, sku in raw_lines}
    lines = [line(f"k{i}", prices[sku], q, sku_id=sku, volume_tiers=tiers) for i, (_, q, sku) in enumerate(raw_lines)]
    quote = price(lines, [], NOW)
    plain = price([line(f"k{i}", prices[s], q, sku_id=s) for i, (_, q, s) in enumerate(raw_lines)], [], NOW)
    # a tier never makes anything dearer, and the lines add up
    assert 0 <= quote.total_fen <= plain.total_fen
    assert all(0 <= q.total_fen <= q.subtotal_fen for q in quote.lines)
    assert sum(q.total_fen for q in quote.lines) == quote.total_fen == quote.subtotal_fen - quote.discount_fen
    # one more unit of a SKU never raises the unit price its lines pay
    first = lines[0]
    more = [*lines, line("extra", first.unit_price_fen, 1, sku_id=first.sku_id, volume_tiers=tiers)]
    unit = {q.key: q.total_fen / q.quantity for q in quote.lines}
    unit_more = {q.key: q.total_fen / q.quantity for q in price(more, [], NOW).lines}
    assert all(unit_more[k] <= unit[k] for k in unit if k.startswith("k") and lines[int(k[1:])].sku_id == first.sku_id)
