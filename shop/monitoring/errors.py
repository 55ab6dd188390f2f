"""The monitoring slice's domain errors and their stable codes."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class MonitoringCode(StrEnum):
    NOT_DECLARABLE = "not_declarable"
    CAMPAIGN_CLOSED = "campaign_closed"
    TARGET_EXCEEDED = "target_exceeded"
    PRICE_FROZEN_BY_CAMPAIGN = "price_frozen_by_campaign"
    SKU_NOT_IN_CAMPAIGN = "sku_not_in_campaign"


class NotDeclarable(Conflict):
    code = MonitoringCode.NOT_DECLARABLE
    message = "Supply is declared only for goods whose certification is in force."


class CampaignClosed(Conflict):
    code = MonitoringCode.CAMPAIGN_CLOSED
    message = "The campaign is closed."


class TargetExceeded(Conflict):
    code = MonitoringCode.TARGET_EXCEEDED
    message = "The allocation would take the campaign beyond its target."


class PriceFrozenByCampaign(Conflict):
    code = MonitoringCode.PRICE_FROZEN_BY_CAMPAIGN
    message = "The product is in a running absorption campaign: its prices may not rise."


class SkuNotInCampaign(Conflict):
    code = MonitoringCode.SKU_NOT_IN_CAMPAIGN
    message = "The SKU is not one of the campaign's."
