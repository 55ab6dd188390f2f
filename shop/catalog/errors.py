"""The catalog slice's domain errors and their stable codes (a front end translates the codes)."""

from __future__ import annotations

from enum import StrEnum

from shop.errors import Conflict


class CatalogCode(StrEnum):
    BRAND_TAKEN = "brand_taken"
    SKU_CODE_TAKEN = "sku_code_taken"
    SLUG_TAKEN = "slug_taken"


class BrandTaken(Conflict):
    code = CatalogCode.BRAND_TAKEN
    message = "A brand with this name exists already."


class SkuCodeTaken(Conflict):
    code = CatalogCode.SKU_CODE_TAKEN
    message = "A SKU with this code exists already."


class SlugTaken(Conflict):
    code = CatalogCode.SLUG_TAKEN
    message = "A category with this slug exists already."
