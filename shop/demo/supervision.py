"""Demo supervision: complaints in every state, a report, a flagged price, a failed inspection."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.auth import service as auth_service
from shop.auth.actor import Actor
from shop.auth.models import User
from shop.catalog.models import Category, Product, Sku


def load(session: Session, users: dict[str, User], now: datetime) -> dict[str, int]:
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
