"""The inventory slice's domain errors, each with a stable code."""

from __future__ import annotations

from shop.errors import Conflict


class InsufficientStock(Conflict):
    code = "out_of_stock"
    message = "Not enough sellable stock."


class NotInForce(Conflict):
    code = "not_certified"
    message = "The product's certification is not in force now."


class LocationInactive(Conflict):
    code = "location_inactive"
    message = "The location is not active."
