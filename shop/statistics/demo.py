"""Demo statistics: a coordinator, a year of the union's purchases on the 832 platform across the
poverty-alleviated districts, this year's guiding plan and the bulletin of last month. The demo's
own sales (halls, counters, shop orders, bulk orders, vouchers) have their facts already."""

from __future__ import annotations

import calendar
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.models import Role
from shop.inventory.models import CHINA
from shop.procurement.models import Organisation
from shop.statistics import bulletins, facts, plan, platform832
from shop.statistics.models import BulletinPeriod

COORDINATOR = "coordinator@demo.cq"
ORIGINS = (("奉节县", 8_000), ("巫山县", 5_000), ("城口县", 3_000), ("酉阳土家族苗族自治县", 2_000))


def _months_back(today: date, n: int) -> date:
    month = today.month - n
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return date(year, month, min(15, calendar.monthrange(year, month)[1]))


def load(session: Session, *, password: str, now: datetime) -> dict[str, int]:
    facts.backfill(session)
    user = auth_service.register_user(session, login=COORDINATOR, password=password, display_name="市消费帮扶办")
    auth_service.add_grant(session, user, Role.COORDINATOR, 0, granted_by_id=None)
    coordinator = auth_service.load_actor(session, user.id)
    union = session.scalar(sa.select(Organisation).order_by(Organisation.id))
    today = now.astimezone(CHINA).date()
    imported = 0
    if union is not None:
        lines = ["订单号,日期,供应商,商品名称,产地,金额"]
        for back in range(12, 0, -1):
            day = _months_back(today, back)
            for n, (county, yuan) in enumerate(ORIGINS):
                row = (f"832-DEMO-{day:%Y%m}-{n}", day.isoformat(), f"{county}合作社", f"{county}特产礼盒", county)
                lines.append(",".join((*row, str(yuan + back * 100))))
        result = platform832.import_records(
            session, coordinator, union.id, filename="832.csv", data="\n".join(lines).encode(), now=now
        )
        imported = result["imported"]
    plan.set_targets(
        session,
        coordinator,
        today.year,
        targets=[
            {"kind": "district", "key": "500236", "target_fen": 20_000_000},
            {"kind": "district", "key": "500237", "target_fen": 10_000_000},
            {"kind": "org_kind", "key": "union", "target_fen": 15_000_000},
            {"kind": "channel", "key": "832", "target_fen": 5_000_000},
        ],
        now=now,
    )
    last = _months_back(today, 1)
    bulletins.publish(
        session, coordinator, period=BulletinPeriod.MONTH, year=last.year, number=last.month, audience=None, now=now
    )
    return {"facts_832": imported, "plan_targets": 4, "bulletins": 1}
