"""Demo inventory: a centre, halls, a smart counter and a zone, with batches, sales, thresholds and a
transfer in transit."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, User
from shop.catalog.models import Sku
from shop.inventory import devices, locations, movements, stock, transfers
from shop.inventory.models import CounterDevice, Location, LocationKind, china_today

# The smart counter's API key in the demo (a real key is issued by an admin and shown once).
DEMO_COUNTER_KEY = "cnt_demo-hospital-counter-key-not-for-production"

ALL_DAY = {day: [{"opens": "00:00", "closes": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

OFFICE_HOURS = {
    **{day: [{"opens": "09:00", "closes": "21:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "note": "节假日照常营业 Open on public holidays",
}


def create_place(
    session: Session,
    admin: Actor,
    kind: LocationKind,
    parent: Location | None,
    name: str,
    district_id: int,
    address: str,
    **extra,
) -> Location:
    """A location (office hours unless `opening_hours` is given) under `parent`."""
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


def load(session: Session, admin: Actor, operator: User, now: datetime) -> dict[str, int]:
    """A centre, two halls, a hospital's smart counter and a supermarket zone, with batches of the
    demo SKUs in force, a few weeks of sales, an expired batch to write off, a SKU below its threshold
    and a transfer on its way to the counter."""

    def place(kind, parent, name, district_id, address, **extra):
        return create_place(session, admin, kind, parent, name, district_id, address, **extra)

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
