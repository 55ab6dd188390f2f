"""What other slices ask of monitoring on their own paths: whether a campaign runs for a product (the
catalog refuses a price rise then)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shop.monitoring.errors import PriceFrozenByCampaign
from shop.monitoring.models import Campaign, CampaignSku, CampaignStatus


def running(now: datetime) -> sa.ColumnElement[bool]:
    """The campaign is open and within its window."""
    return sa.and_(Campaign.status == CampaignStatus.OPEN, Campaign.starts_at <= now, Campaign.ends_at > now)


def refuse_price_rise(session: Session, product_id: int, old_price: int | None, new_price: int, now: datetime) -> None:
    """The catalog calls this before a price is set: no rise while a campaign of the product runs."""
    if old_price is None or new_price <= old_price:
        return
    campaign_id = session.scalar(
        sa.select(Campaign.id)
        .join(CampaignSku, CampaignSku.campaign_id == Campaign.id)
        .where(CampaignSku.product_id == product_id, running(now))
        .limit(1)
    )
    if campaign_id is not None:
        raise PriceFrozenByCampaign(campaign_id=campaign_id, old_price_fen=old_price, new_price_fen=new_price)
