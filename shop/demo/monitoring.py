"""Demo monitoring: supply declarations that put a product at each risk level, a running absorption
campaign with allocations to a hospital and a state-owned enterprise, and a cold cabinet out of range
with its batch of plums quarantined."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import Role, User
from shop.catalog import service as catalog
from shop.catalog.models import Sku
from shop.demo import catalog as demo_catalog
from shop.demo.accounts import uscc
from shop.demo.inventory import create_place
from shop.inventory import movements
from shop.inventory.models import CounterDevice, Location, LocationKind, china_today
from shop.monitoring import campaigns, cold_chain, declarations
from shop.monitoring.models import RiskLevel, StorageClass
from shop.monitoring.risk import RiskRules, evaluate
from shop.procurement import organisations
from shop.procurement.models import Organisation, OrgKind
from shop.statistics.demo import COORDINATOR
from shop.statistics.models import SalesFact

COLD_CABINET = "奉节县人民医院冷柜 Fengjie hospital cold cabinet"


def _unsold_for(session: Session, sku: Sku, level: RiskLevel, rules: RiskRules, declaration: dict, now: datetime):
    """The least unsold quantity that puts the product at `level` with its real sales (the rule is
    monotonic in what is unsold)."""
    today = china_today(now)
    sold = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SalesFact.quantity), 0)).where(
            SalesFact.product_id == sku.product_id, SalesFact.day > today - timedelta(days=rules.velocity_days)
        )
    )
    for unsold in range(0, 100_000):
        found, _ = evaluate(
            rules,
            today=today,
            unsold=unsold,
            harvest_until=declaration["harvest_until"],
            keeps_days=declaration["keeps_days"],
            sold_in_window=sold,
            ageing_units=0,
        )
        if found == level:
            return unsold
    raise RuntimeError(f"no unsold quantity gives {level}")


def load(session: Session, admin: Actor, users: dict[str, User], now: datetime) -> dict[str, int]:
    rules = RiskRules()
    supplier = auth_service.load_actor(session, users["supplier@demo.cq"].id)
    coordinator_user = session.scalar(sa.select(User).where(User.email == COORDINATOR))
    coordinator = auth_service.load_actor(session, coordinator_user.id)
    skus = {sku.code: sku for sku in session.scalars(sa.select(Sku))}
    today = china_today(now)
    halls = {
        loc.district_id: loc for loc in session.scalars(sa.select(Location).where(Location.kind == LocationKind.HALL))
    }
    yuzhong, fengjie = halls[500103], halls[500236]

    # Two weeks of plums sold at the Fengjie hall: a velocity for its warning.
    for day in range(1, 15):
        movements.sell(
            session, fengjie.id, [{"sku_id": skus["WS-PLUM-2.5KG"].id, "quantity": 1}], now=now - timedelta(days=day)
        )

    def declare(code: str, level: RiskLevel, *, keeps_days: int, expected: int) -> None:
        sku = skus[code]
        body = {
            "expected_kg": expected * (sku.net_weight_g or 1000) // 1000,
            "expected_quantity": expected,
            "harvest_from": today - timedelta(days=40),
            "harvest_until": today + timedelta(days=5),
            "keeps_days": keeps_days,
            "note": "",
        }
        unsold = _unsold_for(session, sku, level, rules, body, now)
        body.update(unsold_quantity=unsold, unsold_kg=unsold * (sku.net_weight_g or 1000) // 1000)
        body["expected_quantity"] = max(expected, unsold)
        body["expected_kg"] = max(body["expected_kg"], body["unsold_kg"])
        member = supplier if supplier.has(Role.SUPPLIER_MEMBER, sku.product.supplier_id) else admin
        declarations.declare_supply(session, member, sku.product_id, data=body, rules=rules, now=now)

    # Loose plums for wholesale, certified like the boxed ones, not sold anywhere yet.
    boxed = skus["WS-PLUM-2.5KG"].product
    loose = catalog.create_product(
        session,
        admin,
        supplier_id=boxed.supplier_id,
        data={
            "name": "巫山脆李鲜果散装 Wushan crisp plums, loose",
            "category_id": boxed.category_id,
            "origin_district_id": boxed.origin_district_id,
            "origin_township_id": boxed.origin_township_id,
            "description": "产地直发批发箱。Wholesale boxes from the orchards.",
            "skus": [{"code": "WS-PLUM-LOOSE-10KG", "price_fen": 9800, "unit": "box", "net_weight_g": 10_000}],
        },
    )
    certifier = auth_service.load_actor(session, users["certifier@demo.cq"].id)
    demo_catalog.certify(session, admin, certifier, loose, "in_force", now, 7, 3 * 365)
    skus["WS-PLUM-LOOSE-10KG"] = loose.skus[0]

    declare("FL-ZHACAI-80G-10", RiskLevel.NONE, keeps_days=300, expected=2_000)
    declare("FJ-NAVEL-5KG", RiskLevel.WATCH, keeps_days=40, expected=3_000)
    declare("WS-PLUM-2.5KG", RiskLevel.WARNING, keeps_days=10, expected=800)
    declare("WS-PLUM-LOOSE-10KG", RiskLevel.CRITICAL, keeps_days=10, expected=1_500)

    # The municipal office's campaign for the plums and the large navel boxes, with two allocations.
    campaign = campaigns.open_campaign(
        session,
        coordinator,
        data={
            "name": "巫山脆李消纳行动 Absorb Wushan plums",
            "kind": "ordinary",
            "target_quantity": 600,
            "ends_on": today + timedelta(days=20),
            "sku_ids": [skus["WS-PLUM-LOOSE-10KG"].id, skus["WS-PLUM-2.5KG"].id],
            "note": "机关、国企、医院、学校、工会定向采购",
        },
        now=now,
    )

    def organisation(name: str, kind: OrgKind, n: int, headcount: int) -> Organisation:
        org = organisations.register_organisation(
            session,
            admin,
            data={
                "name": name,
                "kind": kind,
                "district_id": 500103,
                "uscc": uscc(500103, n),
                "headcount": headcount,
                "contact_name": "李经理",
                "contact_phone": f"138000000{n}",
            },
            now=now,
        )
        organisations.verify_organisation(session, admin, org.id, now=now)
        return org

    enterprise = organisation("重庆某国有企业集团 A state-owned enterprise", OrgKind.STATE_OWNED_ENTERPRISE, 91, 5000)
    hospital = organisation("重庆某医院 A hospital", OrgKind.HOSPITAL, 92, 2000)
    for org, quantity in ((hospital, 20), (enterprise, 60)):
        campaigns.allocate(
            session,
            coordinator,
            campaign.id,
            data={
                "organisation_id": org.id,
                "sku_id": skus["WS-PLUM-LOOSE-10KG"].id,
                "quantity": quantity,
                "supply_location_id": yuzhong.id,
                "pickup_location_id": yuzhong.id,
            },
            now=now,
        )

    # A cold cabinet whose plums are chilled, warm for the last 45 minutes: quarantined.
    cabinet = create_place(
        session,
        admin,
        LocationKind.COUNTER,
        fengjie,
        COLD_CABINET,
        500236,
        "奉节县人民医院 住院部一楼",
        host_institution="奉节县人民医院",
    )
    plum = skus["WS-PLUM-2.5KG"]
    cold_chain.set_storage(
        session,
        admin,
        plum.id,
        data={"storage_class": StorageClass.CHILLED, "min_celsius": 0, "max_celsius": 6},
        now=now,
    )
    movements.receive_stock(
        session,
        admin,
        cabinet.id,
        lines=[
            {
                "sku_id": plum.id,
                "trace_code": f"WS-{today:%Y%m%d}-COLD",
                "produced_on": today - timedelta(days=2),
                "best_before": today + timedelta(days=19),
                "quantity": 8,
            }
        ],
        reference="DN-DEMO-COLD",
        now=now - timedelta(hours=2),
    )
    session.add(CounterDevice(location_id=cabinet.id, last_heartbeat_at=now, last_heartbeat={"temperature_c": 11.5}))
    for minutes, celsius in ((45, 9.5), (0, 11.5)):
        cold_chain.observe_temperature(
            session, cabinet.id, celsius, now=now - timedelta(minutes=minutes), excursion_minutes=30
        )
    session.flush()
    return {"declarations": 4, "campaigns": 1, "cold_chain_incidents": 1}
