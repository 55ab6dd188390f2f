"""Absorption campaigns (消纳): the coordinator's organised purchase of at-risk products.

- Opening: an ordinary campaign is for SKUs of products at watch level or above; an emergency one
  (战疫战灾) for any certified goods. It runs from its opening to the end of its last day.
- While it runs its products are boosted in search (the `at_risk_unsold` document field), listed at
  the public campaign endpoint, and their prices may not rise (the catalog asks `refuse_price_rise`).
- Allocations: a quantity of one of its SKUs to an organisation, which drafts a bulk order for the
  organisation through procurement; its members submit and approve it through their usual flow. The
  allocated total only grows by one conditional UPDATE that keeps it within the target, so parallel
  allocations never allocate more than the target.
- Progress: units of its SKUs actually sold or received (the sales facts) within its window, by
  organisation and by channel, against the target.
- It closes on its date or once absorbed reaches the target (the worker's job), or by the coordinator."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from search import outbox
from shop.auth.actor import Actor
from shop.auth.models import Role
from shop.catalog.models import Product, ProductKind, Sku
from shop.certification.query import product_in_force
from shop.errors import InvalidInput, NotFound
from shop.inventory.models import CHINA, china_today
from shop.monitoring.errors import CampaignClosed, SkuNotInCampaign, TargetExceeded
from shop.monitoring.gates import running
from shop.monitoring.models import (
    LEVEL_ORDER,
    Campaign,
    CampaignAllocation,
    CampaignKind,
    CampaignSku,
    CampaignStatus,
    RiskAssessment,
    RiskLevel,
)
from shop.notifications import events
from shop.paging import paginate
from shop.procurement import bulk_orders
from shop.procurement.models import Organisation
from shop.statistics.models import SalesFact

CAMPAIGNS = Campaign.__table__


def _require_reader(actor: Actor) -> None:
    actor.require(Role.COORDINATOR, Role.REGULATOR)


def end_of_day(day) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=CHINA)


def open_campaign(session: Session, actor: Actor, *, data: dict, now: datetime) -> Campaign:
    actor.require(Role.COORDINATOR)
    if data["ends_on"] < china_today(now):
        raise InvalidInput("The campaign must end today or later.", fields={"ends_on": ["In the past."]})
    sku_ids = sorted(set(data["sku_ids"]))
    skus = {
        sku.id: sku
        for sku in session.scalars(
            sa.select(Sku)
            .join(Product, Product.id == Sku.product_id)
            .where(
                Sku.id.in_(sku_ids),
                Sku.is_active,
                Product.kind == ProductKind.GOODS,
                product_in_force(Product.id, now),
            )
        )
    }
    bad = [s for s in sku_ids if s not in skus]
    if bad:
        raise InvalidInput(
            "Only active SKUs of certified goods.", fields={"sku_ids": [f"SKU {s} cannot be absorbed." for s in bad]}
        )
    if data["kind"] == CampaignKind.ORDINARY:
        levels = dict(
            session.execute(
                sa.select(RiskAssessment.product_id, RiskAssessment.level).where(
                    RiskAssessment.product_id.in_({s.product_id for s in skus.values()})
                )
            ).all()
        )
        calm = [s for s in sku_ids if LEVEL_ORDER[levels.get(skus[s].product_id, RiskLevel.NONE)] == 0]
        if calm:
            raise InvalidInput(
                "An ordinary campaign is for products at risk (watch or above); open an emergency one otherwise.",
                fields={"sku_ids": [f"SKU {s}: its product is not at risk." for s in calm]},
            )
    campaign = Campaign(
        name=data["name"],
        kind=data["kind"],
        status=CampaignStatus.OPEN,
        note=data.get("note") or "",
        target_quantity=data["target_quantity"],
        allocated_quantity=0,
        starts_at=now,
        ends_at=end_of_day(data["ends_on"]),
        created_by_id=actor.user_id,
        created_at=now,
        skus=[CampaignSku(sku_id=s, product_id=skus[s].product_id) for s in sku_ids],
    )
    session.add(campaign)
    session.flush()
    outbox.enqueue_products(session, [s.product_id for s in skus.values()])
    return campaign


def _campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.scalar(
        sa.select(Campaign).options(selectinload(Campaign.skus)).where(Campaign.id == campaign_id)
    )
    if campaign is None:
        raise NotFound("No such campaign.")
    return campaign


def get_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    _require_reader(actor)
    return _campaign(session, campaign_id)


def list_campaigns(session: Session, actor: Actor, *, status: CampaignStatus | None, page: int, size: int):
    _require_reader(actor)
    stmt = sa.select(Campaign).options(selectinload(Campaign.skus))
    if status is not None:
        stmt = stmt.where(Campaign.status == status)
    return paginate(session, stmt, order_by=Campaign.id.desc(), page=page, size=size)


def close_campaign(session: Session, actor: Actor | None, campaign_id: int, *, reason: str, now: datetime) -> Campaign:
    """Close it (the coordinator, or the job with `actor` None); its products stop being boosted."""
    if actor is not None:
        actor.require(Role.COORDINATOR)
    campaign = session.scalar(
        sa.select(Campaign)
        .options(selectinload(Campaign.skus))
        .where(Campaign.id == campaign_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if campaign is None:
        raise NotFound("No such campaign.")
    campaign.transition(CampaignStatus.CLOSED, actor_id=actor.user_id if actor else None, at=now, reason=reason)
    session.flush()
    outbox.enqueue_products(session, [s.product_id for s in campaign.skus])
    return campaign


# --- allocations ------------------------------------------------------------------------------------


def allocate(session: Session, actor: Actor, campaign_id: int, *, data: dict, now: datetime) -> CampaignAllocation:
    """Allocate units of one of the campaign's SKUs to an organisation: a draft bulk order for it."""
    actor.require(Role.COORDINATOR)
    campaign = _campaign(session, campaign_id)
    if campaign.status != CampaignStatus.OPEN or campaign.ends_at <= now:
        raise CampaignClosed(campaign_id=campaign_id)
    sku = next((s for s in campaign.skus if s.sku_id == data["sku_id"]), None)
    if sku is None:
        raise SkuNotInCampaign(sku_id=data["sku_id"])
    if session.get(Organisation, data["organisation_id"]) is None:
        raise InvalidInput("No such organisation.", fields={"organisation_id": ["Unknown."]})
    quantity = data["quantity"]
    taken = session.execute(
        CAMPAIGNS.update()
        .where(
            CAMPAIGNS.c.id == campaign_id,
            CAMPAIGNS.c.status == CampaignStatus.OPEN.value,
            CAMPAIGNS.c.allocated_quantity + quantity <= CAMPAIGNS.c.target_quantity,
        )
        .values(allocated_quantity=CAMPAIGNS.c.allocated_quantity + quantity)
    )
    if taken.rowcount != 1:
        status, allocated, target = session.execute(
            sa.select(CAMPAIGNS.c.status, CAMPAIGNS.c.allocated_quantity, CAMPAIGNS.c.target_quantity).where(
                CAMPAIGNS.c.id == campaign_id
            )
        ).one()
        if status != CampaignStatus.OPEN.value:
            raise CampaignClosed(campaign_id=campaign_id)
        raise TargetExceeded(target=target, allocated=allocated, requested=quantity)
    code = session.scalar(sa.select(Sku.code).where(Sku.id == sku.sku_id))
    order = bulk_orders.draft_for_organisation(
        session,
        data["organisation_id"],
        title=f"消纳 {campaign.name}"[:200],
        note=f"absorption campaign {campaign.id}",
        supply_location_id=data.get("supply_location_id"),
        rows=[
            {
                "row": 1,
                "sku_code": code,
                "quantity": quantity,
                "pickup_location_id": data.get("pickup_location_id"),
                "delivery_address": data.get("delivery_address"),
                "recipient": data.get("recipient"),
                "phone": data.get("phone"),
            }
        ],
        created_by_id=actor.user_id,
        now=now,
    )
    allocation = CampaignAllocation(
        campaign_id=campaign_id,
        organisation_id=data["organisation_id"],
        sku_id=sku.sku_id,
        quantity=quantity,
        bulk_order_id=order.id,
        allocated_by_id=actor.user_id,
        allocated_at=now,
    )
    session.add(allocation)
    session.flush()
    events.campaign_allocation(
        session,
        campaign_id=campaign_id,
        organisation_id=allocation.organisation_id,
        bulk_order_id=order.id,
        quantity=quantity,
        now=now,
    )
    return allocation


