"""Realistic demo data: Chongqing products, suppliers, accounts, and certifications in every state.

Built through the same services as the API, with past instants where a state needs history
(an expired certification was published years ago)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop import clock
from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, User
from shop.catalog import service as catalog
from shop.catalog.models import BrandTier, Category, LabelKind, Product, ProductKind, Sku
from shop.certification import service as certification
from shop.inventory import devices, locations, movements, stock, transfers
from shop.inventory.models import CounterDevice, Location, LocationKind, china_today
from shop.points import service as points
from shop.points.models import PointsKind
from shop.promotions import service as offers
from shop.promotions.pricing import CouponKind, PromotionKind
from shop.suppliers import service as suppliers
from shop.suppliers.uscc import check_character

DEMO_PASSWORD = "demo-password"

ACCOUNTS = [
    # login, display name, role, scope
    ("admin@demo.cq", "平台管理员 Admin", Role.ADMIN, None),
    ("regulator@demo.cq", "市场监管 Regulator", Role.REGULATOR, None),
    ("certifier@demo.cq", "区县认定员 Certifier", Role.CERTIFIER, "all demo districts"),
    ("supplier@demo.cq", "安坪脐橙合作社 Supplier", Role.SUPPLIER_MEMBER, "Fengjie cooperative"),
    ("supplier2@demo.cq", "其他供应商 Supplier 2", Role.SUPPLIER_MEMBER, "the other demo suppliers"),
    ("buyer@demo.cq", "买家 Buyer", Role.BUYER, None),
    ("operator@demo.cq", "渝中专馆运营 Hall operator", Role.HALL_OPERATOR, "Yuzhong hall, its counter and zone"),
    ("union-purchaser@demo.cq", "区总工会采购 Union purchaser", Role.ORG_MEMBER, "Yuzhong labour union"),
    ("union-approver@demo.cq", "区总工会审批 Union approver", Role.ORG_APPROVER, "Yuzhong labour union"),
    ("union-finance@demo.cq", "区总工会财务 Union finance", Role.ORG_FINANCE, "Yuzhong labour union"),
]

# The smart counter's API key in the demo (a real key is issued by an admin and shown once).
DEMO_COUNTER_KEY = "cnt_demo-hospital-counter-key-not-for-production"
ALL_DAY = {day: [{"opens": "00:00", "closes": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
OFFICE_HOURS = {
    **{day: [{"opens": "09:00", "closes": "21:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "note": "节假日照常营业 Open on public holidays",
}

SUPPLIERS = [
    ("奉节县安坪脐橙专业合作社", 500236, "张红梅", "13800000001"),
    ("重庆市涪陵区百胜榨菜有限公司", 500102, "李国强", "13800000002"),
    ("巫山县曲尺脆李种植专业合作社", 500237, "王秀兰", "13800000003"),
    ("石柱县中益乡辣椒专业合作社", 500240, "谭家富", "13800000004"),
    ("城口县鸡鸣乡山地腊肉加工厂", 500229, "陈大山", "13800000005"),
    ("武隆区后坪乡民宿旅游专业合作社", 500156, "罗春燕", "13800000006"),
    ("酉阳县车田乡生态农业有限公司", 500242, "冉光明", "13800000007"),
    ("秀山县隘口镇土鸡养殖专业合作社", 500241, "杨金花", "13800000008"),
]

# name, supplier index, category slug, brand, kind, township, labels, skus, description, state
PRODUCTS = [
    (
        "奉节脐橙 Fengjie navel oranges",
        0,
        "citrus",
        "奉节脐橙",
        ProductKind.GOODS,
        10,
        [(LabelKind.GEOGRAPHICAL_INDICATION, "AGI00001"), (LabelKind.GREEN_FOOD, "LB-15-20110500236")],
        [("FJ-NAVEL-5KG", "5kg 礼盒", 6980, "box", 5000), ("FJ-NAVEL-10KG", "10kg 家庭装", 12800, "box", 10000)],
        "长江三峡奉节脐橙，果大皮薄，酸甜适口。Sweet, thin-skinned navel oranges from the Three Gorges.",
        "in_force",
    ),
    (
        "涪陵榨菜 Fuling zhacai",
        1,
        "pickles",
        "涪陵榨菜",
        ProductKind.GOODS,
        20,
        [(LabelKind.GEOGRAPHICAL_INDICATION, "AGI00002")],
        [("FL-ZHACAI-80G-10", "80g×10 袋", 1990, "pack", 800)],
        "脆嫩爽口的涪陵榨菜。Crisp pickled mustard tuber from Fuling.",
        "in_force",
    ),
    (
        "巫山脆李 Wushan crisp plums",
        2,
        "stone-fruit",
        "巫山脆李",
        ProductKind.GOODS,
        12,
        [(LabelKind.GREEN_FOOD, "LB-15-20210500237")],
        [("WS-PLUM-2.5KG", "2.5kg 箱", 5980, "box", 2500)],
        "巫山脆李，脆甜多汁。Crisp, juicy plums from Wushan.",
        "in_force",
    ),
    (
        "石柱红辣椒 Shizhu red peppers",
        3,
        "condiments",
        "巴味渝珍",
        ProductKind.GOODS,
        14,
        [(LabelKind.ORGANIC, "ORG-500240-0007")],
        [("SZ-PEPPER-500G", "干辣椒 500g", 3500, "bag", 500)],
        "石柱中益乡的红辣椒，香辣适中。Dried red peppers from Zhongyi township.",
        "in_objection_window",
    ),
    (
        "城口老腊肉 Chengkou cured pork",
        4,
        "cured-meat",
        None,
        ProductKind.GOODS,
        6,
        [],
        [("CK-LARou-1KG", "1kg", 15800, "piece", 1000)],
        "大巴山深处柴火熏制的城口老腊肉。Wood-smoked cured pork from the Daba mountains.",
        "expired",
    ),
    (
        "武隆后坪民宿两日游 Wulong Houping homestay, two days",
        5,
        "rural-tourism",
        None,
        ProductKind.SERVICE,
        4,
        [],
        [("WL-HOMESTAY-2D", "两人两晚", 59800, "package", None)],
        "后坪乡天坑寨子民宿，含两晚住宿与农家餐。Two nights in a Houping village homestay, meals included.",
        "in_force",
    ),
    (
        "酉阳贡米 Youyang tribute rice",
        6,
        "grain",
        None,
        ProductKind.GOODS,
        16,
        [],
        [("YY-RICE-5KG", "5kg", 8800, "bag", 5000)],
        "酉阳车田乡梯田大米。Terrace rice from Chetian township.",
        "revoked",
    ),
    (
        "秀山土鸡蛋 Xiushan free-range eggs",
        7,
        "eggs",
        None,
        ProductKind.GOODS,
        15,
        [],
        [("XS-EGG-30", "30 枚", 4500, "box", 1500)],
        "秀山隘口镇林下散养土鸡蛋。Free-range eggs from Aikou.",
        "pending",
    ),
    (
        "酉阳青花椒 Youyang green peppercorns",
        6,
        "condiments",
        None,
        ProductKind.GOODS,
        17,
        [],
        [("YY-PEPPERCORN-250G", "250g", 2800, "bag", 250)],
        "浪坪乡青花椒。Green Sichuan peppercorns.",
        "rejected",
    ),
    (
        "巫山脆李果脯 Wushan dried plums",
        2,
        "stone-fruit",
        "巫山脆李",
        ProductKind.GOODS,
        12,
        [],
        [("WS-DRIED-PLUM-200G", "200g", 2600, "bag", 200)],
        "巫山脆李制成的果脯。Dried crisp plums.",
        "approved",
    ),
]

CATEGORIES = [
    ("生鲜水果 Fresh fruit", "fresh-fruit", None),
    ("柑橘 Citrus", "citrus", "fresh-fruit"),
    ("李子 Stone fruit", "stone-fruit", "fresh-fruit"),
    ("粮油蛋 Grain and eggs", "grain-eggs", None),
    ("大米 Grain", "grain", "grain-eggs"),
    ("禽蛋 Eggs", "eggs", "grain-eggs"),
    ("加工食品 Processed food", "processed", None),
    ("腌制品 Pickles", "pickles", "processed"),
    ("调味品 Condiments", "condiments", "processed"),
    ("腊肉 Cured meat", "cured-meat", "processed"),
    ("乡村旅游 Rural tourism", "rural-tourism", None),
]


def _uscc(district_id: int, n: int) -> str:
    first17 = f"93{district_id}MA{n:07d}"
    return first17 + check_character(first17)


def has_data(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Product)) > 0


def _user(session: Session, login: str, name: str) -> User:
    return auth_service.register_user(session, login=login, password=DEMO_PASSWORD, display_name=name)


def load(session: Session, *, objection_days: int = 7, validity_days: int = 3 * 365) -> dict[str, int]:
    now = clock.now()
    users = {login: _user(session, login, name) for login, name, _role, _scope in ACCOUNTS}
    admin_user = users["admin@demo.cq"]
    auth_service.add_grant(session, admin_user, Role.ADMIN, 0, granted_by_id=None)
    auth_service.add_grant(session, users["regulator@demo.cq"], Role.REGULATOR, 0, granted_by_id=admin_user.id)
    admin = auth_service.load_actor(session, admin_user.id)

    supplier_rows = []
    for n, (name, district_id, contact, phone) in enumerate(SUPPLIERS, start=1):
        supplier = suppliers.create_supplier(
            session,
            admin,
            data={
                "name": name,
                "uscc": _uscc(district_id, n),
                "district_id": district_id,
                "contact_name": contact,
                "contact_phone": phone,
                "address": f"{name}（{district_id}）",
            },
        )
        member = users["supplier@demo.cq"] if n == 1 else users["supplier2@demo.cq"]
        auth_service.add_grant(session, member, Role.SUPPLIER_MEMBER, supplier.id, granted_by_id=admin_user.id)
        auth_service.add_grant(
            session, users["certifier@demo.cq"], Role.CERTIFIER, district_id, granted_by_id=admin_user.id
        )
        supplier_rows.append(supplier)

    categories = {}
    for name, slug, parent in CATEGORIES:
        categories[slug] = catalog.create_category(
            session, admin, name=name, slug=slug, parent_id=categories[parent].id if parent else None
        )
    brands = {
        "巴味渝珍": catalog.create_brand(
            session, admin, name="巴味渝珍", tier=BrandTier.REGIONAL_PUBLIC, district_id=None, supplier_id=None
        )
    }
    for name, district_id in (("奉节脐橙", 500236), ("涪陵榨菜", 500102), ("巫山脆李", 500237)):
        brands[name] = catalog.create_brand(
            session, admin, name=name, tier=BrandTier.DISTRICT_PUBLIC, district_id=district_id, supplier_id=None
        )

    certifier = auth_service.load_actor(session, users["certifier@demo.cq"].id)
    counts: dict[str, int] = {}
    for index, (name, s_index, category, brand, kind, township, labels, skus, description, state) in enumerate(
        PRODUCTS
    ):
        supplier = supplier_rows[s_index]
        product = catalog.create_product(
            session,
            admin,
            supplier_id=supplier.id,
            data={
                "name": name,
                "description": description,
                "kind": kind,
                "category_id": categories[category].id,
                "brand_id": brands[brand].id if brand else None,
                "origin_district_id": supplier.district_id,
                "origin_township_id": township,
                "images": [f"https://img.example.com/demo/{index + 1}.jpg"],
                "labels": [{"kind": k, "certificate_no": no} for k, no in labels],
                "skus": [
                    {
                        "code": code,
                        "name": spec,
                        "price_fen": price,
                        "unit": unit,
                        "net_weight_g": weight,
                        "is_active": True,
                    }
                    for code, spec, price, unit, weight in skus
                ],
            },
        )
        _certify(session, admin, certifier, product, state, now, objection_days, validity_days)
        counts[state] = counts.get(state, 0) + 1
    session.flush()
    stock = _load_inventory(session, admin, users["operator@demo.cq"], now)
    offers_loaded = _load_offers(session, admin, users["buyer@demo.cq"], now)
    procurement = _load_procurement(session, admin, users, now)
    supervision_loaded = _load_supervision(session, users, now)
    return {
        "accounts": len(users),
        "suppliers": len(supplier_rows),
        "products": len(PRODUCTS),
        **counts,
        **stock,
        **offers_loaded,
        **procurement,
        **supervision_loaded,
    }


def _load_offers(session: Session, admin: Actor, buyer: User, now) -> dict[str, int]:
    """满减 and 满赠 running for a month, a new-customer coupon, a points rush sale, and points for the buyer."""
    skus = {sku.code: sku for sku in session.scalars(sa.select(Sku))}
    month = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=30)}
    offers.create_promotion(
        session,
        admin,
        data={
            "name": "满99减10 满199减30",
            "kind": PromotionKind.THRESHOLD_DISCOUNT,
            "tiers": [[9900, 1000], [19900, 3000]],
            **month,
        },
    )
    offers.create_promotion(
        session,
        admin,
        data={
            "name": "满168赠涪陵榨菜",
            "kind": PromotionKind.THRESHOLD_GIFT,
            "threshold_fen": 16800,
            "gift_sku_id": skus["FL-ZHACAI-80G-10"].id,
            "gift_stock": 100,
            **month,
        },
    )
    offers.create_coupon(
        session,
        admin,
        data={
            "code": "XINREN10",
            "name": "新人券 ¥10 off from ¥50",
            "kind": CouponKind.FIXED,
            "value": 1000,
            "min_spend_fen": 5000,
            "per_buyer_uses": 1,
            "total_uses": 1000,
            **month,
        },
    )
    offers.create_rush_sale(
        session,
        admin,
        data={
            "name": "积分抢购 奉节脐橙 5kg",
            "sku_id": skus["FJ-NAVEL-5KG"].id,
            "points_price": 3000,
            "cash_price_fen": 990,
            "quantity_cap": 20,
            "per_buyer_cap": 1,
            "starts_at": now - timedelta(hours=1),
            "ends_at": now + timedelta(days=7),
        },
    )
    points.post(session, buyer.id, 5000, PointsKind.ADJUST, note="demo welcome points")
    return {"promotions": 2, "coupons": 1, "rush_sales": 1}


def _load_procurement(session: Session, admin: Actor, users: dict[str, User], now: datetime) -> dict[str, int]:
    """A district labour union, verified, with its purchaser, approver and finance (three people: duties
    are separated, so the draft is submitted, approved and paid by each in turn); this year's budget
    (¥300,000 of a ¥600,000 per-capita ceiling) and reserved-share pledge; volume tiers on the navel
    oranges; a draft bulk order to submit."""
    from shop.procurement import budgets, bulk_orders, organisations, pledges
    from shop.procurement.models import BulkOrderKind, OrgKind
    from shop.promotions import tiers

    approver = auth_service.load_actor(session, users["union-approver@demo.cq"].id)
    union = organisations.register_organisation(
        session,
        approver,
        data={
            "name": "重庆市渝中区总工会 Yuzhong district labour union",
            "kind": OrgKind.LABOUR_UNION,
            "district_id": 500103,
            "uscc": _uscc(500103, 90),
            "headcount": 1200,
            "per_capita_cap_fen": 50_000,
            "return_unredeemed_vouchers": True,
            "contact_name": "周工",
            "contact_phone": "13800000090",
            "invoice_title": "重庆市渝中区总工会",
            "invoice_tax_number": _uscc(500103, 90),
            "invoice_address": "渝中区中山四路 1号",
            "invoice_phone": "023-63000000",
            "invoice_bank": "中国工商银行重庆解放碑支行",
            "invoice_bank_account": "3100 0212 0900 0000 001",
        },
        now=now,
    )
    organisations.verify_organisation(session, admin, union.id, now=now)
    for login, role in (("union-purchaser@demo.cq", Role.ORG_MEMBER), ("union-finance@demo.cq", Role.ORG_FINANCE)):
        auth_service.add_grant(session, users[login], role, union.id, granted_by_id=approver.user_id)
    approver = auth_service.load_actor(session, approver.user_id)  # now with the new organisation's grant
    finance = auth_service.load_actor(session, users["union-finance@demo.cq"].id)
    purchaser = auth_service.load_actor(session, users["union-purchaser@demo.cq"].id)
    year = china_today(now).year
    budgets.create_budget(session, finance, union.id, fiscal_year=year, amount_fen=30_000_000, now=now)
    pledges.file_pledge(
        session,
        approver,
        union.id,
        year,
        data={
            "amount_fen": 12_000_000,
            "canteen_food_budget_fen": 120_000_000,
            "contact_name": "周工",
            "contact_phone": "13800000090",
        },
        now=now,
    )
    oranges = session.scalar(sa.select(Sku).where(Sku.code == "FJ-NAVEL-5KG"))
    tiers.replace_tiers(
        session,
        admin,
        oranges.id,
        tiers=[{"min_quantity": 20, "unit_price_fen": 6480}, {"min_quantity": 100, "unit_price_fen": 5980}],
        now=now,
    )
    hall = session.scalar(sa.select(Location).where(Location.kind == LocationKind.HALL).order_by(Location.id))
    counter = session.scalar(sa.select(Location).where(Location.kind == LocationKind.COUNTER).order_by(Location.id))
    order = bulk_orders.create_bulk_order(
        session,
        purchaser,
        union.id,
        data={
            "kind": BulkOrderKind.GOODS,
            "title": "中秋职工慰问 Mid-autumn staff gifts",
            "supply_location_id": hall.id,
        },
        now=now,
    )
    bulk_orders.add_lines(
        session,
        purchaser,
        order.id,
        rows=[
            {
                "sku_code": "FJ-NAVEL-5KG",
                "quantity": 15,
                "department": "办公室",
                "delivery_address": "渝中区中山四路 1号",
            },
            {"sku_code": "FJ-NAVEL-5KG", "quantity": 10, "department": "后勤", "pickup_location_id": counter.id},
        ],
        now=now,
    )
    return {"organisations": 1, "bulk_orders": 1}


def _load_inventory(session: Session, admin: Actor, operator: User, now: datetime) -> dict[str, int]:
    """A centre, two halls, a hospital's smart counter and a supermarket zone, with batches of the
    demo SKUs in force, a few weeks of sales, an expired batch to write off, a SKU below its threshold
    and a transfer on its way to the counter."""

    def place(kind, parent, name, district_id, address, **extra):
        return locations.create_location(
            session,
            admin,
            data={
                "kind": kind,
                "parent_id": parent.id if parent else None,
                "name": name,
                "district_id": district_id,
                "address": address,
                "opening_hours": extra.pop("opening_hours", OFFICE_HOURS),
                **extra,
            },
        )

    centre = place(LocationKind.CENTRE, None, "重庆市消费帮扶运营中心 Operations centre", 500103, "渝中区民族路188号")
    yuzhong = place(LocationKind.HALL, centre, "渝中消费帮扶专馆 Yuzhong hall", 500103, "渝中区解放碑八一路66号")
    fengjie = place(LocationKind.HALL, centre, "奉节消费帮扶专馆 Fengjie hall", 500236, "奉节县永安街道诗城路9号")
    hospital = place(
        LocationKind.COUNTER,
        yuzhong,
        "重医附一院智能专柜 Hospital smart counter",
        500103,
        "渝中区袁家岗友谊路1号 门诊大厅",
        host_institution="重庆医科大学附属第一医院",
        opening_hours=ALL_DAY,
    )
    zone = place(
        LocationKind.ZONE, yuzhong, "解放碑超市消费帮扶专区 Supermarket zone", 500103, "渝中区邹容路100号 负一楼"
    )
    auth_service.add_grant(session, operator, Role.HALL_OPERATOR, yuzhong.id, granted_by_id=admin.user_id)
    session.add(
        CounterDevice(
            location_id=hospital.id,
            key_sha256=devices.key_digest(DEMO_COUNTER_KEY),
            key_prefix=DEMO_COUNTER_KEY[:12],
            key_issued_at=now,
            key_issued_by_id=admin.user_id,
        )
    )

    skus = {sku.code: sku for sku in session.scalars(sa.select(Sku))}
    today = china_today(now)
    batches = 0

    def receive(
        location: Location, code: str, prefix: str, quantity: int, produced_days_ago: int, shelf_days: int, at=now
    ):
        nonlocal batches
        produced = today - timedelta(days=produced_days_ago)
        batches += 1
        movements.receive_stock(
            session,
            admin,
            location.id,
            lines=[
                {
                    "sku_id": skus[code].id,
                    "trace_code": f"{prefix}-{produced:%Y%m%d}-{batches:02d}",
                    "produced_on": produced,
                    "best_before": produced + timedelta(days=shelf_days),
                    "quantity": quantity,
                }
            ],
            reference=f"DN-DEMO-{batches:03d}",
            now=at,
        )

    # Navel oranges keep ~60 days, zhacai a year, plums ~3 weeks.
    receive(yuzhong, "FJ-NAVEL-5KG", "FJ", 40, 30, 60, at=now - timedelta(days=25))
    receive(yuzhong, "FJ-NAVEL-5KG", "FJ", 60, 5, 60)
    receive(yuzhong, "FJ-NAVEL-10KG", "FJ", 20, 5, 60)
    receive(yuzhong, "FL-ZHACAI-80G-10", "FL", 200, 40, 365)
    receive(yuzhong, "WS-PLUM-2.5KG", "WS", 12, 25, 21, at=now - timedelta(days=23))  # expired: to write off
    receive(fengjie, "FJ-NAVEL-5KG", "FJ", 150, 3, 60)
    receive(fengjie, "WS-PLUM-2.5KG", "WS", 30, 2, 21)
    receive(hospital, "FL-ZHACAI-80G-10", "FL", 24, 40, 365)
    receive(hospital, "FJ-NAVEL-5KG", "FJ", 6, 5, 60)
    receive(zone, "FL-ZHACAI-80G-10", "FL", 50, 40, 365)

    # Three weeks of sales at the hall and the counter: the low-stock suggestion has a velocity.
    for day in range(1, 22):
        at = now - timedelta(days=day, hours=-2)
        movements.sell(session, yuzhong.id, [{"sku_id": skus["FJ-NAVEL-5KG"].id, "quantity": 1 + day % 2}], now=at)
        movements.sell(session, hospital.id, [{"sku_id": skus["FL-ZHACAI-80G-10"].id, "quantity": 1}], now=at)
    stock.set_threshold(session, admin, hospital.id, skus["FL-ZHACAI-80G-10"].id, 10, now)
    stock.set_threshold(session, admin, hospital.id, skus["FJ-NAVEL-5KG"].id, 8, now)
    stock.set_threshold(session, admin, yuzhong.id, skus["FJ-NAVEL-5KG"].id, 20, now)
    # A restock on its way from the hall to the hospital counter, for the cabinet to confirm.
    transfers.dispatch_transfer(
        session,
        admin,
        from_location_id=yuzhong.id,
        to_location_id=hospital.id,
        lines=[
            {"sku_id": skus["FJ-NAVEL-5KG"].id, "quantity": 10},
            {"sku_id": skus["FL-ZHACAI-80G-10"].id, "quantity": 12},
        ],
        note="每周补货 Weekly restock",
        now=now,
    )
    session.flush()
    return {"locations": 5, "batches": batches}


def _certify(
    session: Session,
    admin: Actor,
    certifier: Actor,
    product: Product,
    state: str,
    now,
    objection_days: int,
    validity_days: int,
) -> None:
    # When each state's story started, so that at `now` it has reached that state.
    started = {
        "expired": now - timedelta(days=validity_days + objection_days + 30),
        "in_force": now - timedelta(days=objection_days + 60),
        "revoked": now - timedelta(days=objection_days + 60),
        "in_objection_window": now - timedelta(days=2),
    }.get(state, now - timedelta(days=1))
    cert = certification.apply_for_certification(
        session,
        admin,
        now=started,
        data={
            "product_id": product.id,
            "production_base": f"{product.origin_district.name}生产基地",
            "expected_yearly_output": 50_000,
            "output_unit": "kg" if product.kind == ProductKind.GOODS else "guests",
            "households_benefiting": 120,
            "documents": [
                {
                    "title": "营业执照 Business licence",
                    "url": f"https://docs.example.com/{product.id}/licence.pdf",
                    "sha256": "0" * 63 + "1",
                }
            ],
        },
    )
    if state == "pending":
        return
    if state == "rejected":
        certification.reject_certification(
            session,
            certifier,
            cert.id,
            now=started + timedelta(hours=2),
            reason="生产基地证明材料不全 Missing proof of the production base",
        )
        return
    certification.approve_certification(session, certifier, cert.id, now=started + timedelta(hours=2))
    if state == "approved":
        return
    certification.publish_announcement(
        session,
        certifier,
        title=f"{started:%Y}年第{cert.id}批消费帮扶重点产品认定公示",
        certification_ids=[cert.id],
        objection_days=objection_days,
        validity_days=validity_days,
        now=started + timedelta(hours=3),
    )
    if state == "revoked":
        certification.revoke_certification(
            session, certifier, cert.id, now=now - timedelta(days=3), reason="抽检不合格 Failed a quality spot check"
        )


def _load_supervision(session: Session, users: dict[str, User], now: datetime) -> dict[str, int]:
    """Complaints in every state (one overdue), an anonymous report, a flagged price, a failed
    inspection of the expired plum batch (its suspension lifted after rectification)."""
    from shop.inventory.models import Batch
    from shop.supervision import complaints, inspections, prices
    from shop.supervision import service as supervision
    from shop.supervision.models import Outcome, PriceFlag, SanctionKind

    def actor(login: str) -> Actor:
        return auth_service.load_actor(session, users[login].id)

    buyer, certifier, regulator = actor("buyer@demo.cq"), actor("certifier@demo.cq"), actor("regulator@demo.cq")
    supplier = actor("supplier@demo.cq")
    settings = complaints.ComplaintSettings()
    navel = session.scalar(sa.select(Product).join(Sku).where(Sku.code == "FJ-NAVEL-5KG"))
    zhacai = session.scalar(sa.select(Product).join(Sku).where(Sku.code == "FL-ZHACAI-80G-10"))

    def complaint(category: str, product: Product, text: str, days_ago: float):
        filed, _ = complaints.file_complaint(
            session,
            buyer,
            data={"category": category, "product_id": product.id, "description": text},
            settings=settings,
            now=now - timedelta(days=days_ago),
        )
        return filed.id

    at = now - timedelta(days=1)
    complaint("service", navel, "客服不回复 No answer from customer service", 0.5)  # filed
    complaint("short_weight", zhacai, "标称80g实际72g Labelled 80 g, weighs 72 g", 5)  # filed, overdue
    accepted = complaint("false_label", navel, "绿色食品标志存疑 Doubtful green-food label", 3)
    complaints.accept_complaint(session, certifier, accepted, note="受理", settings=settings, now=at)
    awaiting = complaint("service", zhacai, "包装破损 Damaged packaging", 3)
    complaints.accept_complaint(session, certifier, awaiting, note=None, settings=settings, now=at)
    complaints.ask_supplier(session, certifier, awaiting, question="请说明包装情况", settings=settings, now=at)
    upheld = complaint("false_label", navel, "礼盒标注10斤实为9斤 Box says 5 kg, holds 4.5 kg", 10)
    complaints.accept_complaint(session, certifier, upheld, note=None, settings=settings, now=now - timedelta(days=9))
    complaints.ask_supplier(
        session, certifier, upheld, question="请提供称重记录", settings=settings, now=now - timedelta(days=9)
    )
    complaints.post_message(
        session, supplier, upheld, body="分拣失误，已整改", internal=False, evidence=[], settings=settings, now=at
    )
    complaints.post_message(
        session, certifier, upheld, body="首次违规，警告", internal=True, evidence=[], settings=settings, now=at
    )
    complaints.decide_complaint(
        session,
        certifier,
        upheld,
        outcome=Outcome.UPHELD,
        decision="标注不实，予以警告 Mislabelled: warning",
        sanction=SanctionKind.WARNING,
        refund=None,
        settings=settings,
        now=at,
    )
    dismissed = complaint("service", zhacai, "发货慢 Slow delivery", 20)
    complaints.accept_complaint(
        session, certifier, dismissed, note=None, settings=settings, now=now - timedelta(days=19)
    )
    complaints.decide_complaint(
        session,
        certifier,
        dismissed,
        outcome=Outcome.DISMISSED,
        decision="在承诺时效内发货 Shipped within the promised time",
        sanction=None,
        refund=None,
        settings=settings,
        now=now - timedelta(days=15),
    )
    complaints.close_complaint(
        session, certifier, dismissed, note=None, settings=settings, now=now - timedelta(days=14)
    )
    complaints.file_complaint(
        session,
        None,
        data={"category": "quality", "product_id": zhacai.id, "description": "疑似添加剂超标 Suspected additives"},
        settings=settings,
        now=now - timedelta(hours=6),
    )

    stone_fruit = session.scalar(sa.select(Category).where(Category.slug == "stone-fruit"))
    prices.set_reference_price(
        session,
        regulator,
        data={
            "category_id": stone_fruit.id,
            "unit": "kg",
            "price_fen": 1800,  # the plums at 5980 for 2.5 kg are 33% above
            "valid_from": now - timedelta(days=30),
            "valid_until": now + timedelta(days=335),
        },
        rules=prices.PriceRules(),
        now=now,
    )

    plum = session.scalar(sa.select(Sku).where(Sku.code == "WS-PLUM-2.5KG"))
    batch = session.scalar(sa.select(Batch).where(Batch.sku_id == plum.id).order_by(Batch.best_before, Batch.id))
    failed = inspections.record_inspection(
        session,
        regulator,
        data={
            "trace_code": batch.trace_code,
            "result": "failed",
            "report_url": "https://lab.example.com/demo/plum-residue.pdf",
            "report_sha256": "1" * 64,
            "notes": "农药残留超标 Pesticide residue above the limit",
        },
        now=now - timedelta(days=2),
    )
    if failed.sanction_id is not None:
        supervision.lift_sanction(
            session,
            regulator,
            failed.sanction_id,
            reason="整改复检合格 Rectified, re-check passed",
            now=now - timedelta(days=1),
        )
    session.flush()
    flagged = session.scalar(sa.select(sa.func.count()).select_from(PriceFlag))
    return {"complaints": 7, "price_flags": flagged, "failed_inspections": 1}
