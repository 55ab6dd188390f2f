"""Bookable services: the Wulong homestay with a calendar of nights (weekday, weekend and holiday
prices), a farm-experience session beside it, and a union recuperation trip (职工疗休养) of the
Yuzhong labour union, approved and paid, each member with their own booking code."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.models import User
from shop.bookings import offerings
from shop.bookings.models import UnitKind
from shop.catalog import service as catalog
from shop.catalog.models import Sku
from shop.inventory.models import china_today

HOMESTAY_SKU = "WL-HOMESTAY-2D"
FARM_SKU = "WL-FARM-HALFDAY"
CALENDAR_DAYS = 60
ROSTER = [("刘晓燕", "13800000101", "办公室"), ("陈建国", "13800000102", "后勤"), ("黄丽", "13800000103", "财务")]


def holidays(today: date) -> list[date]:
    """National holidays ahead (Labour Day, National Day, New Year), priced as holidays."""
    days = []
    for year in (today.year, today.year + 1):
        days += [date(year, 5, d) for d in range(1, 6)] + [date(year, 10, d) for d in range(1, 8)]
        days.append(date(year, 1, 1))
    return days


def load(session: Session, users: dict[str, User], now: datetime) -> dict[str, int]:
    provider = auth_service.load_actor(session, users["supplier2@demo.cq"].id)  # the Wulong cooperative's member
    homestay_sku = session.scalar(sa.select(Sku).where(Sku.code == HOMESTAY_SKU))
    product_id = homestay_sku.product_id
    today = china_today(now)
    first, last = today + timedelta(days=1), today + timedelta(days=CALENDAR_DAYS)
    homestay = offerings.create_offering(
        session,
        provider,
        product_id,
        data={
            "sku_id": homestay_sku.id,
            "unit_kind": UnitKind.ROOM,
            "name": "天坑寨子民宿 两晚 Two nights in a village room",
            "meeting_point": "武隆区后坪乡 天坑寨子游客中心 Houping visitor centre",
            "how_to_book": "Check-in from 14:00 at the visitor centre; show the booking code or its QR code.",
            "guests_per_unit": 2,
            "min_party": 1,
            "max_party": 8,
            "weekday_price_fen": 59_800,
            "weekend_price_fen": 69_800,
            "holiday_price_fen": 79_800,
            "free_cancel_days": 3,
            "late_refund_bp": 5_000,
        },
        now=now,
    )
    nights = offerings.add_slots(
        session,
        provider,
        homestay.id,
        data={
            "first_day": first,
            "last_day": last,
            "start_times": [time(14, 0)],
            "minutes": 46 * 60,
            "capacity": 6,
            "holidays": holidays(today),
        },
        now=now,
    )
    farm_sku = catalog.add_sku(
        session,
        provider,
        product_id,
        data={"code": FARM_SKU, "name": "农事体验半日 Farm-experience half day", "price_fen": 12_800, "unit": "seat"},
    )
    farm = offerings.create_offering(
        session,
        provider,
        product_id,
        data={
            "sku_id": farm_sku.id,
            "unit_kind": UnitKind.SEAT,
            "name": "采摘与农耕体验 Picking and farming session",
            "meeting_point": "后坪乡 高山茶园入口 Tea garden gate",
            "how_to_book": "Sessions start at 09:00 and 14:00; wear boots.",
            "min_party": 1,
            "max_party": 10,
            "weekday_price_fen": 12_800,
            "weekend_price_fen": 15_800,
            "holiday_price_fen": 16_800,
            "free_cancel_days": 1,
            "late_refund_bp": 0,
        },
        now=now,
    )
    sessions = offerings.add_slots(
        session,
        provider,
        farm.id,
        data={
            "first_day": first,
            "last_day": last,
            "start_times": [time(9, 0), time(14, 0)],
            "minutes": 180,
            "capacity": 20,
            "weekdays": [5, 6],
            "holidays": holidays(today),
        },
        now=now,
    )
    trips = _union_trip(session, users, nights[13], now)
    return {"offerings": 2, "slots": len(nights) + len(sessions), "union_trips": trips}


def _union_trip(session: Session, users: dict[str, User], night, now: datetime) -> int:
    """The Yuzhong union's trip: three members on one night, approved within its budget and paid by
    transfer, so each member has a booking code."""
    from shop.procurement import bulk_orders
    from shop.procurement.models import BulkOrderKind, Organisation

    union_id = session.scalar(sa.select(Organisation.id).order_by(Organisation.id))
    purchaser, approver, finance = (
        auth_service.load_actor(session, users[f"union-{who}@demo.cq"].id)
        for who in ("purchaser", "approver", "finance")
    )
    order = bulk_orders.create_bulk_order(
        session,
        purchaser,
        union_id,
        data={"kind": BulkOrderKind.TRIP, "title": "职工疗休养 武隆后坪 Staff recuperation trip to Wulong"},
        now=now,
    )
    rows = [
        {
            "sku_code": HOMESTAY_SKU,
            "slot_id": night.id,
            "quantity": 1,
            "recipient": name,
            "phone": phone,
            "department": dept,
        }
        for name, phone, dept in ROSTER
    ]
    bulk_orders.add_lines(session, purchaser, order.id, rows=rows, now=now)
    bulk_orders.submit(session, purchaser, order.id, now=now)
    bulk_orders.approve(session, approver, order.id, note="疗休养名单已公示", now=now)
    payment = bulk_orders.start_payment(session, finance, order.id, gateway_name="offline", now=now)
    bulk_orders.confirm_payment(
        session,
        finance,
        order.id,
        payment.id,
        reference="DEMO-TRIP-1",
        settings=bulk_orders.ProcurementSettings(),
        now=now,
    )
    return 1