def list_allocations(session: Session, actor: Actor, campaign_id: int, *, page: int, size: int):
    _require_reader(actor)
    _campaign(session, campaign_id)
    stmt = sa.select(CampaignAllocation).where(CampaignAllocation.campaign_id == campaign_id)
    return paginate(session, stmt, order_by=CampaignAllocation.id, page=page, size=size)


# --- progress -------------------------------------------------------------------------------------------


def _window_end(campaign: Campaign) -> datetime:
    return min(campaign.ends_at, campaign.closed_at) if campaign.closed_at else campaign.ends_at


def _absorbed(campaign: Campaign, *group) -> sa.Select:
    f = SalesFact
    return (
        sa.select(*group, sa.func.coalesce(sa.func.sum(f.quantity), 0))
        .where(
            f.sku_id.in_([s.sku_id for s in campaign.skus]),
            f.occurred_at >= campaign.starts_at,
            f.occurred_at < _window_end(campaign),
        )
        .group_by(*group)
    )


def absorbed_total(session: Session, campaign: Campaign) -> int:
    return int(session.execute(_absorbed(campaign)).scalar() or 0)


def progress(session: Session, campaign: Campaign) -> dict:
    """Absorbed against the target, by organisation (with what was allocated to it) and by channel."""
    f = SalesFact
    by_org = {org: int(units) for org, units in session.execute(_absorbed(campaign, f.organisation_id))}
    by_channel = session.execute(_absorbed(campaign, f.channel).order_by(f.channel)).all()
    allocated = dict(
        session.execute(
            sa.select(CampaignAllocation.organisation_id, sa.func.sum(CampaignAllocation.quantity))
            .where(CampaignAllocation.campaign_id == campaign.id)
            .group_by(CampaignAllocation.organisation_id)
        ).all()
    )
    org_ids = sorted({o for o in by_org if o is not None} | set(allocated))
    names = (
        dict(session.execute(sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))).all())
        if org_ids
        else {}
    )
    absorbed = sum(by_org.values())
    organisations = [
        {
            "organisation_id": org,
            "organisation_name": names.get(org),
            "allocated": int(allocated.get(org, 0)),
            "absorbed": by_org.get(org, 0),
        }
        for org in org_ids
    ]
    if None in by_org:  # individuals: shop orders, shelf sales
        organisations.append(
            {"organisation_id": None, "organisation_name": None, "allocated": 0, "absorbed": by_org[None]}
        )
    return {
        "target": campaign.target_quantity,
        "allocated": campaign.allocated_quantity,
        "absorbed": absorbed,
        "remaining": max(0, campaign.target_quantity - absorbed),
        "absorbed_bp": absorbed * 10_000 // campaign.target_quantity,
        "target_met": absorbed >= campaign.target_quantity,
        "by_organisation": organisations,
        "by_channel": [{"channel": channel, "absorbed": int(units)} for channel, units in by_channel],
    }


