"""Demo procurement: a verified labour union with its people, budget, pledge, volume tiers and a
draft bulk order."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, User
from shop.catalog.models import Sku
from shop.demo.accounts import uscc
from shop.inventory.models import Location, LocationKind, china_today


def load(session: Session, admin: Actor, users: dict[str, User], now: datetime) -> dict[str, int]:
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
            "uscc": uscc(500103, 90),
            "headcount": 1200,
            "per_capita_cap_fen": 50_000,
            "return_unredeemed_vouchers": True,
            "contact_name": "周工",
            "contact_phone": "13800000090",
            "invoice_title": "重庆市渝中区总工会",
            "invoice_tax_number": uscc(500103, 90),
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
