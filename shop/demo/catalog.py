"""Demo catalog and certification: suppliers (with their members and the district certifier),
categories, brands, products with SKUs, and a certification story per product that reaches its
state (pending to revoked) at the moment of loading."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, User
from shop.catalog import service as catalog
from shop.catalog.models import BrandTier, LabelKind, Product, ProductKind
from shop.certification import service as certification
from shop.demo.accounts import uscc
from shop.suppliers import service as suppliers

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


def load(
    session: Session, admin: Actor, users: dict[str, User], now: datetime, *, objection_days: int, validity_days: int
) -> dict[str, int]:
    """Suppliers, categories, brands and products; counts of products per certification state."""
    admin_user = users["admin@demo.cq"]
    supplier_rows = []
    for n, (name, district_id, contact, phone) in enumerate(SUPPLIERS, start=1):
        supplier = suppliers.create_supplier(
            session,
            admin,
            data={
                "name": name,
                "uscc": uscc(district_id, n),
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
        certify(session, admin, certifier, product, state, now, objection_days, validity_days)
        counts[state] = counts.get(state, 0) + 1
    session.flush()
    return {"suppliers": len(supplier_rows), "products": len(PRODUCTS), **counts}


def certify(
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