def close_due(session: Session, now: datetime) -> dict[str, int]:
    """Close the campaigns past their date, and those whose absorbed units reached the target."""
    closed = {"ended": 0, "target_met": 0}
    for campaign in session.scalars(
        sa.select(Campaign).options(selectinload(Campaign.skus)).where(Campaign.status == CampaignStatus.OPEN)
    ).all():
        if campaign.ends_at <= now:
            close_campaign(session, None, campaign.id, reason="ended", now=now)
            closed["ended"] += 1
        elif absorbed_total(session, campaign) >= campaign.target_quantity:
            close_campaign(session, None, campaign.id, reason="target met", now=now)
            closed["target_met"] += 1
    return closed


# --- public -----------------------------------------------------------------------------------------


def list_running(session: Session, *, now: datetime, page: int, size: int):
    stmt = sa.select(Campaign).options(selectinload(Campaign.skus)).where(running(now))
    return paginate(session, stmt, order_by=[Campaign.ends_at, Campaign.id], page=page, size=size)


def get_running(session: Session, campaign_id: int, *, now: datetime) -> Campaign:
    campaign = session.scalar(
        sa.select(Campaign).options(selectinload(Campaign.skus)).where(Campaign.id == campaign_id, running(now))
    )
    if campaign is None:
        raise NotFound("No such campaign running.")
    return campaign


def public_products(session: Session, campaigns: list[Campaign]) -> dict[int, list[dict]]:
    """campaign id → its SKUs with product names and prices, as the public sees them."""
    sku_ids = sorted({s.sku_id for c in campaigns for s in c.skus})
    if not sku_ids:
        return {}
    rows = {
        sku.id: (sku, name)
        for sku, name in session.execute(
            sa.select(Sku, Product.name).join(Product, Product.id == Sku.product_id).where(Sku.id.in_(sku_ids))
        )
    }
    return {
        c.id: [
            {
                "product_id": rows[s.sku_id][0].product_id,
                "product_name": rows[s.sku_id][1],
                "sku_id": s.sku_id,
                "sku_name": rows[s.sku_id][0].name,
                "unit": rows[s.sku_id][0].unit,
                "price_fen": rows[s.sku_id][0].price_fen,
            }
            for s in c.skus
        ]
        for c in campaigns
    }
