"""Realistic demo data: Chongqing products, suppliers, accounts, and certifications in every state.

Built through the same services as the API, with past instants where a state needs history
(an expired certification was published years ago). One loader per slice, run in this order by
`load`; a benchmark or a test may run the ones it needs (`shop.demo.catalog.certify`,
`shop.demo.inventory.create_place`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop import clock
from shop.auth import service as auth_service
from shop.catalog.models import Product
from shop.demo import accounts, bookings, catalog, inventory, monitoring, offers, procurement, supervision
from shop.demo.accounts import ACCOUNTS, DEMO_PASSWORD
from shop.demo.inventory import DEMO_COUNTER_KEY
from shop.statistics import demo as statistics_demo

__all__ = ["ACCOUNTS", "DEMO_COUNTER_KEY", "DEMO_PASSWORD", "has_data", "load"]


def has_data(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Product)) > 0


def load(session: Session, *, objection_days: int = 7, validity_days: int = 3 * 365) -> dict[str, int]:
    now = clock.now()
    users = accounts.load(session)
    admin = auth_service.load_actor(session, users["admin@demo.cq"].id)
    products = catalog.load(session, admin, users, now, objection_days=objection_days, validity_days=validity_days)
    return {
        "accounts": len(users),
        **products,
        **inventory.load(session, admin, users["operator@demo.cq"], now),
        **offers.load(session, admin, users["buyer@demo.cq"], now),
        **procurement.load(session, admin, users, now),
        **bookings.load(session, users, now),
        **supervision.load(session, users, now),
        **statistics_demo.load(session, password=DEMO_PASSWORD, now=now),
        **monitoring.load(session, admin, users, now),
    }
