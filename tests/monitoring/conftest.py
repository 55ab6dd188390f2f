"""Monitoring fixtures: a certified product of Fengjie with its supplier's member, the district's
certifier and the coordinator; helpers to declare supply and to sell over days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from shop import clock
from shop.auth.models import Role
from shop.inventory import movements
from shop.inventory.models import CHINA, china_today
from tests.factories import FENGJIE

M = "/api/v1/monitoring"


@dataclass
class Produce:
    """A certified product of Fengjie (its one SKU stocked at a hall), who declares and who watches."""

    product: object
    sku: object
    hall: object
    supplier_member: dict  # headers
    certifier: dict
    coordinator: dict
    coordinator_user: object


@pytest.fixture
def produce(make, session):
    supplier = make.supplier(FENGJIE)
    sku = make.sku(supplier=supplier, price_fen=2000)
    hall = make.hall()
    make.stock(hall, sku, 500, best_before=china_today(clock.now()) + timedelta(days=60))
    member = make.user((Role.SUPPLIER_MEMBER, supplier.id))
    coordinator = make.user(Role.COORDINATOR)
    return Produce(
        sku.product,
        sku,
        hall,
        make.headers(member),
        make.headers(make.certifier(FENGJIE)),
        make.headers(coordinator),
        coordinator,
    )


def declaration(unsold: int, *, harvest_days: int = 0, keeps_days: int = 28, expected: int | None = None) -> dict:
    """A body for the declaration endpoint: `unsold` units at origin, the harvest ending in
    `harvest_days` days, keeping `keeps_days` after it."""
    today = china_today(clock.now())
    expected = expected if expected is not None else max(unsold, 1) * 2
    return {
        "expected_quantity": expected,
        "expected_kg": expected // 2,
        "unsold_quantity": unsold,
        "unsold_kg": unsold // 2,
        "harvest_from": (today - timedelta(days=30)).isoformat(),
        "harvest_until": (today + timedelta(days=harvest_days)).isoformat(),
        "keeps_days": keeps_days,
    }


def declare(client, produce, unsold: int, **extra):
    response = client.put(
        f"{M}/products/{produce.product.id}/declaration",
        headers=produce.supplier_member,
        json=declaration(unsold, **extra),
    )
    assert response.status_code == 200, response.json
    return response.json


def sell_over_days(session, location, sku, per_day: int, days: int) -> None:
    """Shelf sales of `per_day` units on each of the last `days` China days, today included (sales
    facts of channel hall): each at half the time today has run so far, on its own day."""
    now = clock.now()
    local = now.astimezone(CHINA)
    into_today = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    for back in range(days):
        with clock.frozen_at(now - timedelta(days=back) - into_today / 2):
            movements.sell(session, location.id, [{"sku_id": sku.id, "quantity": per_day}], now=clock.now())
